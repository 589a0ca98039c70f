"""Altair charts of arsim's typed results: a run over time, policy comparisons, sweeps, capacity studies, policy searches, calibrations.

The only module (with the report page) that imports altair. Every chart is built from a typed result the API
returns (`ExperimentResult`, `Comparison`, `Sweep`, `CapacityStudy`, `OptimizeResult`, `FeasibilityResult`, `Calibration`), so a notebook draws the same
chart as `arsim report`. Money is labelled in the scenario's ``money.currency``. `save_chart` writes HTML that
carries the Vega JavaScript inline (through vl-convert), so it opens on a machine without internet access; a
.png or .svg suffix exports an image instead, also through vl-convert, without a browser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from arsim.analysis.capacity import CapacityStudy
from arsim.analysis.compare import Comparison
from arsim.analysis.feasibility import FeasibilityResult
from arsim.analysis.optimize import OptimizeResult
from arsim.analysis.sweep import Sweep
from arsim.errors import InputError
from arsim.experiment.results import ExperimentResult
from arsim.experiment.statistics import kpi_confidence_interval
from arsim.files import atomic_write
from arsim.ledger.calibrate.fit import Calibration
from arsim.present.formats import axis_title, currency_of, d3_format, format_value, label_of, unit_of

AGING_BUCKETS: tuple[str, ...] = ("aging_current", "aging_1-30", "aging_31-60", "aging_61-90", "aging_91+")
"""The aging buckets of open receivables, youngest first (the stacking order of the aging chart)."""

TREND_KPIS: tuple[str, ...] = ("dso", "best_possible_dso", "add")
"""The day measures drawn over time: DSO, best possible DSO, and their gap, average days delinquent."""

WIDTH, HEIGHT = 300, 190
"""The size of one chart panel, in pixels: three fit across a report page."""


def _with_intervals(frame: pd.DataFrame, *layers: alt.Chart, low: str = "ci_low") -> list[alt.Chart]:
    """The interval layers when the frame has intervals (one replication has none: Vega would warn of an empty extent)."""
    return list(layers) if frame[low].notna().any() else []


def _month_axis() -> alt.X:
    return alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=-40))


# ---------------------------------------------------------------------------------------------- a run over time


def aging_chart(result: ExperimentResult) -> alt.Chart:
    """Open receivables at each month end by aging bucket (mean over replications), stacked: how old the book is."""
    currency = result.scenario.money.currency
    monthly = result.monthly
    means = monthly.groupby("month", sort=True)[list(AGING_BUCKETS)].mean().reset_index()
    data = means.melt(id_vars="month", var_name="bucket", value_name="amount")
    data["bucket"] = data["bucket"].str.removeprefix("aging_").replace({"current": "not yet due"})
    data["order"] = data["bucket"].map({name: i for i, name in enumerate(["not yet due", "1-30", "31-60", "61-90", "91+"])})
    data["month"] = pd.to_datetime(data["month"])
    return alt.Chart(data).mark_area().encode(
        x=_month_axis(),
        y=alt.Y("amount:Q", stack="zero", title=f"open receivables ({currency})", axis=alt.Axis(format="~s")),
        color=alt.Color("bucket:N", title="days past due", sort=["not yet due", "1-30", "31-60", "61-90", "91+"],
                        scale=alt.Scale(scheme="orangered")),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("month:T", format="%B %Y"), "bucket:N", alt.Tooltip("amount:Q", format=",.0f", title=f"amount ({currency})")],
    ).properties(title="AR aging over time (month end, mean of replications)", width=2 * WIDTH, height=HEIGHT)


def monthly_intervals(monthly: pd.DataFrame, kpis: Sequence[str]) -> pd.DataFrame:
    """One row per month x KPI: the mean over replications and its 95% t interval (the CI band of a trend chart)."""
    rows = []
    for month, part in monthly.groupby("month", sort=True):
        for key in kpis:
            mean, low, high = kpi_confidence_interval(key, part[key].dropna().tolist())
            rows.append({"month": month, "kpi": key, "mean": mean, "ci_low": low, "ci_high": high, "n": int(part[key].notna().sum())})
    return pd.DataFrame(rows)


def dso_trend_chart(result: ExperimentResult) -> alt.LayerChart:
    """DSO, best possible DSO and ADD month by month, each with its 95% CI band over replications."""
    data = monthly_intervals(result.monthly, TREND_KPIS)
    data["measure"] = data["kpi"].map(label_of)
    data["month"] = pd.to_datetime(data["month"])
    colour = alt.Color("measure:N", title=None, sort=[label_of(k) for k in TREND_KPIS])
    base = alt.Chart(data).encode(x=_month_axis(), color=colour)
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("ci_low:Q", title="days"), y2="ci_high:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("mean:Q", title="days"),
        tooltip=[alt.Tooltip("month:T", format="%B %Y"), "measure:N", alt.Tooltip("mean:Q", format=".1f"),
                 alt.Tooltip("ci_low:Q", format=".1f", title="95% CI low"), alt.Tooltip("ci_high:Q", format=".1f", title="95% CI high")],
    )
    return alt.layer(*_with_intervals(data, band), line).properties(title="DSO, best possible DSO and ADD by month (95% CI bands)",
                                                                    width=2 * WIDTH, height=HEIGHT)


def kpi_interval_chart(result: ExperimentResult, *, kpis: Sequence[str]) -> alt.ConcatChart:
    """Each KPI's mean with its 95% CI and every replication's value: how much the replications agree."""
    currency = result.scenario.money.currency
    panels = []
    for key in kpis:
        values = pd.DataFrame({"value": result.replications[key].astype(float), "what": "replication"})
        row = result.summary.loc[key]
        summary = pd.DataFrame([{"mean": row["mean"], "ci_low": row["ci_low"], "ci_high": row["ci_high"]}])
        fmt = d3_format(key, currency=currency)
        x = alt.X("value:Q", title=axis_title(key, currency=currency), scale=alt.Scale(zero=False), axis=alt.Axis(format=fmt))
        dots = alt.Chart(values).mark_tick(opacity=0.5, color="#888").encode(x=x, tooltip=[alt.Tooltip("value:Q", format=fmt)])
        bar = alt.Chart(summary).mark_rule(strokeWidth=3).encode(x="ci_low:Q", x2="ci_high:Q")
        point = alt.Chart(summary).mark_point(filled=True, size=80).encode(
            x="mean:Q", tooltip=[alt.Tooltip(k, format=fmt) for k in ("mean:Q", "ci_low:Q", "ci_high:Q")])
        panels.append(alt.layer(dots, *_with_intervals(summary, bar), point).properties(title=label_of(key), width=WIDTH, height=40))
    return alt.concat(*panels, columns=2)


# ---------------------------------------------------------------------------------------------- what-if


def comparison_chart(comparison: Comparison, *, kpis: Sequence[str]) -> alt.ConcatChart:
    """Each alternative's paired difference from the baseline with its 95% CI, one panel per KPI.

    The baseline is the line at zero; a point whose interval misses the line differs significantly (filled).
    Each panel has its own unit, so money, days and shares read in their own terms.
    """
    currency = currency_of(comparison.manifest)
    panels = []
    for key in kpis:
        rows = comparison.table[comparison.table["kpi"] == key].copy()
        if rows.empty:
            continue
        rows["significance"] = np.where(rows["significant"].astype(bool), "significant", "not significant")
        fmt = d3_format(key, currency=currency)
        y = alt.Y("alternative:N", title=None, sort=list(comparison.alternatives))
        x_title = f"{axis_title(key, currency=currency)}: difference from {comparison.baseline}"
        x = alt.X("ci_low:Q", title=x_title, axis=alt.Axis(format=fmt))
        tooltip = ["alternative:N", alt.Tooltip("baseline:Q", format=fmt, title=f"{comparison.baseline}"),
                   alt.Tooltip("alternative_mean:Q", format=fmt, title="alternative"), alt.Tooltip("diff:Q", format=fmt, title="difference"),
                   alt.Tooltip("ci_low:Q", format=fmt, title="95% CI low"), alt.Tooltip("ci_high:Q", format=fmt, title="95% CI high")]
        base = alt.Chart(rows).encode(y=y)
        bars = base.mark_rule(strokeWidth=2).encode(x=x, x2="ci_high:Q", tooltip=tooltip)
        points = base.mark_point(size=90).encode(
            x="diff:Q", tooltip=tooltip,
            fill=alt.Fill("significance:N", scale=alt.Scale(domain=["significant", "not significant"], range=["#1f77b4", "white"]),
                          title="paired 95% CI"),
            color=alt.value("#1f77b4"))
        zero = alt.Chart(pd.DataFrame({"diff": [0.0], "label": [f"baseline: {comparison.baseline}"]})).mark_rule(
            color="#d62728", strokeDash=[4, 3]).encode(x="diff:Q", tooltip=["label:N"])
        points = points.encode(x=alt.X("diff:Q", title=x_title, axis=alt.Axis(format=fmt)))
        panels.append(alt.layer(zero, *_with_intervals(rows, bars), points).properties(title=label_of(key), width=WIDTH, height=28 * len(rows) + 20))
    return alt.concat(*panels, columns=2).properties(
        title=f"difference from the baseline ({comparison.baseline}, red line), paired over {comparison.replications} replications")


def sweep_heatmap(sweep: Sweep, *, kpis: Sequence[str]) -> alt.ConcatChart:
    """A heat map per KPI over the first two swept fields (the first alone when only one varies), each cell labelled."""
    currency = currency_of(sweep.manifest)
    parameters = list(sweep.parameters)
    safe = {name: f"p{index}" for index, name in enumerate(parameters)}  # Vega-Lite reads a dot as a nested field
    data = sweep.summary
    for extra in parameters[2:]:  # a heat map has two axes: further fields are held at their first value
        data = data[data[extra] == data[extra].iloc[0]]
    data = data.rename(columns=safe)
    for name in safe.values():
        data[name] = data[name].astype(str)
    x = alt.X(f"{safe[parameters[0]]}:O", title=parameters[0])
    y = alt.Y(f"{safe[parameters[1]]}:O", title=parameters[1], sort="descending") if len(parameters) > 1 else alt.Y(
        "n:O", title=None, axis=None)
    panels = []
    for key in kpis:
        fmt = d3_format(key, currency=currency)
        scheme = "blues" if unit_of(key) == "share" and key in ("query_sla_attainment", "cei", "promises_kept_share") else "orangered"
        base = alt.Chart(data).encode(x=x, y=y)
        tiles = base.mark_rect().encode(
            color=alt.Color(f"{key}:Q", title=axis_title(key, currency=currency), scale=alt.Scale(scheme=scheme, zero=False),
                            legend=alt.Legend(format=fmt, orient="bottom")),
            tooltip=[*(alt.Tooltip(f"{safe[p]}:N", title=p) for p in parameters), alt.Tooltip(f"{key}:Q", format=fmt, title="mean"),
                     alt.Tooltip(f"{key}_ci_low:Q", format=fmt, title="95% CI low"), alt.Tooltip(f"{key}_ci_high:Q", format=fmt, title="95% CI high")])
        labels = base.mark_text(fontSize=11).encode(text=alt.Text(f"{key}:Q", format=fmt))
        panels.append(alt.layer(tiles, labels).properties(title=label_of(key), width=WIDTH * 0.8, height=HEIGHT * 0.8))
    title = f"mean of {sweep.replications} replications per cell" + (
        "; " + ", ".join(f"{p} = {sweep.summary[p].iloc[0]}" for p in parameters[2:]) if len(parameters) > 2 else "")
    return alt.concat(*panels, columns=3).properties(title=title).resolve_scale(color="independent")


def sweep_chart(sweep: Sweep, *, kpis: Sequence[str]) -> alt.TopLevelMixin:
    """Mean and 95% CI of each KPI against the first parameter, one line per value of the second, one panel per KPI."""
    summary, parameters = sweep.summary, list(sweep.parameters)
    safe = {name: f"p{index}" for index, name in enumerate(parameters)}
    data = _long(summary, keys=kpis, by=list(parameters)).rename(columns=safe)
    x, colour = safe[parameters[0]], (safe[parameters[1]] if len(parameters) > 1 else None)
    data[x] = data[x].astype(float) if pd.api.types.is_numeric_dtype(data[x]) else data[x].astype(str)
    x_type = "quantitative" if pd.api.types.is_numeric_dtype(data[x]) else "nominal"
    encode_colour = {"color": alt.Color(f"{colour}:N", title=parameters[1])} if colour else {}
    x_scale = {"scale": alt.Scale(zero=False)} if x_type == "quantitative" else {}
    base = alt.Chart(data).encode(x=alt.X(f"{x}:{x_type[0].upper()}", title=parameters[0], **x_scale), **encode_colour)
    lines = base.mark_line(point=True).encode(
        y=alt.Y("mean:Q", title=None, scale=alt.Scale(zero=False)),
        tooltip=[*(alt.Tooltip(safe[name], title=name) for name in parameters), "kpi", alt.Tooltip("mean:Q", format=",.4g"),
                 alt.Tooltip("ci_low:Q", format=",.4g"), alt.Tooltip("ci_high:Q", format=",.4g")],
    )
    bars = base.mark_errorbar().encode(y=alt.Y("ci_low:Q", title=None), y2="ci_high:Q")
    layered = alt.layer(*_with_intervals(data, bars), lines).properties(width=260, height=180)
    return layered.facet(facet=alt.Facet("kpi:N", title=None, sort=list(kpis)), columns=3).resolve_scale(y="independent")


def _long(table: pd.DataFrame, *, keys: Sequence[str], by: Sequence[str]) -> pd.DataFrame:
    """One row per (cell, KPI): by-columns, kpi, mean, ci_low, ci_high."""
    parts = []
    for key in keys:
        part = table[list(by)].copy()
        part["kpi"] = key
        part["mean"] = table[key]
        part["ci_low"] = table[f"{key}_ci_low"]
        part["ci_high"] = table[f"{key}_ci_high"]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------------------------- capacity

TASK_LABELS: dict[str, str] = {"query": "queries", "dispute": "disputes", "promise_followup": "promise follow-ups", "call": "calls"}
"""The collectors' task kinds as the capacity chart names them."""


