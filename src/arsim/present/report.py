"""Reports: what a results folder says, for the finance reader, as one HTML page and one Excel workbook.

A report is built from a typed result by the builder registered for its *kind*, the command that made it
(``run``, ``compare``, ``sweep``, ``capacity``, ``optimize``, ``feasibility``). A builder returns a `Report`: the question the run asked,
a one-sentence answer, the KPI table with confidence intervals, the charts, and the tables of the workbook.
`arsim.present.page` renders the page and `arsim.present.workbook` the workbook; neither knows the kinds.

Adding a kind takes one builder and one reader, registered together::

    @report_kind("optimize", result_type=OptimizeResult, read=read_optimization)
    def optimization_report(result: OptimizeResult) -> Report: ...

where ``read_optimization(folder, manifest)`` rebuilds the typed result from its results folder (see
`arsim.present.folders`), and the command records ``"kind": "optimize"`` in its manifest (or is called
``arsim optimize``, which the manifest's command line already says).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from arsim.analysis.capacity import CapacityStudy
from arsim.analysis.compare import MAIN_KPIS, Comparison
from arsim.analysis.feasibility import FeasibilityResult
from arsim.analysis.goals import mean_of
from arsim.analysis.optimize import BoundCheck, OptimizeResult, diff_object
from arsim.analysis.sweep import Sweep
from arsim.errors import InputError
from arsim.experiment.results import ExperimentResult
from arsim.present import charts
from arsim.present.folders import (
    read_capacity,
    read_comparison,
    read_feasibility,
    read_manifest,
    read_optimization,
    read_run,
    read_sweep,
    results_kind,
)
from arsim.present.formats import currency_of, excel_format, format_difference, format_value, label_of

REPORT_FILES: tuple[str, ...] = ("report.html", "report.xlsx")
"""What a report writes into a results folder."""


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a table, and how its numbers read.

    A numeric cell takes, in order: ``formats[column]``; the format of the KPI named in the row's
    ``kpi_column`` (tables with one row per KPI); the format of the KPI the column is named after.
    """

    name: str
    frame: pd.DataFrame
    kpi_column: str | None = None
    formats: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """Everything a report page and workbook show, in the order they show it."""

    kind: str
    title: str
    question: str
    headline: str
    kpi_table: pd.DataFrame  # display text, one row per KPI (or alternative x KPI)
    charts: list[tuple[str, alt.TopLevelMixin]]
    sheets: list[Sheet]
    currency: str
    details: list[tuple[str, str]] = field(default_factory=list)  # (label, value): seed, replications, command, ...
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReportKind:
    """A kind of results folder: its typed result, how a report is built from it, and how its folder is read back."""

    result_type: type
    build: Callable[[Any], Report]
    read: Callable[[Path, dict[str, Any]], Any]


REPORT_KINDS: dict[str, ReportKind] = {}
"""Every kind of result a report can be made of, by the name of the command that writes it."""


def report_kind(kind: str, *, result_type: type, read: Callable[[Path, dict[str, Any]], Any]) -> Callable:
    """Register a report builder for a kind of result (a decorator; see the module docstring)."""

    def register(build: Callable[[Any], Report]) -> Callable[[Any], Report]:
        REPORT_KINDS[kind] = ReportKind(result_type=result_type, build=build, read=read)
        return build

    return register


def build_report(result: Any) -> Report:
    """The report of a typed result, by the builder registered for its type."""
    for entry in REPORT_KINDS.values():
        if isinstance(result, entry.result_type):
            return entry.build(result)
    raise InputError(f"no report for a {type(result).__name__}; reports exist for {sorted(REPORT_KINDS)}", argument="result")


