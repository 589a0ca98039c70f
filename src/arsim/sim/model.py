"""The SimPy model of one replication: orders, invoices, dunning, replies, collectors, payments.

The only module that imports simpy. It is event-driven: nothing wakes daily to look at every invoice.
Each open invoice has one live wake-up, at the earliest of its payment day, its next dunning step and its
write-off day; when something moves one of those (a contact triggers payment, a query holds it, an answer
releases it), the invoice gets a new wake-up and the entry left behind is skipped when its time comes
(cancel by checking state, never by removing events). These times are whole days, so a wake-up is an entry
in that day's list, and one SimPy event a day runs the list (the day agenda, agenda.py); events at other
times (collectors' work, replies) are SimPy timeouts with callbacks rather than generator processes. Both
cost a fraction of a process switch per event (see benchmarks/speed.py).

Collectors (collectors.py) are servers with a shared priority worklist, working within their shifts.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import simpy

from arsim.scenario.arguments import scenario_argument, whole_number
from arsim.scenario.schema import Scenario
from arsim.sim import records as rec
from arsim.sim.agenda import DayAgenda
from arsim.sim.behaviour import (
    R_CALL_MINUTES,
    R_CREDIT_NOTE,
    R_CREDIT_SHARE,
    R_DISPUTE_MINUTES,
    R_EXTERNAL_DAYS,
    R_FOLLOWUP_MINUTES,
    R_FOLLOWUP_UPLIFT,
    R_OUTCOME,
    R_PLAN,
    R_PROMISE_DAYS,
    R_PROMISE_KEPT,
    R_QUERY_MINUTES,
    R_REACH,
    R_REPLY_DELAY,
    R_RESUME,
    R_SEND,
    R_UPLIFT,
    SLOT_DEDUCTION,
    SLOT_ERROR_DISPUTE,
    U_CONTEST,
    U_CONTEST_MINUTES,
    U_LEAVE_CHASE,
    U_LEAVE_HELD,
    U_LEAVE_LOST,
    U_LEAVE_PENALTY,
    U_LEAVE_UPHELD,
    U_PATIENCE,
    U_PAY_TO_RELEASE,
    U_PENALTY_PAID,
    U_RECOVERED_SHARE,
    U_RECOVERY,
    U_RECOVERY_DAYS,
    U_UNEARNED,
    U_WAIVE,
    Book,
    contact_slot,
    draw_book,
    month_end_day,
    quantile_function,
    trigger_delay,
    uplift_exposure,
    uplift_trigger_delay,
)
from arsim.sim.calendar import INF, TIME_EPS, ShiftCalendar, days_back, days_forward
from arsim.sim.collectors import CollectorTeam, Task
from arsim.sim.rules import (
    CHANGING_WORKLIST_RULES,
    CHANNEL_STRENGTH,
    TASK_KINDS,
    counts_for_hold,
    credit_hold_cutoff,
    credit_limit,
    discount_eligible,
    order_fits_limit,
    penalty_charge,
    penalty_reaction_probability,
    planned_contacts,
    predicted_days_late,
    worklist_key,
)

TASK_RANK = {kind: rank for rank, kind in enumerate(TASK_KINDS)}


@dataclass(frozen=True)
class SimulationResult:
    """What one replication produced: event tables and the facts needed to read them."""

    frames: dict[str, pd.DataFrame]
    warmup_days: int
    total_days: int
    events: int  # model events processed one by one: orders, invoice wake-ups (stale ones too), day-agenda calls, timed callbacks
    simpy_events: int  # SimPy timeouts processed, the daily ticks included
    orders: int
    open_amount_end: float  # receivables still open when the run ended, from the model's own state
    open_invoices_end: int  # invoices still open when the run ended (each has one live wake-up)


# ---------------------------------------------------------------------------------------------- calendar


# ---------------------------------------------------------------------------------------------- state


class _Invoice:
    """The mutable state of one open invoice (slotted: there are hundreds of thousands)."""

    __slots__ = (
        "index", "customer", "segment", "amount", "open_amount", "due_day", "decision_day",
        "release_day", "pay_day", "holds", "dispute_open", "closed", "next_step", "next_step_day", "contacts",
        "wake_at", "error", "deduction_share", "on_plan", "write_off_day", "discount_paid", "waiting", "call_pending",
        "day", "error_pending", "penalised",
    )
    index: int
    customer: int
    segment: int
    amount: float
    open_amount: float
    due_day: int
    decision_day: float
    release_day: float
    pay_day: float
    holds: int
    dispute_open: bool
    closed: bool
    next_step: int
    next_step_day: float  # a whole day or INF; days computed as ints are stored as float(...), as mypyc requires
    contacts: int
    wake_at: float
    error: bool
    deduction_share: float
    on_plan: bool
    write_off_day: float
    discount_paid: bool
    waiting: str | None
    call_pending: bool
    day: int
    error_pending: bool
    penalised: bool


class _PenaltyQuery:
    """What a collector works when a customer contests a penalty: the invoice is paid and closed by then, so the
    query stands on its own (the worklist drops tasks of closed invoices), with the invoice's identity and due date."""

    __slots__ = ("customer", "index", "segment", "open_amount", "due_day", "closed")
    customer: int
    index: int
    segment: int
    open_amount: float
    due_day: int
    closed: bool

    def __init__(self, inv: _Invoice, charged: float) -> None:
        self.customer, self.index, self.segment, self.due_day = inv.customer, inv.index, inv.segment, inv.due_day
        self.open_amount = charged
        self.closed = False


# ---------------------------------------------------------------------------------------------- the model


