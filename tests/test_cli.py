"""The command line: exit codes, one-line errors, the JSON contract, reproducibility across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arsim.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--set", "portfolio.segments.prompt.customers=40", "--set", "portfolio.segments.slow.customers=30",
         "--set", "run.horizon_days=90", "--set", "run.warmup_days=30"]
REQUIRED_KEYS = (
    "dso", "dso_countback", "best_possible_dso", "add", "cei", "pct_past_due", "past_due_amount", "ar_turnover",
    "avg_collection_period", "bad_debt_ratio", "avg_days_late_paid", "share_paid_late", "dispute_cycle_days",
    "query_wait_days", "query_sla_attainment", "collector_utilization", "backlog_tasks_end", "contacts_email",
    "contacts_call", "contacts_letter", "promises_kept_share", "discount_cost", "penalty_income", "financing_cost",
    "collector_cost", "contact_cost", "bad_debt_amount", "lost_margin", "net_cost",
)


def _run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_json_contract(tmp_path, capsys):
    code, out, err = _run_cli(["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "3", "--seed", "5", "--json",
                               "--out", str(tmp_path / "r")], capsys)
    assert code == 0
    data = json.loads(out)  # exactly one JSON object on stdout
    assert data["scenario"] == "smb" and data["seed"] == 5 and data["replications"] == 3
    for key in REQUIRED_KEYS:
        entry = data["kpis"][key]
        assert set(entry) == {"mean", "ci_low", "ci_high", "values"}
        assert len(entry["values"]) == 3
    dso = data["kpis"]["dso"]
    assert dso["ci_low"] <= dso["mean"] <= dso["ci_high"]
    folder = tmp_path / "r"
    for name in ("manifest.json", "kpis.csv", "replications.csv", "monthly.csv", "invoices.csv.gz"):
        assert (folder / name).exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["replications"] == 3 and "streams" in manifest
    assert not list(folder.glob(".*.tmp"))


def test_run_prints_a_table(tmp_path, capsys):
    code, out, _ = _run_cli(["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "2", "--out", str(tmp_path)], capsys)
    assert code == 0
    assert "dso" in out and "95% CI" in out


def test_jobs_do_not_change_results(tmp_path, capsys):
    args = ["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "3", "--json"]
    _, one, _ = _run_cli(args + ["--jobs", "1", "--out", str(tmp_path / "a")], capsys)
    _, two, _ = _run_cli(args + ["--jobs", "2", "--out", str(tmp_path / "b")], capsys)
    assert json.loads(one) == json.loads(two)


def test_a_fresh_process_gives_the_same_numbers(tmp_path, capsys):
    args = ["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "2", "--json"]
    _, here, _ = _run_cli(args + ["--out", str(tmp_path / "a")], capsys)
    env = dict(os.environ, PYTHONHASHSEED="123")
    fresh = subprocess.run([sys.executable, "-m", "arsim.cli", *args, "--out", str(tmp_path / "b")], capture_output=True, text=True, env=env, check=True)
    assert json.loads(here) == json.loads(fresh.stdout)
    other = subprocess.run([sys.executable, "-m", "arsim.cli", *args, "--seed", "999", "--out", str(tmp_path / "c")],
                           capture_output=True, text=True, check=True)
    assert json.loads(other.stdout)["kpis"]["dso"] != json.loads(here)["kpis"]["dso"]


def test_validate(capsys):
    code, out, _ = _run_cli(["validate", str(ROOT / "scenarios/baseline.yaml")], capsys)
    assert code == 0 and "valid" in out


@pytest.mark.parametrize(
    "content, extra, expected",
    [
        ("team:\n  colectors: 3\n", [], "bad.yaml: team.colectors: unknown field"),
        ("portfolio:\n  segments:\n    - name: a\n      behaviour:\n        late_share_normal: 1.3\n", [],
         "bad.yaml: portfolio.segments.0.behaviour.late_share_normal: Input should be less than or equal to 1"),
        ("team: [\n", [], "bad.yaml: line 2: invalid YAML"),
        ("name: ok\n", ["--set", "team.colectors=4"], "--set: team.colectors: unknown field"),
        ("name: ok\n", ["--set", "team.collectors"], "expected path.to.field=value"),
        ("name: ok\n", ["--replications", "0"], "must be at least 1"),
        ("name: ok\n", ["--policy", "nowhere.yaml"], "nowhere.yaml: file not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, content, extra, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    out_dir = tmp_path / "out"
    code, out, err = _run_cli(["run", str(path), "--out", str(out_dir), *extra], capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arsim: error: ")
    assert expected in lines[0]
    assert not out_dir.exists()  # nothing written for bad input


def test_bad_input_from_the_console_script_has_no_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("run:\n  seed: -1\n")
    done = subprocess.run([sys.executable, "-m", "arsim.cli", "validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "run.seed" in done.stderr


def test_a_failed_rewrite_keeps_the_previous_results(tmp_path, capsys, monkeypatch):
    args = ["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "2", "--out", str(tmp_path)]
    assert _run_cli(args, capsys)[0] == 0
    before = (tmp_path / "kpis.csv").read_text()
    import pandas as pd

    def broken(self, *a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError):
        main(args + ["--seed", "77"])
    assert (tmp_path / "kpis.csv").read_text() == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_written_ledger_reads_back_without_a_mapping(tmp_path, capsys):
    import numpy as np
    import pandas as pd

    from arsim.ledger.read import read_ledger

    assert _run_cli(["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "1", "--out", str(tmp_path)], capsys)[0] == 0
    ledger = read_ledger(tmp_path / "invoices.csv.gz")
    raw = pd.read_csv(tmp_path / "invoices.csv.gz", dtype=str, keep_default_na=False)
    assert len(ledger) == len(raw) > 0
    assert ledger["invoice_id"].tolist() == raw["invoice_id"].tolist()
    assert ledger["amount"].tolist() == raw["amount"].astype(float).tolist()
    assert ledger["paid_date"].isna().sum() == (raw["paid_date"] == "").sum()
    invoices = ledger[ledger["item_type"] == "Invoice"]
    assert set(ledger["channel"].dropna()) <= {"paper", "electronic"} and invoices["channel"].notna().all()
    assert (invoices.loc[invoices["paid_date"].notna(), "paid_date"] >= invoices.loc[invoices["paid_date"].notna(), "invoice_date"]).all()
    # every invoice's settlement rows (after the invoices) bring it down to its open amount
    settled = ledger.loc[ledger["item_type"] != "Invoice"].groupby("invoice_id")["amount"].sum()
    left = invoices["amount"].to_numpy() + settled.reindex(invoices["invoice_id"]).fillna(0.0).to_numpy()
    assert np.allclose(left, invoices["open_amount"].to_numpy(), atol=0.005)


# ---------------------------------------------------------------------------------------------- help, usage, version


def _commands() -> dict:
    """Every subcommand's parser, by name."""
    from arsim.cli.main import build_parser

    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(getattr(a, "choices", None), dict)]
    return dict(action.choices)


