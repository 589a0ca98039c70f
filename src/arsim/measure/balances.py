"""Balances from money movements: a book as invoices that raise AR and settlements that lower it.

The same code measures a simulated book and a real ledger. Balances are taken at day boundaries: "AR at
day T" is what is open after every movement dated before T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from arsim.measure.formulas import (
    aging,
    ar_turnover,
    average_collection_period,
    average_days_delinquent,
    best_possible_dso,
    cei,
    dso,
    dso_countback,
    safe_ratio,
)
from arsim.sim.calendar import DAYS_PER_MONTH


@dataclass(frozen=True)
class Movements:
    """A book as money movements: invoices raise AR, settlements (cash, discounts, write-offs) lower it.

    invoices: invoice_id, customer_id, invoice_day, due_day, amount (one row per invoice).
    settlements: invoice_id, day, amount (any number of rows per invoice; amount lowers the open balance).
    Days are integers on one axis (simulation days, or days since an epoch for a real ledger).
    """

    invoices: pd.DataFrame
    settlements: pd.DataFrame

    def open_at(self, boundary: int) -> pd.DataFrame:
        """Open invoices at a day boundary: invoice_id, due_day, open_amount (> 0 only)."""
        issued = self.invoices[self.invoices["invoice_day"] < boundary]
        settled = self.settlements[self.settlements["day"] < boundary].groupby("invoice_id")["amount"].sum()
        open_amount = issued["amount"].to_numpy() - settled.reindex(issued["invoice_id"]).fillna(0.0).to_numpy()
        frame = pd.DataFrame({"invoice_id": issued["invoice_id"].to_numpy(), "due_day": issued["due_day"].to_numpy(), "open_amount": open_amount})
        return frame[frame["open_amount"] > 1e-6]

    def average_balance(self, start: int, end: int) -> float:
        """Mean AR over the days of [start, end): each day's balance after that day's movements."""
        days = end - start
        inv = self.invoices
        up = (inv["amount"] * np.clip(end - np.maximum(inv["invoice_day"], start), 0, None)).sum()
        st = self.settlements
        down = (st["amount"] * np.clip(end - np.maximum(st["day"], start), 0, None)).sum()
        return float(up - down) / days

    def sales(self, start: int, end: int) -> float:
        inv = self.invoices
        return float(inv.loc[(inv["invoice_day"] >= start) & (inv["invoice_day"] < end), "amount"].sum())


def month_starts(start_date: pd.Timestamp, start: int, end: int) -> list[int]:
    """Day numbers of the calendar month starts strictly inside (start, end), plus start and end."""
    first = pd.Timestamp(start_date) + pd.Timedelta(days=start)
    last = pd.Timestamp(start_date) + pd.Timedelta(days=end)
    inner = pd.date_range(first.to_period("M").to_timestamp() + pd.offsets.MonthBegin(1), last, freq="MS", inclusive="left")
    days = [(d - pd.Timestamp(start_date)).days for d in inner]
    return [start] + [d for d in days if start < d < end] + [end]


COUNTBACK_MONTHS = 12
"""Countback DSO looks back over at most this many trailing months (or trailing periods of a ledger's given days)."""


def trailing_month_bounds(start_date: pd.Timestamp, end: int, *, months: int = COUNTBACK_MONTHS) -> list[tuple[int, int]]:
    """The trailing months that end at day boundary ``end``, latest first: [(first day, boundary after the last)].

    A trailing month of a period ending on day D (inclusive) starts on D + 1 - one month, so at a month end it
    is the calendar month. At most ``months`` of them, and none after the one that reaches back to day 0 (the
    book's first day). The ledger KPIs walk back the same way, so a run and its ledger count back alike.
    """
    epoch = pd.Timestamp(start_date)
    bounds = []
    after = epoch + pd.Timedelta(days=end)  # the day after the period's last day
    for _ in range(months):
        first = after - pd.DateOffset(months=1)
        a, b = (first - epoch).days, (after - epoch).days
        bounds.append((a, b))
        if a <= 0:
            break
        after = first
    return bounds


def months_in(start_date: pd.Timestamp, start: int, end: int) -> float:
    """N of CEI for the period [start, end): its number of calendar months when it is whole calendar months
    (a calendar month is N = 1 whatever its days, as in a monthly CEI), else its days / 30.4375."""
    first = pd.Timestamp(start_date) + pd.Timedelta(days=start)
    after = pd.Timestamp(start_date) + pd.Timedelta(days=end)
    if first.day == 1 and after.day == 1 and after > first:
        return float((after.year - first.year) * 12 + after.month - first.month)
    return (end - start) / DAYS_PER_MONTH


def portfolio_kpis(
    movements: Movements, *, start: int, end: int, start_date: pd.Timestamp, months: float | None = None,
    countback: tuple[list[float], list[float]] | None = None,
) -> dict[str, float]:
    """Receivables KPIs (docs/domain.md, KPI definitions) for the period [start, end) of a book.

    ``months`` is the period's N for CEI (default: `months_in`); ``countback`` gives the sales and days of the
    months to count back over, latest first (default: `trailing_month_bounds` of the period's end).
    """
    days = end - start
    sales = movements.sales(start, end)
    # As of the period's last day D = end - 1 (docs/domain.md): balances are taken after every movement of D,
    # and days past due count from D itself, so an invoice due on D is current and one 30 days past due is in 1-30.
    open_end = movements.open_at(end)
    days_past_due = (end - 1) - open_end["due_day"]
    ar_end = float(open_end["open_amount"].sum())
    ar_beg = float(movements.open_at(start)["open_amount"].sum())
    ar_current_end = float(open_end.loc[days_past_due <= 0, "open_amount"].sum())
    dso_days = dso(ar_end, sales, days)
    best = best_possible_dso(ar_current_end, sales, days)
    if countback is None:
        trailing = trailing_month_bounds(start_date, end)
        countback = ([movements.sales(a, b) for a, b in trailing], [b - a for a, b in trailing])
    turnover = ar_turnover(sales, ar_beg, ar_end, days=days)
    buckets = aging(open_end["open_amount"], days_past_due)
    return {
        "sales": sales,
        "ar_beg": ar_beg,
        "ar_end": ar_end,
        "ar_current_end": ar_current_end,
        "average_ar": movements.average_balance(start, end),
        "dso": dso_days,
        "dso_countback": dso_countback(ar_end, *countback) if any(countback[0]) else math.nan,
        "best_possible_dso": best,
        "add": average_days_delinquent(dso_days, best),
        "cei": cei(ar_beg, sales, months_in(start_date, start, end) if months is None else months, ar_end, ar_current_end),
        "pct_past_due": safe_ratio(ar_end - ar_current_end, ar_end) * 100.0,
        "past_due_amount": ar_end - ar_current_end,
        "ar_turnover": turnover,
        "avg_collection_period": average_collection_period(turnover),
        **{f"aging_{name}": value for name, value in buckets.items()},
    }