def capacity_chart(study: CapacityStudy) -> alt.VConcatChart:
    """The capacity picture against the contact scale, one line per team size, the saturation point marked.

    Top: follow-up work offered by task kind (reference team) and offered minutes per working day against
    capacity. Middle: contacts achieved against those asked for, and utilisation. Bottom: backlog, query
    wait with SLA attainment, and DSO with its 95% CI.
    """
    currency = currency_of(study.manifest)
    data = study.levels.copy()
    data["team"] = data["collectors"].astype(int).astype(str) + " collectors"
    if "achieved_scale" not in data:
        data["achieved_scale"] = np.nan
    colour = alt.Color("team:N", title=None)
    x = alt.X("contact_scale:Q", title="contact volume asked (x today)", scale=alt.Scale(zero=False))
    marks = []
    if study.saturation_scale is not None:
        marks.append(alt.Chart(pd.DataFrame({"contact_scale": [study.saturation_scale],
                                             "label": [f"saturation ({study.reference_collectors} collectors): {study.saturation}"]}))
                     .mark_rule(color="#d62728", strokeDash=[6, 3], strokeWidth=2).encode(x="contact_scale:Q", tooltip=["label:N"]))

    def panel(chart: alt.Chart | alt.LayerChart, title: str) -> alt.LayerChart:
        return alt.layer(chart, *marks).properties(title=title, width=WIDTH, height=HEIGHT)

    def line(field: str, title: str, *, fmt: str = ",.4~g", domain: list[float] | None = None) -> alt.Chart:
        scale = alt.Scale(domain=domain) if domain else alt.Scale(zero=False)
        return alt.Chart(data).mark_line(point=True).encode(
            x=x, y=alt.Y(f"{field}:Q", title=title, scale=scale, axis=alt.Axis(format=fmt)), color=colour,
            tooltip=["team:N", "contact_scale:Q", alt.Tooltip(f"{field}:Q", format=fmt)])

    kinds = [kind for kind in TASK_LABELS if f"offered_{kind}" in data]
    reference = data[data["collectors"] == study.reference_collectors]
    work = reference.melt(id_vars=["contact_scale"], value_vars=[f"offered_{k}" for k in kinds], var_name="task", value_name="tasks")
    work["task"] = work["task"].str.removeprefix("offered_").map(TASK_LABELS)
    offered_kinds = alt.Chart(work).mark_bar().encode(
        x=alt.X("contact_scale:O", title="contact volume asked (x today)"), y=alt.Y("tasks:Q", title="tasks offered (measured period)"),
        color=alt.Color("task:N", title="task kind"), tooltip=["contact_scale:O", "task:N", alt.Tooltip("tasks:Q", format=",.0f")],
    ).properties(title=f"follow-up work offered by kind ({study.reference_collectors} collectors)", width=WIDTH, height=HEIGHT)
    offered = line("offered_minutes_per_day", "minutes per working day", fmt=",.0f")
    capacity = alt.Chart(data).mark_line(strokeDash=[4, 4]).encode(x=x, y="capacity_minutes_per_day:Q", color=colour)
    achieved = line("achieved_scale", "contacts sent (x today)", fmt=".2f")
    asked = alt.Chart(data).mark_line(color="#999", strokeDash=[2, 2]).encode(x=x, y="contact_scale:Q")
    sla = line("query_sla_attainment", "share within the SLA", fmt=".0%", domain=[0, 1])
    target = alt.Chart(pd.DataFrame({"target": [study.sla_target]})).mark_rule(color="#999", strokeDash=[2, 2]).encode(y="target:Q")
    dso_line = line("dso", "DSO (days)", fmt=".1f")
    dso_band = alt.Chart(data).mark_errorbar().encode(x=x, y=alt.Y("dso_ci_low:Q", title="DSO (days)"), y2="dso_ci_high:Q", color=colour)
    return alt.vconcat(
        alt.hconcat(offered_kinds, panel(alt.layer(offered, capacity), "offered follow-up work (solid) vs capacity (dashed)")),
        alt.hconcat(panel(alt.layer(asked, achieved), "contacts achieved vs asked (dotted: all sent)"),
                    panel(line("utilization", "collector utilisation", fmt=".0%", domain=[0, 1]), "collector utilisation")),
        alt.hconcat(panel(line("backlog_end", "tasks open at the end", fmt=",.0f"), "backlog at the end"),
                    panel(line("query_wait_days", "days", fmt=".2f"), "query wait (days)")),
        alt.hconcat(panel(alt.layer(sla, target), "queries answered within the SLA (dotted: target)"),
                    panel(alt.layer(*_with_intervals(data, dso_band, low="dso_ci_low"), dso_line), "DSO with 95% CI")),
    ).properties(title=f"capacity study; red dashed line: saturation point; money in {currency}")


