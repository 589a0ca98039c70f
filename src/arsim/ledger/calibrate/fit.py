"""Fitting a scenario to a company's own ledger, so every what-if starts from its customers' behaviour.

This module has one job: from a canonical ledger frame (`arsim.ledger.read_ledger`) estimate the payment
behaviour, ordering and invoicing parameters of a `Scenario`, then check the fit by simulating it.

Method, in two stages:

1. Maximum likelihood, per segment, with no simulation:
   - lateness: a hidden two-state Markov chain (normal / cash-strained) in continuous time between due
     dates, with a per-customer random effect on the log-odds of lateness (Gauss-Hermite quadrature), fitted
     to each customer's sequence of late flags (scipy.optimize, L-BFGS-B). This gives late_share_normal,
     late_share_strained, strained_share, strained_spell_days and customer_lateness_sigma;
   - days late of late invoices: a two-component lognormal mixture (EM), the lower component for the
     normal state; early payments: the share early among invoices not late and a uniform 1..M fitted by
     its mean; the customer effect on days late: between-customer variance of mean log days late;
   - amounts: lognormal MLE, with the between-customer part of the log variance (ANOVA);
   - order rates: invoices per customer-month over the ledger's span (invoice dates, else due dates), and
     the spread of rates between customers (gamma, by moments of the per-customer counts);
   - terms: the mode of due date - invoice date (where both exist);
   - dispute rate per channel; share of customers billed electronically; business weekdays (those with
     at least 1% of payments).
2. Simulated method of moments: what a ledger shows is latent behaviour filtered through payment runs
   (a decision is paid in the customer's next run), business days, delivery and dispute holds, which stage 1
   cannot see. So the fitted scenario is simulated (common random numbers across iterations) and a few
   parameters are moved until the simulated ledger matches the observed one: per segment the late share
   (the normal state's late share; the strained state's is the likelihood's), the on-due share, and the
   days-late distribution from the required columns alone: p50 of late invoices (normal median), p50 of
   late to p90 of all invoices (normal sigma), p95 of all (strained median), p90 to p95 (strained sigma)
   and p95 to p99 (the customer effect on days late); overall the share of invoices
   due together (statement_terms_share), the share cleared with another on the same day
   (weekly_run_share), P(late | previous late) - P(late | previous on time) (customer_lateness_sigma), the
   late share and spread of disputed invoices (dispute hold time) and the paper-electronic late gap (paper
   delivery days).

Dunning: the fitted scenario has dunning switched off (``policy.dunning.enabled: false``). The ledger's
payment days already include whatever reminders the company sent, so the fitted behaviour is "behaviour
under the current collections practice"; switching the default dunning on would count its effect twice.
Credit limits and holds are switched off too (the ledger only shows orders that were accepted), disputes
never end in credit notes and no payment is short (a ledger of paid invoices shows neither), and nobody
defaults unless the ledger marks write-offs. calibration.md states all of this next to the fitted values.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.polynomial.hermite_e import hermegauss
from scipy import optimize, special

from arsim.errors import InputError
from arsim.ledger.calibrate.moments import (
    SMM_ITERATIONS,
    SMM_MAX_INVOICES,
    WARMUP_DAYS,
    mean_monthly_dso,
    moment_targets,
    replications_for,
    simulated_invoices,
    simulated_moments,
    tail_days,
)
from arsim.measure.lateness import paid_invoices, payment_statistics
from arsim.measure.ledger_frame import canonical_ledger
from arsim.scenario.schema import Scenario, TaskMinutes, Team, validate_scenario
from arsim.sim.calendar import DAYS_PER_MONTH

MAX_INVOICES_PER_CUSTOMER_FIT = 60
"""The lateness likelihood uses each customer's first invoices only (keeps the fit fast; still consistent)."""
QUADRATURE_NODES = 9
MIN_CUSTOMERS_PER_SEGMENT = 10
"""``segments=N`` needs at least N x this many customers with paid invoices: each behaviour group's fit estimates a
between-customer spread (customer_lateness_sigma, customer_lateness_days_effect) that a handful of customers cannot
carry, and groups of one customer would only copy the ledger's customers one by one."""
MIN_CLASS_SHARE = 0.05
"""With --segments auto, credit classes with a smaller share of invoices are pooled as 'other'."""
"""Days late given to simulated invoices of the window still unpaid at the end (only their rank matters)."""