class _Model:
    """One replication: wires the pre-drawn book to SimPy events and the collectors."""

    # run() deletes these to cut the model's reference cycles; a class compiled by mypyc may delete only
    # the attributes named here.
    __deletable__ = ("team", "agenda", "at")

    def __init__(self, scenario: Scenario, book: Book) -> None:
        self.scenario = scenario
        self.book = book
        self.env = simpy.Environment()
        self.recorder = rec.Recorder()
        self.total_days = book.total_days
        self.agenda = DayAgenda(self.env, total_days=book.total_days, wake=self._wake, steps=self._send_due_steps, orders=self._orders)
        self.at = self.agenda.at  # bound once: the hot path calls it for every timed event
        policy = scenario.policy
        self.policy = policy
        self.collectors = scenario.team.collectors
        self.start_weekday = scenario.calendar.start_date.weekday()
        # Days forward to the next business day, and back to the previous one, by (start_weekday + day) % 7.
        business = scenario.calendar.business_weekdays
        self.forward, self.backward = days_forward(business), days_back(business)

        segments = scenario.portfolio.segments
        self.segment_names = [s.name for s in segments]
        self.responses = [s.contact_response for s in segments]
        self.channel_response = [dict(s.contact_response.channels) for s in segments]
        self.cadences = cadences(scenario)  # per segment: its planned contacts
        # Quantile functions (uniform draw -> value) of the distributions drawn during the run.
        self.reply_delay_days = [quantile_function(r.reply_delay_days) for r in self.responses]
        self.promise_days = [quantile_function(r.promise_days) for r in self.responses]
        self.resume_days = [quantile_function(r.resume_days) for r in self.responses]
        minutes = scenario.team.minutes
        self.call_minutes, self.query_minutes = quantile_function(minutes.call), quantile_function(minutes.query)
        self.dispute_minutes, self.followup_minutes = quantile_function(minutes.dispute), quantile_function(minutes.promise_followup)
        self.dispute_external_days = quantile_function(scenario.team.dispute_external_days)
        self.credit_note_share = quantile_function(scenario.disputes.credit_note_share)

        customers = book.customers
        self.cust_segment: list[int] = customers.segment.tolist()
        self.run_weekday: list[int] = customers.run_weekday.tolist()
        self.default_day: list[float] = customers.default_day.tolist()
        self.refused: list[bool] = customers.refused.tolist()
        self.electronic: list[bool] = customers.electronic.tolist()
        self.discount_minded: list[bool] = customers.discount_minded.tolist()
        self.payables_days: list[float] = customers.payables_days.tolist()
        self.limit = [
            credit_limit(policy.credit, segment=self.segment_names[s], expected_monthly_sales=m, average_invoice_amount=a)
            for s, m, a in zip(self.cust_segment, customers.expected_monthly_sales.tolist(), customers.average_invoice_amount.tolist())
        ]
        n_customers = len(self.cust_segment)
        self.open_amount = [0.0] * n_customers
        self.open_invoices: list[dict[int, _Invoice]] = [{} for _ in range(n_customers)]
        # The customer's last contact on a channel at least as strong as each channel strength (email .. agency).
        self.last_contact = [[-INF] * len(CHANNEL_STRENGTH) for _ in range(n_customers)]
        # Today's due dunning steps, one list per channel strength: sent strongest first, in the order they fell due.
        self.due_steps: list[list[_Invoice]] = [[] for _ in CHANNEL_STRENGTH]

        orders = book.orders
        self.order_customer: list[int] = orders.customer.tolist()
        self.order_day: list[int] = orders.day.tolist()
        self.order_amount: list[float] = orders.amount.tolist()
        self.order_due: list[int] = orders.due_day.tolist()
        self.order_error: list[bool] = orders.error.tolist()
        self.order_deduction: list[float] = orders.deduction_share.tolist()
        self.relationship = orders.relationship  # per-order uniform draws (behaviour.U_*), read a row at a time
        self.next_order = 0
        # Credit: held orders wait per customer (first in, first out) and ship when the customer's position allows.
        self.hold_min_amount = policy.credit.hold_min_amount
        self.review_over_limit = policy.credit.review_over_limit
        self.held: list[list[int]] = [[] for _ in range(n_customers)]
        self.held_now: set[int] = set()
        self.recheck: set[int] = set()  # customers with held orders whose position has changed since last checked
        self.late_issue: dict[int, tuple[int, int]] = {}  # order -> (invoice day, due day) of a held order shipped later
        self.gone: list[str | None] = [None] * n_customers  # why a customer orders no more (left, written off)
        self.business = frozenset(scenario.calendar.business_weekdays)
        relationships = [s.relationship for s in segments]
        self.patience_days = [quantile_function(r.order_patience_days) for r in relationships]
        self.leave_held = [r.leave_probability_per_held_order for r in relationships]
        self.pay_to_release = [r.pay_to_release_probability for r in relationships]
        self.leave_lost = [r.leave_probability_per_lost_order for r in relationships]
        self.leave_penalty = [r.leave_probability_per_penalty for r in relationships]
        self.penalty_collect = [r.penalty_collect_share for r in relationships]
        self.penalty_contest = [r.penalty_contest_probability for r in relationships]
        self.leave_upheld = [r.leave_probability_when_upheld for r in relationships]
        self.leave_chase = [r.leave_probability_per_chase for r in relationships]
        self.plan_acceptance = [r.plan_acceptance_probability for r in relationships]
        self.unearned_share = [s.behaviour.unearned_discount_probability for s in segments]
        self.terms_days = [s.terms_days for s in segments]
        self.statement: list[bool] = customers.statement.tolist()
        self.agency_enabled = policy.agency.enabled
        self.agency = scenario.agency
        self.recovered_share = quantile_function(scenario.agency.recovered_share)
        self.recovery_days = quantile_function(scenario.agency.recovery_days)
        # A default comes to light insolvency_notice_days later: all the failed customer owes is written off then,
        # whatever the write-off age of the policy (which therefore governs only debts of customers in business).
        notice = [s.risk.insolvency_notice_days for s in segments]
        self.insolvencies = [(day + notice[self.cust_segment[c]], c) for c, day in enumerate(self.default_day) if day < INF]
        self.write_off_days = policy.write_off_days_past_due
        self.pause_while_open = policy.dunning.pause_while_open
        self.offers_discount = policy.discount.percent > 0
        self.charges_penalty = policy.penalty.interest_percent_per_month > 0 or policy.penalty.fee > 0
        self.offers_plans = policy.payment_plan.enabled
        self._plan_first_days(book, scenario)

        calendar = ShiftCalendar(scenario.team, start_weekday=self.start_weekday)
        # What a collector's system knows of each customer's payments so far: invoices paid, paid late, days late.
        self.history_paid = [0] * n_customers
        self.history_late = [0] * n_customers
        self.history_days_late = [0.0] * n_customers
        rule = worklist_key(policy.worklist_rule)
        uses_history = self.keeps_history = policy.worklist_rule == "predicted_risk"

        def task_key(task: Task) -> tuple:
            inv = task.invoice
            if not uses_history:
                return rule(task.rank, task.created, inv.open_amount, inv.due_day, 0.0)
            c = inv.customer
            late = predicted_days_late(invoices_paid=self.history_paid[c], invoices_paid_late=self.history_late[c],
                                       days_late_total=self.history_days_late[c])
            now = self.env.now
            past_due = sum(other.open_amount for other in self.open_invoices[c].values() if other.due_day < now and other is not inv)
            return rule(task.rank, task.created, inv.open_amount + past_due, inv.due_day, late)

        self.team = CollectorTeam(self, collectors=self.collectors, calendar=calendar, key=task_key,
                                  changing=policy.worklist_rule in CHANGING_WORKLIST_RULES)
        self.task_ids = 0
        self.query_ids = 0
        self.dispute_ids = 0
        sink = self.recorder.sink
        self.refusals, self.payments = sink(rec.OrderRefused), sink(rec.Payment)
        self.write_offs, self.contacts, self.skips = sink(rec.WriteOff), sink(rec.Contact), sink(rec.ContactSkipped)
        self.deferrals = sink(rec.ContactDeferred)
        self.queries_raised, self.queries_answered = sink(rec.QueryRaised), sink(rec.QueryAnswered)
        self.disputes_opened, self.disputes_resolved = sink(rec.DisputeOpened), sink(rec.DisputeResolved)
        self.promises, self.plans, self.tasks_created = sink(rec.PromiseMade), sink(rec.PlanAgreed), sink(rec.TaskCreated)
        self.holds_recorded, self.customers_lost = sink(rec.OrderHeld), sink(rec.CustomerLost)
        self.penalties, self.recoveries = sink(rec.PenaltySettled), sink(rec.AgencyRecovery)

    def _plan_first_days(self, book: Book, scenario: Scenario) -> None:
        """Each order's first payment day and first dunning step, vectorised (they need no simulation state).

        Mirrors `_run_day` exactly, for all orders at once; a discount taker pays in its last run inside the window.
        """
        orders, customers = book.orders, book.customers
        weekday_run = customers.run_weekday[orders.customer]
        start = self.start_weekday
        forward, backward = np.array(self.forward), np.array(self.backward)

        def run_day(t: np.ndarray) -> np.ndarray:
            finite = np.isfinite(t)
            day = np.ceil(np.where(finite, t, 0.0) - TIME_EPS).astype(np.int64)
            weekly = day + (weekday_run - (start + day)) % 7
            daily = day + forward[(start + day) % 7]
            return np.where(finite, np.where(weekday_run < 0, daily, weekly), INF)

        decision = orders.decision_day.copy()
        if scenario.policy.discount.percent > 0:
            last = np.floor(orders.day + scenario.policy.discount.days + TIME_EPS).astype(np.int64)
            pay_by = np.where(weekday_run < 0, last - backward[(start + last) % 7], last - ((start + last) - weekday_run) % 7)
            ready = orders.received_day + customers.payables_days[orders.customer]  # the payables process needs its days
            takes = orders.takes_discount & (pay_by >= ready - TIME_EPS) & (pay_by < customers.default_day[orders.customer])
            decision = np.where(takes, np.minimum(decision, pay_by), decision)
        self.first_decision: list[float] = decision.tolist()
        pay_day = run_day(decision)
        self.first_pay_day: list[float] = np.where(pay_day >= customers.default_day[orders.customer], INF, pay_day).tolist()  # failed first
        # An erroneous invoice is disputed when the customer processes it for payment: a day before it means to pay.
        self.error_found_day: list[float] = np.where(
            orders.error_disputed & np.isfinite(decision), np.maximum(orders.received_day, decision - 1.0), INF).tolist()

        # Steps that would fall before the invoice date are skipped (short terms, or a statement due later).
        segment = customers.segment[orders.customer]
        first_step = np.zeros(orders.day.size, dtype=np.int64)
        first_step_day = np.full(orders.day.size, INF)
        for index in range(len(scenario.portfolio.segments)):
            offsets = np.array([planned.day for planned in self.cadences[index]], dtype=np.int64)
            members = np.flatnonzero(segment == index)
            first = np.searchsorted(offsets, orders.day[members] - orders.due_day[members], side="left")
            first_step[members] = first
            planned = first < offsets.size
            raw = orders.due_day[members[planned]] + offsets[first[planned]]
            first_step_day[members[planned]] = raw + forward[(start + raw) % 7]
        self.first_step: list[int] = first_step.tolist()
        self.first_step_day: list[float] = first_step_day.tolist()
        # The first wake-up, as _plan_wake would set it on a fresh invoice (no holds, no plan).
        write_off_day = orders.due_day + scenario.policy.write_off_days_past_due
        first_wake = np.minimum(np.minimum(self.first_pay_day, first_step_day), write_off_day)
        self.first_wake: list[float] = np.maximum(first_wake, orders.day).tolist()

    def run(self) -> SimulationResult:
        """Run the events to the end of the horizon and return the tables (call once; see simulate)."""
        self.agenda.start()
        for day, customer in self.insolvencies:
            self.at(day, self._insolvency, customer)
        self.env.run(until=self.total_days)
        frames = self.recorder.frames()
        frames[rec.table_name(rec.InvoiceIssued)] = self._issued_table()
        result = SimulationResult(
            frames=frames, warmup_days=self.scenario.run.warmup_days,
            total_days=self.total_days, events=self.agenda.events, simpy_events=self.agenda.simpy_events,
            orders=len(self.order_day),
            open_amount_end=sum(inv.open_amount for invoices in self.open_invoices for inv in invoices.values()),
            open_invoices_end=sum(len(invoices) for invoices in self.open_invoices),
        )
        # The team and its tasks point back at the model. Cutting that cycle lets reference counting free the
        # whole replication as soon as the caller drops the model, instead of leaving it to the cycle collector.
        del self.team
        del self.agenda, self.at  # the agenda's callbacks are bound methods of the model: the same cycle
        return result

    def _issued_table(self) -> pd.DataFrame:
        """The invoices issued: every order but the refused ones, with fields all drawn before the run.

        Built from the order arrays at the end rather than appended one record per invoice in the hot path;
        the same typed table the recorder would make (rec.InvoiceIssued).
        """
        orders, customers = self.book.orders, self.book.customers
        issued = np.zeros(orders.day.size, dtype=bool)
        issued[:self.next_order] = True  # the orders processed (all of them: every order day is inside the run)
        issued[[refusal[2] for refusal in self.refusals]] = False  # rec.OrderRefused.order_id
        issued[list(self.held_now)] = False  # still waiting for credit when the run ended
        day, due_day = orders.day.astype(np.int64), orders.due_day.astype(np.int64)
        if self.late_issue:
            shipped = np.fromiter(self.late_issue, dtype=np.int64, count=len(self.late_issue))
            dates = np.array(list(self.late_issue.values()), dtype=np.int64).reshape(-1, 2)
            day, due_day = day.copy(), due_day.copy()
            day[shipped], due_day[shipped] = dates[:, 0], dates[:, 1]
        index = np.flatnonzero(issued)
        index = index[np.argsort(day[index], kind="stable")]  # in order of invoice date, as held orders ship later
        owner = orders.customer[index]
        names = np.array(self.segment_names, dtype=object)
        return pd.DataFrame({
            "day": day[index], "customer_id": owner.astype(np.int64), "invoice_id": index.astype(np.int64),
            "segment": pd.Categorical(names[customers.segment[owner]]), "amount": orders.amount[index].astype(np.float64),
            "due_day": due_day[index], "electronic": customers.electronic[owner].astype(np.bool_),
            "error": orders.error[index].astype(np.bool_),
        }, columns=list(rec.InvoiceIssued._fields))

    # --- calendar helpers

    def _run_day(self, customer: int, t: float) -> float:
        """The customer's first payment run on or after time t (payments happen on whole business days)."""
        if t == INF:
            return INF
        day = math.ceil(t - TIME_EPS)
        weekday = self.run_weekday[customer]
        if weekday < 0:
            return day + self.forward[(self.start_weekday + day) % 7]
        return day + (weekday - (self.start_weekday + day)) % 7

    # --- orders and invoices

    def _orders(self, today: int) -> int:
        """Ship the held orders that credit now allows, then process the orders dated today, in order: refused,
        held by a credit rule, or invoiced. Returns how many orders were dated today."""
        hold_cutoff = credit_hold_cutoff(self.policy.credit, today=today)
        if self.recheck and (self.start_weekday + today) % 7 in self.business:
            self._ship_held(today, hold_cutoff)
        days, customers, amounts = self.order_day, self.order_customer, self.order_amount
        first = index = self.next_order
        count = len(days)
        while index < count and days[index] == today:
            customer, amount = customers[index], amounts[index]
            reason = None
            if self.refused[customer]:
                reason = "approval"
            elif self.gone[customer] is not None:
                reason = "written_off" if self.gone[customer] == "written_off" else "customer_left"
            else:
                block = self._credit_block(customer, amount, today, hold_cutoff)
                if block is None:
                    self._issue(index, customer, amount, today)
                else:
                    self._hold(index, customer, amount, today, block)
            if reason is not None:
                self.refusals.append(rec.OrderRefused(today, customer, index, amount, reason))
            index += 1
        self.next_order = index
        return index - first

    def _credit_block(self, customer: int, amount: float, today: int, hold_cutoff: float) -> str | None:
        """Why an order of ``amount`` may not ship now (credit_hold or credit_limit), or None if it may.

        The hold looks at what is really overdue and owed: invoices under query or dispute and small remainders
        do not count (rules.counts_for_hold). A customer's invoices are issued in date order and their due dates
        never fall back, and a dict keeps insertion order, so a scan stops at the first invoice due too late to
        matter; for most customers that is the first one.
        """
        invoices = self.open_invoices[customer].values()
        minimum = self.hold_min_amount
        for inv in invoices:
            if inv.due_day >= hold_cutoff:
                break
            if counts_for_hold(open_amount=inv.open_amount, under_query_or_dispute=inv.holds > 0, min_amount=minimum):
                return "credit_hold"
        if order_fits_limit(open_amount=self.open_amount[customer], order_amount=amount, limit=self.limit[customer]):
            return None
        if not self.review_over_limit:
            return "credit_limit"
        # Credit review approves an over-limit order from a customer with nothing overdue: the limit caps exposure
        # to customers who are falling behind, not a good customer's big order.
        for inv in invoices:
            if inv.due_day >= today:
                break
            if counts_for_hold(open_amount=inv.open_amount, under_query_or_dispute=inv.holds > 0, min_amount=0.0):
                return "credit_limit"
        return None

    def _hold(self, index: int, customer: int, amount: float, today: int, reason: str) -> None:
        """Hold an order: it waits for credit until the customer's patience runs out; the hold may drive the customer away."""
        self.holds_recorded.append((today, customer, index, amount, reason))  # rec.OrderHeld
        self.held[customer].append(index)
        self.held_now.add(index)
        row = self.relationship[index].tolist()
        segment = self.cust_segment[customer]
        self.at(today + self.patience_days[segment](row[U_PATIENCE]), self._hold_expired, index)
        if row[U_LEAVE_HELD] < self.leave_held[segment]:
            self._customer_leaves(customer, today, "held_order")
        elif row[U_PAY_TO_RELEASE] < self.pay_to_release[segment]:
            # The hold is the seller's leverage: to get its goods the customer pays what is overdue in its next
            # payment run (unless it is failing: a defaulting customer cannot, which is how holds cut exposure).
            for inv in list(self.open_invoices[customer].values()):
                if inv.due_day >= today:
                    break
                if inv.holds == 0:
                    self._set_decision(inv, today)
                    self._plan_wake(inv)

    def _hold_expired(self, index: int) -> None:
        """The customer's patience ran out: a still-held order is cancelled (its margin lost)."""
        if index not in self.held_now:
            return
        customer = self.order_customer[index]
        day = int(self.env.now)
        self.held[customer].remove(index)
        self.held_now.discard(index)
        self.refusals.append(rec.OrderRefused(day, customer, index, self.order_amount[index], "held_too_long"))
        if self.relationship[index, U_LEAVE_LOST] < self.leave_lost[self.cust_segment[customer]]:
            self._customer_leaves(customer, day, "lost_order")

    def _ship_held(self, today: int, hold_cutoff: float) -> None:
        """Ship, oldest first, the held orders of customers whose position changed, each one that credit now allows."""
        for customer in self.recheck:
            waiting = []
            for index in self.held[customer]:
                if self.gone[customer] is None and self._credit_block(customer, self.order_amount[index], today, hold_cutoff) is None:
                    self.held_now.discard(index)
                    self._issue(index, customer, self.order_amount[index], today)
                else:
                    waiting.append(index)
            self.held[customer] = waiting
        self.recheck.clear()

    def _customer_leaves(self, customer: int, day: int, reason: str) -> None:
        """The customer orders no more: its held orders are lost, and so are the orders it would have placed."""
        if self.gone[customer] is not None:
            return
        self.gone[customer] = reason
        self.customers_lost.append((day, customer, reason))  # rec.CustomerLost
        lost_reason = "written_off" if reason == "written_off" else "customer_left"
        for index in self.held[customer]:
            self.held_now.discard(index)
            self.refusals.append(rec.OrderRefused(day, customer, index, self.order_amount[index], lost_reason))
        self.held[customer] = []

    def _changed(self, customer: int) -> None:
        """The customer's credit position changed: look at its held orders again when orders are next processed."""
        if self.held[customer]:
            self.recheck.add(customer)

    def _issue(self, index: int, customer: int, amount: float, today: int) -> None:
        segment = self.cust_segment[customer]
        inv = _Invoice()
        inv.index = index
        inv.customer = customer
        inv.segment = segment
        inv.amount = amount
        inv.open_amount = amount
        inv.day = today
        inv.due_day = due = self.order_due[index]
        inv.release_day = -INF
        inv.holds = 0
        inv.dispute_open = False
        inv.closed = False
        inv.contacts = 0
        inv.error = self.order_error[index]
        inv.deduction_share = self.order_deduction[index]
        inv.on_plan = False
        inv.discount_paid = False
        inv.penalised = False
        inv.waiting = None
        inv.call_pending = False
        inv.next_step = self.first_step[index]
        shift = today - self.order_day[index]
        if shift == 0:
            inv.write_off_day = due + self.write_off_days
            inv.decision_day = self.first_decision[index]
            inv.pay_day = self.first_pay_day[index]
            inv.next_step_day = self.first_step_day[index]
            error_day = self.error_found_day[index]
            self._schedule_wake(inv, self.first_wake[index])  # what _plan_wake would give, worked out for all orders at once
        else:
            error_day = self._plan_shipped_late(inv, index, shift)
        inv.error_pending = error_day < INF

        self.open_amount[customer] += amount
        self.open_invoices[customer][index] = inv
        if inv.error_pending:
            self.at(error_day, self._error_found, inv)

    def _plan_shipped_late(self, inv: _Invoice, index: int, shift: int) -> float:
        """Dates of an order that waited ``shift`` days for credit: everything the book drew moves with the invoice
        date (due date, the customer's intended payment, the discount window, the dunning steps); returns the day
        an error would be found. Mirrors _plan_first_days for one invoice."""
        customer = inv.customer
        due = inv.day + self.terms_days[inv.segment]
        if self.statement[customer]:  # statement terms: due at the end of the month, as for every invoice of the customer
            due = int(month_end_day(np.array([due]), start_date=self.scenario.calendar.start_date)[0])
        inv.due_day = due
        self.late_issue[index] = (inv.day, due)
        orders = self.book.orders
        received = float(orders.received_day[index]) + shift  # delivery runs from the invoice date
        # The intended payment keeps its place relative to the due date (which a statement may move further).
        decision = max(float(orders.decision_day[index]) + (due - self.order_due[index]), received)
        if decision >= self.default_day[customer]:
            decision = INF
        if self.offers_discount and orders.takes_discount[index]:
            last = math.floor(inv.day + self.policy.discount.days + TIME_EPS)
            weekday = self.run_weekday[customer]
            if weekday < 0:
                pay_by = last - self.backward[(self.start_weekday + last) % 7]
            else:
                pay_by = last - ((self.start_weekday + last) - weekday) % 7
            ready = received + self.payables_days[customer]
            if pay_by >= ready - TIME_EPS and pay_by < self.default_day[customer]:
                decision = min(decision, pay_by)
        inv.decision_day = decision
        inv.pay_day = self._payment_day(customer, decision)
        plan = self.cadences[inv.segment]
        if inv.next_step < len(plan):
            raw = due + plan[inv.next_step].day
            inv.next_step_day = float(raw + self.forward[(self.start_weekday + raw) % 7])
        else:
            inv.next_step_day = INF
        inv.write_off_day = due + self.write_off_days
        self._schedule_wake(inv, max(min(inv.pay_day, inv.next_step_day, inv.write_off_day), inv.day))
        if not orders.error_disputed[index] or decision == INF:
            return INF
        return max(received, decision - 1.0)

    def _error_found(self, inv: _Invoice) -> None:
        """The customer, processing the invoice for payment, finds its error and disputes it (holding payment)."""
        if inv.error_pending and not inv.closed:
            self._open_dispute(inv, self.env.now, "invoice_error", SLOT_ERROR_DISPUTE)

    def _plan_wake(self, inv: _Invoice) -> None:
        """Give the invoice one wake-up at the earliest of payment, next step and write-off.

        If the pending wake-up is already at that time it stands; otherwise it moves (see _schedule_wake).
        """
        when = INF
        if not inv.on_plan:
            when = inv.next_step_day
            if inv.holds == 0 and inv.pay_day < when:
                when = inv.pay_day
            if inv.write_off_day < when:
                when = inv.write_off_day
        if when != inv.wake_at:
            self._schedule_wake(inv, when)

    def _schedule_wake(self, inv: _Invoice, when: float) -> None:
        """Make ``when`` the invoice's one live wake-up.

        Payment runs and dunning steps fall on dates, so the invoice usually goes on that day's wake-up list.
        ``wake_at`` moves with it, which makes any entry left on another day stale: it is skipped when that
        day runs (cancel by checking state, never by removing entries). A time within a day (a write-off
        threshold in fractional days), or a day whose list has run already (a call that ended later that
        day), gets a SimPy timeout instead, at that time or now.
        """
        inv.wake_at = when
        if when >= self.total_days:  # never, or after the run ends
            return
        day = int(when)
        agenda = self.agenda
        if day == when and day > agenda.day_closed:
            agenda.wakes[day].append(inv)
        else:
            self.at(when, self._timed_wake, (inv, when))

    def _timed_wake(self, value: Any) -> None:
        inv, when = value
        if inv.wake_at == when and not inv.closed:
            self._wake(inv, self.env.now, on_agenda=False)

    def _wake(self, inv: _Invoice, now: float, on_agenda: bool = True) -> None:
        """The invoice's wake-up: pay, write off, or take the next dunning step, whichever is due.

        On the day agenda a due step waits for the end of the day's wake-ups, so that the day's contacts go
        out strongest channel first (see `_send_due_steps`).
        """
        inv.wake_at = INF  # this wake-up is used up
        due_by = now + TIME_EPS
        if inv.pay_day <= due_by and inv.holds == 0:
            self._pay(inv, now)
            return
        if inv.write_off_day <= due_by:
            self._close(inv, now, write_off="bad_debt")
            return
        if inv.next_step_day <= due_by:
            if on_agenda:
                self.due_steps[self.cadences[inv.segment][inv.next_step].strength].append(inv)
                return  # _send_due_steps plans the next wake-up
            self._step(inv, now)
        self._plan_wake(inv)

    def _send_due_steps(self, day: int) -> int:
        """Send the day's due dunning steps, strongest channel first (a call before a letter before an email).

        Returns how many steps were looked at (0 when none were due), so the agenda knows whether sending
        them added work for the same day.
        """
        due = self.due_steps
        count = sum(map(len, due))
        if not count:
            return 0
        self.due_steps = [[] for _ in due]
        due_by = day + TIME_EPS
        for invoices in reversed(due):  # the strongest channel first
            for inv in invoices:
                if inv.closed:
                    continue
                if inv.next_step_day <= due_by and inv.wake_at == INF:  # not moved meanwhile (a release planned a new wake-up)
                    self._step(inv, day)
                self._plan_wake(inv)
        return count

    def _payment_day(self, customer: int, t: float) -> float:
        """The payment run in which a customer pays what it decided to pay at time t; never, once it has failed."""
        day = self._run_day(customer, t)
        return INF if day >= self.default_day[customer] else day

    def _insolvency(self, customer: int) -> None:
        """The seller learns that a customer has failed: everything it still owes is bad debt."""
        now = self.env.now
        self.gone[customer] = self.gone[customer] or "defaulted"
        for inv in list(self.open_invoices[customer].values()):
            if not inv.closed:
                self._close(inv, now, write_off="bad_debt")

    def _set_decision(self, inv: _Invoice, day: float) -> None:
        """The customer now means to pay by ``day`` (if earlier than planned and before any default)."""
        if day < inv.decision_day and day < self.default_day[inv.customer]:
            inv.decision_day = day
            inv.pay_day = self._payment_day(inv.customer, max(day, inv.release_day))
            if inv.error_pending:  # processing it for payment sooner, the customer finds the error sooner
                self.at(max(self.env.now, day - 1.0), self._error_found, inv)

    # --- money movements

    def _pay(self, inv: _Invoice, now: float) -> None:
        day = round(now)
        policy = self.policy
        settled = inv.open_amount
        kind = "full" if settled == inv.amount else "remainder"
        short = inv.deduction_share > 0 and kind == "full"
        if short:
            settled = inv.open_amount * (1.0 - inv.deduction_share)
            kind = "short"
        discount = unearned = 0.0
        if self.offers_discount and not inv.discount_paid:
            if discount_eligible(policy.discount, invoice_day=inv.day, paid_day=day):
                discount = settled * policy.discount.percent / 100.0
                inv.discount_paid = True
            elif (kind == "full" and not short and self.discount_minded[inv.customer]
                  and self.relationship[inv.index, U_UNEARNED] < self.unearned_share[inv.segment]):
                unearned = settled * policy.discount.percent / 100.0  # deducted after the window all the same
                inv.discount_paid = True
        days_late = day - inv.due_day
        penalty = 0.0
        if days_late > 0 and self.charges_penalty and not inv.penalised:  # one penalty per invoice, on its first late payment
            inv.penalised = True
            penalty = self._charge_penalty(inv, now, penalty_charge(policy.penalty, amount=settled, days_late=days_late))
        if unearned > 0:
            self.payments.append((day, inv.customer, inv.index, settled - unearned, 0.0, penalty, False, "unearned_discount"))  # rec.Payment
            self._reduce(inv, settled - unearned)
            if policy.discount.unearned == "accept":
                self._close(inv, now, write_off="concession")
            else:
                if self.relationship[inv.index, U_LEAVE_CHASE] < self.leave_chase[inv.segment]:
                    self._customer_leaves(inv.customer, day, "chased")  # chasing a small deduction can cost the customer
                self._open_dispute(inv, now, "unearned_discount", SLOT_DEDUCTION)
                self._plan_wake(inv)
            return
        closes = not short
        if closes and self.keeps_history:  # only the predicted_risk worklist reads the payment history
            customer = inv.customer
            self.history_paid[customer] += 1
            if days_late > 0:
                self.history_late[customer] += 1
                self.history_days_late[customer] += days_late
        self.payments.append((day, inv.customer, inv.index, settled - discount, discount, penalty, closes, kind))  # rec.Payment
        if short:
            self._reduce(inv, settled)
            self._open_dispute(inv, now, "deduction", SLOT_DEDUCTION)
            self._plan_wake(inv)
        else:
            self._finish(inv)  # settles the whole open amount

    def _charge_penalty(self, inv: _Invoice, now: float, charged: float) -> float:
        """A late payment is charged a penalty: returns what is collected with the payment.

        Only a collected penalty is income. A share is contested: a query for a collector, which ends with the
        penalty waived or upheld (and then paid); of the rest, a share is never paid. A penalty may also be
        what makes the customer leave (Intrum European Payment Report 2020).
        """
        row = self.relationship[inv.index].tolist()
        segment, amount = inv.segment, inv.amount  # the customer weighs the penalty against its invoice
        if row[U_LEAVE_PENALTY] < penalty_reaction_probability(self.leave_penalty[segment], charged=charged, amount=amount):
            self._customer_leaves(inv.customer, int(round(now)), "penalty")
        if row[U_CONTEST] < penalty_reaction_probability(self.penalty_contest[segment], charged=charged, amount=amount):
            self.query_ids += 1
            subject = _PenaltyQuery(inv, charged)
            self.queries_raised.append(rec.QueryRaised(now, self.query_ids, inv.customer, inv.index))
            minutes = self.query_minutes(row[U_CONTEST_MINUTES])
            self._task("query", subject, now, minutes, self._penalty_answered, (self.query_ids, charged, row))
            return 0.0
        collected = charged if row[U_PENALTY_PAID] < self.penalty_collect[segment] else 0.0
        self.penalties.append((now, inv.customer, inv.index, charged, collected, "paid" if collected else "unpaid"))  # rec.PenaltySettled
        return collected

    def _penalty_answered(self, task: Task, now: float) -> None:
        query_id, charged, row = task.payload
        started = task.started
        assert started is not None  # a task is done only after it was started
        self.queries_answered.append(rec.QueryAnswered(now, query_id, started))
        subject = task.invoice
        subject.closed = True
        customer, segment = subject.customer, subject.segment
        if row[U_WAIVE] < self.policy.penalty.waive_probability:
            self.penalties.append(rec.PenaltySettled(now, customer, subject.index, charged, 0.0, "waived"))
            return
        # Upheld: paid like any other penalty (never by a customer that has failed), and resented.
        paid = row[U_PENALTY_PAID] < self.penalty_collect[segment] and now < self.default_day[customer]
        self.penalties.append(rec.PenaltySettled(now, customer, subject.index, charged, charged if paid else 0.0, "upheld"))
        if row[U_LEAVE_UPHELD] < self.leave_upheld[segment]:
            self._customer_leaves(customer, int(round(now)), "penalty")

    def _reduce(self, inv: _Invoice, amount: float) -> None:
        inv.open_amount -= amount
        self.open_amount[inv.customer] -= amount
        if self.held[inv.customer]:
            self.recheck.add(inv.customer)

    def _finish(self, inv: _Invoice) -> None:
        if inv.waiting is not None or inv.call_pending:
            self._skipped(inv)
        inv.closed = True
        if inv.open_amount != 0.0:  # float remainder of partial settlements
            self.open_amount[inv.customer] -= inv.open_amount
            inv.open_amount = 0.0
        del self.open_invoices[inv.customer][inv.index]
        if self.held[inv.customer]:
            self.recheck.add(inv.customer)

    def _skipped(self, inv: _Invoice) -> None:
        """The invoice closed while a planned contact still waited: record it as not made, and why."""
        now = self.env.now
        if inv.call_pending:
            self.skips.append((now, inv.customer, inv.index, "call", "awaiting_collector"))  # rec.ContactSkipped
        if inv.waiting is not None:
            channel = self.cadences[inv.segment][inv.next_step].channel
            self.skips.append((now, inv.customer, inv.index, channel, inv.waiting))  # rec.ContactSkipped

    def _close(self, inv: _Invoice, now: float, *, write_off: str) -> None:
        day = int(round(now))
        placed = inv.open_amount
        self.write_offs.append(rec.WriteOff(day, inv.customer, inv.index, placed, write_off))
        self._reduce(inv, placed)
        self._finish(inv)
        if write_off == "bad_debt":
            self._written_off(inv, now, placed)

    def _written_off(self, inv: _Invoice, now: float, placed: float) -> None:
        """A bad debt ends the relationship: the customer is blocked for new orders, and the debt may go to an
        agency, which recovers a share later (far less from a customer that has defaulted) for a commission."""
        customer = inv.customer
        solvent = self.default_day[customer] > now
        if solvent:
            self._customer_leaves(customer, int(round(now)), "written_off")
        else:
            self.gone[customer] = self.gone[customer] or "defaulted"
        agency = self.agency
        if not self.agency_enabled or placed <= 0:
            return
        row = self.relationship[inv.index].tolist()
        chance = agency.recovery_probability_solvent if solvent else agency.recovery_probability_insolvent
        if row[U_RECOVERY] < chance:
            recovered = placed * self.recovered_share(row[U_RECOVERED_SHARE])
            self.at(now + self.recovery_days(row[U_RECOVERY_DAYS]), self._agency_recovered, (customer, inv.index, placed, recovered))

    def _agency_recovered(self, value: Any) -> None:
        customer, index, placed, recovered = value
        self.recoveries.append(rec.AgencyRecovery(int(round(self.env.now)), customer, index, placed, recovered,
                                                  recovered * self.agency.commission_share))

    # --- dunning

    def _step(self, inv: _Invoice, now: float) -> None:
        """Take the invoice's due dunning step: send it, or defer it (never drop it) while it may not go yet.

        A step waits while a query or dispute on the invoice is open (when the policy pauses dunning then),
        and until the contact cap allows it; the steps after it wait behind it. A step the volume draw
        leaves out of this invoice's plan is passed over.
        """
        planned = self.cadences[inv.segment][inv.next_step]
        row = None
        if planned.send_probability < 1.0:
            row = self.book.responses[planned.slot][inv.index].tolist()
            if row[R_SEND] >= planned.send_probability:
                self._advance(inv, planned)
                return  # this contact is not in the plan for this invoice
        if inv.holds and self.pause_while_open:
            if inv.waiting != "paused":
                self.deferrals.append((now, inv.customer, inv.index, planned.channel, "paused", INF))  # rec.ContactDeferred
            inv.waiting = "paused"
            inv.next_step_day = INF  # _release resumes it
            return
        last = self.last_contact[inv.customer]
        allowed = last[planned.strength] + planned.cap_days
        if now < allowed - TIME_EPS:
            day = math.ceil(allowed - TIME_EPS)
            day += self.forward[(self.start_weekday + day) % 7]
            if planned.following >= 0:
                raw = inv.due_day + planned.following_day
                if raw + self.forward[(self.start_weekday + raw) % 7] <= day:
                    # The next step falls due first: it overtakes this one, as a dunning level moves on by its
                    # own calendar; a reminder held back by the cap never holds back the escalation behind it.
                    self.skips.append((now, inv.customer, inv.index, planned.channel, "overtaken"))  # rec.ContactSkipped
                    inv.waiting = None
                    self._advance(inv, planned)
                    return
            inv.waiting = "contact_cap"
            inv.next_step_day = float(day)
            self.deferrals.append((now, inv.customer, inv.index, planned.channel, "contact_cap", day))  # rec.ContactDeferred
            return
        inv.waiting = None
        self._advance(inv, planned)
        for strength in range(planned.strength + 1):
            last[strength] = now
        if row is None:
            row = self.book.responses[planned.slot][inv.index].tolist()
        if planned.channel == "call":
            inv.call_pending = True
            minutes = self.call_minutes(row[R_CALL_MINUTES])
            self._task("call", inv, now, minutes, self._call_done, (planned, row))
            return
        self._contact(inv, planned, now, row)

    def _advance(self, inv: _Invoice, planned: _Planned) -> None:
        """Move the invoice on to the step after ``planned`` (on its planned business day, or never)."""
        if planned.following >= 0:
            inv.next_step = planned.following
            raw = inv.due_day + planned.following_day
            inv.next_step_day = float(raw + self.forward[(self.start_weekday + raw) % 7])
        else:
            inv.next_step_day = INF

    def _call_done(self, task: Task, now: float) -> None:
        task.invoice.call_pending = False
        planned, row = task.payload
        self._contact(task.invoice, planned, now, row)
        if not task.invoice.closed:
            self._plan_wake(task.invoice)

    def _contact(self, inv: _Invoice, planned: _Planned, now: float, row: list[float]) -> None:
        """A contact was made: record it and draw the customer's reaction (the caller plans the wake-up)."""
        reached = row[R_REACH] < planned.reach_probability
        self.contacts.append((now, inv.customer, inv.index, planned.channel, planned.step, reached))  # rec.Contact
        if not reached or inv.closed:
            return
        inv.contacts += 1
        behaviour = self.responses[inv.segment]
        outcome = row[R_OUTCOME]
        if outcome < planned.promise_below:
            if outcome < planned.query_below:
                self.at(now + self.reply_delay_days[inv.segment](row[R_REPLY_DELAY]), self._query_raised, (inv, row))
            else:
                promised = now + self.promise_days[inv.segment](row[R_PROMISE_DAYS])
                self.promises.append(rec.PromiseMade(now, inv.customer, inv.index, self._run_day(inv.customer, promised)))
                if row[R_PROMISE_KEPT] < behaviour.promise_keep_probability:
                    self._set_decision(inv, promised)
                else:
                    self.at(self._run_day(inv.customer, promised) + 1, self._promise_broken, (inv, row))
        elif outcome < (planned.dispute_below_error if inv.error else planned.dispute_below):
            self.at(now + self.reply_delay_days[inv.segment](row[R_REPLY_DELAY]), self._dispute_event, (inv, "contact", planned.slot))
        exposure = planned.uplift_exposure
        if inv.contacts > 1:
            exposure *= behaviour.fatigue ** (inv.contacts - 1)
        delay = trigger_delay(exposure, behaviour.decay_days, row[R_UPLIFT])
        if delay < INF:
            self._set_decision(inv, now + delay)
        if self.offers_plans and planned.channel == "call":
            plan = self.policy.payment_plan
            if now - inv.due_day >= plan.min_days_past_due and row[R_PLAN] < self.plan_acceptance[inv.segment]:
                self._start_plan(inv, now)

    def _promise_broken(self, value: Any) -> None:
        inv, row = value
        if inv.closed:
            return
        minutes = self.followup_minutes(row[R_FOLLOWUP_MINUTES])
        self._task("promise_followup", inv, self.env.now, minutes, self._followup_done, row)

    def _followup_done(self, task: Task, now: float) -> None:
        inv, row = task.invoice, task.payload
        if inv.closed:
            return
        self.contacts.append(rec.Contact(now, inv.customer, inv.index, "call", -1, True))
        inv.contacts += 1
        behaviour = self.responses[inv.segment]
        delay = uplift_trigger_delay(
            pay_probability=self.channel_response[inv.segment]["call"].pay_probability,
            fatigue_factor=behaviour.fatigue ** (inv.contacts - 1), decay_days=behaviour.decay_days, u=row[R_FOLLOWUP_UPLIFT],
        )
        if delay < INF:
            self._set_decision(inv, now + delay)
            self._plan_wake(inv)

    def _start_plan(self, inv: _Invoice, now: float) -> None:
        plan = self.policy.payment_plan
        inv.on_plan = True
        inv.next_step_day = INF
        self.plans.append(rec.PlanAgreed(now, inv.customer, inv.index, inv.open_amount, plan.instalments))
        for number in range(1, plan.instalments + 1):
            self.at(self._run_day(inv.customer, now + number * plan.interval_days), self._instalment, (inv, number))
        self._plan_wake(inv)

    def _instalment(self, value: Any) -> None:
        inv, number = value
        if inv.closed:
            return
        now = self.env.now
        if now >= self.default_day[inv.customer]:
            self._close(inv, now, write_off="bad_debt")
            return
        instalments = self.policy.payment_plan.instalments
        amount = inv.open_amount / (instalments - number + 1)
        last = number == instalments
        self.payments.append(rec.Payment(int(round(now)), inv.customer, inv.index, amount, 0.0, 0.0, last, "instalment"))
        self._reduce(inv, amount)
        if last:
            self._finish(inv)

    # --- queries and disputes (both hold payment until a collector has dealt with them)

    def _task(self, kind: str, inv: Any, now: float, minutes: float, on_done: Callable, payload: object) -> None:
        """Put a task on the worklist; ``inv`` is the _Invoice it is about, or the _PenaltyQuery of a contested penalty."""
        task = Task()
        self.task_ids += 1
        task.task_id = self.task_ids
        task.kind = kind
        task.rank = TASK_RANK[kind]
        task.invoice = inv
        task.created = now
        task.started = None
        task.remaining_minutes = minutes
        task.on_done = on_done
        task.payload = payload
        self.tasks_created.append((now, task.task_id, kind, inv.index))  # rec.TaskCreated
        self.team.add(task)

    def _query_raised(self, value: Any) -> None:
        inv, row = value
        if inv.closed:
            return
        now = self.env.now
        self.query_ids += 1
        self.queries_raised.append(rec.QueryRaised(now, self.query_ids, inv.customer, inv.index))
        inv.holds += 1
        self._changed(inv.customer)  # an invoice under query no longer counts for the credit hold
        minutes = self.query_minutes(row[R_QUERY_MINUTES])
        self._task("query", inv, now, minutes, self._query_answered, (self.query_ids, row))

    def _query_answered(self, task: Task, now: float) -> None:
        query_id, row = task.payload
        started = task.started
        assert started is not None  # a task is done only after it was started
        self.queries_answered.append(rec.QueryAnswered(now, query_id, started))
        self._release(task.invoice, now, row[R_RESUME])

    def _dispute_event(self, value: Any) -> None:
        inv, cause, slot = value
        self._open_dispute(inv, self.env.now, cause, slot)

    def _open_dispute(self, inv: _Invoice, now: float, cause: str, slot: int) -> None:
        if inv.closed or inv.dispute_open or inv.on_plan:
            return
        row = self.book.responses[slot][inv.index].tolist()
        self.dispute_ids += 1
        self.disputes_opened.append(rec.DisputeOpened(now, self.dispute_ids, inv.customer, inv.index, cause, inv.open_amount))
        inv.dispute_open = True
        inv.holds += 1
        if inv.error:
            inv.error_pending = False  # a dispute about the invoice brings its error out
        self._changed(inv.customer)
        minutes = self.dispute_minutes(row[R_DISPUTE_MINUTES])
        self._task("dispute", inv, now, minutes, self._dispute_worked, (self.dispute_ids, cause, row))
        self._plan_wake(inv)  # payment is held now: the wake-up moves to the next step or the write-off

    def _dispute_worked(self, task: Task, now: float) -> None:
        external = self.dispute_external_days(task.payload[2][R_EXTERNAL_DAYS])
        self.at(now + external, self._dispute_resolved, (task.invoice, task.payload))

    def _dispute_resolved(self, value: Any) -> None:
        inv, (dispute_id, cause, row) = value
        now = self.env.now
        credited = 0.0
        kind = "credit_note"  # a credit note that corrects the sale: a wrong invoice, or a valid claim behind a deduction
        if not inv.closed:
            rules = self.scenario.disputes
            if cause == "deduction":
                if row[R_CREDIT_NOTE] < rules.deduction_valid_probability:
                    credited = inv.open_amount
            elif cause == "unearned_discount":
                if row[R_CREDIT_NOTE] >= rules.unearned_recovered_probability:
                    credited, kind = inv.open_amount, "concession"  # conceded; otherwise the customer pays it after all
            elif inv.error:
                if row[R_CREDIT_NOTE] < rules.credit_note_probability:
                    credited = inv.open_amount * self.credit_note_share(row[R_CREDIT_SHARE])
            elif row[R_CREDIT_NOTE] < rules.concession_probability:  # a complaint about a correct invoice, given way to
                credited, kind = inv.open_amount * self.credit_note_share(row[R_CREDIT_SHARE]), "concession"
        self.disputes_resolved.append(rec.DisputeResolved(now, dispute_id, credited))
        inv.dispute_open = False
        if credited > 0:
            if credited >= inv.open_amount - 1e-9:
                self._close(inv, now, write_off=kind)
                return
            self.write_offs.append(rec.WriteOff(int(round(now)), inv.customer, inv.index, credited, kind))
            self._reduce(inv, credited)
        self._release(inv, now, row[R_RESUME])

    def _release(self, inv: _Invoice, now: float, u_resume: float) -> None:
        inv.holds -= 1
        if inv.closed:
            return
        self._changed(inv.customer)
        if inv.holds == 0 and inv.waiting == "paused":  # dunning resumes with the step that was due
            day = math.ceil(now - TIME_EPS)
            inv.next_step_day = float(day + self.forward[(self.start_weekday + day) % 7])
        resume = now + self.resume_days[inv.segment](u_resume)
        if resume > inv.release_day:
            inv.release_day = resume
        inv.pay_day = self._payment_day(inv.customer, max(inv.decision_day, inv.release_day))
        self._plan_wake(inv)


