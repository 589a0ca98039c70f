"""Simulated method of moments: simulate a candidate scenario over the ledger's window and compare statistics.

The likelihood fit (fit.py) gets the customer-level lateness process; the moments step adjusts what the
likelihood cannot see (the mass on the due date, the tail, disputes) until simulated statistics match the
ledger's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from arsim.ledger.write import ledger_from_frames
from arsim.measure.lateness import payment_statistics
from arsim.measure.ledger_kpis import ledger_kpis
from arsim.scenario.schema import Scenario, validate_scenario
from arsim.sim.calendar import DAYS_PER_MONTH
from arsim.sim.model import simulate

CENSORED_DAYS_LATE = 10_000
SMM_ITERATIONS = 15
SMM_REPLICATIONS = 3
"""Each fitting simulation pools this many replications (of SMM_MAX_INVOICES / 3 invoices each): with heavy-tailed
order rates a few big customers carry much of the tail, and one replication's draw of them would be fitted."""
STRAINED_SHIFT = 0.5
"""Part of each late-share step (on the logit scale) given to the strained state's late share."""


SMM_MAX_INVOICES = 150_000
"""Simulated checks during fitting use a portfolio scaled to about this many invoices in the window, split over
SMM_REPLICATIONS pooled replications.

One replication of 60,000 was too few for a ledger like SAP's: with heavy-tailed order rates (cv ~5) and a
large customer effect, a few big customers' draws move the simulated late share and tail, and the moments
then fit that one draw (SAP out of time, test pooled over 4 replications: share late -3.2 points, share
> 30 days late -1.7, p95 -6 days; with one replication of 150,000: -1.9, -1.5, -6; with three of 50,000:
-0.2, -1.0, -4)."""


WARMUP_DAYS = 120


TAIL_DAYS = 150
"""Days simulated after the ledger's last due date at least, so late invoices of the window get paid."""

MAX_TAIL_DAYS = 365
"""Days simulated after the ledger's last due date at most (see `tail_days`)."""


def tail_days(paid: pd.DataFrame) -> int:
    """Days to simulate after the ledger's last due date: as long as the ledger itself watched its invoices.

    A cleared-items export shows the invoices paid by the day it was taken (about its last paid date), so its
    tail of days late reaches as far as that day lets it; the simulation is watched as long (at least
    TAIL_DAYS, at most MAX_TAIL_DAYS). With a shorter watch, the simulated invoices still unpaid at its end,
    which the fit counts as very late (`CENSORED_DAYS_LATE`), are invoices the ledger shows paid 150-365 days
    late: they made the simulated tail look heavier than the ledger's and the fit lighten it (SAP, required
    columns, out of time: p95 of days late 28 simulated against 32 observed with 150 days, 30 with 365).
    """
    if paid.empty:
        return TAIL_DAYS
    watched = (paid["paid_date"].max() - paid["due_date"].max()).days
    return int(min(max(watched, TAIL_DAYS), MAX_TAIL_DAYS))


def simulated_invoices(scenario: Scenario, *, window: tuple[pd.Timestamp, pd.Timestamp] | None = None, replications: int = 1) -> pd.DataFrame:
    """Replications 0..n-1 of a scenario as one canonical ledger (customer ids get a
    replication prefix, so pooled replications look like a bigger book); with `window`, only the invoices
    due in it (as in a cleared-items export)."""
    parts = []
    for replication in range(replications):
        result = simulate(scenario, replication=replication)
        ledger = ledger_from_frames(result.frames, scenario, settlements=False)  # invoice rows: what is fitted
        if replications > 1:
            ledger["customer_id"] = f"R{replication}-" + ledger["customer_id"]
            ledger["invoice_id"] = f"R{replication}-" + ledger["invoice_id"]
        parts.append(ledger)
    ledger = pd.concat(parts, ignore_index=True)
    if window is not None:
        ledger = ledger[ledger["due_date"].between(*window)].reset_index(drop=True)
    return ledger


def replications_for(invoices: int, *, at_least: int = 50_000, most: int = 30) -> int:
    """Replications to pool so a simulated check has about `at_least` invoices (small books are noisy)."""
    return int(min(max(math.ceil(at_least / max(invoices, 1)), 1), most))


def moment_targets(paid: pd.DataFrame) -> dict[str, Any]:
    """The moments matched by simulation: per segment and overall."""
    days_late = (paid["paid_date"] - paid["due_date"]).dt.days
    per_segment = {}
    for seg, rows in days_late.groupby(paid["seg"]):
        per_segment[str(seg)] = _segment_moments(rows.to_numpy())
    stats = payment_statistics(paid)
    return {"segments": per_segment, "batching": stats["share_cleared_with_other_same_day"], "same_due": _share_due_with_other(paid),
            "disputed_spread": _disputed_spread(paid),
            "disputed": stats["share_late_disputed"], "undisputed": stats["share_late_undisputed"],
            "paper": stats["share_late_paper"], "electronic": stats["share_late_electronic"],
            "persistence_gap": (stats["p_late_given_prev_late"] - stats["p_late_given_prev_on_time"])
            if stats["p_late_given_prev_late"] is not None and stats["p_late_given_prev_on_time"] is not None else None}


