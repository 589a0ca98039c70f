"""KPI formulas as pure functions over numbers and event tables (DOMAIN.md section 2).

Two layers. The scalar formulas (dso, countback, cei, ...) implement the Credit Research Foundation
definitions exactly and are tested with the published test vectors. The table functions derive balances
from money movements (invoices minus settlements), so the same code measures a simulated book and a real
ledger. Balances are taken at day boundaries: "AR at day T" is what is open after every movement dated
before T; an invoice due on day d is past due from day d + 1, so at boundary T it is past due when
due_day < T, by T - due_day days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from arsim.policy import discount_annual_rate
from arsim.scenario import Scenario

AGING_BUCKETS: tuple[str, ...] = ("current", "1-30", "31-60", "61-90", "91+")
DAYS_PER_MONTH = 365.25 / 12

__all__ = [
    "dso", "dso_countback", "best_possible_dso", "average_days_delinquent", "cei", "ar_turnover",
    "average_collection_period", "discount_annual_rate", "aging", "portfolio_kpis", "simulation_kpis",
    "monthly_kpis", "KPI_KEYS",
]


# ---------------------------------------------------------------------------------------------- formulas


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def dso(ar_end: float, sales: float, days: float) -> float:
    """Days sales outstanding, period method: AR_end / S x D."""
    return _ratio(ar_end, sales) * days


def best_possible_dso(ar_current_end: float, sales: float, days: float) -> float:
    """Best possible DSO: current (not yet due) AR_end / S x D."""
    return _ratio(ar_current_end, sales) * days


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
    return _ratio(ar_beg + sales / months - ar_end, collectable) * 100.0


def ar_turnover(sales: float, ar_beg: float, ar_end: float, *, days: float = 365.0) -> float:
    """AR turnover: S / average of AR_beg and AR_end, with S annualised (S x 365 / D) for a D-day period.

    For a year this is the textbook S / ((AR_beg + AR_end) / 2); annualising keeps 365 / turnover a number
    of days for shorter periods too.
    """
    return _ratio(sales * 365.0 / days, (ar_beg + ar_end) / 2.0)


def average_collection_period(turnover: float) -> float:
    """Average collection period in days: 365 / AR turnover."""
    return _ratio(365.0, turnover)


def aging(open_amount: pd.Series, days_past_due: pd.Series) -> dict[str, float]:
    """Open amounts by days past due: current, 1-30, 31-60, 61-90, 91+."""
    dpd = np.asarray(days_past_due, dtype=float)
    amount = np.asarray(open_amount, dtype=float)
    edges = [(-np.inf, 0), (1, 30), (31, 60), (61, 90), (91, np.inf)]
    return {name: float(amount[(dpd >= lo) & (dpd <= hi)].sum()) for name, (lo, hi) in zip(AGING_BUCKETS, edges)}


# ---------------------------------------------------------------------------------------------- balances


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


def portfolio_kpis(
    movements: Movements, *, start: int, end: int, start_date: pd.Timestamp, months: float | None = None,
    countback: tuple[list[float], list[float]] | None = None,
) -> dict[str, float]:
    """Receivables KPIs of DOMAIN.md section 2 for the period [start, end) of a book.

    ``months`` is the period's N for CEI (default: its days / 30.44); ``countback`` gives the sales and days of
    the months to count back over, latest first (default: the calendar months of the period itself).
    """
    days = end - start
    sales = movements.sales(start, end)
    open_end = movements.open_at(end)
    ar_end = float(open_end["open_amount"].sum())
    ar_beg = float(movements.open_at(start)["open_amount"].sum())
    ar_current_end = float(open_end.loc[open_end["due_day"] >= end, "open_amount"].sum())
    dso_days = dso(ar_end, sales, days)
    best = best_possible_dso(ar_current_end, sales, days)
    if countback is None:
        bounds = month_starts(start_date, start, end)
        countback = ([movements.sales(a, b) for a, b in zip(bounds[:-1], bounds[1:])][::-1], [b - a for a, b in zip(bounds[:-1], bounds[1:])][::-1])
    turnover = ar_turnover(sales, ar_beg, ar_end, days=days)
    buckets = aging(open_end["open_amount"], end - open_end["due_day"])
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
        "cei": cei(ar_beg, sales, days / DAYS_PER_MONTH if months is None else months, ar_end, ar_current_end),
        "pct_past_due": _ratio(ar_end - ar_current_end, ar_end) * 100.0,
        "past_due_amount": ar_end - ar_current_end,
        "ar_turnover": turnover,
        "avg_collection_period": average_collection_period(turnover),
        **{f"aging_{name}": value for name, value in buckets.items()},
    }


# ---------------------------------------------------------------------------------------------- simulation


KPI_KEYS: tuple[str, ...] = (
    "dso", "dso_countback", "best_possible_dso", "add", "cei", "pct_past_due", "past_due_amount", "ar_turnover",
    "avg_collection_period", "bad_debt_ratio", "avg_days_late_paid", "share_paid_late", "dispute_cycle_days",
    "query_wait_days", "query_sla_attainment", "collector_utilization", "backlog_tasks_end", "contacts_email",
    "contacts_call", "contacts_letter", "contacts_agency", "promises_kept_share", "discount_cost",
    "penalty_income", "financing_cost", "collector_cost", "contact_cost", "bad_debt_amount", "lost_margin",
    "net_cost", "sales", "collected", "ar_end", "average_ar", "queries_opened", "queries_answered",
    "disputes_opened", "disputes_resolved", "credit_notes", "orders_refused", "discount_uptake",
    "aging_current", "aging_1-30", "aging_31-60", "aging_61-90", "aging_91+",
)
"""Every KPI a simulation run reports, in report order."""


def movements_from_frames(frames: dict[str, pd.DataFrame]) -> Movements:
    """A simulated book's money movements from its event tables."""
    issued = frames["invoice_issued"]
    invoices = pd.DataFrame({
        "invoice_id": issued["invoice_id"], "customer_id": issued["customer_id"], "invoice_day": issued["day"],
        "due_day": issued["due_day"], "amount": issued["amount"],
    })
    pay, off = frames["payment"], frames["write_off"]
    settlements = pd.concat([
        pd.DataFrame({"invoice_id": pay["invoice_id"], "day": pay["day"], "amount": pay["collected"] + pay["discount"]}),
        pd.DataFrame({"invoice_id": off["invoice_id"], "day": off["day"], "amount": off["amount"]}),
    ], ignore_index=True)
    return Movements(invoices=invoices, settlements=settlements)