def read_results(folder: str | Path) -> tuple[str, Any]:
    """A results folder's kind and its typed result, read back from its tables and manifest."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    kind = results_kind(manifest)
    if kind not in REPORT_KINDS:
        raise InputError(f"{folder}: no report for results of `arsim {kind}` yet; reports exist for {', '.join(sorted(REPORT_KINDS))}")
    return kind, REPORT_KINDS[kind].read(folder, manifest)


def write_report(results: Any, folder: str | Path | None = None, *, images: bool = False) -> list[Path]:
    """Write report.html and report.xlsx (each whole) for a typed result or a results folder; return their paths.

    ``results`` is a typed result (`ExperimentResult`, `Comparison`, `Sweep`, `CapacityStudy`, `OptimizeResult`,
    `FeasibilityResult`) or the path of
    a results folder. The files go to ``folder``: by default the results folder itself (the one given, or
    the one the result was saved to). With ``images``, every chart is also saved as PNG and SVG in
    ``charts/`` (through vl-convert, no browser).
    """
    from arsim.present.page import write_page
    from arsim.present.workbook import write_workbook

    if isinstance(results, (str, Path)):
        source = Path(results)
        _, results = read_results(source)
        folder = source if folder is None else folder
    if folder is None:
        folder = getattr(results, "folder", None)
        if folder is None:
            raise InputError("give the folder to write the report to (this result was not saved)", argument="folder")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    report = build_report(results)
    written = [write_page(report, folder / "report.html"), write_workbook(report, folder / "report.xlsx")]
    if images:
        (folder / "charts").mkdir(exist_ok=True)
        for index, (title, chart) in enumerate(report.charts, start=1):
            stem = f"{index:02d}-{_slug(title)}"
            written += [charts.save_chart(chart, folder / "charts" / f"{stem}.svg"),
                        charts.save_chart(chart, folder / "charts" / f"{stem}.png", scale=2)]
    return written


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())[:40]


# ---------------------------------------------------------------------------------------------- shared pieces


def _details(manifest: dict[str, Any], *, replications: int, seed: int) -> list[tuple[str, str]]:
    scenario = manifest.get("scenario") or {}
    run = scenario.get("run") or {}
    rows = [("scenario", str(scenario.get("name", "?"))), ("policy", str((scenario.get("policy") or {}).get("name", "?"))),
            ("replications", str(replications)), ("seed", str(seed))]
    if run:
        rows.append(("measured period", f"{run.get('horizon_days')} days after a warm-up of {run.get('warmup_days')} days"))
    if manifest.get("command"):
        rows.append(("command", str(manifest["command"])))
    rows.append(("arsim version", str(manifest.get("arsim_version", "?"))))
    return rows


def _interval(low: float, high: float, kpi: str, *, currency: str) -> str:
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        return "–"
    return f"{format_value(low, kpi, currency=currency)} to {format_value(high, kpi, currency=currency)}"


def _difference_interval(low: float, high: float, kpi: str, *, currency: str) -> str:
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        return "–"
    return f"{format_difference(low, kpi, currency=currency)} to {format_difference(high, kpi, currency=currency)}"


def _plain(value: Any) -> str:
    """A swept value as typed: 2 rather than 2.0."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _numbered(replications: pd.DataFrame) -> pd.DataFrame:
    """Per-replication values with the replication number first."""
    if "replication" in replications:
        return replications
    return replications.assign(replication=range(len(replications)))[["replication", *replications.columns]]


def _present(kpis: Sequence[str], columns: Sequence[str]) -> list[str]:
    return [k for k in kpis if k in columns]


# ---------------------------------------------------------------------------------------------- run


@report_kind("run", result_type=ExperimentResult, read=read_run)
def run_report(result: ExperimentResult) -> Report:
    """One scenario's KPIs with their CIs, its aging and DSO over time."""
    scenario, summary = result.scenario, result.summary
    currency = scenario.money.currency
    n = len(result.replications)

    def value(key: str) -> str:
        return format_value(summary.loc[key, "mean"], key, currency=currency)

    def ci(key: str) -> str:
        return _interval(summary.loc[key, "ci_low"], summary.loc[key, "ci_high"], key, currency=currency)

    headline = (f"Under policy '{scenario.policy.name}', DSO is {value('dso')} days (95% CI {ci('dso')}), of which "
                f"{value('add')} days are delinquency (ADD); past-due receivables average {value('past_due_amount')} and "
                f"the receivables cost {value('net_cost')} net over the measured period.")
    kpis = _present(MAIN_KPIS + ("best_possible_dso", "pct_past_due", "financing_cost"), summary.index)
    table = pd.DataFrame([{"KPI": label_of(k), "mean": value(k), "95% CI": ci(k) if n > 1 else "–"} for k in kpis])
    numbers = summary.reset_index().rename(columns={"index": "kpi"})
    numbers.insert(1, "label", numbers["kpi"].map(label_of))
    monthly = result.monthly
    chart_list = [("AR aging over time", charts.aging_chart(result)), ("DSO, best possible DSO and ADD over time", charts.dso_trend_chart(result)),
                  ("KPIs across replications", charts.kpi_interval_chart(result, kpis=_present(("dso", "add", "past_due_amount", "net_cost"),
                                                                                                  summary.index)))]
    notes = []
    warmup = result.diagnostics.get("warmup") or {}
    if warmup.get("too_short"):
        notes.append(f"The warm-up of {warmup['configured_days']} days looks too short (MSER-5 suggests {warmup['suggested_days']} days).")
    return Report(
        kind="run", title=f"{scenario.name}: receivables under policy '{scenario.policy.name}'",
        question=f"What do receivables look like for '{scenario.name}' ({scenario.description or 'scenario'}) under policy "
                 f"'{scenario.policy.name}'?",
        headline=headline, kpi_table=table, charts=chart_list, currency=currency,
        sheets=[Sheet("KPIs", numbers[["kpi", "label", "mean", "ci_low", "ci_high", "std", "n"]], kpi_column="kpi", formats={"n": "0"}),
                Sheet("Replications", _numbered(result.replications), formats={"replication": "0"}),
                Sheet("Monthly", monthly, formats={"replication": "0", "days": "0"})],
        details=_details(result.manifest, replications=n, seed=scenario.run.seed), notes=notes)