def _disputed_spread(ledger: pd.DataFrame) -> float | None:
    """p90 - p50 of days late of disputed invoices: how variable the dispute hold is."""
    if "disputed" not in ledger.columns:
        return None
    rows = ledger[ledger["disputed"].fillna(False).astype(bool)]
    if len(rows) < 20:
        return None
    days = (rows["paid_date"] - rows["due_date"]).dt.days
    return float(max(days.quantile(0.9) - days.quantile(0.5), 1.0))


def _share_due_with_other(ledger: pd.DataFrame) -> float:
    """Share of invoices due on the same day as another invoice of the same customer (statement terms)."""
    return float((ledger.groupby(["customer_id", "due_date"])["customer_id"].transform("size") >= 2).mean())


def _segment_moments(days_late: np.ndarray) -> dict[str, float]:
    late = days_late[days_late > 0]
    not_late = days_late[days_late <= 0]
    return {
        "late": float((days_late > 0).mean()),
        "on_due_of_not_late": float((not_late == 0).mean()) if not_late.size else 0.5,
        "p50_late": float(np.quantile(late, 0.5)) if late.size else 1.0,
        "p75_late": float(np.quantile(late, 0.75)) if late.size else 1.0,
        "p90_late": float(np.quantile(late, 0.9)) if late.size else 1.0,
        "p90": float(np.quantile(days_late, 0.9)) if days_late.size else 0.0,
        "p95": float(np.quantile(days_late, 0.95)) if days_late.size else 0.0,
        "p99": float(np.quantile(days_late, 0.99)) if days_late.size else 0.0,
    }


def _scaled(scenario: Scenario, window: tuple[pd.Timestamp, pd.Timestamp], *, invoices: int) -> Scenario:
    """The scenario with customers scaled so a check simulation has about `invoices` invoices."""
    months = ((window[1] - window[0]).days + 1) / DAYS_PER_MONTH
    expected = sum(s.customers * s.invoices_per_month for s in scenario.portfolio.segments) * months
    factor = min(30.0, invoices / max(expected, 1.0))  # small books are scaled up: less noise to chase
    data = scenario.model_dump(mode="json")
    for seg in data["portfolio"]["segments"]:
        seg["customers"] = max(int(round(seg["customers"] * factor)), 20)
    # The team scales with the book, or a scaled-up book would queue its disputes longer than the real one.
    data["team"]["collectors"] = max(1, math.ceil(data["team"]["collectors"] * factor))
    return validate_scenario(data, source="calibrate")


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _match_spread(days_late: dict[str, Any], target_low: float, target_high: float, got_low: float, got_high: float) -> None:
    """Scale a lognormal's sigma by the ratio of log spreads high/low (target over simulated), damped."""
    target_spread = math.log(max(target_high, 1.0) / max(target_low, 1.0))
    got_spread = math.log(max(got_high, 1.0) / max(got_low, 1.0))
    if target_spread > 0.05 and got_spread > 0.05:
        days_late["sigma"] = float(np.clip(days_late["sigma"] * (target_spread / got_spread) ** 0.7, 0.05, 3.0))