def paid_days(frames: dict[str, pd.DataFrame]) -> pd.Series:
    """Day each invoice was settled in full by payment (index invoice_id)."""
    pay = frames["payment"]
    return pay.loc[pay["closes"], ["invoice_id", "day"]].set_index("invoice_id")["day"]


def _within(frame: pd.DataFrame, column: str, start: float, end: float) -> pd.DataFrame:
    return frame[(frame[column] >= start) & (frame[column] < end)]


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else math.nan


@dataclass(frozen=True)
class _Prepared:
    """The event tables of one run, joined once so that many periods can be measured cheaply."""

    frames: dict[str, pd.DataFrame]
    movements: Movements
    closing: pd.DataFrame  # payments that settle an invoice, with the invoice's due day
    discounted: pd.Series  # discount taken per invoice
    answered: pd.DataFrame  # answered queries with the time raised
    queries: pd.DataFrame  # raised queries with the time answered (NaN if never)
    resolved: pd.DataFrame  # resolved disputes with the time opened
    promises: pd.DataFrame  # promises with the day of the invoice's first payment (NaN if none)


def _prepare(frames: dict[str, pd.DataFrame]) -> _Prepared:
    issued = frames["invoice_issued"].set_index("invoice_id")
    pay = frames["payment"]
    closing = pay[pay["closes"]]
    closing = closing.assign(due_day=issued.loc[closing["invoice_id"], "due_day"].to_numpy())
    raised = frames["query_raised"]
    answered = frames["query_answered"].merge(raised[["query_id", "time"]].rename(columns={"time": "raised"}), on="query_id")
    queries = raised.merge(answered[["query_id", "time"]].rename(columns={"time": "answered"}), on="query_id", how="left")
    opened = frames["dispute_opened"]
    resolved = frames["dispute_resolved"].merge(opened[["dispute_id", "time"]].rename(columns={"time": "opened"}), on="dispute_id")
    first_payment = pay.groupby("invoice_id")["day"].min()
    promises = frames["promise_made"]
    promises = promises.assign(first_paid=first_payment.reindex(promises["invoice_id"]).to_numpy())
    return _Prepared(
        frames=frames, movements=movements_from_frames(frames), closing=closing,
        discounted=pay.groupby("invoice_id")["discount"].sum(), answered=answered, queries=queries,
        resolved=resolved, promises=promises,
    )


def simulation_kpis(frames: dict[str, pd.DataFrame], scenario: Scenario, *, start: int, end: int) -> dict[str, float]:
    """All KPIs of one simulated replication over the measured period [start, end)."""
    return _period_kpis(_prepare(frames), scenario, start=start, end=end)