@dataclass(frozen=True)
class Calibration:
    """A fitted scenario with what it was fitted to and how well it reproduces it."""

    scenario: Scenario
    fitted: dict[str, dict[str, Any]]  # segment -> fitted values (before the simulated correction)
    observed: dict[str, Any]  # payment_statistics of the ledger
    simulated: dict[str, Any]  # payment_statistics of the fitted scenario's simulated ledger
    observed_dso: float | None
    simulated_dso: float | None
    notes: list[str] = field(default_factory=list)
    segment_of_row: pd.Series | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # simulated moments at each SMM iteration


# ---------------------------------------------------------------------------------------------- public


def calibrate(ledger: pd.DataFrame, *, segments: str | int = "auto", name: str = "calibrated", seed: int = 12345,
              smm_iterations: int = SMM_ITERATIONS) -> Scenario:
    """A scenario fitted to a ledger (see `fit_ledger` for the fit and its checks)."""
    return fit_ledger(ledger, segments=segments, name=name, seed=seed, smm_iterations=smm_iterations).scenario


def fit_ledger(ledger: pd.DataFrame, *, segments: str | int = "auto", name: str = "calibrated", seed: int = 12345,
               smm_iterations: int = SMM_ITERATIONS, smm_invoices: int = SMM_MAX_INVOICES) -> Calibration:
    """Fit a scenario to a ledger by maximum likelihood, correct it by simulated moments, and check it.

    segments: "auto" (one segment per credit class in the segment column where present, else one) or a
        number N of behaviour groups (customers ranked by their shrunk late share), at most one per
        `MIN_CUSTOMERS_PER_SEGMENT` customers with paid invoices.
    `ledger` is the frame `arsim.read_ledger` returns, or any pandas frame in its column layout, converted and
    checked as a file is (`arsim.measure.ledger_frame.canonical_ledger`); bad rows or arguments raise
    `InputError` naming the argument.
    """
    ledger = canonical_ledger(ledger)
    check_segments(segments)
    # Optimisers and mixtures on small segments warn (overflow in exp, divide by zero in log) where the result is
    # still usable: one note says so instead of hundreds of lines on stderr.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calibration = _fit(ledger, segments=segments, name=name, seed=seed, smm_iterations=smm_iterations, smm_invoices=smm_invoices)
    numerical = (RuntimeWarning, optimize.OptimizeWarning)
    for other in (w for w in caught if not issubclass(w.category, numerical)):  # (a library's deprecation is not ours to hide)
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    caught = [w for w in caught if issubclass(w.category, numerical)]
    if caught:
        first = caught[0]
        calibration.notes.append(f"{len(caught):,} numerical warning(s) during the fit were not shown (first: "
                                 f"{first.category.__name__}: {' '.join(str(first.message).split())})")
    return calibration


