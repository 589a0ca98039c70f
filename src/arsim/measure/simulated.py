"""KPIs of a simulated run: the formulas of `measure.balances` and `measure.formulas` over its event tables.

A run's KPIs are measured over its whole measured period and over each calendar month of it. The event
tables are joined once (`_prepare`) and every period then takes row ranges of them: the tables are in time
order (events are recorded as they happen), so a period's rows are found by binary search rather than by
filtering whole tables, and open balances at a day boundary are computed once per boundary, vectorised.
Both give exactly the numbers that filtering and pandas' group sums give (same values, same order of
summation); where a table is not in order of the column, the rows are filtered as before.
"""

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
    "orders_held", "orders_lost_waiting", "customers_lost", "sales_lost", "sales_lost_to_churn", "penalties_charged",
    "penalties_contested", "penalties_waived", "agency_recovered", "agency_commission", "concessions", "error_credit_notes",
    "error_cost", "unearned_discounts_taken", "unearned_discounts_recovered",
    "aging_current", "aging_1-30", "aging_31-60", "aging_61-90", "aging_91+", *CONTACT_DELIVERY_KEYS,
)
"""Every KPI a simulation run reports, in report order."""

SHARE_KPIS: frozenset[str] = frozenset({
    "share_paid_late", "query_sla_attainment", "collector_utilization", "promises_kept_share", "discount_uptake",
    "contacts_delivered_share",
})
"""KPIs that are a part of a whole (0 to 1): collectors work only within their shifts, so utilisation is one too.
(The bad-debt ratio is not: a period's write-offs can exceed its sales when sales collapse.)"""
UNBOUNDED_KPIS: frozenset[str] = frozenset({"net_cost", "add", "cei"})
"""KPIs that may be negative: the net cost once penalty income and agency recoveries exceed the costs; ADD, a
difference of two DSOs measured on different bases; CEI, whose denominator (receivables at the start plus a
month's sales, less those not yet due at the end) turns negative when the book grows fast, as in a run
without warm-up: it then passes 100 as well."""


def possible_range(kpi: str) -> tuple[float, float]:
    """The values a KPI can take at all (low, high), from its definition: shares 0..1, the past-due percentage
    up to 100, every amount, count and number of days at least 0, and no limit on the net cost, ADD and CEI.
    A bound outside it is a typo, and an interval is cut to it."""
    if kpi in SHARE_KPIS:
        return 0.0, 1.0
    if kpi == "pct_past_due":
        return 0.0, 100.0
    if kpi in UNBOUNDED_KPIS:
        return -math.inf, math.inf
    return 0.0, math.inf


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


class _Rows:
    """The rows of one table whose ``column`` lies in [start, end): a slice when the column is in order."""

    __slots__ = ("frame", "column", "values", "ordered")

    def __init__(self, frame: pd.DataFrame, column: str) -> None:
        self.frame = frame
        self.column = column
        self.values = frame[column].to_numpy()
        self.ordered = self.values.dtype.kind in "iuf" and bool((self.values[1:] >= self.values[:-1]).all())

    def within(self, start: float, end: float) -> pd.DataFrame:
        if not self.ordered:
            return _within(self.frame, self.column, start, end)
        return self.frame.iloc[self.positions(start, end)]

    def positions(self, start: float, end: float) -> slice | np.ndarray:
        """Which rows `within` takes: a slice, or a boolean mask."""
        if not self.ordered:
            return ((self.values >= start) & (self.values < end))
        first, stop = np.searchsorted(self.values, [start, end], side="left")
        return slice(int(first), int(stop))

    def before(self, end: float) -> int:
        """How many rows have ``column < end``."""
        if self.ordered:
            return int(np.searchsorted(self.values, end, side="left"))
        return int((self.values < end).sum())