# ---------------------------------------------------------------------------------------------- policy search

FEASIBILITY_COLOURS = alt.Scale(domain=["meets every bound", "misses a bound"], range=["#1f77b4", "#d62728"])
"""Trials that meet every constraint or goal in blue, the others in red, in every chart of a search."""


def _searched(result: OptimizeResult | FeasibilityResult) -> tuple[str, str]:
    """The trials' primary objective column and its direction: the first objective, or a goal search's total shortfall."""
    if isinstance(result, OptimizeResult):
        return result.objectives[0].kpi, result.objectives[0].direction
    return "goal_shortfall", "minimize"


def _complete_trials(result: OptimizeResult | FeasibilityResult, columns: Sequence[str]) -> pd.DataFrame:
    """The trials that produced every given value, with a readable feasibility label."""
    trials = result.trials
    if trials.empty or any(c not in trials for c in columns):
        return pd.DataFrame(columns=[*columns, "trial", "feasible", "status"])
    done = trials[(trials["state"] == "complete") & trials[list(columns)].notna().all(axis=1)].copy()
    done["status"] = np.where(done["feasible"].astype(bool), "meets every bound", "misses a bound")
    return done


def optimization_history_chart(result: OptimizeResult | FeasibilityResult) -> alt.LayerChart:
    """The primary objective of every trial in the order run, feasible and infeasible marked, with the best feasible so far.

    The search's own numbers (common replications, picked for being good): the reported figures come from fresh
    replications; this chart shows how the search went, not what the winner will do.
    """
    currency = currency_of(result.manifest)
    kpi, direction = _searched(result)
    data = _complete_trials(result, [kpi])
    fmt = d3_format(kpi, currency=currency)
    values = data[kpi].where(data["feasible"].astype(bool))
    data["best"] = values.cummin() if direction == "minimize" else values.cummax()
    numbers = sorted(int(t) for t in data["trial"])
    ticks = {"values": numbers} if len(numbers) <= 20 else {"tickCount": 10}  # whole trial numbers only
    x = alt.X("trial:Q", title="trial", axis=alt.Axis(format="d", **ticks), scale=alt.Scale(zero=False))
    y_title = f"{axis_title(kpi, currency=currency)}, search mean"
    points = alt.Chart(data).mark_point(filled=True, size=55, opacity=0.85).encode(
        x=x, y=alt.Y(f"{kpi}:Q", title=y_title, scale=alt.Scale(zero=False), axis=alt.Axis(format=fmt)),
        color=alt.Color("status:N", title=None, scale=FEASIBILITY_COLOURS),
        shape=alt.Shape("status:N", title=None, scale=alt.Scale(domain=FEASIBILITY_COLOURS.domain, range=["circle", "cross"])),
        tooltip=["trial:Q", "status:N", alt.Tooltip(f"{kpi}:Q", format=fmt, title=label_of(kpi))])
    layers = [points]
    best = data.dropna(subset=["best"])
    if not best.empty:
        layers.insert(0, alt.Chart(best).mark_line(interpolate="step-after", color="#2ca02c", strokeWidth=2).encode(
            x=x, y=alt.Y("best:Q", title=y_title), tooltip=["trial:Q", alt.Tooltip("best:Q", format=fmt, title="best feasible so far")]))
    way = "lowest" if direction == "minimize" else "highest"
    return alt.layer(*layers).properties(title=f"{label_of(kpi)} trial by trial (green: {way} feasible so far)", width=2 * WIDTH, height=HEIGHT)