def _fit(ledger: pd.DataFrame, *, segments: str | int, name: str, seed: int, smm_iterations: int, smm_invoices: int) -> Calibration:
    """`fit_ledger` on a checked ledger."""
    notes: list[str] = []
    paid = _paid_invoices(ledger)
    if len(paid) < 20:
        raise InputError(f"calibrate needs at least 20 paid invoices with due and paid dates, the ledger has {len(paid)}")
    check_segment_count(segments, customers=int(paid["customer_id"].nunique()))
    paid = paid.assign(seg=_assign_segments(paid, segments, notes))
    has_invoice_dates = paid["invoice_date"].notna().mean() > 0.5
    terms = _terms_days(paid, notes)
    issue_dates = paid["invoice_date"] if has_invoice_dates else paid["due_date"] - pd.Timedelta(days=terms)
    window_start, window_end = issue_dates.min(), issue_dates.max()
    months = max((window_end - window_start).days + 1, 1) / DAYS_PER_MONTH
    weekdays = _business_weekdays(paid)
    has_channel = "channel" in paid.columns and paid["channel"].notna().any()
    has_disputes = "disputed" in paid.columns and paid["disputed"].fillna(False).astype(bool).any()

    fitted: dict[str, dict[str, Any]] = {}
    segment_data = []
    for seg_name, rows in paid.groupby("seg", sort=True):
        fit = _fit_segment(rows, months=months, has_channel=has_channel)
        fitted[str(seg_name)] = fit
        segment_data.append(_segment_yaml(str(seg_name), fit, terms=terms))

    dispute_rates = _dispute_rates(paid) if has_disputes else {"paper": 0.0, "electronic": 0.0}
    write_off_days = float(max(int((paid["paid_date"] - paid["due_date"]).dt.days.max()) + 30, 180))
    start_date = (window_start - pd.Timedelta(days=WARMUP_DAYS)).date()
    horizon = int((window_end - window_start).days + 1 + terms + tail_days(paid))
    data = {
        "name": name,
        "description": f"Fitted by arsim calibrate to {len(paid):,} paid invoices of {paid['customer_id'].nunique():,} customers.",
        "calendar": {"start_date": start_date.isoformat(), "business_weekdays": weekdays},
        "portfolio": {"segments": segment_data},
        "invoicing": {
            "paper_delivery_days": {"dist": "fixed", "value": 2.0 if has_channel else 0.0},
            "electronic_delivery_days": {"dist": "fixed", "value": 0.0},
            "paper_error_rate": dispute_rates["paper"],
            "electronic_error_rate": dispute_rates["electronic"],
            "error_dispute_probability": 1.0,
        },
        "disputes": {"credit_note_probability": 0.0},
        "team": {"collectors": _collectors_for_disputes(paid, months=months),
                 "dispute_external_days": {"dist": "gamma", "mean": 20.0, "cv": 1.0}},
        "policy": {
            "name": "as-observed",
            "dunning": {"enabled": False},
            "credit": {"limit_months_of_sales": None, "hold_days_past_due": None},
            "write_off_days_past_due": write_off_days,
        },
        "run": {"horizon_days": horizon, "warmup_days": WARMUP_DAYS, "seed": seed, "replications": 5},
    }
    scenario = validate_scenario(data, source="calibrate")
    observed = payment_statistics(paid)
    targets = moment_targets(paid)
    window = (paid["due_date"].min(), paid["due_date"].max())
    history: list[dict[str, Any]] = []
    scenario = simulated_moments(scenario, targets, window=window, iterations=smm_iterations, invoices=smm_invoices,
                                  has_disputes=has_disputes, has_channel=has_channel, history=history)
    simulated_ledger = simulated_invoices(scenario, window=window, replications=replications_for(len(paid)))
    simulated = payment_statistics(simulated_ledger)
    observed_dso = mean_monthly_dso(ledger) if has_invoice_dates else None
    simulated_dso = mean_monthly_dso(simulated_ledger) if has_invoice_dates else None
    if not has_invoice_dates:
        notes.append("no invoice dates: terms and DSO cannot be checked; order rates are counted on due dates")
    notes.append("dunning is off in the fitted scenario: the ledger's payment days already include the company's own dunning")
    notes.append("credit limits and holds are off, disputes never end in credit notes and no payment is short: a ledger of "
                 "paid invoices shows none of these")
    return Calibration(scenario=scenario, fitted=fitted, observed=observed, simulated=simulated,
                       observed_dso=observed_dso, simulated_dso=simulated_dso, notes=notes, segment_of_row=paid["seg"],
                       history=history)


