"""One immutable record type per event kind, and a recorder that turns them into DataFrames once.

The simulator appends a record where an event happens; balances, backlogs and every KPI are derived from
these records afterwards, so a new KPI never needs a new simulation. Records are NamedTuples: immutable and
without a per-instance dict; the busiest ones (invoices, payments, contacts) are appended as plain tuples in
the same field order, which costs a third as much, and become the same typed table. Times are simulation days (floats for
collector work and replies, whole days for money movements); the experiment layer adds dates.
"""

from typing import NamedTuple

import numpy as np
import pandas as pd


class InvoiceIssued(NamedTuple):
    """An order that passed the credit check became an invoice (day = invoice date)."""

    day: int
    customer_id: int
    invoice_id: int
    segment: str
    amount: float
    due_day: int
    electronic: bool
    error: bool


class OrderRefused(NamedTuple):
    """An order never shipped: its margin is lost. The approval rule refused the customer, or a held order waited
    past the customer's patience, or the customer had left or was blocked after a write-off."""

    day: int
    customer_id: int
    order_id: int
    amount: float
    reason: str  # approval | held_too_long | customer_left | written_off


class OrderHeld(NamedTuple):
    """An order was stopped by the credit limit or a credit hold: it waits, and ships when credit allows
    (an InvoiceIssued on that day) unless the customer's patience runs out first (an OrderRefused)."""

    day: int
    customer_id: int
    order_id: int
    amount: float
    reason: str  # credit_limit | credit_hold


class CustomerLost(NamedTuple):
    """A customer stopped ordering: it left (after held or lost orders, a penalty, a chased deduction) or was blocked after a write-off."""

    day: int
    customer_id: int
    reason: str  # held_order | lost_order | penalty | chased (an unearned discount) | written_off


class PenaltySettled(NamedTuple):
    """How a charged late-payment penalty ended; only ``collected`` is income."""

    time: float
    customer_id: int
    invoice_id: int
    charged: float
    collected: float
    outcome: str  # paid | unpaid (uncontested) | upheld | waived (contested)


class AgencyRecovery(NamedTuple):
    """A collection agency recovered part of a written-off debt, and kept its commission."""

    day: int
    customer_id: int
    invoice_id: int
    placed: float  # the debt handed over
    recovered: float  # gross amount the agency collected
    commission: float  # the agency's share of it


class Payment(NamedTuple):
    """Money received against an invoice (cash, with any discount taken and penalty collected)."""

    day: int
    customer_id: int
    invoice_id: int
    collected: float  # cash received against the invoice
    discount: float  # early-payment discount taken
    penalty_income: float  # late-payment penalty collected on top
    closes: bool  # the payment settles the invoice
    kind: str  # full | short | instalment | remainder | unearned_discount (paid after the window, less the discount)


class WriteOff(NamedTuple):
    """An open amount was written off: bad debt; a credit note correcting an erroneous invoice; or a concession
    (a credit note on a correct invoice, or an unearned discount accepted), which is a cost."""

    day: int
    customer_id: int
    invoice_id: int
    amount: float
    kind: str  # bad_debt | credit_note | concession


class Contact(NamedTuple):
    """A dunning contact was made (for calls: an attempt; ``reached`` says whether the right party answered)."""

    time: float
    customer_id: int
    invoice_id: int
    channel: str
    step: int
    reached: bool


class ContactSkipped(NamedTuple):
    """A planned dunning contact was not made, and why."""

    time: float
    customer_id: int
    invoice_id: int
    channel: str
    reason: str  # contact_cap | paused | awaiting_collector: what the step was waiting for when its invoice closed; overtaken


class ContactDeferred(NamedTuple):
    """A due dunning step was held back: by the contact cap (until the day it allows) or by an open query or dispute."""

    time: float
    customer_id: int
    invoice_id: int
    channel: str
    reason: str  # contact_cap | paused
    until: float  # the day it may go (infinity while paused: it resumes when the query or dispute ends)