def test_every_command_is_listed():
    assert sorted(_commands()) == sorted(["run", "validate", "fields", "compare", "sweep", "capacity", "kpis", "calibrate", "report", "optimize",
                                          "feasibility"])


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_top_level_help(capsys, flag):
    code, out, err = _run_cli([flag], capsys)
    assert code == 0 and err == ""
    assert out.startswith("usage: arsim") and "95% CI" in out
    for name in _commands():
        assert name in out


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_of_every_command(capsys, name):
    code, out, err = _run_cli([name, "--help"], capsys)
    assert code == 0 and err == ""
    assert out.startswith(f"usage: arsim {name}")
    assert _commands()[name].format_help() == out


def test_help_texts_are_plain_text_with_percent_signs():
    """A help text is read literally ("95% CI", "%d.%m.%Y"), and argparse's own %(default)s still works."""
    from arsim.cli.common import Parser

    parser = Parser(prog="x")
    parser.add_argument("--share", default=0.8, help="95% CI; dates like %d.%m.%Y; default %(default)s")
    assert "95% CI; dates like %d.%m.%Y; default 0.8" in " ".join(parser.format_help().split())
    assert "%d.%m.%Y" in _commands()["kpis"].format_help()


def test_no_argument_prints_the_usage_to_stderr_and_exits_2(capsys):
    code, out, err = _run_cli([], capsys)
    assert code == 2 and out == ""
    assert err.startswith("usage: arsim") and "calibrate" in err


