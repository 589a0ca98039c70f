"""Pure decision rules of a collections policy: no simulation, no randomness.

Each function answers one question a collections department answers every day (may this order ship? is
this payment inside the discount window? which task does a collector take next?), from plain numbers, so
the rules can be read, tested and reused by the simulator, the ledger tools and the optimiser alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from arsim.scenario.schema import Credit, Discount, DunningStep, Penalty, WorklistRule

CHANNEL_STRENGTH: dict[str, int] = {"email": 0, "letter": 1, "call": 2, "agency": 3}
"""How strong a dunning channel is. The contact cap measures from the last contact on a channel at least as
strong, so an email never holds back a call; and when contacts fall due on one day, stronger ones go first."""

SKIP_REASONS: tuple[str, ...] = ("contact_cap", "paused", "awaiting_collector", "overtaken")
"""Why a planned contact was never made: its invoice closed while the step waited for the contact cap, for
an open query or dispute to end (dunning pause), or, for a call, for a collector; or the cap would have held
it past the day the invoice's next step falls due, and the next step took its place (overtaken)."""

TASK_KINDS: tuple[str, ...] = ("query", "dispute", "promise_followup", "call")
"""Collector task kinds, in the order the `task_type` worklist rule serves them: a waiting customer's
question first (it holds payment), then disputes, then broken promises, then outbound calls."""

WorklistKey = Callable[[int, float, float, int, float], tuple]
"""(kind_rank, created_day, amount_at_risk, due_day, predicted_days_late) -> sort key; smaller keys are worked first."""


def _by_task_type(kind_rank: int, created_day: float, amount_at_risk: float, due_day: int, predicted_days_late: float) -> tuple:
    return (kind_rank, created_day)


def _fifo(kind_rank: int, created_day: float, amount_at_risk: float, due_day: int, predicted_days_late: float) -> tuple:
    return (created_day,)


def _by_amount_at_risk(kind_rank: int, created_day: float, amount_at_risk: float, due_day: int, predicted_days_late: float) -> tuple:
    return (-amount_at_risk, created_day)


def _by_days_past_due(kind_rank: int, created_day: float, amount_at_risk: float, due_day: int, predicted_days_late: float) -> tuple:
    # The earliest due date is the most days past due on any given day, so the key need not change daily.
    return (due_day, created_day)


def _by_predicted_risk(kind_rank: int, created_day: float, amount_at_risk: float, due_day: int, predicted_days_late: float) -> tuple:
    return (-amount_at_risk * predicted_days_late, created_day)


WORKLIST_RULES: dict[str, WorklistKey] = {
    "task_type": _by_task_type,
    "fifo": _fifo,
    "amount_at_risk": _by_amount_at_risk,
    "days_past_due": _by_days_past_due,
    "predicted_risk": _by_predicted_risk,
}

CHANGING_WORKLIST_RULES: frozenset[str] = frozenset({"amount_at_risk", "predicted_risk"})
"""Rules whose keys change while a task waits (amounts are paid down, payment history grows): their keys are
evaluated again when a task is taken, not frozen when it was created."""


def worklist_key(rule: WorklistRule) -> WorklistKey:
    """The sort key of a worklist rule (names are validated when the scenario loads)."""
    return WORKLIST_RULES[rule]


def predicted_days_late(*, invoices_paid: int, invoices_paid_late: int, days_late_total: float) -> float:
    """Expected days late of a customer's next payment, from what a collector's system knows: its payment history.

    The share paid late is smoothed towards one half, and the mean days late of its late payments towards
    ten days (assumption: both priors are weak, worth one or two invoices), so a new customer is neither
    safe nor alarming and a long history speaks for itself. Never the model's hidden behaviour state.
    """
    share_late = (invoices_paid_late + 1.0) / (invoices_paid + 2.0)
    mean_days_late = (days_late_total + 10.0) / (invoices_paid_late + 1.0)
    return share_late * mean_days_late


def credit_limit(credit: Credit, *, segment: str, expected_monthly_sales: float, average_invoice_amount: float) -> float:
    """A customer's credit limit in currency: months of expected sales, but at least a few average invoices.

    Infinite when the policy sets no limit. The floor keeps an occasional buyer able to place an order.
    """
    months = credit.limit_by_segment.get(segment, credit.limit_months_of_sales)
    if months is None:
        return math.inf
    return max(months * expected_monthly_sales, credit.limit_floor_invoices * average_invoice_amount)


def order_fits_limit(*, open_amount: float, order_amount: float, limit: float) -> bool:
    """Whether an order may ship: the customer's open receivables plus the order stay within the limit."""
    return open_amount + order_amount <= limit