def _positions(ids: pd.Series, among: pd.Series) -> np.ndarray | None:
    """Row position in ``among`` of each id in ``ids`` (-1 where absent); None when ``among`` repeats an id.

    The simulator numbers invoices in issue order (with the few gaps of refused orders), so a table indexed by
    id finds them; other numberings take a hash lookup.
    """
    known = among.to_numpy()
    wanted = ids.to_numpy()
    if (known.dtype.kind in "iu" and wanted.dtype.kind in "iu" and len(known) and known.min() >= 0
            and known.max() < 4 * len(known) + 1024 and bool((known[1:] > known[:-1]).all())):
        table = np.full(int(known.max()) + 1, -1, dtype=np.intp)  # increasing ids, a few gaps (refused orders)
        table[known] = np.arange(len(known))
        inside = (wanted >= 0) & (wanted < len(table))
        return np.where(inside, table[np.where(inside, wanted, 0)], -1)
    index = pd.Index(among)
    return index.get_indexer(ids) if index.is_unique else None


class _Balances(Movements):
    """A book's movements, with open balances computed once per day boundary, vectorised.

    ``open_at`` gives exactly `Movements.open_at`: an invoice's settled amount is the compensated (Kahan)
    sum that pandas' group sum computes, over the same settlements in the same order; the frame is the
    same rows in the same order, so every sum taken from it is the same to the last bit.

    An invoice's settlements before a boundary are, as a rule, the first few of its settlements in table
    order (they are recorded as they happen), so the running sums are computed once and each boundary takes
    the last one before it. Invoices whose settlements are out of day order in the table are summed afresh
    at each boundary.
    """

    def __init__(self, invoices: pd.DataFrame, settlements: pd.DataFrame) -> None:
        super().__init__(invoices=invoices, settlements=settlements)
        day = invoices["invoice_day"].to_numpy()
        position = _positions(settlements["invoice_id"], invoices["invoice_id"])
        amount = settlements["amount"].to_numpy(dtype=float)
        state: dict = {"cache": {}, "day": day, "ordered": day.dtype.kind in "iuf" and bool((day[1:] >= day[:-1]).all()),
                       "unique": position is not None}
        if position is not None:
            usable = (position >= 0) & ~np.isnan(amount)  # others are dropped by reindex, or skipped by the sum
            order = np.flatnonzero(usable)[np.argsort(position[usable], kind="stable")]  # by invoice, rows in order
            position, settled_day, amount = position[order], settlements["day"].to_numpy()[order], amount[order]
            first = np.ones(len(position), dtype=bool)
            first[1:] = position[1:] != position[:-1]
            backwards = np.zeros(len(position), dtype=bool)
            backwards[1:] = ~first[1:] & (settled_day[1:] < settled_day[:-1])
            unordered = np.isin(position, position[backwards])
            total, _ = _kahan_sums(position[~unordered], amount[~unordered], len(day), running=True)
            state.update(ids=invoices["invoice_id"].to_numpy(), due=invoices["due_day"].to_numpy(),
                         amount=invoices["amount"].to_numpy(), position=position[~unordered],
                         settled_day=settled_day[~unordered], running=total, last_of_invoice=np.append(first[1:], True)[~unordered],
                         other_position=position[unordered], other_day=settled_day[unordered], other_amount=amount[unordered])
        object.__setattr__(self, "_state", state)

    def open_at(self, boundary: int) -> pd.DataFrame:
        state = self._state
        if not state["unique"]:
            return super().open_at(boundary)  # reindex fails on repeated invoice ids: keep that behaviour
        cache = state["cache"]
        if boundary not in cache:
            cache[boundary] = self._open_at(boundary)
        return cache[boundary]

    def _open_at(self, boundary: int) -> pd.DataFrame:
        state = self._state
        settled = np.zeros(len(state["day"]))
        keep = state["settled_day"] < boundary
        # the last settlement before the boundary of each invoice: kept, and the invoice's next one is not
        last = keep & (state["last_of_invoice"] | ~np.append(keep[1:], False))
        settled[state["position"][last]] = state["running"][last]
        keep = state["other_day"] < boundary
        if keep.any():
            others, total = _kahan_sums(state["other_position"][keep], state["other_amount"][keep], len(settled))
            settled[others] = total[others]
        if state["ordered"]:
            issued = slice(0, int(np.searchsorted(state["day"], boundary, side="left")))
        else:
            issued = state["day"] < boundary
        frame = pd.DataFrame({
            "invoice_id": state["ids"][issued], "due_day": state["due"][issued],
            "open_amount": state["amount"][issued] - settled[issued],
        })
        return frame[frame["open_amount"] > 1e-6]

    def sales(self, start: int, end: int) -> float:
        state = self._state
        if not state["ordered"]:
            return super().sales(start, end)
        first, stop = np.searchsorted(state["day"], [start, end], side="left")
        return float(self.invoices["amount"].iloc[first:stop].sum())

    def average_balance(self, start: int, end: int) -> float:
        """`Movements.average_balance` in numpy: the same products, summed as pandas sums them."""
        inv, st = self.invoices, self.settlements
        with np.errstate(invalid="ignore", over="ignore"):  # inf x 0 is NaN (and counts 0), as in pandas
            up = _nansum(inv["amount"].to_numpy() * np.clip(end - np.maximum(inv["invoice_day"].to_numpy(), start), 0, None))
            down = _nansum(st["amount"].to_numpy() * np.clip(end - np.maximum(st["day"].to_numpy(), start), 0, None))
        return float(up - down) / (end - start)


