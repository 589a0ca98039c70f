"""Reports as their readers get them: report.html opened in a real headless Chromium with the network off, and
report.xlsx opened with openpyxl; one small results folder of each kind (run, compare, sweep, capacity, optimize, feasibility)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

import arsim
from arsim.errors import InputError
from arsim.present.folders import results_kind
from arsim.present.report import REPORT_KINDS, read_results, write_report

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
KINDS = ("run", "compare", "sweep", "capacity", "optimize", "feasibility")
SEARCH_SCENARIO = SCENARIO.parent / "smb.yaml"
SEARCH_TINY = {"portfolio.segments.prompt.customers": 40, "portfolio.segments.slow.customers": 30, "run.horizon_days": 90,
               "run.warmup_days": 30, "money.currency": "USD"}
SEARCH_SPACE = {"policy.discount.percent": {"low": 0, "high": 2, "step": 0.5}, "policy.dunning.volume.call": {"low": 0.5, "high": 2, "step": 0.5}}
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
if BROWSER is None and os.environ.get("CI"):
    raise RuntimeError("CI must have Chromium (.ci/run installs it) to test reports in a real browser")
SCREENSHOTS = Path(os.environ.get("ARSIM_SCREENSHOTS", "")) if os.environ.get("ARSIM_SCREENSHOTS") else None
"""Where the browser test keeps its screenshots (set ARSIM_SCREENSHOTS to look at them; else the test's own folder)."""


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """One results folder per kind, small (two replications of three months), each with its report written."""
    root = tmp_path_factory.mktemp("reports")
    scenario = arsim.load_scenario(SCENARIO).with_overrides({"run.horizon_days": 90, "run.warmup_days": 30, "run.replications": 2,
                                                             "money.currency": "USD"})
    run = arsim.run_experiment(scenario)
    run.write(root / "run")
    arsim.compare(scenario, {"one more collector": scenario.with_overrides({"team.collectors": 4}),
                             "discount": scenario.with_overrides({"policy.discount.percent": 1.0})}, folder=root / "compare")
    arsim.sweep(scenario, {"team.collectors": [2, 3], "policy.discount.percent": [0, 1]}, folder=root / "sweep")
    arsim.capacity(scenario, contact_scales=[1, 2], collectors=[2, 3], folder=root / "capacity")
    arsim.run_experiment(scenario, replications=1).write(root / "run-1")  # one replication: no intervals to draw
    small = arsim.load_scenario(SEARCH_SCENARIO).with_overrides(SEARCH_TINY)
    arsim.optimize(small, space=SEARCH_SPACE, trials=5, objectives=["dso", "net_cost"], constraints=["past_due_amount<=+50%"],
                   folder=root / "optimize", seed=3, replications=2, top=2, fresh_replications=2)
    # feasibility through the command line and its --report flag (exit 1: not feasible with one or two collectors)
    from arsim.cli.main import main

    flags = [arg for path, value in SEARCH_TINY.items() for arg in ("--set", f"{path}={value}")]
    space = root / "space.yaml"
    space.write_text("policy.discount.percent: [0, 1]\npolicy.dunning.volume.call: {low: 0.5, high: 2, step: 0.5}\n")
    code = main(["feasibility", str(SEARCH_SCENARIO), *flags, "--goal", "past_due_amount<=-25%", "--goal", "dso<=-10", "--collectors", "1:2",
                 "--space", str(space), "--trials", "3", "--replications", "2", "--top", "2", "--fresh-replications", "2",
                 "--out", str(root / "feasibility"), "--report"])
    assert code in (0, 1)
    assert {"report.html", "report.xlsx"} <= {p.name for p in (root / "feasibility").iterdir()}
    for kind in KINDS:
        if kind != "feasibility":  # its report came from the command, the others' from their folders
            write_report(root / kind)
    write_report(root / "run-1")
    return {kind: root / kind for kind in KINDS}


def test_each_results_folder_knows_its_kind(folders):
    for kind in KINDS:
        found, result = read_results(folders[kind])
        assert found == kind
        assert isinstance(result, REPORT_KINDS[kind].result_type)
    # A manifest's own kind wins; a command line names it; an API folder is recognised by what it records.
    assert results_kind({"kind": "optimize", "command": "arsim run x"}) == "optimize"
    assert results_kind({"command": "arsim feasibility a.yaml"}) == "feasibility"
    assert results_kind({"command": None, "capacity": {}}) == "capacity"
    assert results_kind({"command": None, "study": {}}) == "optimize" and results_kind({"command": None, "studies": []}) == "feasibility"


def test_a_search_folder_reads_back_as_the_result_that_wrote_it(folders):
    """The report of a saved search shows what the search returned: figures, checks, trials and lever importances."""
    _, read = read_results(folders["optimize"])
    saved = arsim.load_scenario(SEARCH_SCENARIO)
    assert [o.text for o in read.objectives] == ["dso:min", "net_cost:min"]
    assert [c.bound.text for c in read.constraints] == ["past_due_amount<=+50%"]
    assert len(read.baseline["dso"]) == len(read.best["dso"]) == len(read.confirmation_replications) == 2
    assert len(read.trials) == 5 and read.trials["feasible"].dtype == bool and read.pareto
    assert read.policy != saved.policy and read.policy.discount.percent == read.params["policy.discount.percent"]
    # Each searched lever's importance to the first objective, shares summing to one, largest first.
    assert set(read.importances) <= set(SEARCH_SPACE) and read.importances
    assert sum(read.importances.values()) == pytest.approx(1.0)
    assert list(read.importances.values()) == sorted(read.importances.values(), reverse=True)
    _, feasible = read_results(folders["feasibility"])
    assert [a.collectors for a in feasible.staffing][0] == 1 and [c.bound.text for c in feasible.goals] == ["past_due_amount<=-25%", "dso<=-10"]
    assert all(0 <= c.probability_low <= c.probability <= c.probability_high <= 1 for c in feasible.goals)


def test_a_folder_without_a_report_builder_is_refused_in_one_line(folders, tmp_path):
    folder = tmp_path / "later"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"command": "arsim ledger kpis ledger.csv"}')
    with pytest.raises(InputError, match=r"no report for results of `arsim ledger` yet; reports exist for capacity, compare, feasibility, "
                                         r"optimize, run, sweep"):
        write_report(folder)
    with pytest.raises(InputError, match="not a results folder"):
        write_report(tmp_path)