# ---------------------------------------------------------------------------------------------- compare

COMPARE_CHART_KPIS: tuple[str, ...] = ("dso", "add", "past_due_amount", "net_cost", "bad_debt_amount", "discount_cost",
                                       "collector_utilization", "query_sla_attainment")
"""The KPIs of the comparison chart: days, money and the team's load."""


@report_kind("compare", result_type=Comparison, read=read_comparison)
def comparison_report(comparison: Comparison) -> Report:
    """Each alternative against the baseline: paired differences with CIs, and the money lines."""
    currency = currency_of(comparison.manifest)
    table = comparison.table
    base = comparison.baseline

    def line(row: Any, kpi: str) -> str:
        verdict = "significant" if row["significant"] else "not significant"
        return (f"{format_difference(row['diff'], kpi, currency=currency)} (paired 95% CI "
                f"{_difference_interval(row['ci_low'], row['ci_high'], kpi, currency=currency)}, {verdict})")

    cost = table[table["kpi"] == "net_cost"].set_index("alternative")
    dso = table[table["kpi"] == "dso"].set_index("alternative")
    best = cost["diff"].idxmin()
    if cost.loc[best, "diff"] < 0 and cost.loc[best, "significant"]:
        headline = (f"'{best}' lowers the net cost of the receivables most against '{base}': {line(cost.loc[best], 'net_cost')}, "
                    f"with DSO {line(dso.loc[best], 'dso')} days.")
    else:
        headline = (f"No alternative lowers the net cost of the receivables significantly against '{base}'; the lowest is '{best}' at "
                    f"{line(cost.loc[best], 'net_cost')}, with DSO {line(dso.loc[best], 'dso')} days.")
    kpis = [k for k in MAIN_KPIS if k in set(table["kpi"])]
    rows = []
    for key in kpis:
        of_kpi = table[table["kpi"] == key].set_index("alternative")
        row = {"KPI": label_of(key), f"{base} (baseline)": format_value(of_kpi["baseline"].iloc[0], key, currency=currency)}
        for alternative in comparison.alternatives:
            r = of_kpi.loc[alternative]
            mark = " *" if r["significant"] else ""
            row[f"{alternative}: difference (paired 95% CI)"] = (f"{format_difference(r['diff'], key, currency=currency)}{mark} "
                                                                f"({_difference_interval(r['ci_low'], r['ci_high'], key, currency=currency)})")
        rows.append(row)
    display = pd.DataFrame(rows)
    money = table[table["kpi"].isin(["discount_cost", "financing_cost", "collector_cost", "contact_cost", "bad_debt_amount", "lost_margin",
                                     "penalty_income", "net_cost"])]
    money_lines = money.pivot(index="kpi", columns="alternative", values="diff").reindex(
        [k for k in ("discount_cost", "financing_cost", "collector_cost", "contact_cost", "bad_debt_amount", "lost_margin", "penalty_income",
                     "net_cost") if k in set(money["kpi"])])
    money_lines = money_lines[[a for a in comparison.alternatives if a in money_lines.columns]].reset_index()
    money_lines.insert(1, "label", money_lines["kpi"].map(label_of))
    numbers = table.copy()
    numbers.insert(2, "label", numbers["kpi"].map(label_of))
    formats = {"relative_change": "0.0%", "n": "0"}
    return Report(
        kind="compare", title=f"{base} against {', '.join(comparison.alternatives)}",
        question=f"What would {', '.join(repr(a) for a in comparison.alternatives)} change against '{base}', replication by replication?",
        headline=headline, kpi_table=display, currency=currency,
        charts=[("Paired differences from the baseline", charts.comparison_chart(
            comparison, kpis=[k for k in COMPARE_CHART_KPIS if k in set(table["kpi"])]))],
        sheets=[Sheet("Comparison", numbers, kpi_column="kpi", formats=formats),
                Sheet("Money lines", money_lines, kpi_column="kpi"),
                Sheet("Replications", comparison.per_replication, formats={"replication": "0"})],
        details=_details(comparison.manifest, replications=comparison.replications, seed=comparison.seed),
        notes=["Differences are alternative minus baseline, measured replication by replication on the same customers and "
               "behaviour (common random numbers); * marks a significant difference: its paired 95% interval excludes zero.",
               "Money lines: each cost line's change (positive costs more); net cost adds them up."])