PARAMETER_BOUNDS: dict[str, tuple[float, float, str]] = {
    "customer_lateness_sigma": (0.05, 8.0, "customers' lateness is nearly all customer (a few always late, the rest "
                                "never): persistence is read as heterogeneity; what-ifs that act on a strained state act on few invoices"),
    "customer_lateness_days_effect": (0.05, 3.0, "how long a customer is late does not depend on who the customer is in the "
                                      "fit; the tail of days late comes from the strained state alone"),
    "days_late_normal.sigma": (0.05, 3.0, "the spread of days late in the normal state is at its limit: the simulated "
                               "body of days late may be narrower or wider than the ledger's"),
    "days_late_strained.sigma": (0.05, 3.0, "the spread of the long-late tail is at its limit: the far tail (p99) may not match"),
    "days_late_normal.median": (0.2, 365.0, "the typical days late of the normal state is at its limit"),
    "days_late_strained.median": (0.2, 365.0, "the typical days late of the strained state is at its limit: the tail may not match"),
}
"""Bounds of the parameters the simulated moments move, and what a value at a bound means for the user."""


def calibration_bounds(scenario: Scenario) -> list[str]:
    """One line per fitted parameter at (within 1% of) a bound of its fit, saying what that means.

    A parameter at its bound has stopped being estimated: the fit matched what it could with the others,
    and the user should read the matching statistic with that in mind.
    """
    return [f"segment {segment}: {key} = {value:.3g} is at its {where} bound ({low:g}..{high:g}): {meaning}"
            for segment, key, value, where, (low, high, meaning) in _at_bounds(scenario)]


def calibration_bounds_summary(scenario: Scenario, *, segments_named: int = 3) -> list[str]:
    """`calibration_bounds` with one line per parameter and side instead of per segment, for the terminal.

    A fit of many segments can put the same parameter at its bound in most of them; one line each would
    bury the output (hundreds of lines). The full list stays in calibration.md and calibration.json.
    """
    grouped: dict[tuple[str, str], list[str]] = {}
    for segment, key, _value, where, _bounds in _at_bounds(scenario):
        grouped.setdefault((key, where), []).append(segment)
    total = len(scenario.portfolio.segments)
    lines = []
    for (key, where), names in grouped.items():
        low, high, meaning = PARAMETER_BOUNDS[key]
        listed = ", ".join(names[:segments_named]) + (f" and {len(names) - segments_named} more" if len(names) > segments_named else "")
        lines.append(f"{key} is at its {where} bound ({low:g}..{high:g}) in {len(names)} of {total} segment(s) ({listed}): {meaning}")
    return lines


def _at_bounds(scenario: Scenario) -> list[tuple[str, str, float, str, tuple[float, float, str]]]:
    """(segment, parameter, value, "lower"/"upper", its bounds and meaning) for each parameter at a bound."""
    found = []
    for seg in scenario.portfolio.segments:
        behaviour = seg.behaviour.model_dump()
        for key, (low, high, meaning) in PARAMETER_BOUNDS.items():
            value = behaviour
            for part in key.split("."):
                value = value[part]
            value = float(value)
            if value <= low * 1.01 or value >= high * 0.99:
                where = "lower" if value <= low * 1.01 else "upper"
                found.append((seg.name, key, value, where, (low, high, meaning)))
    return found


# ---------------------------------------------------------------------------------------------- data prep


def check_segments(segments: Any) -> None:
    """``segments`` is "auto" or a whole number of at least 1; anything else is an InputError on ``segments``."""
    if isinstance(segments, str) and segments == "auto":
        return
    if isinstance(segments, (int, np.integer)) and not isinstance(segments, bool) and segments >= 1:
        return
    raise InputError(f"expected auto or a whole number of at least 1, got {segments!r}", argument="segments")