def _kahan_sums(position: np.ndarray, amount: np.ndarray, size: int, *, running: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sums of ``amount`` by ``position`` (rows grouped by position, in order), compensated as pandas'
    group sum compensates them.

    Returns (positions that have a sum, sums by position); with ``running``, instead (the sum after each
    row, the positions).
    """
    first = np.ones(len(position), dtype=bool)
    first[1:] = position[1:] != position[:-1]
    starts = np.flatnonzero(first)
    rank = np.arange(len(position)) - np.repeat(starts, np.diff(np.append(starts, len(position))))
    total, compensation = np.zeros(size), np.zeros(size)
    after = np.empty(len(position)) if running else None
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(rank))]) if len(rank) else np.zeros(1, dtype=np.intp)
    with np.errstate(invalid="ignore", over="ignore"):
        for k in range(len(bounds) - 1):  # the k-th settlement of every invoice that has one
            at = by_rank[bounds[k]:bounds[k + 1]]
            rows, value = position[at], amount[at]
            y = value - compensation[rows]
            t = total[rows] + y
            lost = (t - total[rows]) - y
            lost[np.isnan(lost)] = 0.0  # as pandas does, so that an infinite amount does not poison the sum
            compensation[rows] = lost
            total[rows] = t
            if after is not None:
                after[at] = t
    if after is not None:
        return after, position
    return position[first], total


def _nansum(values: np.ndarray) -> np.floating:
    """``pd.Series(values).sum()`` for a float array: missing values count as 0 (pairwise summation)."""
    missing = np.isnan(values)
    return (np.where(missing, 0.0, values) if missing.any() else values).sum()


def _clip(values: np.ndarray, lower: float, upper: float | None = None) -> np.ndarray:
    """``pd.Series(values).clip(lower, upper)`` for a float array: NaN stays NaN."""
    missing = np.isnan(values)
    out = np.where(missing | (values >= lower), values, lower)
    if upper is not None:
        out = np.where(missing | (values <= upper), out, upper)
    return out


@dataclass(frozen=True)
class _Prepared:
    """The event tables of one run, joined once so that many periods can be measured cheaply."""

    frames: dict[str, pd.DataFrame]
    movements: Movements
    closing: pd.DataFrame  # payments that settle an invoice, with the invoice's due day
    discounted: np.ndarray  # for each issued invoice (row), whether it has taken a discount
    erroneous_ids: np.ndarray  # ids of the issued invoices that were wrong
    issued_amount: pd.Series  # invoice amount by invoice_id
    unearned_invoices: np.ndarray  # invoice ids with an unearned discount deducted
    answered: pd.DataFrame  # answered queries with the time raised
    queries: pd.DataFrame  # raised queries with the time answered (NaN if never)
    resolved: pd.DataFrame  # resolved disputes with the time opened
    promises: pd.DataFrame  # promises with the day of the invoice's first payment (NaN if none)
    rows: dict[str, _Rows]  # each table's rows by its time column


_TIME_COLUMNS: dict[str, str] = {
    "payment": "day", "write_off": "day", "contact": "time", "query_raised": "time", "dispute_opened": "time",
    "order_refused": "day", "invoice_issued": "day", "task_created": "time", "task_done": "time",
    "order_held": "day", "customer_lost": "day", "penalty_settled": "time", "agency_recovery": "day",
}


def _prepare(frames: dict[str, pd.DataFrame]) -> _Prepared:
    issued = frames["invoice_issued"]
    pay = frames["payment"]
    closing = pay[pay["closes"]]
    where = _positions(closing["invoice_id"], issued["invoice_id"])
    if where is None or (where < 0).any():  # as before, for ledgers the simulator does not write
        due_day = issued.set_index("invoice_id").loc[closing["invoice_id"], "due_day"].to_numpy()
    else:
        due_day = issued["due_day"].to_numpy()[where]
    closing = closing.assign(due_day=due_day)
    raised = frames["query_raised"]
    answered = frames["query_answered"].merge(raised[["query_id", "time"]].rename(columns={"time": "raised"}), on="query_id")
    queries = raised.merge(answered[["query_id", "time"]].rename(columns={"time": "answered"}), on="query_id", how="left")
    opened = frames["dispute_opened"]
    resolved = frames["dispute_resolved"].merge(opened[["dispute_id", "time"]].rename(columns={"time": "opened"}), on="dispute_id")
    promises = frames["promise_made"]
    promised = pay[pay["invoice_id"].isin(promises["invoice_id"])]  # the first payments that are needed
    first_payment = promised.groupby("invoice_id")["day"].min()
    promises = promises.assign(first_paid=first_payment.reindex(promises["invoice_id"]).to_numpy())
    # Discount taken per invoice, for invoices with any discount row other than zero: the others sum to zero,
    # and all rows of an invoice are summed, so each sum is the one of the whole table.
    discounting = pay[pay["invoice_id"].isin(pay.loc[pay["discount"] != 0, "invoice_id"])]
    discounted = discounting.groupby("invoice_id")["discount"].sum().reindex(issued["invoice_id"]).fillna(0) > 0
    movements = movements_from_frames(frames)
    rows = {name: _Rows(frames[name], column) for name, column in _TIME_COLUMNS.items()}
    rows.update(closing=_Rows(closing, "day"), answered=_Rows(answered, "time"), queries=_Rows(queries, "time"),
                resolved=_Rows(resolved, "time"))
    return _Prepared(
        frames=frames, movements=_Balances(movements.invoices, movements.settlements), closing=closing,
        discounted=discounted.to_numpy(), erroneous_ids=issued.loc[issued["error"].to_numpy(dtype=bool), "invoice_id"].to_numpy(),
        issued_amount=issued.set_index("invoice_id")["amount"],
        unearned_invoices=pay.loc[pay["kind"] == "unearned_discount", "invoice_id"].unique(),
        answered=answered, queries=queries, resolved=resolved, promises=promises, rows=rows,
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

    rows = prepared.rows
    pay = rows["payment"].within(start, end)
    off = rows["write_off"].within(start, end)
    bad_debt = float(off.loc[off["kind"] == "bad_debt", "amount"].sum())
    error_credit_notes = float(off.loc[off["kind"] == "credit_note", "amount"].sum())
    concessions = float(off.loc[off["kind"] == "concession", "amount"].sum())

    # Days late of invoices paid in full during the period (an early payment counts as 0 days late).
    closing = rows["closing"].within(start, end)
    late_days = (closing["day"] - closing["due_day"]).to_numpy()

    contacts = rows["contact"].within(start, end)
    by_channel = contacts["channel"].value_counts()
    money = scenario.money
    contact_cost = float(sum(money.contact_cost.get(ch, 0.0) * n for ch, n in by_channel.items()))

    answered_in = rows["answered"].within(start, end)
    sla = scenario.team.query_sla_days
    judged = rows["queries"].within(start, end - sla)
    met = (judged["answered"] - judged["time"]) <= sla  # unanswered (NaN) is a miss

    resolved = rows["resolved"].within(start, end)

    calendar_minutes = _shift_minutes(scenario, start, end)
    work = frames["work"]
    worked = _nansum(_clip(_clip(work["end"].to_numpy(dtype=float), start, end) - _clip(work["start"].to_numpy(dtype=float), start, end), 0)) * 1440.0
    capacity = calendar_minutes * scenario.team.collectors

    backlog = rows["task_created"].before(end) - rows["task_done"].before(end)

    promises = prepared.promises
    promises = promises[(promises["promised_day"] >= start) & (promises["promised_day"] < end)]
    kept = promises["first_paid"].to_numpy() <= promises["promised_day"].to_numpy()

    refused = rows["order_refused"].within(start, end)
    average_ar = result["average_ar"]
    financing = money.cost_of_capital_per_year * average_ar * days / 365.0
    collector_cost = scenario.team.collectors * scenario.team.cost_per_collector_per_year * days / 365.0
    discount_cost = float(pay["discount"].sum())
    penalties = rows["penalty_settled"].within(start, end)
    penalty_income = float(penalties["collected"].sum())
    sales_lost = float(refused["amount"].sum())
    lost_margin = money.gross_margin * sales_lost
    recoveries = rows["agency_recovery"].within(start, end)
    agency_recovered, agency_commission = float(recoveries["recovered"].sum()), float(recoveries["commission"].sum())
    invoices_in = rows["invoice_issued"].positions(start, end)
    invoice_count = len(prepared.discounted[invoices_in])
    # Rework: a wrong invoice found out (disputed) is investigated and reissued; one nobody noticed costs nothing.
    disputed_in = rows["dispute_opened"].within(start, end)["invoice_id"]
    error_cost = scenario.invoicing.error_rework_cost * float(np.isin(disputed_in.unique(), prepared.erroneous_ids).sum())
    unearned = pay[pay["kind"] == "unearned_discount"]
    unearned_taken = float((prepared.issued_amount.reindex(unearned["invoice_id"]).to_numpy() - unearned["collected"].to_numpy()).sum())
    unearned_recovered = float(pay.loc[(pay["kind"] == "remainder") & pay["invoice_id"].isin(prepared.unearned_invoices), "collected"].sum())

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
        "net_cost": (financing + discount_cost + collector_cost + contact_cost + bad_debt + lost_margin + concessions + error_cost
                     + agency_commission - agency_recovered - penalty_income),
        "collected": float(pay["collected"].sum()),
        "queries_opened": float(len(rows["query_raised"].within(start, end))),
        "queries_answered": float(len(answered_in)),
        "disputes_opened": float(len(rows["dispute_opened"].within(start, end))),
        "disputes_resolved": float(len(resolved)),
        "credit_notes": error_credit_notes + concessions,
        "orders_refused": float(len(refused)),
        "orders_held": float(len(rows["order_held"].within(start, end))),
        "orders_lost_waiting": float((refused["reason"] == "held_too_long").sum()),
        "customers_lost": float(len(rows["customer_lost"].within(start, end))),
        "sales_lost": sales_lost,
        "sales_lost_to_churn": float(refused.loc[refused["reason"].isin(["customer_left", "written_off"]), "amount"].sum()),
        "penalties_charged": float(penalties["charged"].sum()),
        "penalties_contested": float(penalties["outcome"].isin(["upheld", "waived"]).sum()),
        "penalties_waived": float(penalties.loc[penalties["outcome"] == "waived", "charged"].sum()),
        "agency_recovered": agency_recovered,
        "agency_commission": agency_commission,
        "concessions": concessions,
        "error_credit_notes": error_credit_notes,
        "error_cost": error_cost,
        "unearned_discounts_taken": unearned_taken,
        "unearned_discounts_recovered": unearned_recovered,
        "discount_uptake": safe_ratio(float(prepared.discounted[invoices_in].sum()), invoice_count),
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
    return _monthly(_prepare(frames), scenario, start=start, end=end)


def kpis_and_monthly(frames: dict[str, pd.DataFrame], scenario: Scenario, *, start: int, end: int) -> tuple[dict[str, float], pd.DataFrame]:
    """`simulation_kpis` and `monthly_kpis` of one replication together, its event tables joined once."""
    prepared = _prepare(frames)
    return _period_kpis(prepared, scenario, start=start, end=end), _monthly(prepared, scenario, start=start, end=end)


def _monthly(prepared: _Prepared, scenario: Scenario, *, start: int, end: int) -> pd.DataFrame:
    start_date = pd.Timestamp(scenario.calendar.start_date)
    bounds = month_starts(start_date, start, end)
    rows = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        row = _period_kpis(prepared, scenario, start=a, end=b)
        row = {"month": (start_date + pd.Timedelta(days=a)).strftime("%Y-%m"), "days": b - a, **row}
        rows.append(row)
    return pd.DataFrame(rows)