# ---------------------------------------------------------------------------------------------- sweep

SWEEP_KPIS: tuple[str, ...] = ("dso", "net_cost", "query_sla_attainment")
"""The KPIs a sweep report leads with (every KPI is in the workbook)."""


@report_kind("sweep", result_type=Sweep, read=read_sweep)
def sweep_report(sweep: Sweep) -> Report:
    """Every cell's KPIs with CIs, and a heat map per KPI."""
    currency = currency_of(sweep.manifest)
    summary, parameters = sweep.summary, list(sweep.parameters)
    kpis = _present(SWEEP_KPIS, summary.columns)
    best = summary.loc[summary["net_cost"].idxmin()] if "net_cost" in summary else summary.iloc[0]
    where = ", ".join(f"{p} = {_plain(best[p])}" for p in parameters)
    lead = kpis[0]
    best_dso = summary.loc[summary[lead].idxmin()]
    headline = (f"The lowest net cost is at {where}: {format_value(best['net_cost'], 'net_cost', currency=currency)} (95% CI "
                f"{_interval(best['net_cost_ci_low'], best['net_cost_ci_high'], 'net_cost', currency=currency)}), and the lowest "
                f"{label_of(lead)} at {', '.join(f'{p} = {_plain(best_dso[p])}' for p in parameters)}: "
                f"{format_value(best_dso[lead], lead, currency=currency)}.")
    rows = []
    for cell in summary.to_dict(orient="records"):
        row = {p: cell[p] for p in parameters}
        for key in kpis:
            row[label_of(key)] = format_value(cell[key], key, currency=currency)
            row[f"{label_of(key)} 95% CI"] = _interval(cell[f"{key}_ci_low"], cell[f"{key}_ci_high"], key, currency=currency)
        rows.append(row)
    formats = {p: "General" for p in parameters} | {"n": "0"}
    return Report(
        kind="sweep", title=f"sweep of {', '.join(parameters)}",
        question=f"How do {', '.join(label_of(k) for k in kpis)} change across {' x '.join(parameters)}?",
        headline=headline, kpi_table=pd.DataFrame(rows), currency=currency,
        charts=[("Heat maps", charts.sweep_heatmap(sweep, kpis=kpis)), ("Means with 95% CIs", charts.sweep_chart(sweep, kpis=kpis))],
        sheets=[Sheet("Summary", summary, formats=formats | {f"{c}": excel_format(c.removesuffix("_ci_low").removesuffix("_ci_high"), currency=currency)
                                                            for c in summary.columns if c.endswith(("_ci_low", "_ci_high"))}),
                Sheet("Replications", sweep.per_replication, formats=formats | {"cell": "0", "replication": "0"})],
        details=_details(sweep.manifest, replications=sweep.replications, seed=sweep.seed))


# ---------------------------------------------------------------------------------------------- capacity


