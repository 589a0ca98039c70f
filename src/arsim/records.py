"""One immutable record type per event kind, and a recorder that turns them into DataFrames once.

The simulator appends a record where an event happens; balances, backlogs and every KPI are derived from
these records afterwards, so a new KPI never needs a new simulation. Records are NamedTuples: immutable,
without a per-instance dict, and cheap to create in the hot path. Times are simulation days (floats for
collector work and replies, whole days for money movements); the experiment layer adds dates.
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd


class InvoiceIssued(NamedTuple):
    day: int
    customer_id: int
    invoice_id: int
    segment: str
    amount: float
    due_day: int
    electronic: bool
    error: bool


class OrderRefused(NamedTuple):
    day: int
    customer_id: int
    order_id: int
    amount: float
    reason: str  # approval | credit_limit | credit_hold


class Payment(NamedTuple):
    day: int
    customer_id: int
    invoice_id: int
    collected: float  # cash received against the invoice
    discount: float  # early-payment discount taken
    penalty_income: float  # late-payment penalty collected on top
    closes: bool  # the payment settles the invoice
    kind: str  # full | short | instalment | remainder


class WriteOff(NamedTuple):
    day: int
    customer_id: int
    invoice_id: int
    amount: float
    kind: str  # bad_debt | credit_note


class Contact(NamedTuple):
    time: float
    customer_id: int
    invoice_id: int
    channel: str
    step: int
    reached: bool


class ContactSkipped(NamedTuple):
    time: float
    customer_id: int
    invoice_id: int
    channel: str
    reason: str  # contact_cap | disputed | cancelled


class QueryRaised(NamedTuple):
    time: float
    query_id: int
    customer_id: int
    invoice_id: int


class QueryAnswered(NamedTuple):
    time: float
    query_id: int
    started: float  # when a collector took it up


class DisputeOpened(NamedTuple):
    time: float
    dispute_id: int
    customer_id: int
    invoice_id: int
    cause: str  # contact | invoice_error | deduction
    amount: float  # open amount under dispute


class DisputeResolved(NamedTuple):
    time: float
    dispute_id: int
    credit_note: float


class PromiseMade(NamedTuple):
    time: float
    customer_id: int
    invoice_id: int
    promised_day: float


class PlanAgreed(NamedTuple):
    time: float
    customer_id: int
    invoice_id: int
    amount: float
    instalments: int


class TaskCreated(NamedTuple):
    time: float
    task_id: int
    kind: str
    invoice_id: int


class TaskDone(NamedTuple):
    time: float
    task_id: int
    worked: bool  # False when the task was dropped unworked (its invoice was settled meanwhile)


class Work(NamedTuple):
    collector: int
    task_id: int
    kind: str
    start: float
    end: float


RECORD_TYPES: tuple[type, ...] = (
    InvoiceIssued, OrderRefused, Payment, WriteOff, Contact, ContactSkipped, QueryRaised, QueryAnswered,
    DisputeOpened, DisputeResolved, PromiseMade, PlanAgreed, TaskCreated, TaskDone, Work,
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
        """One DataFrame per record type, with the record's fields as columns (empty frames keep them)."""
        return {
            table_name(record_type): pd.DataFrame(rows, columns=list(record_type._fields))
            for record_type, rows in self.lists.items()
        }
