"""TODO docstring."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from arsim.measure.balances import Movements, month_starts, portfolio_kpis
from arsim.measure.contacts import CONTACT_DELIVERY_KEYS, contact_delivery
from arsim.measure.formulas import safe_ratio
from arsim.scenario.schema import Scenario

KPI_KEYS: tuple[str, ...] = (
    "dso", "dso_countback", "best_possible_dso", "add", "cei", "pct_past_due", "past_due_amount", "ar_turnover",
    "avg_collection_period", "bad_debt_ratio", "avg_days_late_paid", "share_paid_late", "dispute_cycle_days",
    "query_wait_days", "query_sla_attainment", "collector_utilization", "backlog_tasks_end", "contacts_email",
    "contacts_call", "contacts_letter", "contacts_agency", "promises_kept_share", "discount_cost",
    "penalty_income", "financing_cost", "collector_cost", "contact_cost", "bad_debt_amount", "lost_margin",
    "net_cost", "sales", "collected", "ar_end", "average_ar", "queries_opened", "queries_answered",
    "disputes_opened", "disputes_resolved", "credit_notes", "orders_refused", "discount_uptake",
    "aging_current", "aging_1-30", "aging_31-60", "aging_61-90", "aging_91+", *CONTACT_DELIVERY_KEYS,
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
        "bad_debt_ratio": safe_ratio(bad_debt, sales),
        "avg_days_late_paid": float(np.maximum(late_days, 0).mean()) if len(late_days) else math.nan,
        "share_paid_late": float((late_days > 0).mean()) if len(late_days) else math.nan,
        "dispute_cycle_days": _mean(resolved["time"] - resolved["opened"]),
        "query_wait_days": _mean(answered_in["time"] - answered_in["raised"]),
        "query_sla_attainment": float(met.mean()) if len(met) else math.nan,
        "collector_utilization": safe_ratio(worked, capacity),
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
        "discount_uptake": safe_ratio(float((prepared.discounted.reindex(invoices_in["invoice_id"]).fillna(0) > 0).sum()), len(invoices_in)),
    })
    result.update(contact_delivery(frames, start=start, end=end))
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