@report_kind("capacity", result_type=CapacityStudy, read=read_capacity)
def capacity_report(study: CapacityStudy) -> Report:
    """Where follow-up capacity breaks as contacts grow, what it does to DSO, and the team that carries the plan."""
    currency = currency_of(study.manifest)
    levels = study.levels
    team = study.smallest_team or {}
    plan = team.get("contact_scale")
    carried = (f"{team['collectors']} collectors carry scale {plan:g}" if team.get("collectors") is not None
               else f"no team studied carries scale {plan:g}" if plan is not None else "")
    best = study.best_dso or {}
    dso = (f"; the best scale for DSO is {best['scale']:g} ({format_value(best['mean'], 'dso', currency=currency)} days, "
           f"{format_difference(best['diff'], 'dso', currency=currency)} against scale {best['versus_scale']:g})") if best.get("scale") is not None else ""
    headline = f"Saturation point with {study.reference_collectors} collectors: {study.saturation}" + (f"; {carried}" if carried else "") + dso + "."
    rows = []
    for row in levels.to_dict(orient="records"):
        rows.append({
            "contacts asked (x today)": f"{row['contact_scale']:g}", "collectors": int(row["collectors"]),
            "contacts sent (x today)": f"{row.get('achieved_scale', float('nan')):.2f}",
            "offered / capacity (min/day)": f"{row['offered_minutes_per_day']:,.0f} / {row['capacity_minutes_per_day']:,.0f}",
            "utilisation": format_value(row["utilization"], "collector_utilization", currency=currency),
            "query SLA": format_value(row["query_sla_attainment"], "query_sla_attainment", currency=currency),
            "DSO": format_value(row["dso"], "dso", currency=currency),
            "DSO 95% CI": _interval(row["dso_ci_low"], row["dso_ci_high"], "dso", currency=currency),
            "net cost": format_value(row["net_cost"], "net_cost", currency=currency),
            "within capacity": "yes" if row["within_capacity"] else "no",
        })
    formats = {"contact_scale": "0.0#", "requested_scale": "0.0#", "achieved_scale": "0.00", "collectors": "0", "offered_load": "0.00",
               "utilization": "0.0%", "email_volume": "0.0#", "call_volume": "0.0#", "letter_volume": "0.0#", "replication": "0"}
    formats |= {c: excel_format(c.removesuffix("_ci_low").removesuffix("_ci_high").removesuffix("_diff"), currency=currency)
                for c in levels.columns if c.endswith(("_ci_low", "_ci_high", "_diff"))}
    formats |= {c: excel_format(c.split("_diff")[0], currency=currency) for c in levels.columns if "_diff_ci_" in c}
    notes = [f"Within capacity: queries answered within the SLA at least {study.sla_target:.0%} of the time, and the end backlog "
             "clearable within the SLA."]
    if study.capacity_trap:
        notes.append("Capacity trap (more contacts, significantly worse DSO or past due): " + ", ".join(
            f"scale {t['contact_scale']:g} with {t['collectors']} collectors" for t in study.capacity_trap) + ".")
    return Report(
        kind="capacity", title=f"contact capacity: {study.axis} volume x " + ", ".join(f"{s:g}" for s in sorted(set(levels["contact_scale"]))),
        question=f"Can the collectors carry the follow-up work if {study.axis} volume grows to "
                 f"{levels['contact_scale'].max():g}x today's, and what does it do to DSO?",
        headline=headline, kpi_table=pd.DataFrame(rows), currency=currency,
        charts=[("The capacity picture", charts.capacity_chart(study))],
        sheets=[Sheet("Levels", levels, formats=formats), Sheet("Replications", study.per_replication, formats=formats)],
        details=_details(study.manifest, replications=study.replications, seed=study.seed), notes=notes)


# ---------------------------------------------------------------------------------------------- optimize and feasibility

SEARCH_SHOWN_KPIS: tuple[str, ...] = ("dso", "add", "past_due_amount", "bad_debt_amount", "query_sla_attainment", "collector_utilization",
                                      "contacts_total", "discount_cost", "net_cost")
"""KPIs the winner-against-baseline table shows besides the objectives and bounds (the workbook has every KPI)."""


def _winner_table(baseline: dict[str, list[float]], best: dict[str, list[float]]) -> pd.DataFrame:
    """Every KPI: baseline and winner means on the confirmation replications, and the paired difference with its 95% CI."""
    rows = []
    for kpi in best:
        if kpi not in baseline:
            continue
        d = diff_object(baseline[kpi], best[kpi])
        rows.append({"kpi": kpi, "label": label_of(kpi), "baseline": mean_of(baseline[kpi]), "winner": mean_of(best[kpi]),
                     "diff": _number(d["diff"]), "ci_low": _number(d["ci_low"]), "ci_high": _number(d["ci_high"]),
                     "relative_change": _number(d["relative_change"]), "significant": d["significant"]})
    return pd.DataFrame(rows)


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _winner_display(table: pd.DataFrame, kpis: Sequence[str], *, currency: str) -> pd.DataFrame:
    """The winner-against-baseline rows a reader sees first, as display text."""
    rows = []
    indexed = table.set_index("kpi")
    for key in dict.fromkeys(kpis):
        if key not in indexed.index:
            continue
        r = indexed.loc[key]
        mark = " *" if r["significant"] else ""
        rows.append({"KPI": label_of(key), "baseline": format_value(r["baseline"], key, currency=currency),
                     "winner": format_value(r["winner"], key, currency=currency),
                     "difference (paired 95% CI)": f"{format_difference(r['diff'], key, currency=currency)}{mark} "
                                                   f"({_difference_interval(r['ci_low'], r['ci_high'], key, currency=currency)})"})
    return pd.DataFrame(rows)