def pareto_chart(result: OptimizeResult) -> alt.LayerChart:
    """The first two objectives of every trial, the Pareto front of feasible trials joined and marked.

    With more than two objectives the front is drawn on the first two (a point may then look dominated on them
    and be on the front through a third).
    """
    currency = currency_of(result.manifest)
    first, second = result.objectives[0].kpi, result.objectives[1].kpi
    data = _complete_trials(result, [first, second])
    front_trials = {point["trial"] for point in result.pareto}
    data["on the front"] = data["trial"].isin(front_trials)
    fx, fy = d3_format(first, currency=currency), d3_format(second, currency=currency)
    x = alt.X(f"{first}:Q", title=axis_title(first, currency=currency), scale=alt.Scale(zero=False, nice=True),
              axis=alt.Axis(format=fx, tickCount=6, labelOverlap=True))
    y = alt.Y(f"{second}:Q", title=axis_title(second, currency=currency), scale=alt.Scale(zero=False, nice=True),
              axis=alt.Axis(format=fy, tickCount=6, labelOverlap=True))
    tooltip = ["trial:Q", "status:N", alt.Tooltip(f"{first}:Q", format=fx, title=label_of(first)),
               alt.Tooltip(f"{second}:Q", format=fy, title=label_of(second))]
    cloud = alt.Chart(data).mark_point(filled=True, size=45, opacity=0.6).encode(x=x, y=y, color=alt.Color("status:N", title=None, scale=FEASIBILITY_COLOURS),
                                                                    tooltip=tooltip)
    front = data[data["on the front"]].sort_values(first)
    line = alt.Chart(front).mark_line(color="#2ca02c", strokeWidth=2).encode(x=x, y=y)
    marked = alt.Chart(front).mark_point(filled=True, size=110, color="#2ca02c", shape="diamond").encode(x=x, y=y, tooltip=tooltip)
    more = f" (of {len(result.objectives)} objectives)" if len(result.objectives) > 2 else ""
    return alt.layer(cloud, line, marked).properties(title=f"Pareto front{more}: green diamonds, {len(front)} of {len(data)} trials",
                                                     width=1.4 * WIDTH, height=1.2 * HEIGHT)