def _open(path: Path, tmp_path: Path, *mode: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=15000", *mode, path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )


def rendered(path: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The page's DOM after its scripts ran (network off), and every console message it logged."""
    done = _open(path, tmp_path, "--dump-dom")
    assert done.returncode == 0, done.stderr[-500:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def chart_containers(dom: str) -> dict[str, str]:
    """Each chart's container and what was drawn into it."""
    page = re.sub(r"<script.*?</script>", "", dom, flags=re.S)
    starts = [(m.group(1), m.start()) for m in re.finditer(r'<div class="chart[^"]*" id="(chart-\d+)"', page)]
    return {name: page[start:(starts[i + 1][1] if i + 1 < len(starts) else len(page))] for i, (name, start) in enumerate(starts)}


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed (CI installs it)")
@pytest.mark.parametrize("kind", [*KINDS, "run-1"])
def test_every_chart_of_a_report_renders_offline(folders, kind, tmp_path):
    page = (folders[kind] if kind in folders else folders["run"].parent / kind) / "report.html"
    text = page.read_text()
    assert "cdn.jsdelivr" not in text and "https://" not in re.sub(r"<script>.*?</script>", "", text, flags=re.S)
    dom, console = rendered(page, tmp_path)
    assert console == [], console  # no error, warning or log line from Vega or the page
    assert 'data-charts="done"' in dom, "the charts did not all finish drawing"
    charts = chart_containers(dom)
    assert len(charts) == text.count('class="chart"') >= 1
    for name, drawn in charts.items():
        assert re.search(r"<svg[^>]*class=\"marks\"|<canvas", drawn), f"{kind}: {name} drew nothing"
        assert drawn.count("<path") + drawn.count("<rect") > 5, f"{kind}: {name} has almost no marks"
    assert "US$" not in dom and "$" in dom and "€" not in dom  # money in the scenario's currency
    shot = (SCREENSHOTS or tmp_path) / f"report-{kind}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    done = _open(page, tmp_path, f"--screenshot={shot}", "--window-size=1250,2400")
    assert done.returncode == 0 and shot.stat().st_size > 20_000  # a drawn page, not a blank one


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed (CI installs it)")
def test_the_browser_check_sees_a_chart_that_fails(folders, tmp_path):
    """The check above can fail: a chart whose spec Vega rejects is reported, not passed over."""
    text = (folders["compare"] / "report.html").read_text()
    broken = tmp_path / "broken.html"
    broken.write_text(text.replace('const specs = [{', 'const specs = [{"mark": "no-such-mark", ', 1))
    dom, console = rendered(broken, tmp_path)
    assert 'data-charts="failed"' in dom and "could not be drawn" in dom
    assert console


def test_a_report_workbook_has_its_sheets_and_finance_formats(folders):
    expected = {"run": ["About", "KPIs", "Replications", "Monthly"], "compare": ["About", "Comparison", "Money lines", "Replications"],
                "sweep": ["About", "Summary", "Replications"], "capacity": ["About", "Levels", "Replications"],
                "optimize": ["About", "Winner vs baseline", "Constraints", "Winning levers", "Trials", "Selection", "Replications", "Pareto front"],
                "feasibility": ["About", "Goals", "Staffing", "Winner vs baseline", "Winning levers", "Trials", "Selection", "Replications"]}
    for kind in KINDS:
        book = openpyxl.load_workbook(folders[kind] / "report.xlsx")
        assert book.sheetnames == expected[kind]
        about = {row[0]: row[1] for row in book["About"].iter_rows(min_row=2, values_only=True)}
        assert about["question"].endswith("?") and about["answer"] and about["currency"] == "USD"
    run = openpyxl.load_workbook(folders["run"] / "report.xlsx")
    kpis = run["KPIs"]
    header = [c.value for c in kpis[1]]
    rows = {row[0].value: row for row in kpis.iter_rows(min_row=2)}
    mean = header.index("mean")
    assert isinstance(rows["dso"][mean].value, float)  # numbers stay numbers
    assert rows["dso"][mean].number_format == "#,##0.0"
    assert rows["net_cost"][mean].number_format == '"$"#,##0;[Red]("$"#,##0)'
    assert rows["query_sla_attainment"][mean].number_format == "0.0%"
    assert kpis.freeze_panes == "B2"
    monthly = run["Monthly"]
    columns = [c.value for c in monthly[1]]
    assert monthly.cell(row=2, column=columns.index("past_due_amount") + 1).number_format.startswith('"$"#,##0')
    assert monthly.cell(row=2, column=columns.index("month") + 1).value.count("-") == 1
    compare = openpyxl.load_workbook(folders["compare"] / "report.xlsx")["Comparison"]
    header = [c.value for c in compare[1]]
    for row in compare.iter_rows(min_row=2):
        kpi, diff = row[header.index("kpi")].value, row[header.index("diff")]
        if kpi == "dso":
            assert diff.number_format == "#,##0.0"
        if kpi == "net_cost":
            assert diff.number_format.startswith('"$"')
        assert row[header.index("relative_change")].number_format == "0.0%"
    capacity = openpyxl.load_workbook(folders["capacity"] / "report.xlsx")["Levels"]
    header = [c.value for c in capacity[1]]
    assert capacity.cell(row=2, column=header.index("utilization") + 1).number_format == "0.0%"
    assert capacity.cell(row=2, column=header.index("collectors") + 1).number_format == "0"
    search = openpyxl.load_workbook(folders["optimize"] / "report.xlsx")
    winner = search["Winner vs baseline"]
    header = [c.value for c in winner[1]]
    rows = {row[0].value: row for row in winner.iter_rows(min_row=2)}
    for column in ("baseline", "winner", "diff", "ci_low", "ci_high"):
        assert rows["dso"][header.index(column)].number_format == "#,##0.0"
        assert rows["net_cost"][header.index(column)].number_format.startswith('"$"#,##0')
        assert isinstance(rows["dso"][header.index(column)].value, float)
    assert rows["dso"][header.index("relative_change")].number_format == "0.0%"
    trials = search["Trials"]
    header = [c.value for c in trials[1]]
    assert trials.max_row == 6 and {"trial", "state", "dso", "net_cost", "feasible", *SEARCH_SPACE} <= set(header)
    assert trials.cell(row=2, column=header.index("net_cost") + 1).number_format.startswith('"$"#,##0')
    goals = openpyxl.load_workbook(folders["feasibility"] / "report.xlsx")
    header = [c.value for c in goals["Goals"][1]]
    first = [c for c in goals["Goals"][2]]
    assert first[header.index("bound")].value == "past_due_amount<=-25%"
    assert first[header.index("probability")].number_format == "0%" and first[header.index("needed")].number_format.startswith('"$"')
    header = [c.value for c in goals["Staffing"][1]]
    assert [row[header.index("collectors")] for row in goals["Staffing"].iter_rows(min_row=2, values_only=True)][0] == 1
    assert goals["Staffing"].cell(row=2, column=header.index("team_cost_per_year") + 1).number_format.startswith('"$"#,##0')


def test_charts_export_png_and_svg_without_a_browser(folders, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no chromium to fall back on
    written = write_report(folders["sweep"], tmp_path, images=True)
    images = sorted(p for p in written if p.parent.name == "charts")
    assert sorted(p.suffix for p in images) == [".png", ".png", ".svg", ".svg"]
    for path in images:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG") if path.suffix == ".png" else b"<svg" in data[:500]


def test_report_flag_and_report_command(tmp_path, capsys):
    """--report writes the page and the workbook with the results folder; `arsim report` refuses what is not one, in one line."""
    from arsim.cli.main import main

    folder = tmp_path / "run"
    code = main(["run", str(SCENARIO), "--replications", "2", "--set", "run.horizon_days=60", "--set", "run.warmup_days=30",
                 "--out", str(folder), "--report"])
    assert code == 0
    assert {"report.html", "report.xlsx", "kpis.csv", "manifest.json"} <= {p.name for p in folder.iterdir()}
    assert "report.html" in capsys.readouterr().out
    assert openpyxl.load_workbook(folder / "report.xlsx").sheetnames == ["About", "KPIs", "Replications", "Monthly"]
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert main(["report", str(tmp_path)]) == 2
    assert main(["report", str(folder / "kpis.csv")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [f"arsim: error: {tmp_path / 'missing'}: no such results folder",
                     f"arsim: error: {tmp_path}: not a results folder (no manifest.json; arsim run, compare, sweep, capacity, optimize and "
                     "feasibility write one)",
                     f"arsim: error: {folder / 'kpis.csv'}: is a file, not a results folder (give the folder a run, compare, sweep, capacity, "
                     "optimize or feasibility wrote)"]


def test_a_calibration_chart_draws_observed_against_simulated(tmp_path):
    from arsim.ledger.calibrate.fit import Calibration

    def stats(shift: float) -> dict:
        quantiles = {q: v + shift for q, v in zip(("p10", "p25", "p50", "p75", "p90", "p95", "p99"), (-5, -1, 2, 6, 14, 22, 45))}
        return {"days_late_quantiles": quantiles, "share_late": 0.5 + shift / 100, "share_on_due": 0.1, "share_late_over_30": 0.03}

    calibration = Calibration(scenario=arsim.load_scenario(SCENARIO), fitted={}, observed=stats(0), simulated=stats(1), observed_dso=40.0,
                              simulated_dso=41.0)
    svg = arsim.save_chart(arsim.calibration_chart(calibration), tmp_path / "fit.svg").read_text()
    assert "observed (ledger)" in svg and "simulated (calibrated)" in svg and "paid on the due date" in svg
    assert svg.count("<path") > 10


def test_money_reads_in_the_scenarios_currency():
    from arsim.present.formats import excel_format, format_difference, format_value

    assert format_value(1234567.4, "net_cost", currency="EUR") == "€1,234,567"
    assert format_value(-1200, "past_due_amount", currency="CHF") == "-CHF 1,200"
    assert excel_format("net_cost", currency="CHF") == '#,##0 "CHF";[Red](#,##0 "CHF")'
    assert format_value(0.875, "query_sla_attainment", currency="EUR") == "87.5%"
    assert format_difference(-0.004, "dso", currency="EUR") == "±0.0" and format_difference(0.02, "collector_utilization", currency="EUR") == "+2.0 pp"
    with pytest.raises(InputError, match="money.currency"):
        arsim.load_scenario(SCENARIO).with_overrides({"money.currency": "euro"})