def _checks_sheet(checks: Sequence[BoundCheck]) -> pd.DataFrame:
    return pd.DataFrame([{"bound": c.bound.text, "kpi": c.bound.kpi, "baseline": c.baseline, "needed": c.threshold, "reached": c.reached,
                          "met": c.met, "probability": c.probability, "probability_ci_low": c.probability_low,
                          "probability_ci_high": c.probability_high} for c in checks])


CHECK_FORMATS = {"probability": "0%", "probability_ci_low": "0%", "probability_ci_high": "0%"}


def _check_line(check: BoundCheck, *, currency: str) -> str:
    kpi = check.bound.kpi
    return (f"{check.bound.text} ({label_of(kpi)} {check.bound.op} {format_value(check.threshold, kpi, currency=currency)}): "
            f"{'met' if check.met else 'missed'}, reached {format_value(check.reached, kpi, currency=currency)} against "
            f"{format_value(check.baseline, kpi, currency=currency)} today, on {check.probability:.0%} of the fresh replications "
            f"(95% CI {check.probability_low:.0%} to {check.probability_high:.0%})")


def _levers_sheet(params: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{"lever": path, "value": _plain(value)} for path, value in params.items()])


def _search_sheets(result: OptimizeResult | FeasibilityResult, winner: pd.DataFrame) -> list[Sheet]:
    """The tables every search has: winner against baseline, the winner's levers, the trials, the selection, per replication."""
    params = [c for c in result.trials.columns if c in result.params] if not result.trials.empty else []
    replications = pd.concat([pd.DataFrame(result.baseline).assign(policy="baseline", replication=list(result.confirmation_replications)),
                              pd.DataFrame(result.best).assign(policy="winner", replication=list(result.confirmation_replications))],
                             ignore_index=True)
    replications = replications[["policy", "replication", *[c for c in replications.columns if c not in ("policy", "replication")]]]
    return [Sheet("Winner vs baseline", winner, kpi_column="kpi", formats={"relative_change": "0.0%"}),
            Sheet("Winning levers", _levers_sheet(result.params)),
            Sheet("Trials", result.trials, formats={"trial": "0", **{p: "General" for p in params}}),
            Sheet("Selection", result.selection, formats={"trial": "0", "p_better_than_incumbent": "0.000", "holm_adjusted_p": "0.000"}),
            Sheet("Replications", replications, formats={"replication": "0"})]


def _search_details(result: OptimizeResult | FeasibilityResult, *, per_trial: int) -> list[tuple[str, str]]:
    manifest = result.manifest
    fresh = result.confirmation_replications
    rows = _details(manifest, replications=per_trial, seed=int(manifest.get("seed", 0)))
    rows = [(("replications per trial" if label == "replications" else label), value) for label, value in rows]
    rows[2:2] = [("study", result.study), ("trials", str(result.n_trials)),
                 ("confirmation replications", f"{len(fresh)} fresh ones ({fresh[0]} to {fresh[-1]}), never used to choose the policy" if fresh else "–"),
                 ("policy file", str(result.policy_file) if result.policy_file else "not saved")]
    return rows


def plural_collectors(n: int) -> str:
    """``1 collector``, ``3 collectors``."""
    return f"{n} collector{'' if n == 1 else 's'}"


def _staffing_range(result: FeasibilityResult) -> tuple[int, int]:
    """The staffing range asked for (the manifest's studies, one per team size), not only the sizes tried before one was feasible."""
    sizes = [lever.get("value") for study in result.manifest.get("studies") or [] if isinstance(study, dict)
             for lever in study.get("space") or [] if lever.get("path") == "team.collectors" and lever.get("kind") == "fixed"]
    sizes = [int(size) for size in sizes if isinstance(size, (int, float))] or [a.collectors for a in result.staffing]
    return min(sizes), max(sizes)