def importance_chart(result: OptimizeResult | FeasibilityResult) -> alt.Chart:
    """How much each searched lever mattered to the primary objective (Optuna's PED-ANOVA, shares summing to 100%)."""
    kpi, _ = _searched(result)
    data = pd.DataFrame({"lever": list(result.importances), "importance": list(result.importances.values())})
    return alt.Chart(data).mark_bar(color="#1f77b4").encode(
        x=alt.X("importance:Q", title=f"importance to {label_of(kpi)}", axis=alt.Axis(format=".0%"), scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("lever:N", title=None, sort="-x"),
        tooltip=["lever:N", alt.Tooltip("importance:Q", format=".1%")],
    ).properties(title="Which levers mattered", width=WIDTH, height=max(60, 24 * len(data)))


def feasibility_chart(result: FeasibilityResult | OptimizeResult) -> alt.HConcatChart:
    """Each goal (or constraint): the baseline, the threshold and what the policy reached (with its 95% CI), and the
    probability it is met (share of fresh replications, Wilson 95% CI)."""
    currency = currency_of(result.manifest)
    checks = list(result.goals) + list(result.constraints) if isinstance(result, FeasibilityResult) else list(result.constraints)
    panels = []
    for check in checks:
        kpi = check.bound.kpi
        fmt = d3_format(kpi, currency=currency)
        _, low, high = kpi_confidence_interval(kpi, result.best.get(kpi, []))
        marks = pd.DataFrame([{"what": "baseline", "value": check.baseline},
                              {"what": "reached", "value": check.reached, "low": low, "high": high},
                              {"what": "needed", "value": check.threshold}])
        y = alt.Y("what:N", title=None, scale=alt.Scale(domain=["baseline", "needed", "reached"]))
        x = alt.X("value:Q", title=axis_title(kpi, currency=currency), scale=alt.Scale(zero=False), axis=alt.Axis(format=fmt))
        colour = alt.Color("what:N", legend=None, scale=alt.Scale(domain=["baseline", "needed", "reached"], range=["#888", "#d62728", "#1f77b4"]))
        points = alt.Chart(marks).mark_point(filled=True, size=90).encode(x=x, y=y, color=colour,
                                                                          tooltip=["what:N", alt.Tooltip("value:Q", format=fmt)])
        interval = marks.dropna(subset=["low", "high"])
        bars = alt.Chart(interval).mark_rule(strokeWidth=2, color="#1f77b4").encode(x="low:Q", x2="high:Q", y=y) if not interval.empty else None
        status = "met" if check.met else "missed"
        panels.append(alt.layer(*([bars] if bars is not None else []), points).properties(
            title=f"{check.bound.text}: {status}", width=WIDTH, height=80))
    chances = pd.DataFrame([{"goal": c.bound.text, "probability": c.probability, "low": c.probability_low, "high": c.probability_high,
                             "status": "met" if c.met else "missed"} for c in checks])
    y = alt.Y("goal:N", title=None, scale=alt.Scale(domain=[c.bound.text for c in checks]))
    chance_title = "probability met (share of fresh replications)"
    x = alt.X("probability:Q", title=chance_title, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%"))
    tooltip = ["goal:N", alt.Tooltip("probability:Q", format=".0%"), alt.Tooltip("low:Q", format=".0%", title="95% CI low"),
               alt.Tooltip("high:Q", format=".0%", title="95% CI high")]
    chance = alt.layer(alt.Chart(chances).mark_rule(strokeWidth=2).encode(x=alt.X("low:Q", title=chance_title), x2="high:Q", y=y),
                       alt.Chart(chances).mark_point(filled=True, size=90).encode(
                           x=x, y=y, tooltip=tooltip, color=alt.Color("status:N", title=None, scale=alt.Scale(domain=["met", "missed"],
                                                                                                            range=["#1f77b4", "#d62728"])))
                       ).properties(title="probability each is met (Wilson 95% CI)", width=WIDTH, height=30 * len(checks) + 20)
    # Each panel's colours and categories are its own (Vega would otherwise merge the legends' domains).
    return alt.hconcat(alt.vconcat(*panels).resolve_scale(color="independent", y="independent"), chance).resolve_scale(
        color="independent", y="independent")


def staffing_chart(result: FeasibilityResult) -> alt.LayerChart:
    """Each team size tried: how far its best policy fell short of the goals (0 when feasible), and what the team costs."""
    currency = currency_of(result.manifest)
    data = pd.DataFrame([{"collectors": a.collectors, "shortfall": a.shortfall, "cost": a.team_cost_per_year,
                          "status": "feasible" if a.feasible else f"short; binding goal {a.binding}"} for a in result.staffing])
    data["feasible"] = ["feasible" if a.feasible else "not feasible" for a in result.staffing]
    data["label"] = [f"{format_value(a.team_cost_per_year, 'team_cost_per_year', currency=currency)} a year" for a in result.staffing]
    x = alt.X("collectors:O", title="collectors", axis=alt.Axis(labelAngle=0))
    y = alt.Y("shortfall:Q", title="total goal shortfall (share of the goals' scale)", axis=alt.Axis(format=".0%"))
    bars = alt.Chart(data).mark_bar(size=28).encode(
        x=x, y=y, color=alt.Color("feasible:N", title=None, scale=alt.Scale(domain=["feasible", "not feasible"], range=["#1f77b4", "#d62728"])),
        tooltip=["collectors:O", "status:N", alt.Tooltip("shortfall:Q", format=".1%"),
                 alt.Tooltip("cost:Q", format=",.0f", title=f"team cost a year ({currency})")])
    feasible = data[data["feasible"] == "feasible"]
    ticks = [alt.Chart(feasible).mark_tick(thickness=3, size=30, color="#1f77b4").encode(x=x, y=y)] if not feasible.empty else []  # a zero bar shows
    labels = alt.Chart(data).mark_text(dy=-8, fontSize=10).encode(x=x, y=y, text="label:N")
    return alt.layer(bars, *ticks, labels).properties(title="the staffing range: the smallest team whose best policy meets every goal",
                                                     width=WIDTH + 40 * len(data), height=HEIGHT)


# ---------------------------------------------------------------------------------------------- calibration

QUANTILES: tuple[str, ...] = ("p10", "p25", "p50", "p75", "p90", "p95", "p99")
"""The days-late quantiles a calibration is judged on."""


def calibration_chart(calibration: Calibration) -> alt.HConcatChart:
    """How well a calibrated scenario reproduces its ledger: quantiles of days after the due date over all paid invoices,
    and the lateness shares, observed against simulated."""
    rows = []
    for source, stats in (("observed (ledger)", calibration.observed), ("simulated (calibrated)", calibration.simulated)):
        quantiles = stats.get("days_late_quantiles") or {}
        for q in QUANTILES:
            if quantiles.get(q) is not None:
                rows.append({"source": source, "quantile": int(q[1:]) / 100, "days_late": float(quantiles[q])})
    quantile_data = pd.DataFrame(rows, columns=["source", "quantile", "days_late"])
    colour = alt.Color("source:N", title=None, scale=alt.Scale(range=["#333333", "#1f77b4"]))
    quantiles = alt.Chart(quantile_data).mark_line(point=True).encode(
        x=alt.X("quantile:Q", title="share of paid invoices paid by then", axis=alt.Axis(format=".0%")),
        y=alt.Y("days_late:Q", title="days after the due date (below 0: early; symlog scale)", scale=alt.Scale(type="symlog")),
        color=colour, strokeDash=alt.StrokeDash("source:N", legend=None),
        tooltip=["source:N", alt.Tooltip("quantile:Q", format=".0%"), alt.Tooltip("days_late:Q", format=".1f")],
    ).properties(title="days-late distribution: observed vs simulated quantiles", width=WIDTH, height=HEIGHT)
    share_rows = []
    for source, stats in (("observed (ledger)", calibration.observed), ("simulated (calibrated)", calibration.simulated)):
        for key, label in (("share_on_due", "paid on the due date"), ("share_late", "paid late"), ("share_late_over_30", "over 30 days late")):
            if stats.get(key) is not None:
                share_rows.append({"source": source, "statistic": label, "share": float(stats[key])})
    shares = alt.Chart(pd.DataFrame(share_rows, columns=["source", "statistic", "share"])).mark_bar().encode(
        y=alt.Y("statistic:N", title=None, sort=None), yOffset="source:N", x=alt.X("share:Q", title="share of paid invoices", axis=alt.Axis(format=".0%")),
        color=colour, tooltip=["source:N", "statistic:N", alt.Tooltip("share:Q", format=".1%")],
    ).properties(title="lateness shares: observed vs simulated", width=WIDTH, height=HEIGHT)
    return alt.hconcat(quantiles, shares)


# ---------------------------------------------------------------------------------------------- files


CHART_FORMATS: tuple[str, ...] = ("html", "png", "svg", "pdf", "json")
"""The file suffixes `save_chart` writes: Altair's formats (the images through vl-convert, no browser)."""


def save_chart(chart: alt.TopLevelMixin, path: str | Path, *, scale: float = 1.0) -> Path:
    """Write a chart to self-contained HTML, or to PNG, SVG, PDF or Vega-Lite JSON by suffix (images through
    vl-convert: no browser), atomically.

    ``scale`` enlarges a PNG (2 for a sharp image on a high-density screen). Another suffix, a chart that is not
    an Altair chart, or a scale that is not a positive number raise InputError naming the argument.
    """
    if not isinstance(chart, alt.TopLevelMixin):
        raise InputError(f"expected an Altair chart (such as arsim.sweep_chart(...)), got {type(chart).__name__}", argument="chart")
    if not isinstance(path, (str, Path)) or not str(path).strip():
        raise InputError(f"expected a file path such as 'chart.html', got {path!r}", argument="path")
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
        raise InputError(f"must be a positive number, got {scale!r}", argument="scale")
    path = Path(path)
    kind = path.suffix.lstrip(".").lower() or "html"
    if kind not in CHART_FORMATS:
        raise InputError(f"{path.name}: cannot write .{kind}; the formats are {', '.join('.' + f for f in CHART_FORMATS)}", argument="path")
    options: dict = {"inline": True} if kind == "html" else {"scale_factor": scale} if kind == "png" else {}
    atomic_write(path, lambda tmp: chart.save(tmp, format=kind, **options))
    return path
