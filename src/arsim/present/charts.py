"""Altair charts of what-if results: sweeps and contact-capacity studies.

The only module (with report.py) that imports altair. Charts are built from the typed results the analysis
functions return, so a notebook can draw the same chart as the command line. HTML files carry the Vega
JavaScript inline (through vl-convert), so they open on a machine without internet access; a .png or .svg
suffix exports an image instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import altair as alt
import pandas as pd

from arsim.analysis.capacity import CapacityStudy
from arsim.analysis.sweep import Sweep
from arsim.files import atomic_write


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


def sweep_chart(sweep: Sweep, *, kpis: Sequence[str]) -> alt.TopLevelMixin:
    """Mean and 95% CI of each KPI against the first parameter, one line per value of the second, one panel per KPI."""
    summary, parameters = sweep.summary, list(sweep.parameters)
    # Vega-Lite reads a dot in a field name as a nested field, so parameter paths get plain column names.
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
    layered = alt.layer(bars, lines).properties(width=260, height=180)
    return layered.facet(facet=alt.Facet("kpi:N", title=None, sort=list(kpis)), columns=3).resolve_scale(y="independent")


def capacity_chart(study: CapacityStudy) -> alt.TopLevelMixin:
    """Offered follow-up minutes against capacity, SLA attainment and DSO (with CI) by contact scale, per team size."""
    data = study.levels.copy()
    data["team"] = data["collectors"].astype(str) + " collectors"
    colour = alt.Color("team:N", title=None)
    x = alt.X("contact_scale:Q", title="contact volume scale", scale=alt.Scale(zero=False))
    offered = alt.Chart(data).mark_line(point=True).encode(x=x, y=alt.Y("offered_minutes_per_day:Q", title="minutes per working day"), color=colour)
    capacity = alt.Chart(data).mark_line(strokeDash=[4, 4]).encode(x=x, y="capacity_minutes_per_day:Q", color=colour)
    work = alt.layer(offered, capacity).properties(title="offered follow-up work (solid) vs capacity (dashed)", width=300, height=200)
    sla_axis = alt.Y("query_sla_attainment:Q", title="query SLA attainment", scale=alt.Scale(domain=[0, 1]))
    sla = alt.Chart(data).mark_line(point=True).encode(x=x, y=sla_axis, color=colour).properties(title="queries answered within the SLA", width=300, height=200)
    dso_line = alt.Chart(data).mark_line(point=True).encode(x=x, y=alt.Y("dso:Q", title="DSO (days)", scale=alt.Scale(zero=False)), color=colour)
    dso_bars = alt.Chart(data).mark_errorbar().encode(x=x, y=alt.Y("dso_ci_low:Q", title="DSO (days)"), y2="dso_ci_high:Q", color=colour)
    dso = alt.layer(dso_bars, dso_line).properties(title="DSO with 95% CI", width=300, height=200)
    return alt.hconcat(work, sla, dso)


def save_chart(chart: alt.TopLevelMixin, path: str | Path) -> Path:
    """Write a chart to self-contained HTML (or PNG/SVG by suffix), atomically."""
    path = Path(path)
    kind = path.suffix.lstrip(".") or "html"
    options = {"inline": True} if kind == "html" else {}
    atomic_write(path, lambda tmp: chart.save(tmp, format=kind, **options))
    return path