class _Planned(NamedTuple):
    """One planned contact of a segment's cadence, with its customer-response thresholds worked out once.

    A contact's outcome is one uniform draw u: u < query_below is a query, then a promise below
    promise_below, then a dispute below dispute_below (dispute_below_error for an invoice with an error).
    """

    day: int  # days from the due date
    channel: str
    strength: int  # rules.CHANNEL_STRENGTH of the channel
    cap_days: float  # the contact cap for this channel
    step: int
    slot: int  # response slot (behaviour.contact_slot)
    send_probability: float
    reach_probability: float
    query_below: float
    promise_below: float
    dispute_below: float
    dispute_below_error: float
    uplift_exposure: float  # the first contact's payment-hazard integral (behaviour.uplift_exposure)
    following: int  # index of the next planned contact, -1 if none (an agency hand-over ends our dunning)
    following_day: int  # its day from the due date


def cadences(scenario: Scenario) -> list[list[_Planned]]:
    """Each segment's planned contacts with their response slots, contact volume applied."""
    dunning = scenario.policy.dunning
    multiplier = scenario.invoicing.error_dispute_multiplier
    plans = []
    for segment in scenario.portfolio.segments:
        planned = planned_contacts(scenario.cadence_for(segment.name), volume=dunning.volume, repeat_gap_days=dunning.repeat_gap_days)
        channels = segment.contact_response.channels
        plan = []
        for index, c in enumerate(planned):
            response = channels[c.channel]
            following = index + 1 if index + 1 < len(planned) and c.channel != "agency" else -1
            query, promise = response.query_probability, response.promise_probability
            room = 1.0 - query - promise  # a dispute takes at most what is left
            plan.append(_Planned(
                c.day, c.channel, CHANNEL_STRENGTH[c.channel], dunning.cap_days(c.channel), c.step, contact_slot(c.step, c.repeat),
                c.send_probability, response.reach_probability,
                query, query + promise, query + promise + min(response.dispute_probability, room),
                query + promise + min(response.dispute_probability * multiplier, room), uplift_exposure(response.pay_probability),
                following, planned[following].day if following >= 0 else 0,
            ))
        plans.append(plan)
    return plans


def simulate(scenario: object, *, replication: object = 0) -> SimulationResult:
    """Simulate one replication of a scenario (reproducible from its seed and the replication number); the
    scenario may be given as its file's path.

    ``scenario`` is a Scenario, or a path (str or Path) to its file, and ``replication`` a whole number >= 0; both
    are annotated ``object`` because this function checks them itself (InputError naming the argument), where
    the compiled engine would refuse any other type with a TypeError first.
    """
    checked = scenario_argument(scenario)
    number = whole_number(replication, argument="replication", minimum=0)
    slots = {planned.slot for plan in cadences(checked) for planned in plan}
    book = draw_book(checked, replication=number, response_slots=slots)
    # The cycle collector is off while the model lives: a run allocates hundreds of thousands of objects that
    # it would scan again and again (about half the run time) and find nothing to free, since the model frees
    # itself by reference counting when it is dropped here, before the collector is back on.
    collecting = gc.isenabled()
    gc.disable()
    try:
        model = _Model(checked, book)
        result = model.run()
        del model
    finally:
        if collecting:
            gc.enable()
    return result