def credit_hold_cutoff(credit: Credit, *, today: float) -> float:
    """A customer with an open invoice due before this day is on credit hold: new orders are refused while
    an invoice is more than ``hold_days_past_due`` past due. -inf when the policy has no hold rule."""
    if credit.hold_days_past_due is None:
        return -math.inf
    return today - credit.hold_days_past_due


def counts_for_hold(*, open_amount: float, under_query_or_dispute: bool, min_amount: float) -> bool:
    """Whether an overdue invoice puts its customer on credit hold: only what is really owed and overdue counts.

    An invoice under query or dispute is blocked for payment by the seller's own process, and a small remainder
    (a rounding difference, a short payment's tail) is no sign of credit risk; holding orders for either would
    cost sales and save no bad debt.
    """
    return not under_query_or_dispute and open_amount >= min_amount


def segment_refused(credit: Credit, *, default_probability_per_year: float) -> bool:
    """Whether the approval rule refuses a segment's customers for their credit risk."""
    return credit.max_default_probability is not None and default_probability_per_year > credit.max_default_probability


def discount_eligible(discount: Discount, *, invoice_day: float, paid_day: float) -> bool:
    """Whether a payment on ``paid_day`` earns the early-payment discount."""
    return discount.percent > 0 and paid_day <= invoice_day + discount.days


def discount_annual_rate(percent: float, *, discount_days: float, terms_days: float, effective: bool = False) -> float:
    """Implied annual rate of forgoing a d% discount: d/(100-d) x 365/(n-t), or compounded if ``effective``.

    This is the return a customer earns by paying early instead of on the due date; a customer whose cost of
    capital is below it should take the discount. Infinite when the window reaches the due date.
    """
    if percent <= 0:
        return 0.0
    if terms_days <= discount_days:
        return math.inf
    periods = 365.0 / (terms_days - discount_days)
    per_period = percent / (100.0 - percent)
    if effective:
        return (1.0 + per_period) ** periods - 1.0
    return per_period * periods


def penalty_charge(penalty: Penalty, *, amount: float, days_late: float) -> float:
    """Penalty charged on a late payment: interest per month past due plus the fixed fee (0 if not late)."""
    if days_late <= 0:
        return 0.0
    return amount * penalty.interest_percent_per_month / 100.0 * days_late / 30.0 + penalty.fee


def penalty_annual_rate(penalty: Penalty, *, amount, typical_days_late: float = 30.0):
    """The penalty's pressure as an annual rate: interest plus the fee spread over a typical delay.

    Customers weigh a late-payment penalty like a cost of credit, so interest and fee are put on one scale.
    ``amount`` (> 0) may be a number or a numpy array of invoice amounts.
    """
    interest = penalty.interest_percent_per_month * 12.0 / 100.0
    return interest + penalty.fee / amount * 365.0 / typical_days_late


def penalty_reaction_probability(probability_at_one_percent: float, *, charged: float, amount: float) -> float:
    """Chance a customer reacts to a penalty (contests it, or leaves), rising with its size against the invoice.

    ``probability_at_one_percent`` is the chance for a penalty of 1% of the invoice; a penalty of k% is taken as k
    independent 1% grievances, 1 - (1 - p)^k, so a token charge is shrugged off and a heavy one is fought.
    """
    if charged <= 0 or amount <= 0:
        return 0.0
    return 1.0 - (1.0 - probability_at_one_percent) ** (100.0 * charged / amount)


class PlannedContact(NamedTuple):
    """One contact of an invoice's dunning plan, after contact volume is applied."""

    day: int  # relative to the due date
    channel: str
    step: int  # index of the cadence step it comes from
    repeat: int  # 0 for the step itself, 1.. for its repeats
    send_probability: float  # below 1: sent with this chance (volume under 1, or the last partial repeat)


def planned_contacts(steps: tuple[DunningStep, ...], *, volume: dict[str, float], repeat_gap_days: float) -> list[PlannedContact]:
    """The contacts a cadence plans when each channel's volume is scaled, in the order of their days.

    A volume v for a channel turns each of its steps into ceil(v) contacts, repeat j sent repeat_gap_days
    after the one before, with chance min(1, v - j): v = 2 sends every step twice, v = 0.5 half the time,
    v = 2.5 twice and a third time half the time. Repeats keep the step's channel, so more email volume
    means more emails, not more calls.
    """
    plan = []
    for index, step in enumerate(steps):
        scale = volume.get(step.channel, 1.0)
        repeats = math.ceil(scale - 1e-12)
        for repeat in range(repeats):
            day = step.day + math.ceil(repeat * repeat_gap_days)
            plan.append(PlannedContact(day, step.channel, index, repeat, min(1.0, scale - repeat)))
    return sorted(plan, key=lambda contact: (contact.day, contact.step, contact.repeat))