def _team_limit(manifest: dict[str, Any]) -> str:
    """How the search space bounds the team, in words (empty when the team is not searched)."""
    study = manifest.get("study") or next(iter(manifest.get("studies") or []), {})
    for lever in (study.get("space") or []) if isinstance(study, dict) else []:
        if lever.get("path") == "team.collectors" and lever.get("kind") == "range":
            return f", with {lever['low']:g} to {lever['high']:g} collectors"
    return ""


def _per_trial(manifest: dict[str, Any]) -> int:
    study = manifest.get("study") or next(iter(manifest.get("studies") or []), {})
    return int(study.get("replications", 0)) if isinstance(study, dict) else 0


@report_kind("optimize", result_type=OptimizeResult, read=read_optimization)
def optimization_report(result: OptimizeResult) -> Report:
    """The winning policy against today's on fresh replications, and how the search got there."""
    currency = currency_of(result.manifest)
    winner = _winner_table(result.baseline, result.best)
    primary = result.objectives[0]
    key = primary.kpi
    row = winner.set_index("kpi").loc[key]
    moved = "lowers" if row["diff"] < 0 else "raises"
    verdict = "significant" if row["significant"] else "not significant"
    met = ("it meets every constraint" if result.constraints_met else "it misses a constraint on these fresh replications: this is the "
           "nearest miss") if result.constraints else "no constraint was set"
    team = f" with {result.collectors} collectors" if "team.collectors" in result.params else ""
    headline = (f"The best policy found{team} {moved} {label_of(key)} from {format_value(row['baseline'], key, currency=currency)} to "
                f"{format_value(row['winner'], key, currency=currency)} ({format_difference(row['diff'], key, currency=currency)}, paired 95% CI "
                f"{_difference_interval(row['ci_low'], row['ci_high'], key, currency=currency)}, {verdict}) on "
                f"{len(result.confirmation_replications)} fresh replications; {met}.")
    goal = " and ".join(f"{'minimises' if o.direction == 'minimize' else 'maximises'} {label_of(o.kpi)}" for o in result.objectives)
    limits = f", keeping {', '.join(c.bound.text for c in result.constraints)}" if result.constraints else ""
    kpis = [o.kpi for o in result.objectives] + [c.bound.kpi for c in result.constraints] + list(SEARCH_SHOWN_KPIS)
    chart_list = [("Optimisation history", charts.optimization_history_chart(result))]
    if len(result.objectives) > 1:
        chart_list.append(("Pareto front", charts.pareto_chart(result)))
    if result.importances:
        chart_list.append(("Lever importance", charts.importance_chart(result)))
    if result.constraints:
        chart_list.append(("Constraints on fresh replications", charts.feasibility_chart(result)))
    notes = [f"The policy: {', '.join(f'{p} = {_plain(v)}' for p, v in result.params.items())}.",
             "Search means are optimistic (the best of many noisy trials); every figure on this page except the history "
             "and the Pareto front comes from fresh replications that played no part in choosing the policy. "
             "* marks a significant paired difference."]
    notes += [_check_line(c, currency=currency) + "." for c in result.constraints]
    if not result.importances:
        notes.append("No lever importance: fewer than two completed trials, or no lever varied.")
    if len(result.objectives) > 1:
        notes.append(f"The Pareto front has {len(result.pareto)} policies; the winner is the best on {label_of(key)} among them.")
    sheets = _search_sheets(result, winner)
    if result.constraints:
        sheets.insert(1, Sheet("Constraints", _checks_sheet(result.constraints), kpi_column="kpi", formats=CHECK_FORMATS))
    if result.pareto:
        front = pd.DataFrame([{"trial": p["trial"], **p["values"], **p["params"]} for p in result.pareto])
        sheets.append(Sheet("Pareto front", front, formats={"trial": "0", **{c: "General" for c in front.columns if c in result.params}}))
    return Report(
        kind="optimize", title=f"policy search: {result.study}",
        question=f"Which policy {goal}{limits}{_team_limit(result.manifest)}?",
        headline=headline, kpi_table=_winner_display(winner, kpis, currency=currency), charts=chart_list, sheets=sheets, currency=currency,
        details=_search_details(result, per_trial=_per_trial(result.manifest)), notes=notes)