class QueryRaised(NamedTuple):
    """A customer's question about an invoice, raised after a contact; it holds payment until answered."""

    time: float
    query_id: int
    customer_id: int
    invoice_id: int


class QueryAnswered(NamedTuple):
    """A collector answered a query."""

    time: float
    query_id: int
    started: float  # when a collector took it up


class DisputeOpened(NamedTuple):
    """An invoice was disputed; payment is held until the dispute is resolved."""

    time: float
    dispute_id: int
    customer_id: int
    invoice_id: int
    cause: str  # contact | invoice_error | deduction | unearned_discount
    amount: float  # open amount under dispute


class DisputeResolved(NamedTuple):
    """A dispute was resolved, possibly with a credit note."""

    time: float
    dispute_id: int
    credit_note: float


class PromiseMade(NamedTuple):
    """The customer promised to pay by a day."""

    time: float
    customer_id: int
    invoice_id: int
    promised_day: float


class PlanAgreed(NamedTuple):
    """The customer agreed to pay in instalments."""

    time: float
    customer_id: int
    invoice_id: int
    amount: float
    instalments: int


class TaskCreated(NamedTuple):
    """Work entered the collectors' worklist."""

    time: float
    task_id: int
    kind: str
    invoice_id: int


class TaskDone(NamedTuple):
    """A task left the worklist, worked or dropped."""

    time: float
    task_id: int
    worked: bool  # False when the task was dropped unworked (its invoice was settled meanwhile)


class Work(NamedTuple):
    """A stretch of one collector working on one task (a task may be worked in several stretches across shifts)."""

    collector: int
    task_id: int
    kind: str
    start: float
    end: float


RECORD_TYPES: tuple[type, ...] = (
    InvoiceIssued, OrderRefused, OrderHeld, CustomerLost, PenaltySettled, AgencyRecovery, Payment, WriteOff, Contact,
    ContactSkipped, ContactDeferred, QueryRaised, QueryAnswered, DisputeOpened, DisputeResolved, PromiseMade, PlanAgreed, TaskCreated, TaskDone, Work,
)


def table_name(record_type: type) -> str:
    """snake_case table name of a record type (InvoiceIssued -> invoice_issued)."""
    name = record_type.__name__
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


class Recorder:
    """Lists of records by type, turned into DataFrames once at the end of a run."""

    def __init__(self) -> None:
        self.lists: dict[type, list] = {record_type: [] for record_type in RECORD_TYPES}

    def sink(self, record_type: type) -> list:
        """The list to append records of one type to (bound once, appended to in the hot path)."""
        return self.lists[record_type]

    def frames(self) -> dict[str, pd.DataFrame]:
        """One DataFrame per record type, with the record's fields as typed columns (empty frames keep them).

        Text fields (channel, kind, reason, segment) become categoricals: they take few values, and building
        them is several times faster than a column of strings.
        """
        return {table_name(record_type): _frame(record_type, rows) for record_type, rows in self.lists.items()}


_DTYPES = {int: np.int64, float: np.float64, bool: np.bool_}


def _frame(record_type: type, rows: list) -> pd.DataFrame:
    fields = record_type._fields
    types = record_type.__annotations__
    columns = list(zip(*rows)) if rows else [()] * len(fields)
    data = {}
    for name, values in zip(fields, columns):
        kind = types[name]
        if kind is str:
            data[name] = _categorical(values)
        else:
            data[name] = np.fromiter(values, dtype=_DTYPES[kind], count=len(values))
    return pd.DataFrame(data)


def _categorical(values: tuple[str, ...]) -> pd.Categorical:
    """A categorical with sorted categories, coded through a dict: text fields take a handful of values, and
    this is about twice as fast as letting pandas hash every value."""
    categories = sorted(set(values))
    code_of = {category: code for code, category in enumerate(categories)}
    codes = np.fromiter(map(code_of.__getitem__, values), dtype=np.int32, count=len(values))
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories))