def simulated_moments(scenario: Scenario, targets: dict[str, Any], *, window, iterations: int, invoices: int,
                       has_disputes: bool, has_channel: bool, history: list[dict[str, Any]]) -> Scenario:
    """Move the parameters a ledger cannot show directly until the simulated ledger matches (damped fixed point)."""
    data = scenario.model_dump(mode="json")
    for _ in range(iterations):
        trial = _scaled(validate_scenario(data, source="calibrate"), window, invoices=invoices // SMM_REPLICATIONS)
        sim = simulated_invoices(trial, window=window, replications=SMM_REPLICATIONS)
        if sim.empty:
            break
        sim_days = (sim["paid_date"] - sim["due_date"]).dt.days
        sim_paid = sim[sim["paid_date"].notna()]
        for seg in data["portfolio"]["segments"]:
            target = targets["segments"][seg["name"]]
            # Invoices still unpaid when the simulation ends count as very late (censored), so a tail that
            # runs past the horizon cannot hide from the quantiles and make them chase it further.
            rows = sim_days[(sim["segment"] == seg["name"]).to_numpy()].fillna(CENSORED_DAYS_LATE).to_numpy()
            if rows.size < 20:
                continue
            got = _segment_moments(rows)
            b = seg["behaviour"]
            # A plain logit step: it undershoots when the customer effect is large (the share then moves by
            # E[p(1-p)] < p(1-p) per unit), which converges more slowly but keeps the state late shares
            # away from 0 and 1 while the customer effect is still being fitted.
            # The late share moves the normal state's late share by the whole step and the strained state's by
            # half: the strained state carries the tail of days late, and moving it as much as the normal one
            # drained that tail (SAP: 0.94 -> 0.34) while a large customer effect was still being fitted.
            shift = _logit(target["late"]) - _logit(got["late"])
            b["late_share_normal"] = float(special.expit(_logit(b["late_share_normal"]) + shift))
            b["late_share_strained"] = float(special.expit(_logit(b["late_share_strained"]) + STRAINED_SHIFT * shift))
            early_shift = _logit(1 - target["on_due_of_not_late"]) - _logit(1 - got["on_due_of_not_late"])
            b["early_share"] = float(special.expit(_logit(b["early_share"]) + early_shift))
            b["days_late_normal"]["median"] = float(np.clip(b["days_late_normal"]["median"] * target["p50_late"] / got["p50_late"], 0.2, 365))
            # The tail of all invoices (p95, and the p90-p99 spread in logs) sets the strained median and sigma:
            # the strained late invoices are the top few percent of a ledger, so these quantiles read them.
            if target["p95"] >= 2 and got["p95"] >= 1:
                tail_ratio = target["p95"] / got["p95"]
            else:
                tail_ratio = target["p90_late"] / got["p90_late"]
            b["days_late_strained"]["median"] = float(np.clip(b["days_late_strained"]["median"] * tail_ratio ** 0.7, 0.2, 365))
            _match_spread(b["days_late_strained"], target["p90"], target["p95"], got["p90"], got["p95"])
            # The far tail (p95 to p99) is the customers who pay late and long: the customer effect on days late.
            effect = {"sigma": b["customer_lateness_days_effect"]}
            _match_spread(effect, target["p95"], target["p99"], got["p95"], got["p99"])
            b["customer_lateness_days_effect"] = effect["sigma"]
            # The normal state's spread reaches from the median late invoice to the p90 of all invoices.
            _match_spread(b["days_late_normal"], target["p50_late"], target["p90"], got["p50_late"], got["p90"])
        stats = payment_statistics(sim_paid)
        history.append({"share_late": stats["share_late"], "same_due": _share_due_with_other(sim),
                        "batching": stats["share_cleared_with_other_same_day"],
                        "p_ll": stats["p_late_given_prev_late"], "p_lo": stats["p_late_given_prev_on_time"],
                        "disputed": stats["share_late_disputed"], "paper": stats["share_late_paper"]})
        if targets["persistence_gap"] is not None and stats["p_late_given_prev_late"] is not None:
            # Heterogeneity between customers is what separates P(late | late) from P(late | on time) once
            # payment runs and weekends have added their noise.
            gap_sim = stats["p_late_given_prev_late"] - stats["p_late_given_prev_on_time"]
            factor = math.exp(2.0 * (targets["persistence_gap"] - gap_sim))
            for seg in data["portfolio"]["segments"]:
                b = seg["behaviour"]
                b["customer_lateness_sigma"] = float(np.clip(b["customer_lateness_sigma"] * factor, 0.05, 8.0))
        if targets["batching"] is not None and stats["share_cleared_with_other_same_day"] is not None:
            step = 1.5 * (targets["batching"] - stats["share_cleared_with_other_same_day"])
            for seg in data["portfolio"]["segments"]:
                seg["behaviour"]["weekly_run_share"] = float(np.clip(seg["behaviour"]["weekly_run_share"] + step, 0.0, 1.0))
        step = 1.5 * (targets["same_due"] - _share_due_with_other(sim))
        for seg in data["portfolio"]["segments"]:
            seg["statement_terms_share"] = float(np.clip(seg["statement_terms_share"] + step, 0.0, 1.0))
        if has_disputes and stats["share_late_disputed"] is not None and targets["disputed"] is not None:
            external = data["team"]["dispute_external_days"]
            external["mean"] = float(np.clip(external["mean"] * math.exp(2.0 * (targets["disputed"] - stats["share_late_disputed"])), 0.5, 365))
            spread = _disputed_spread(sim_paid)
            if targets["disputed_spread"] and spread:
                external["cv"] = float(np.clip(external["cv"] * targets["disputed_spread"] / spread, 0.05, 3.0))
        if has_channel and stats["share_late_paper"] is not None and targets["paper"] is not None:
            paper = data["invoicing"]["paper_delivery_days"]
            gap_target = targets["paper"] - targets["electronic"]
            gap_sim = stats["share_late_paper"] - stats["share_late_electronic"]
            paper["value"] = float(np.clip(paper["value"] + 20.0 * (gap_target - gap_sim), 0.0, 30.0))
    return validate_scenario(data, source="calibrate")


def mean_monthly_dso(ledger: pd.DataFrame) -> float | None:
    """Mean of the monthly DSO over the full months of a ledger (the first and last two are left out: edges)."""
    if ledger["invoice_date"].isna().all():
        return None
    last = ledger["invoice_date"].max()
    frame = ledger_kpis(ledger, as_of=last).series
    values = pd.to_numeric(frame["dso"], errors="coerce").iloc[2:-2].dropna()
    return float(values.mean()) if len(values) else None