@report_kind("feasibility", result_type=FeasibilityResult, read=read_feasibility)
def feasibility_report(result: FeasibilityResult) -> Report:
    """Whether the goals can be met, by which policy, how surely, with what team and at what cost."""
    currency = currency_of(result.manifest)
    scenario = (result.manifest.get("scenario") or {})
    today = int((scenario.get("team") or {}).get("collectors", result.collectors))
    winner = _winner_table(result.baseline, result.best)
    goals = " and ".join(c.bound.text for c in result.goals)
    team_cost = format_value(result.team_cost_per_year, "team_cost_per_year", currency=currency)
    least_sure = min(result.goals, key=lambda c: c.probability)
    chance = f"the least sure goal, {least_sure.bound.text}, holds on {least_sure.probability:.0%} of fresh replications (95% CI " \
             f"{least_sure.probability_low:.0%} to {least_sure.probability_high:.0%})"
    if result.staffing:
        low, high = _staffing_range(result)
        sizes = f"{low} to {high}"
        question = f"Can a policy meet {goals}, and with how many collectors (trying {sizes})?"
        if result.smallest_team is not None:
            headline = (f"Yes, with {result.smallest_team} collectors (today {today}): the smallest team tried for which a policy meets every "
                        f"goal; the team costs {team_cost} a year, and {chance}.")
        else:
            headline = (f"No: no team from {sizes} collectors meets every goal with the policies tried; the nearest miss "
                        f"({plural_collectors(result.collectors)}) falls short on {result.binding.bound.text if result.binding else 'a constraint'}.")
    else:
        question = f"Can a policy meet {goals} with our team ({plural_collectors(result.collectors)})?" if "team.collectors" not in result.params else \
            f"Can a policy meet {goals}{_team_limit(result.manifest)}?"
        if result.feasible:
            headline = f"Yes: a policy meets every goal with {plural_collectors(result.collectors)} (team cost {team_cost} a year); {chance}."
        else:
            binding = result.binding
            headline = ("No: the best policy found falls short" + (
                f"; the binding goal is {binding.bound.text} (reached {format_value(binding.reached, binding.bound.kpi, currency=currency)}, needs "
                f"{binding.bound.op} {format_value(binding.threshold, binding.bound.kpi, currency=currency)})" if binding else "") + ".")
    cost = winner.set_index("kpi").loc["net_cost"] if "net_cost" in set(winner["kpi"]) else None
    notes = [f"The policy{' (nearest miss)' if not result.feasible else ''}: {', '.join(f'{p} = {_plain(v)}' for p, v in result.params.items())}."]
    if cost is not None:
        notes.append(f"Its net cost of the receivables: {format_value(cost['winner'], 'net_cost', currency=currency)} against "
                     f"{format_value(cost['baseline'], 'net_cost', currency=currency)} today "
                     f"({format_difference(cost['diff'], 'net_cost', currency=currency)} over the measured period), besides the team's "
                     f"{team_cost} a year.")
    notes += [_check_line(c, currency=currency) + "." for c in (*result.goals, *result.constraints)]
    notes.append("Feasible means the confirmed policy's means meet every goal on fresh replications never used to choose it; the probability is "
                 "the share of those replications on which a goal holds against the same replication of today's policy.")
    rows = []
    for check in (*result.goals, *result.constraints):
        kpi = check.bound.kpi
        rows.append({"goal": check.bound.text, "KPI": label_of(kpi), "today": format_value(check.baseline, kpi, currency=currency),
                     "needed": f"{check.bound.op} {format_value(check.threshold, kpi, currency=currency)}",
                     "reached": format_value(check.reached, kpi, currency=currency), "met": "yes" if check.met else "no",
                     "probability met (95% CI)": f"{check.probability:.0%} ({check.probability_low:.0%} to {check.probability_high:.0%})"})
    chart_list = [("Goals: today, needed, reached, and the chance", charts.feasibility_chart(result))]
    if result.staffing:
        chart_list.append(("Staffing range", charts.staffing_chart(result)))
    chart_list.append(("Search history (total goal shortfall)", charts.optimization_history_chart(result)))
    if result.importances:
        chart_list.append(("Lever importance", charts.importance_chart(result)))
    sheets = [Sheet("Goals", _checks_sheet((*result.goals, *result.constraints)), kpi_column="kpi", formats=CHECK_FORMATS)]
    if result.staffing:
        sheets.append(Sheet("Staffing", pd.DataFrame([a.to_json() for a in result.staffing]),
                            formats={"collectors": "0", "shortfall": "0.0%", "team_cost_per_year": excel_format("net_cost", currency=currency)}))
    sheets += _search_sheets(result, winner)
    return Report(
        kind="feasibility", title=f"goal feasibility: {goals}", question=question, headline=headline,
        kpi_table=pd.DataFrame(rows), charts=chart_list, sheets=sheets, currency=currency,
        details=_search_details(result, per_trial=_per_trial(result.manifest)), notes=notes)