def test_no_argument_from_a_fresh_process():
    done = subprocess.run([sys.executable, "-m", "arsim.cli"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("usage: arsim") and "Traceback" not in done.stderr


def test_version(capsys):
    import arsim
    from arsim.sim import engine

    code, out, err = _run_cli(["--version"], capsys)
    assert code == 0 and err == ""
    assert out == f"arsim {arsim.__version__} ({engine()} engine)\n"


def test_an_unknown_command_is_one_line(capsys):
    code, out, err = _run_cli(["runn"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("arsim: error: unknown command 'runn'")


# ---------------------------------------------------------------------------------------------- a closed pipe


def test_a_closed_pipe_ends_quietly():
    """stdout is a pipe nobody reads any more: no traceback, nothing on stderr, exit 141 (128 + SIGPIPE)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # closed before arsim writes a byte: every write fails, deterministically
    try:
        done = subprocess.run([sys.executable, "-m", "arsim.cli", "fields"], stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert done.stderr == b""
    assert done.returncode == 141


def test_a_reader_that_stops_after_one_line():
    """`arsim fields | head -1`: whether arsim was still writing when the reader left, stderr stays empty."""
    child = subprocess.Popen([sys.executable, "-m", "arsim.cli", "fields"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout.readline().startswith(b"name")
    child.stdout.close()
    err = child.stderr.read()
    child.stderr.close()
    assert child.wait() in (0, 141)
    assert err == b""


# ---------------------------------------------------------------------------------------------- checks before any simulation


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arsim: error: "), err
    return lines[0]


def _simulating(command: str) -> list[str]:
    """A small, valid invocation of a simulating command (without --out)."""
    smb = str(ROOT / "scenarios/smb.yaml")
    extra = {
        "run": [],
        "compare": ["--variant", "four: team.collectors=4"],
        "sweep": ["--param", "team.collectors=1,2"],
        "capacity": ["--contact-scale", "1,2"],
    }[command]
    return [command, smb, *SMALL, "--replications", "2", *extra]


SIMULATING = ["run", "compare", "sweep", "capacity"]


@pytest.mark.parametrize("command", SIMULATING)
def test_out_that_is_an_existing_file_is_refused_before_simulating(tmp_path, capsys, command):
    target = tmp_path / "taken.txt"
    target.write_text("mine\n")
    code, out, err = _run_cli([*_simulating(command), "--out", str(target)], capsys)
    assert code == 2 and out == ""
    line = _one_error_line(err)
    assert "--out" in line and "existing file" in line
    assert target.read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.txt"]


def test_out_under_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    code, _, err = _run_cli([*_simulating("run"), "--out", str(tmp_path / "f" / "r")], capsys)
    assert code == 2 and "--out" in _one_error_line(err) and "is a file, not a folder" in err


def test_out_that_is_someone_elses_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    code, _, err = _run_cli([*_simulating("run"), "--out", str(folder)], capsys)
    assert code == 2 and "--out" in _one_error_line(err)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("where", ["scenario", "policy"])
def test_a_results_folder_holding_an_input_file_is_refused(tmp_path, capsys, where):
    """The folder is replaced as a whole, so writing it would delete the input: refused before simulating."""
    folder = tmp_path / "results"
    code, _, _ = _run_cli([*_simulating("run"), "--out", str(folder)], capsys)
    assert code == 0
    inside = folder / "mine.yaml"
    smb = ROOT / "scenarios" / "smb.yaml"
    if where == "scenario":
        inside.write_text(smb.read_text())
        args = ["run", str(inside), *SMALL, "--replications", "2", "--out", str(folder)]
    else:
        inside.write_text("name: strict\ndunning:\n  min_days_between_contacts: 7\n")
        args = [*_simulating("run"), "--policy", str(inside), "--out", str(folder)]
    before = sorted(p.name for p in folder.iterdir())
    code, out, err = _run_cli(args, capsys)
    assert code == 2 and out == ""
    assert _one_error_line(err) == f"arsim: error: --out {folder}: holds the input file {inside}, which writing the folder would delete; " \
                                   "choose another folder or move the file"
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_link_to_a_results_folder_holding_an_input_is_refused(tmp_path, capsys):
    """--out through a symbolic link replaces the folder it points to: the check follows the link too."""
    folder = tmp_path / "results"
    assert _run_cli([*_simulating("run"), "--out", str(folder)], capsys)[0] == 0
    inside = folder / "mine.yaml"
    inside.write_text((ROOT / "scenarios" / "smb.yaml").read_text())
    link = tmp_path / "link"
    link.symlink_to(folder)
    code, _, err = _run_cli(["run", str(inside), *SMALL, "--replications", "2", "--out", str(link)], capsys)
    assert code == 2 and "holds the input file" in _one_error_line(err)
    assert inside.exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_out_in_an_unwritable_folder_is_refused(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _, err = _run_cli([*_simulating("run"), "--out", str(locked / "r")], capsys)
    finally:
        locked.chmod(0o755)
    assert code == 2 and "not writable" in _one_error_line(err)


@pytest.mark.parametrize("command, default", [("run", "smb"), ("compare", "smb-compare"), ("sweep", "smb-sweep"), ("capacity", "smb-capacity")])
def test_the_default_results_folder_is_checked_too(tmp_path, capsys, monkeypatch, command, default):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / default).write_text("not a folder")
    code, out, err = _run_cli(_simulating(command), capsys)
    assert code == 2 and out == ""
    line = _one_error_line(err)
    assert "--out" in line and f"results/{default}" in line
    assert (tmp_path / "results" / default).read_text() == "not a folder"


@pytest.mark.parametrize("command", SIMULATING)
def test_a_scenario_too_large_for_memory_is_refused(tmp_path, capsys, command):
    pytest.importorskip("arsim.sim.footprint")
    code, out, err = _run_cli([*_simulating(command), "--set", "portfolio.segments.prompt.customers=100000000",
                               "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and out == ""
    assert "memory" in _one_error_line(err)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", SIMULATING)
def test_cluster_and_jobs_together_are_refused(tmp_path, capsys, command):
    code, out, err = _run_cli([*_simulating(command), "--cluster", "tcp://127.0.0.1:8786", "--jobs", "2", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and out == ""
    line = _one_error_line(err)
    assert "--cluster" in line and "--jobs" in line
    assert not (tmp_path / "r").exists()


def test_a_malformed_cluster_address_is_refused(tmp_path, capsys):
    code, _, err = _run_cli([*_simulating("run"), "--cluster", "not an address", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and _one_error_line(err).startswith("arsim: error: --cluster")


@pytest.mark.parametrize("command, api", [
    ("run", "arsim.experiment.replications.run_experiment"), ("compare", "arsim.analysis.compare.compare"),
    ("sweep", "arsim.analysis.sweep.sweep"), ("capacity", "arsim.analysis.capacity.capacity"),
])
def test_cluster_is_passed_to_the_api(tmp_path, capsys, monkeypatch, command, api):
    """The address reaches the API as cluster=, and the API's complaint about it names --cluster."""
    from arsim.errors import InputError

    def refuse(*args, cluster=None, jobs=None, **kwargs):
        raise InputError(f"no scheduler at {cluster} (jobs={jobs})", argument="cluster")

    monkeypatch.setattr(api, refuse)
    code, _, err = _run_cli([*_simulating(command), "--cluster", "tcp://10.0.0.9:8786", "--out", str(tmp_path / "r")], capsys)
    assert code == 2
    assert _one_error_line(err) == "arsim: error: --cluster: no scheduler at tcp://10.0.0.9:8786 (jobs=1)"


# ---------------------------------------------------------------------------------------------- library errors, in flags


@pytest.mark.parametrize("extra, flag", [
    (["--sla-target", "1.5"], "--sla-target"),
    (["--plan-scale", "7"], "--plan-scale"),
    (["--contact-scale", "-1,1"], "--contact-scale"),
    (["--email-scale", "1,1"], "--email-scale"),
    (["--call-scale", "1000"], "--call-scale"),
    (["--collectors", "0,1"], "--collectors"),
])
def test_capacity_argument_errors_name_the_flag(tmp_path, capsys, extra, flag):
    command = [c for c in _simulating("capacity") if c not in ("--contact-scale", "1,2")]
    code, out, err = _run_cli([*command, *extra, "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and out == ""
    assert _one_error_line(err).startswith(f"arsim: error: {flag}: ")
    assert not (tmp_path / "r").exists()


def test_the_api_names_the_python_argument(tiny):
    from arsim.analysis.capacity import capacity
    from arsim.errors import InputError

    with pytest.raises(InputError) as raised:
        capacity(tiny, sla_target=1.5, save=False)
    assert str(raised.value).startswith("sla_target: ")
    assert raised.value.argument == "sla_target"


@pytest.mark.parametrize("extra, flag", [
    (["--max-replications", "3"], "--max-replications"),
    (["--precision-kpis", "nonsense"], "--precision-kpis"),
])
def test_run_auto_argument_errors_name_the_flag(tmp_path, capsys, extra, flag):
    command = [c for c in _simulating("run") if c != "2"]
    command[command.index("--replications") + 1:command.index("--replications") + 1] = ["auto"]
    code, _, err = _run_cli([*command, *extra, "--out", str(tmp_path / "r")], capsys)
    assert code == 2
    assert _one_error_line(err).startswith(f"arsim: error: {flag}: ")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("extra", [["--precision", "0.01"], ["--precision-kpis", "dso"], ["--max-replications", "20"]])
def test_an_auto_only_option_without_auto_is_refused_not_ignored(tmp_path, capsys, extra):
    code, _, err = _run_cli([*_simulating("run"), *extra, "--out", str(tmp_path / "r")], capsys)
    assert code == 2
    assert _one_error_line(err) == f"arsim: error: {extra[0]}: only with --replications auto (it sets when adding replications stops)"
    assert not (tmp_path / "r").exists()


def test_two_variants_with_one_name_are_refused(tmp_path, capsys):
    code, _, err = _run_cli(["compare", str(ROOT / "scenarios" / "smb.yaml"), *SMALL, "--replications", "2", "--variant", "x: team.collectors=2",
                             "--variant", "x: team.collectors=3", "--out", str(tmp_path / "c")], capsys)
    assert code == 2 and _one_error_line(err) == "arsim: error: --variant 'x': two variants have this name; give each its own"


def test_every_library_argument_has_a_flag():
    """Each argument name the library puts in an InputError has a flag in some command's table, so a shell
    user never reads a Python name. Exempt: arguments the command line only passes as objects it has built and
    checked itself (compare's alternatives and baseline, capacity's min_replications, with_policy's policy) or
    functions it never calls with a user's value (Comparison.of, save_chart, simulate's replication)."""
    import re

    from arsim.cli import ledger, optimize, report, run, whatif
    from arsim.cli.common import COMMON_FLAGS

    flags = {**COMMON_FLAGS, **run.RUN_FLAGS, **whatif.COMPARE_FLAGS, **whatif.SWEEP_FLAGS, **whatif.CAPACITY_FLAGS, **ledger.LEDGER_FLAGS,
             **report.REPORT_FLAGS, **optimize.SEARCH_FLAGS}
    named = set()
    for path in (ROOT / "src" / "arsim").rglob("*.py"):
        if "cli" not in path.parts:
            named |= set(re.findall(r'argument="(\w+)"', path.read_text(encoding="utf-8")))
    named |= {f"{axis}_scales" for axis in ("contact", "email", "call")}  # built as f"{option}_scales"
    assert sorted(named - set(flags) - {"alternative", "alternatives", "baseline", "chart", "path", "scale", "min_replications", "policy", "replication"}) == []


# ---------------------------------------------------------------------------------------------- calibrate


@pytest.fixture
def ledger_files(tmp_path):
    ledger = tmp_path / "export.csv"
    mapping = tmp_path / "mapping.yaml"
    ledger.write_bytes((ROOT / "tests/fixtures/ledgers/erp_export.csv").read_bytes())
    mapping.write_bytes((ROOT / "tests/fixtures/ledgers/erp_mapping.yaml").read_bytes())
    return ledger, mapping


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("target, expected", [
    ("export.csv", "would overwrite the input file"),
    ("mapping.yaml", "would overwrite the input file"),
    ("own.yaml", "not written by arsim calibrate"),
    ("blocker/fit.yaml", "is a file, not a folder"),
    ("sub", "is a folder"),
])
def test_calibrate_output_is_checked_before_fitting(tmp_path, capsys, ledger_files, target, expected):
    ledger, mapping = ledger_files
    (tmp_path / "own.yaml").write_text("name: hand-written\n")
    (tmp_path / "blocker").write_text("a file")
    (tmp_path / "sub").mkdir()
    before = _snapshot(tmp_path)
    code, out, err = _run_cli(["calibrate", str(ledger), "--mapping", str(mapping), "-o", str(tmp_path / target)], capsys)
    assert code == 2 and out == ""
    line = _one_error_line(err)
    assert line.startswith("arsim: error: -o ") and expected in line
    assert _snapshot(tmp_path) == before


def test_calibrate_never_writes_its_report_over_the_ledger(tmp_path, capsys):
    ledger = tmp_path / "calibration.md"
    ledger.write_bytes((ROOT / "tests/fixtures/ledgers/erp_export.csv").read_bytes())
    before = _snapshot(tmp_path)
    code, _, err = _run_cli(["calibrate", str(ledger), "-o", str(tmp_path / "fit.yaml")], capsys)
    assert code == 2 and "calibration.md next to it would overwrite the input file" in _one_error_line(err)
    assert _snapshot(tmp_path) == before


def test_calibrate_refuses_a_foreign_calibration_md(tmp_path, capsys, ledger_files):
    ledger, mapping = ledger_files
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "calibration.md").write_text("# My notes\n")
    code, _, err = _run_cli(["calibrate", str(ledger), "--mapping", str(mapping), "-o", str(tmp_path / "out" / "fit.yaml")], capsys)
    assert code == 2 and "not written by arsim calibrate" in _one_error_line(err)
    assert (tmp_path / "out" / "calibration.md").read_text() == "# My notes\n"


def test_calibrate_may_replace_what_it_wrote(tmp_path):
    from arsim.cli.ledger import check_calibration_output

    output = tmp_path / "deep" / "fit.yaml"
    assert check_calibration_output(output, inputs=[tmp_path / "export.csv"]) == (output, output.parent / "calibration.md")
    output.parent.mkdir()
    output.write_text("# Fitted by: arsim calibrate export.csv -o fit.yaml\nname: fit\n")
    (output.parent / "calibration.md").write_text("# Calibration of `fit`\n")
    assert check_calibration_output(output, inputs=[tmp_path / "export.csv"]) == (output, output.parent / "calibration.md")


@pytest.mark.parametrize("value", ["0", "abc", "-2", "1.5"])
def test_calibrate_segments_must_be_auto_or_a_whole_number(tmp_path, capsys, ledger_files, value):
    ledger, _ = ledger_files
    code, _, err = _run_cli(["calibrate", str(ledger), "-o", str(tmp_path / "fit.yaml"), "--segments", value], capsys)
    assert code == 2 and _one_error_line(err).startswith("arsim: error: --segments: ")
    assert not (tmp_path / "fit.yaml").exists()


# ---------------------------------------------------------------------------------------------- value lists


def test_parse_values():
    from arsim.cli.common import parse_values
    from arsim.errors import InputError

    assert parse_values("2,3,4", option="x") == [2, 3, 4]
    assert parse_values("0.5:1.5:0.25", option="x") == [0.5, 0.75, 1.0, 1.25, 1.5]
    assert parse_values("2:5", option="x") == [2, 3, 4, 5]
    assert parse_values("fifo,task_type", option="x") == ["fifo", "task_type"]
    for bad in ("", "1:", "3:1", "1:2:0", "1::2", "a:b", "1,,2", "nan:2", "0:100000"):
        with pytest.raises(InputError, match="^x: "):
            parse_values(bad, option="x")