def check_segment_count(segments: str | int, *, customers: int) -> None:
    """Refuse more behaviour groups than the ledger's customers support (`MIN_CUSTOMERS_PER_SEGMENT` each), before fitting."""
    if segments == "auto" or int(segments) == 1:
        return
    most = max(customers // MIN_CUSTOMERS_PER_SEGMENT, 1)
    if int(segments) > most:
        raise InputError(f"{int(segments):,} behaviour groups need at least {MIN_CUSTOMERS_PER_SEGMENT} customers with paid "
                         f"invoices each; the ledger has {customers:,}, so at most {most:,} (or auto)", argument="segments")


def _paid_invoices(ledger: pd.DataFrame) -> pd.DataFrame:
    rows = paid_invoices(ledger)
    rows = rows[rows["amount"] > 0]
    if "invoice_date" not in rows.columns:
        rows = rows.assign(invoice_date=pd.NaT)
    return rows.sort_values(["customer_id", "due_date", "paid_date"], kind="stable").reset_index(drop=True)


def _assign_segments(paid: pd.DataFrame, segments: str | int, notes: list[str]) -> pd.Series:
    """Segment name per invoice: credit class ('auto') or behaviour group (N)."""
    if segments == "auto":
        if "segment" in paid.columns and paid["segment"].notna().any():
            cls = paid["segment"].astype("string")
            shares = cls.value_counts(normalize=True, dropna=True)
            kept = set(shares[shares >= MIN_CLASS_SHARE].index)
            names = cls.map(lambda v: "unclassified" if pd.isna(v) else (f"class_{v}" if v in kept else "class_other"))
            notes.append(f"segments: one per credit class with at least {MIN_CLASS_SHARE:.0%} of invoices ({len(kept)}), "
                         "smaller classes pooled as class_other, blank as unclassified")
            return names.astype(str)
        return pd.Series("all", index=paid.index)
    count = int(segments)
    if count == 1:
        return pd.Series("all", index=paid.index)
    late = (paid["paid_date"] - paid["due_date"]).dt.days > 0
    per = late.groupby(paid["customer_id"]).agg(["sum", "size"])
    overall = late.mean()
    prior = 4.0  # beta prior worth four invoices at the overall rate: one-invoice customers stay near the middle
    shrunk = (per["sum"] + prior * overall) / (per["size"] + prior)
    # Quantile groups weighted by invoices, so every segment holds about the same number of invoices.
    order = shrunk.sort_values(kind="stable")
    cumulative = per["size"].reindex(order.index).cumsum() / per["size"].sum()
    group = np.minimum((cumulative.to_numpy() * count - 1e-9).astype(int), count - 1)
    names = pd.Series([f"behaviour_{g + 1}" for g in group], index=order.index)
    notes.append(f"segments: {count} behaviour groups by each customer's shrunk late share (behaviour_1 pays best)")
    return paid["customer_id"].map(names).astype(str)


def _terms_days(paid: pd.DataFrame, notes: list[str]) -> int:
    both = paid.dropna(subset=["invoice_date"])
    if len(both) >= 10:
        terms = (both["due_date"] - both["invoice_date"]).dt.days
        return int(terms.mode().iloc[0])
    notes.append("terms: no invoice dates, so terms cannot be measured; net 30 is assumed (it moves only issue dates, "
                 "not lateness)")
    return 30


def _business_weekdays(paid: pd.DataFrame) -> list[int]:
    share = paid["paid_date"].dt.day_of_week.value_counts(normalize=True)
    days = sorted(int(d) for d, s in share.items() if s >= 0.01)
    return days or [0, 1, 2, 3, 4]


def _collectors_for_disputes(paid: pd.DataFrame, *, months: float) -> int:
    """Collectors so the ledger's disputes take at most half of the team's default hours.

    With dunning off, disputes are a collector's only work; the ledger's dispute days already contain any
    queueing, so the fitted team must not add a queue of its own (the hold time is fitted separately).
    """
    if "disputed" not in paid.columns:
        return 1
    disputes_per_month = float(paid["disputed"].fillna(False).astype(bool).sum()) / months
    minutes_per_month = disputes_per_month * TaskMinutes().dispute.mean
    capacity = Team().hours_per_day * 60.0 * 21.0
    return max(1, math.ceil(2.0 * minutes_per_month / capacity))


def _dispute_rates(paid: pd.DataFrame) -> dict[str, float]:
    disputed = paid["disputed"].fillna(False).astype(bool)
    overall = float(disputed.mean())
    if "channel" not in paid.columns or paid["channel"].isna().all():
        return {"paper": overall, "electronic": overall}
    rates = {}
    for channel in ("paper", "electronic"):
        rows = (paid["channel"] == channel).fillna(False).astype(bool)
        rates[channel] = float(disputed[rows].mean()) if rows.any() else overall
    return rates


# ---------------------------------------------------------------------------------------------- stage 1: likelihood


def _fit_segment(rows: pd.DataFrame, *, months: float, has_channel: bool) -> dict[str, Any]:
    days_late = (rows["paid_date"] - rows["due_date"]).dt.days.to_numpy()
    lateness = _fit_lateness(rows["customer_id"].to_numpy(), days_late, rows["due_date"].to_numpy())
    late_days = days_late[days_late > 0]
    normal_days, strained_days = _lognormal_mixture(late_days)
    not_late = days_late[days_late <= 0]
    early = -not_late[not_late < 0]
    early_share = float((not_late < 0).mean()) if not_late.size else 0.0
    early_days_max = float(max(2.0 * early.mean() - 1.0, 1.0)) if early.size else 1.0
    log_days = pd.Series(np.log(np.maximum(days_late, 1)), index=rows.index)[days_late > 0]
    days_effect = _between_sd(log_days, rows.loc[days_late > 0, "customer_id"])

    amounts = np.log(rows["amount"].to_numpy(dtype=float))
    amount_sigma = float(amounts.std())
    customer_amount_sigma = min(_between_sd(pd.Series(amounts, index=rows.index), rows["customer_id"]), amount_sigma)
    counts = rows.groupby("customer_id").size().to_numpy(dtype=float)
    mean_count = counts.mean()
    order_rate_cv = float(math.sqrt(max(counts.var() - mean_count, 0.0)) / mean_count)
    e_share = 1.0
    if has_channel:
        electronic = (rows["channel"] == "electronic").fillna(False).astype(float)
        e_share = float((electronic.groupby(rows["customer_id"]).mean() >= 0.5).mean())
    return {
        **lateness,
        "days_late_normal": normal_days,
        "days_late_strained": strained_days,
        "early_share": early_share,
        "early_days_max": early_days_max,
        "customer_lateness_days_effect": days_effect,
        "customers": int(counts.size),
        "invoices": int(len(rows)),
        "invoices_per_month": float(counts.sum() / counts.size / months),
        "order_rate_cv": order_rate_cv,
        "amount_median": float(math.exp(amounts.mean())),
        "amount_sigma": amount_sigma,
        "customer_amount_sigma": customer_amount_sigma,
        "e_invoice_share": e_share,
    }


def _between_sd(values: pd.Series, groups: pd.Series) -> float:
    """Standard deviation of group effects (one-way ANOVA moments): var of group means minus within noise."""
    frame = pd.DataFrame({"v": values.to_numpy(), "g": groups.to_numpy()})
    stats = frame.groupby("g")["v"].agg(["mean", "var", "size"])
    stats = stats[stats["size"] >= 2]
    if len(stats) < 2:
        return 0.0
    within = float((stats["var"] * (stats["size"] - 1)).sum() / (stats["size"] - 1).sum())
    between = float(stats["mean"].var()) - within * float((1.0 / stats["size"]).mean())
    return math.sqrt(max(between, 0.0))


def _sequences(customers: np.ndarray, late: np.ndarray, due_day: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per customer (rows sorted by length, longest first): late flags and days since the previous due date."""
    frame = pd.DataFrame({"c": customers, "y": late, "d": due_day})
    frame["k"] = frame.groupby("c", sort=False).cumcount()
    frame = frame[frame["k"] < MAX_INVOICES_PER_CUSTOMER_FIT]
    lengths = frame.groupby("c", sort=False).size().sort_values(ascending=False, kind="stable")
    rank = pd.Series(np.arange(len(lengths)), index=lengths.index)
    row = rank.reindex(frame["c"]).to_numpy()
    width = int(lengths.iloc[0])
    y = np.zeros((len(lengths), width), dtype=bool)
    d = np.zeros((len(lengths), width))
    y[row, frame["k"].to_numpy()] = frame["y"].to_numpy()
    d[row, frame["k"].to_numpy()] = frame["d"].to_numpy()
    gap = np.diff(d, axis=1, prepend=d[:, :1])
    return y, np.maximum(gap, 0.0), lengths.to_numpy()


def _negative_log_likelihood(theta: np.ndarray, y: np.ndarray, gap: np.ndarray, active: np.ndarray,
                             nodes: np.ndarray, log_weights: np.ndarray) -> float:
    """Minus the log-likelihood of the hidden normal/strained chain with a customer random effect."""
    logit_normal, log_step, logit_share, log_spell, log_sigma = theta
    logit_strained = logit_normal + math.exp(log_step)
    share = special.expit(logit_share)
    rate = 1.0 / math.exp(log_spell) / (1.0 - share)  # normal->strained + strained->normal rates
    sigma = math.exp(log_sigma)
    p_normal = special.expit(logit_normal + sigma * nodes)
    p_strained = special.expit(logit_strained + sigma * nodes)
    first = y[:, 0:1]
    a_n = (1 - share) * np.where(first, p_normal, 1 - p_normal)
    a_s = share * np.where(first, p_strained, 1 - p_strained)
    total = a_n + a_s
    loglik = np.log(total)
    a_s = a_s / total
    for t in range(1, y.shape[1]):
        m = active[t]
        decay = np.exp(-rate * gap[:m, t])[:, None]
        pred_s = a_s[:m] * (share + (1 - share) * decay) + (1 - a_s[:m]) * share * (1 - decay)
        obs = y[:m, t:t + 1]
        e_n = np.where(obs, p_normal, 1 - p_normal)
        e_s = np.where(obs, p_strained, 1 - p_strained)
        num_s = pred_s * e_s
        total = (1 - pred_s) * e_n + num_s
        loglik[:m] += np.log(total)
        a_s[:m] = num_s / total
    return -float(special.logsumexp(loglik + log_weights, axis=1).sum())


def _fit_lateness(customers: np.ndarray, days_late: np.ndarray, due_dates: np.ndarray) -> dict[str, float]:
    """MLE of the hidden-state lateness model on one late flag per customer and due date.

    Invoices of a customer due on the same day are paid together (statement terms, payment runs), so they
    are one observation (late if most of them are): counting each would read a shared payment as persistence.
    """
    due_day = (pd.to_datetime(due_dates) - pd.Timestamp("2000-01-01")).days.to_numpy(dtype=float)
    grouped = pd.DataFrame({"c": customers, "d": due_day, "late": days_late > 0}).groupby(["c", "d"], sort=False)["late"].mean()
    customers = grouped.index.get_level_values("c").to_numpy()
    due_day = grouped.index.get_level_values("d").to_numpy()
    y, gap, lengths = _sequences(customers, grouped.to_numpy() > 0.5, due_day)
    active = np.array([(lengths > t).sum() for t in range(y.shape[1])])
    nodes, weights = hermegauss(QUADRATURE_NODES)
    log_weights = np.log(weights / weights.sum())
    share_late = float((days_late > 0).mean())
    start = np.array([special.logit(np.clip(share_late * 0.6, 0.02, 0.9)), math.log(2.0), special.logit(0.2), math.log(60.0), 0.0])
    bounds = [(-8, 8), (-5, 3), (-6, 3), (math.log(2), math.log(2000)), (-5, math.log(6))]
    result = optimize.minimize(_negative_log_likelihood, start, args=(y, gap, active, nodes, log_weights),
                               method="L-BFGS-B", bounds=bounds, options={"maxiter": 300})
    logit_normal, log_step, logit_share, log_spell, log_sigma = result.x
    return {
        "late_share_normal": float(special.expit(logit_normal)),
        "late_share_strained": float(special.expit(logit_normal + math.exp(log_step))),
        "strained_share": float(special.expit(logit_share)),
        "strained_spell_days": float(math.exp(log_spell)),
        "customer_lateness_sigma": float(math.exp(log_sigma)),
        "log_likelihood": float(-result.fun),
    }


def _lognormal_mixture(days: np.ndarray, *, iterations: int = 200) -> tuple[dict[str, float], dict[str, float]]:
    """Two-component lognormal mixture of days late (EM); (lower, upper) as {median, sigma}."""
    if days.size < 10:
        median = float(np.median(days)) if days.size else 5.0
        return {"median": median, "sigma": 0.8}, {"median": 3 * median, "sigma": 0.8}
    x = np.log(days.astype(float))
    mu = np.quantile(x, [0.3, 0.85])
    sd = np.array([x.std(), x.std()]) + 1e-3
    weight = np.array([0.7, 0.3])
    for _ in range(iterations):
        dens = weight * np.exp(-0.5 * ((x[:, None] - mu) / sd) ** 2) / sd
        resp = dens / np.maximum(dens.sum(axis=1, keepdims=True), 1e-300)
        total = resp.sum(axis=0)
        weight = total / total.sum()
        mu = (resp * x[:, None]).sum(axis=0) / total
        sd = np.sqrt((resp * (x[:, None] - mu) ** 2).sum(axis=0) / total) + 1e-3
    low, high = np.argsort(mu)
    return ({"median": float(math.exp(mu[low])), "sigma": float(sd[low])},
            {"median": float(math.exp(mu[high])), "sigma": float(sd[high])})


def _segment_yaml(name: str, fit: dict[str, Any], *, terms: int) -> dict[str, Any]:
    return {
        "name": name,
        "customers": fit["customers"],
        "invoices_per_month": fit["invoices_per_month"],
        "order_rate_cv": fit["order_rate_cv"],
        "amount": {"dist": "lognormal", "median": fit["amount_median"], "sigma": fit["amount_sigma"]},
        "customer_amount_sigma": fit["customer_amount_sigma"],
        "terms_days": terms,
        "statement_terms_share": 0.0,
        "default_probability_per_year": 0.0,
        "e_invoice_share": fit["e_invoice_share"],
        "behaviour": {
            "late_share_normal": fit["late_share_normal"],
            "late_share_strained": fit["late_share_strained"],
            "early_share": fit["early_share"],
            "early_days_max": fit["early_days_max"],
            "days_late_normal": {"dist": "lognormal", **fit["days_late_normal"]},
            "days_late_strained": {"dist": "lognormal", **fit["days_late_strained"]},
            "customer_lateness_sigma": fit["customer_lateness_sigma"],
            "customer_lateness_days_effect": fit["customer_lateness_days_effect"],
            "strained_share": min(fit["strained_share"], 0.95),
            "strained_spell_days": fit["strained_spell_days"],
            "weekly_run_share": 0.5,
            "discount_sensitive_share": 0.0,
            "penalty_backfire_share": 0.0,
            "deduction_probability": 0.0,
        },
    }


# ---------------------------------------------------------------------------------------------- stage 2: simulated moments


# ---------------------------------------------------------------------------------------------- report