def _period_kpis(prepared: _Prepared, scenario: Scenario, *, start: int, end: int) -> dict[str, float]:
    frames = prepared.frames
    start_date = pd.Timestamp(scenario.calendar.start_date)
    result = portfolio_kpis(prepared.movements, start=start, end=end, start_date=start_date)
    days = end - start
    sales = result["sales"]

    pay = _within(frames["payment"], "day", start, end)
    off = _within(frames["write_off"], "day", start, end)
    bad_debt = float(off.loc[off["kind"] == "bad_debt", "amount"].sum())
    credit_notes = float(off.loc[off["kind"] == "credit_note", "amount"].sum())

    # Days late of invoices paid in full during the period (an early payment counts as 0 days late).
    closing = _within(prepared.closing, "day", start, end)
    late_days = (closing["day"] - closing["due_day"]).to_numpy()

    contacts = _within(frames["contact"], "time", start, end)
    by_channel = contacts["channel"].value_counts()
    money = scenario.money
    contact_cost = float(sum(money.contact_cost.get(ch, 0.0) * n for ch, n in by_channel.items()))

    answered_in = _within(prepared.answered, "time", start, end)
    sla = scenario.team.query_sla_days
    judged = _within(prepared.queries, "time", start, end - sla)
    met = (judged["answered"] - judged["time"]) <= sla  # unanswered (NaN) is a miss

    resolved = _within(prepared.resolved, "time", start, end)

    calendar_minutes = _shift_minutes(scenario, start, end)
    work = frames["work"]
    worked = (np.clip(work["end"], start, end) - np.clip(work["start"], start, end)).clip(lower=0).sum() * 1440.0
    capacity = calendar_minutes * scenario.team.collectors

    backlog = int((frames["task_created"]["time"] < end).sum() - (frames["task_done"]["time"] < end).sum())

    promises = prepared.promises
    promises = promises[(promises["promised_day"] >= start) & (promises["promised_day"] < end)]
    kept = promises["first_paid"].to_numpy() <= promises["promised_day"].to_numpy()

    refused = _within(frames["order_refused"], "day", start, end)
    average_ar = result["average_ar"]
    financing = money.cost_of_capital_per_year * average_ar * days / 365.0
    collector_cost = scenario.team.collectors * scenario.team.cost_per_collector_per_year * days / 365.0
    discount_cost = float(pay["discount"].sum())
    penalty_income = float(pay["penalty_income"].sum())
    lost_margin = money.gross_margin * float(refused["amount"].sum())
    invoices_in = _within(frames["invoice_issued"], "day", start, end)

    result.update({
        "bad_debt_ratio": _ratio(bad_debt, sales),
        "avg_days_late_paid": float(np.maximum(late_days, 0).mean()) if len(late_days) else math.nan,
        "share_paid_late": float((late_days > 0).mean()) if len(late_days) else math.nan,
        "dispute_cycle_days": _mean(resolved["time"] - resolved["opened"]),
        "query_wait_days": _mean(answered_in["time"] - answered_in["raised"]),
        "query_sla_attainment": float(met.mean()) if len(met) else math.nan,
        "collector_utilization": _ratio(worked, capacity),
        "backlog_tasks_end": float(backlog),
        **{f"contacts_{ch}": float(by_channel.get(ch, 0)) for ch in ("email", "call", "letter", "agency")},
        "promises_kept_share": float(kept.mean()) if len(kept) else math.nan,
        "discount_cost": discount_cost,
        "penalty_income": penalty_income,
        "financing_cost": financing,
        "collector_cost": collector_cost,
        "contact_cost": contact_cost,
        "bad_debt_amount": bad_debt,
        "lost_margin": lost_margin,
        "net_cost": financing + discount_cost + collector_cost + contact_cost + bad_debt + lost_margin - penalty_income,
        "collected": float(pay["collected"].sum()),
        "queries_opened": float(len(_within(frames["query_raised"], "time", start, end))),
        "queries_answered": float(len(answered_in)),
        "disputes_opened": float(len(_within(frames["dispute_opened"], "time", start, end))),
        "disputes_resolved": float(len(resolved)),
        "credit_notes": credit_notes,
        "orders_refused": float(len(refused)),
        "discount_uptake": _ratio(float((prepared.discounted.reindex(invoices_in["invoice_id"]).fillna(0) > 0).sum()), len(invoices_in)),
    })
    return {key: result[key] for key in KPI_KEYS}


def _shift_minutes(scenario: Scenario, start: int, end: int) -> float:
    """Minutes one collector is on shift in [start, end)."""
    team = scenario.team
    working = set(team.working_weekdays)
    first_weekday = scenario.calendar.start_date.weekday()
    work_days = sum(1 for day in range(start, end) if (first_weekday + day) % 7 in working)
    return work_days * team.hours_per_day * 60.0


def monthly_kpis(frames: dict[str, pd.DataFrame], scenario: Scenario, *, start: int, end: int) -> pd.DataFrame:
    """The main KPIs for each calendar month of [start, end) (partial months at the edges)."""
    start_date = pd.Timestamp(scenario.calendar.start_date)
    bounds = month_starts(start_date, start, end)
    prepared = _prepare(frames)
    rows = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        row = _period_kpis(prepared, scenario, start=a, end=b)
        row = {"month": (start_date + pd.Timedelta(days=a)).strftime("%Y-%m"), "days": b - a, **row}
        rows.append(row)
    return pd.DataFrame(rows)
