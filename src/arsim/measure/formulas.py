"""KPI formulas as pure functions over numbers (docs/domain.md, KPI definitions).

The scalar formulas (dso, countback, cei, aging, ...) implement the Credit Research Foundation definitions
exactly and are tested with the published test vectors. `measure.balances` applies them to money
movements, as of a day D: balances after every movement of D, days past due counted from D (an invoice due
on D is current; one 30 days past due is in 1-30).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

AGING_BUCKETS: tuple[str, ...] = ("current", "1-30", "31-60", "61-90", "91+")



# ---------------------------------------------------------------------------------------------- formulas


def safe_ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN for a zero denominator (a KPI of an empty period is undefined, not zero)."""
    return numerator / denominator if denominator else math.nan


def dso(ar_end: float, sales: float, days: float) -> float:
    """Days sales outstanding, period method: AR_end / S x D."""
    return safe_ratio(ar_end, sales) * days


def best_possible_dso(ar_current_end: float, sales: float, days: float) -> float:
    """Best possible DSO: current (not yet due) AR_end / S x D."""
    return safe_ratio(ar_current_end, sales) * days


def average_days_delinquent(dso_days: float, best_possible_dso_days: float) -> float:
    """ADD: DSO minus best possible DSO (= past-due AR / S x D)."""
    return dso_days - best_possible_dso_days


def dso_countback(ar_end: float, monthly_sales: list[float], month_days: list[float]) -> float:
    """DSO by the countback method; ``monthly_sales`` and ``month_days`` run from the latest month back.

    While the remaining AR covers a month's sales, add its days and take away its sales; then add the
    remaining fraction of the next month's days. If AR exceeds all the sales given, the months given are all
    counted (the figure is then a lower bound).
    """
    remaining = ar_end
    total_days = 0.0
    for sales, days in zip(monthly_sales, month_days):
        if sales <= 0:
            total_days += days
            continue
        if remaining >= sales:
            remaining -= sales
            total_days += days
        else:
            return total_days + remaining / sales * days
    return total_days


def cei(ar_beg: float, sales: float, months: float, ar_end: float, ar_current_end: float) -> float:
    """Collection effectiveness index, percent: (AR_beg + S/N - AR_end) / (AR_beg + S/N - AR_cur_end) x 100."""
    collectable = ar_beg + sales / months - ar_current_end
    return safe_ratio(ar_beg + sales / months - ar_end, collectable) * 100.0


def ar_turnover(sales: float, ar_beg: float, ar_end: float, *, days: float = 365.0) -> float:
    """AR turnover: S / average of AR_beg and AR_end, with S annualised (S x 365 / D) for a D-day period.

    For a year this is the textbook S / ((AR_beg + AR_end) / 2); annualising keeps 365 / turnover a number
    of days for shorter periods too.
    """
    return safe_ratio(sales * 365.0 / days, (ar_beg + ar_end) / 2.0)


def average_collection_period(turnover: float) -> float:
    """Average collection period in days: 365 / AR turnover."""
    return safe_ratio(365.0, turnover)


def aging(open_amount: pd.Series, days_past_due: pd.Series) -> dict[str, float]:
    """Open amounts by days past due: current, 1-30, 31-60, 61-90, 91+."""
    dpd = np.asarray(days_past_due, dtype=float)
    amount = np.asarray(open_amount, dtype=float)
    edges = [(-np.inf, 0), (1, 30), (31, 60), (61, 90), (91, np.inf)]
    return {name: float(amount[(dpd >= lo) & (dpd <= hi)].sum()) for name, (lo, hi) in zip(AGING_BUCKETS, edges)}


# ---------------------------------------------------------------------------------------------- balances


# ---------------------------------------------------------------------------------------------- simulation


