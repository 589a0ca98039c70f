"""The calibration report: observed against simulated statistics, as calibration.md and as table rows."""

from __future__ import annotations

import math
from typing import Any

from arsim.ledger.calibrate.fit import Calibration, calibration_bounds


def calibration_markdown(calibration: Calibration, *, source: str) -> str:
    """calibration.md: fitted values, notes, and observed vs simulated statistics."""
    lines = [f"# Calibration of `{calibration.scenario.name}`", "", f"Fitted to `{source}` by `arsim calibrate`.", ""]
    lines += ["## Method", "",
              "Stage 1, maximum likelihood per segment: a hidden normal/cash-strained Markov chain with a per-customer "
              "random effect fitted to each customer's sequence of late flags; a two-component lognormal mixture of days "
              "late; lognormal amounts; order rates per customer-month. Stage 2, simulated method of moments: the scenario "
              "is simulated and late share, on-due share, days-late p50 (late invoices) and p90 per segment, invoices due "
              "together, same-day clearing, the persistence gap, disputed and paper late shares are matched. Values below "
              "are the final scenario's.", ""]
    lines += ["## Notes", ""] + [f"- {note}" for note in calibration.notes] + [""]
    bounds = calibration_bounds(calibration.scenario)
    lines += ["## Parameters at a bound", ""]
    lines += ([f"- {line}" for line in bounds] if bounds else ["None: every moved parameter is inside its bounds."]) + [""]
    lines += ["## Not informed by the ledger", "",
              "A ledger of invoices and payments says nothing about these mechanisms, so the scenario keeps their documented "
              "defaults (docs/scenario.md); change them where you know better:",
              "- how default is foreshadowed (`portfolio.segments[].risk`: strained and lateness hazard effects, the run-up "
              "before a default, risk classes) and the segment default rates;",
              "- held orders, patience and customers leaving (`portfolio.segments[].relationship`);",
              "- discount take-up beyond the ledger's discounts (cost of capital, `payables_days`, unearned discounts), and "
              "penalty contests, waivers and collection;",
              "- the collection agency (`policy.agency`), contact responses and collectors' task times.", ""]
    lines += ["## Fitted segments", "", "| segment | customers | invoices/month | late normal | late strained | strained share | "
              "spell days | customer sigma | days late normal (median, sigma) | days late strained (median, sigma) | weekly runs | statement terms |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for seg in calibration.scenario.portfolio.segments:
        b = seg.behaviour
        lines.append(f"| {seg.name} | {seg.customers:,} | {seg.invoices_per_month:.2f} | {b.late_share_normal:.3f} | "
                     f"{b.late_share_strained:.3f} | {b.strained_share:.3f} | {b.strained_spell_days:.0f} | "
                     f"{b.customer_lateness_sigma:.2f} | {b.days_late_normal.median:.1f}, {b.days_late_normal.sigma:.2f} | "
                     f"{b.days_late_strained.median:.1f}, {b.days_late_strained.sigma:.2f} | {b.weekly_run_share:.2f} | {seg.statement_terms_share:.2f} |")
    inv = calibration.scenario.invoicing
    lines += ["", f"Paper delivery days: {inv.paper_delivery_days.model_dump()}; dispute rate paper {inv.paper_error_rate:.3f}, "
              f"electronic {inv.electronic_error_rate:.3f}; dispute hold (other teams' days): "
              f"{calibration.scenario.team.dispute_external_days.model_dump()}.", ""]
    lines += ["## Observed vs simulated", "", "| statistic | observed | simulated |", "|---|---|---|"]
    for label, observed, simulated in comparison_rows(calibration.observed, calibration.simulated):
        lines.append(f"| {label} | {observed} | {simulated} |")
    if calibration.observed_dso is not None:
        lines.append(f"| DSO (mean of monthly) | {calibration.observed_dso:.1f} | {_num(calibration.simulated_dso)} |")
    return "\n".join(lines) + "\n"


def _num(value: float | None, *, share: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * value:.1f}%" if share else f"{value:.1f}"


def _probability(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def comparison_rows(observed: dict[str, Any], simulated: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, observed, simulated) rows of the statistics a calibration is judged on."""
    rows = []
    for key in ("share_late", "share_on_due", "share_late_over_30"):
        rows.append((key, _num(observed[key], share=True), _num(simulated[key], share=True)))
    for q in ("p10", "p25", "p50", "p75", "p90", "p95", "p99"):
        o, s = observed["days_late_quantiles"], simulated["days_late_quantiles"]
        rows.append((f"days late {q}", _num(o and o[q]), _num(s and s[q])))
    for key in ("p_late_given_prev_late", "p_late_given_prev_on_time"):
        rows.append((key, _probability(observed[key]), _probability(simulated[key])))
    rows.append(("share_cleared_with_other_same_day", _num(observed["share_cleared_with_other_same_day"], share=True),
                 _num(simulated["share_cleared_with_other_same_day"], share=True)))
    for q in ("p10", "p25", "p50", "p75", "p90"):
        o, s = observed["customer_late_share_quantiles"], simulated["customer_late_share_quantiles"]
        rows.append((f"customer late share {q}", _num(o and o[q], share=True), _num(s and s[q], share=True)))
    for key in ("share_late_disputed", "share_late_undisputed", "share_late_paper", "share_late_electronic"):
        rows.append((key, _num(observed[key], share=True), _num(simulated[key], share=True)))
    rows.append(("mean_days_to_pay", _num(observed["mean_days_to_pay"]), _num(simulated["mean_days_to_pay"])))
    return rows
