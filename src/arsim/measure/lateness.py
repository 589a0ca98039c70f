"""Payment-lateness statistics of a ledger: shares late, quantiles of days late, persistence, batching.

Shared by ledger KPIs, calibration (as fitting targets) and the validation of simulated ledgers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

_LATENESS_QUANTILES = {"p10": 0.10, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p90": 0.90, "p95": 0.95, "p99": 0.99}


_CUSTOMER_QUANTILES = {"p10": 0.10, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p90": 0.90}


MIN_INVOICES_PER_CUSTOMER = 5
"""Customers with fewer paid invoices are left out of customer_late_share_quantiles (their share is noise)."""


def payment_statistics(ledger: pd.DataFrame) -> dict[str, Any]:
    """The payment-behaviour statistics a simulator is validated against, over paid invoices.

    Paid invoices are rows with a paid_date and a due_date whose item_type is <NA> or 'Invoice' (any
    case): credit memos and payment differences are not payments of an invoice. days_late is
    paid_date - due_date in whole days (negative = early). Keys:

    - n_invoices; share_late (days_late > 0), share_on_due (== 0), share_late_over_30 (> 30);
    - days_late_quantiles {p10..p99} (linear interpolation); mean_days_late, the mean of max(days_late, 0)
      (this is not ADD, which is a receivables-weighted figure);
    - p_late_given_prev_late / p_late_given_prev_on_time: over consecutive invoices of one customer,
      ordered by due_date then paid_date (then file order): how lateness persists;
    - share_cleared_with_other_same_day: share of invoices whose customer has another invoice with the
      same paid_date (payment runs);
    - weekday_share_of_payments: share of paid invoices by weekday of paid_date, Monday..Sunday;
    - customer_late_share_quantiles {p10..p90}: of the late share per customer with at least
      MIN_INVOICES_PER_CUSTOMER paid invoices;
    - share_late_disputed / share_late_undisputed, share_late_paper / share_late_electronic, and
      mean_days_to_pay (paid_date - invoice_date) where the ledger has those columns.

    A statistic whose inputs are missing (no such column, no such invoices) is None, never a stand-in
    number. Needs customer_id, due_date and paid_date; every other column is optional.
    """
    missing = [name for name in ("customer_id", "due_date", "paid_date") if name not in ledger.columns]
    if missing:
        raise ValueError(f"payment_statistics needs column(s) {', '.join(map(repr, missing))}")
    invoices = paid_invoices(ledger)
    days_late = (invoices["paid_date"] - invoices["due_date"]).dt.days.astype("int64")
    late = days_late > 0
    n_invoices = len(invoices)
    stats: dict[str, Any] = {"n_invoices": n_invoices}
    share_late, mean_days_late = late_payment_figures(days_late.to_numpy())
    stats["share_late"] = None if math.isnan(share_late) else share_late
    stats["share_on_due"] = _share(days_late == 0)
    stats["share_late_over_30"] = _share(days_late > 30)
    stats["days_late_quantiles"] = _quantiles(days_late, _LATENESS_QUANTILES)
    stats["mean_days_late"] = None if math.isnan(mean_days_late) else mean_days_late
    stats.update(_persistence(invoices, late))
    stats["share_cleared_with_other_same_day"] = _share(
        invoices.groupby(["customer_id", "paid_date"], sort=False)["customer_id"].transform("size") >= 2
    )
    stats["weekday_share_of_payments"] = (
        invoices["paid_date"].dt.day_of_week.value_counts(normalize=True).reindex(range(7), fill_value=0.0).tolist()
        if n_invoices
        else None
    )
    per_customer = late.groupby(invoices["customer_id"]).agg(["mean", "size"])
    enough = per_customer.loc[per_customer["size"] >= MIN_INVOICES_PER_CUSTOMER, "mean"]
    stats["customer_late_share_quantiles"] = _quantiles(enough, _CUSTOMER_QUANTILES)
    stats.update(_split_share_late(invoices, late, "disputed", {"disputed": True, "undisputed": False}))
    stats.update(_split_share_late(invoices, late, "channel", {"paper": "paper", "electronic": "electronic"}))
    stats["mean_days_to_pay"] = _mean_days_to_pay(invoices)
    return stats


def invoice_rows(ledger: pd.DataFrame) -> pd.Series:
    """Which rows are invoices: item_type blank or 'Invoice' (any case); credit memos and payment differences are not."""
    if "item_type" not in ledger.columns:
        return pd.Series(True, index=ledger.index)
    item_type = ledger["item_type"].astype("string").str.strip().str.lower()
    return (item_type.isna() | (item_type == "invoice")).fillna(True).astype(bool)


SETTLEMENT_ITEM_TYPES: frozenset[str] = frozenset({"payment", "credit note", "write-off"})
"""item_type (any case) of a row that settles the invoice named by its invoice_id: one money movement."""


def settlement_rows(item_types: pd.Series) -> pd.Series:
    """Which rows settle an invoice: item_type Payment, Credit note or Write-off (any case, spaces trimmed).

    Such rows carry the invoice_id of the invoice they settle, their date (paid_date, credit_note_date or
    written_off_date) and amount = minus what they settle; the simulator's ledger has one per money movement.
    """
    words = item_types.astype("string").str.strip().str.lower()
    return words.isin(SETTLEMENT_ITEM_TYPES).fillna(False).astype(bool)


def paid_invoices(ledger: pd.DataFrame) -> pd.DataFrame:
    """The invoice rows with both a paid date and a due date, in file order (index reset)."""
    is_paid = ledger["paid_date"].notna() & ledger["due_date"].notna()
    return ledger.loc[is_paid & invoice_rows(ledger)].reset_index(drop=True)


def late_payment_figures(days_late: np.ndarray) -> tuple[float, float]:
    """Share of paid invoices paid after the due date, and their mean days late with early payments as 0.

    The two figures every lateness report shares (simulated KPIs, ledger KPIs, calibration targets); NaN
    for both when no invoice was paid. Not ADD, which is weighted by receivables.
    """
    days = np.asarray(days_late, dtype=float)
    if days.size == 0:
        return math.nan, math.nan
    return float((days > 0).mean()), float(np.maximum(days, 0).mean())


def _share(mask: pd.Series) -> float | None:
    return float(mask.mean()) if len(mask) else None


def _quantiles(values: pd.Series, levels: Mapping[str, float]) -> dict[str, float] | None:
    if values.empty:
        return None
    found = values.astype("float64").quantile(list(levels.values()))
    return {name: float(value) for name, value in zip(levels, found)}


def _persistence(invoices: pd.DataFrame, late: pd.Series) -> dict[str, float | None]:
    """P(late | previous invoice of the same customer late / not late)."""
    ordered = invoices.assign(late=late.astype("float64")).sort_values(
        ["customer_id", "due_date", "paid_date"], kind="stable"
    )
    previous_late = ordered.groupby("customer_id", sort=False)["late"].shift()
    after_late = ordered.loc[previous_late == 1.0, "late"]
    after_on_time = ordered.loc[previous_late == 0.0, "late"]
    return {
        "p_late_given_prev_late": float(after_late.mean()) if len(after_late) else None,
        "p_late_given_prev_on_time": float(after_on_time.mean()) if len(after_on_time) else None,
    }


def _split_share_late(
    invoices: pd.DataFrame, late: pd.Series, column: str, groups: Mapping[str, Any]
) -> dict[str, float | None]:
    """share_late_<group> for each group value of `column`; None where the column or the group is absent."""
    result: dict[str, float | None] = {}
    for suffix, value in groups.items():
        if column in invoices.columns:
            in_group = (invoices[column] == value).fillna(False).astype(bool)
            result[f"share_late_{suffix}"] = _share(late[in_group])
        else:
            result[f"share_late_{suffix}"] = None
    return result


def _mean_days_to_pay(invoices: pd.DataFrame) -> float | None:
    if "invoice_date" not in invoices.columns:
        return None
    days_to_pay = (invoices["paid_date"] - invoices["invoice_date"]).dt.days.dropna()
    return float(days_to_pay.mean()) if len(days_to_pay) else None
