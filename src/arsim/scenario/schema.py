"""The world and the policy as frozen, validated data, loaded from and saved to YAML.

A scenario is everything one simulation run needs: the customer portfolio and how it pays, how invoices
are delivered, the collections team, the money parameters, the collections policy and the run settings.
Every field has a default and a one-line description (`docs/scenario.md` is generated from them), so a
scenario file only states what differs from the defaults. Models are frozen: variants are made with
`model_copy(update=...)` or `with_overrides`, never by mutation, so a policy is plain data that code can
construct, vary and hand to a worker process.

Values without a public source are marked (assumption) in their description and stay parameters.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from arsim.errors import InputError

CHANNELS: tuple[str, ...] = ("email", "call", "letter", "agency")
DEFAULT_CONTACT_COST: dict[str, float] = {"email": 0.05, "call": 1.0, "letter": 1.5, "agency": 30.0}
MAX_CONTACT_VOLUME = 4.0
"""Largest contact-volume multiplier: each step can be sent at most four times."""
"""Dunning channels. Email and letter are automated; a call takes a collector's time; agency hands over."""


WorklistRule = Literal["task_type", "fifo", "amount_at_risk", "days_past_due", "predicted_risk"]
"""Names of the worklist orders; `arsim.policy.WORKLIST_RULES` gives each its sort key."""


class _Frozen(BaseModel):
    # allow_inf_nan=False: YAML reads `.nan` and `.inf`, and pydantic turns the text "nan" into a float; a
    # NaN anywhere would flow silently into every KPI, so no number field accepts one (nor an infinity).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)


class _FieldProblem(ValueError):
    """A validator's problem with a field below the one it validates: the error names ``path`` after the
    validator's own location (a cross-field check on Scenario can then name ``team.collectors``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(problem)
        self.path = path


def _refuse_booleans_and_text(value: Any) -> Any:
    """Refuse what pydantic's lax mode would quietly turn into a number.

    YAML reads `yes`, `on` and `true` as booleans, and pydantic would take them as 1 (`collectors: yes` would
    mean one collector); and text such as "12" or "nan" where a number belongs is a quoting mistake. No
    shipped scenario quotes a number, --set values are read as YAML, and code builds scenarios from numbers.
    """
    # ValueError, not TypeError: pydantic reports only a ValueError as a problem of the field.
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the yes/no value {str(value).lower()}")
    if isinstance(value, str):
        raise ValueError(f"expected a number, got the text {value!r}")
    return value


Int = Annotated[int, BeforeValidator(_refuse_booleans_and_text)]
"""A whole number that is not a boolean nor text."""
Float = Annotated[float, BeforeValidator(_refuse_booleans_and_text)]
"""A finite number that is not a boolean nor text."""
Probability = Annotated[Float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[Float, Field(ge=0.0)]
Positive = Annotated[Float, Field(gt=0.0)]


# ---------------------------------------------------------------------------------------------- distributions


class Fixed(_Frozen):
    """Always the same value."""

    dist: Literal["fixed"] = "fixed"
    value: NonNegative = Field(description="The value.")

    @property
    def mean(self) -> float:
        return self.value


class Exponential(_Frozen):
    """Exponential with the given mean."""

    dist: Literal["exponential"] = "exponential"
    mean: Positive = Field(description="Mean.")


class LogNormal(_Frozen):
    """Lognormal given by its median and the standard deviation of the log (heavy right tail)."""

    dist: Literal["lognormal"] = "lognormal"
    median: Positive = Field(description="Median (= exp(mu)).")
    sigma: NonNegative = Field(description="Standard deviation of the natural log.")

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)


class Uniform(_Frozen):
    """Uniform between low and high."""

    dist: Literal["uniform"] = "uniform"
    low: NonNegative = Field(description="Lower bound.")
    high: NonNegative = Field(description="Upper bound (>= low).")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must be >= low")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


class Gamma(_Frozen):
    """Gamma given by mean and coefficient of variation (cv < 1 is less variable than exponential)."""

    dist: Literal["gamma"] = "gamma"
    mean: Positive = Field(description="Mean.")
    cv: Positive = Field(description="Coefficient of variation (standard deviation / mean).")


Distribution = Annotated[Fixed | Exponential | LogNormal | Uniform | Gamma, Field(discriminator="dist")]


def _known_channels(names) -> None:
    """Reject channel keys other than email, call, letter, agency (in any per-channel mapping)."""
    unknown = sorted(set(names) - set(CHANNELS))
    if unknown:
        raise ValueError(f"unknown channel(s) {unknown}; channels are {list(CHANNELS)}")


# ---------------------------------------------------------------------------------------------- world


class Calendar(_Frozen):
    """Dates and business days of the simulated company."""

    start_date: dt.date = Field(dt.date(2025, 1, 6), description="Calendar date of simulation day 0 (warm-up starts here).")
    business_weekdays: tuple[Int, ...] = Field(
        (0, 1, 2, 3, 4),
        description="Weekdays (0 = Monday) on which invoices are issued and customers pay; all 7 for a 24/7 world.",
    )

    @field_validator("business_weekdays")
    @classmethod
    def _weekdays(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(d < 0 or d > 6 for d in value) or len(set(value)) != len(value):
            raise ValueError("must be distinct weekdays 0..6 (0 = Monday), at least one")
        return tuple(sorted(value))


class ChannelResponse(_Frozen):
    """How a customer reacts when a contact of one channel reaches them."""

    reach_probability: Probability = Field(1.0, description="Chance a contact reaches the right person (calls: right-party contact).")
    pay_probability: Probability = Field(0.3, description="Chance a first contact alone triggers payment earlier than planned (assumption).")
    query_probability: Probability = Field(0.05, description="Chance the contact provokes a query that a collector must answer (assumption).")
    promise_probability: Probability = Field(0.0, description="Chance the contact yields a promise to pay (assumption).")
    dispute_probability: Probability = Field(0.01, description="Chance the contact provokes a dispute (assumption).")

    @model_validator(mode="after")
    def _replies_sum(self) -> ChannelResponse:
        total = self.query_probability + self.promise_probability + self.dispute_probability
        if total > 1.0 + 1e-12:
            raise ValueError(f"query + promise + dispute probabilities sum to {total:.3f} > 1")
        return self


def _default_responses() -> dict[str, ChannelResponse]:
    return {
        "email": ChannelResponse(reach_probability=1.0, pay_probability=0.25, query_probability=0.06, promise_probability=0.0, dispute_probability=0.01),
        "call": ChannelResponse(reach_probability=0.35, pay_probability=0.45, query_probability=0.15, promise_probability=0.35, dispute_probability=0.03),
        "letter": ChannelResponse(reach_probability=1.0, pay_probability=0.30, query_probability=0.04, promise_probability=0.0, dispute_probability=0.02),
        "agency": ChannelResponse(reach_probability=1.0, pay_probability=0.50, query_probability=0.0, promise_probability=0.0, dispute_probability=0.05),
    }


class ContactResponse(_Frozen):
    """The effect of dunning contacts on one customer segment."""

    channels: dict[str, ChannelResponse] = Field(default_factory=_default_responses, description="Response by channel (email, call, letter, agency).")
    decay_days: Positive = Field(5.0, description="Time constant (days) of the decaying payment-hazard uplift after a contact (assumption).")
    fatigue: Probability = Field(0.7, description="Multiplier on the uplift for each further contact about the same invoice (contact fatigue; assumption).")
    reply_delay_days: Distribution = Field(Exponential(mean=1.0), description="Days from a contact to the customer's query or dispute.")
    resume_days: Distribution = Field(
        Exponential(mean=3.0),
        description="Days from an answered query or resolved dispute until the customer pays (assumption).",
    )
    promise_days: Distribution = Field(Uniform(low=2, high=10), description="Days from a promise to the promised payment date.")
    promise_keep_probability: Probability = Field(0.65, description="Chance a promise to pay is kept (assumption).")

    @field_validator("channels", mode="before")
    @classmethod
    def _onto_channel_defaults(cls, value: Any) -> Any:
        """A file that sets one field of a channel keeps that channel's other defaults (not the generic ones)."""
        if not isinstance(value, dict):
            return value
        _known_channels(value)
        merged: dict[str, Any] = {name: response.model_dump() for name, response in _default_responses().items()}
        for name, given in value.items():
            merged[name] = {**merged[name], **given} if isinstance(given, dict) else given
        return merged


class PaymentBehaviour(_Frozen):
    """When customers of a segment pay without being contacted, and how they react to discounts and penalties.

    Each invoice is paid early, on the due date, or late. A customer switches between a normal and a
    cash-strained state (a two-state Markov chain in continuous time), which makes lateness persist from one
    invoice to the next; each customer also has a fixed latent lateness that shifts both the chance of
    paying late and how late.
    """

    late_share_normal: Probability = Field(0.30, description="Chance an invoice is paid late while the customer is in the normal state.")
    late_share_strained: Probability = Field(0.85, description="Chance an invoice is paid late while the customer is cash-strained.")
    early_share: Probability = Field(0.35, description="Of invoices not paid late, the share paid before the due date (rest: on it).")
    early_days_max: NonNegative = Field(10.0, description="Early payers pay uniformly 1..this many days before the due date.")
    days_late_normal: LogNormal = Field(LogNormal(median=6, sigma=0.9), description="Days late of a late invoice, normal state.")
    days_late_strained: LogNormal = Field(LogNormal(median=18, sigma=1.0), description="Days late of a late invoice, cash-strained state.")
    customer_lateness_sigma: NonNegative = Field(1.0, description="Spread (log-odds) of each customer's latent lateness around the segment.")
    customer_lateness_days_effect: NonNegative = Field(0.3, description="Effect of the latent lateness on the log of days late.")
    strained_share: Probability = Field(0.15, description="Long-run share of time customers spend cash-strained.")
    strained_spell_days: Positive = Field(60.0, description="Mean length (days) of a cash-strained spell.")
    weekly_run_share: Probability = Field(0.5, description="Share of customers who pay in weekly payment runs (on one weekday); the rest pay any business day.")
    discount_sensitive_share: Probability = Field(0.3, description="Share of customers who consider early-payment discounts (assumption).")
    cost_of_capital: LogNormal = Field(
        LogNormal(median=0.15, sigma=1.0),
        description="Customers' annual cost of capital: a discount is taken if its implied rate is higher (wide: firms differ; assumption).",
    )
    payables_days: Distribution = Field(
        LogNormal(median=4.0, sigma=0.7),
        description="Days a customer's payables process needs from receiving an invoice to paying it: a discount is taken only if "
        "this fits in the window (a paper invoice arriving on day 5 of 10 often cannot; assumption).",
    )
    unearned_discount_probability: Probability = Field(
        0.1,
        description="Chance a discount-minded customer paying after the window deducts the discount anyway (an unearned discount; assumption).",
    )
    penalty_sensitivity: NonNegative = Field(
        1.0,
        description="Late days shrink by exp(-this x r/(1+r)), r the penalty's annual rate, for customers who respond to penalties (assumption).",
    )
    penalty_backfire_share: Probability = Field(
        0.1,
        description="Share of customers for whom a late fee is a price: they pay later (Gneezy & Rustichini 2000; assumption).",
    )
    penalty_backfire_sensitivity: NonNegative = Field(
        0.5, description="Late days grow by exp(this x r/(1+r)), r the penalty's annual rate, for backfire customers (assumption).")
    deduction_probability: Probability = Field(
        0.05,
        description="Chance a payment is short (a deduction), which opens a dispute on the rest (CRF: 5-15% of invoices).",
    )
    deduction_share: Uniform = Field(Uniform(low=0.02, high=0.2), description="Share of the invoice deducted in a short payment (uniform).")

    @model_validator(mode="after")
    def _bounds(self) -> PaymentBehaviour:
        if self.deduction_share.high > 1:
            raise ValueError("deduction_share must lie within 0..1")
        if self.strained_share >= 1:
            raise ValueError("strained_share must be below 1")
        return self


class RiskClass(_Frozen):
    """A credit risk class inside a segment: moves default hazard and lateness together."""

    share: Probability = Field(1.0, description="Share of the segment's customers in this class (shares are normalised).")
    hazard_multiplier: Positive = Field(1.0, description="Default hazard relative to the segment's (the segment's average is kept).")
    lateness_shift: Float = Field(0.0, description="Added to the customer's latent lateness (standard deviations): positive pays later.")


class CreditRisk(_Frozen):
    """Default as the end of a cash strain, not an independent coin (Molina and Preve 2012: firms in financial
    distress stretch trade credit before they fail). The segment's average default probability is kept; it is
    shared out so that strained, habitually late customers and riskier classes default more."""

    strained_hazard_multiplier: Float = Field(
        8.0, ge=1.0, description="Default hazard while cash-strained, relative to the normal state (1: unrelated; assumption).")
    lateness_hazard_effect: NonNegative = Field(
        0.5, description="Log default hazard per standard deviation of the customer's latent lateness (0: unrelated; assumption).")
    insolvency_notice_days: NonNegative = Field(
        30.0, description="Days from a customer's default until the seller learns of it and writes off all it owes (assumption).")
    distress_days: NonNegative = Field(
        120.0,
        description="Before it defaults, a customer is cash-strained for this many days, so it pays later and later (0: no run-up; assumption).",
    )
    classes: tuple[RiskClass, ...] = Field(default=(RiskClass(),), description="Credit risk classes and their shares.")

    @field_validator("classes")
    @classmethod
    def _some_share(cls, value: tuple[RiskClass, ...]) -> tuple[RiskClass, ...]:
        if not value or sum(c.share for c in value) <= 0:
            raise ValueError("classes need at least one class with a share above 0")
        return value


class Relationship(_Frozen):
    """What strains a customer relationship until the customer leaves (churn). All (assumption) parameters:
    Intrum's European Payment Report 2020 finds 69% of companies accept later payment rather than damage a
    relationship, which is the risk these parameters price."""

    order_patience_days: Distribution = Field(
        Exponential(mean=14.0), description="Days a held order waits for credit before the customer cancels it (lost margin).")
    pay_to_release_probability: Probability = Field(
        0.7, description="Chance a customer whose order is held pays what holds it in its next payment run, to get the goods (assumption).")
    leave_probability_per_held_order: Probability = Field(0.005, description="Chance a customer leaves when one of its orders is held.")
    leave_probability_per_lost_order: Probability = Field(0.05, description="Chance a customer leaves when a held order is lost.")
    penalty_collect_share: Probability = Field(
        0.5, description="Chance a penalty the customer does not contest, or loses, is paid; unpaid penalties are not income (assumption).")
    penalty_contest_probability: Probability = Field(
        0.3, description="Chance a penalty of 1% of its invoice is contested (a query a collector must answer); k% is contested with "
        "chance 1-(1-this)^k (Intrum EPR 2020; assumption).")
    leave_probability_when_upheld: Probability = Field(
        0.1, description="Chance a customer leaves when its contested penalty is upheld, not waived (assumption).")
    leave_probability_per_chase: Probability = Field(
        0.02, description="Chance a customer leaves when an unearned discount it took is chased (assumption).")
    leave_probability_per_penalty: Probability = Field(
        0.005, description="Chance a customer leaves when charged a penalty of 1% of the invoice; k% gives 1-(1-this)^k.")
    plan_acceptance_probability: Probability = Field(
        0.3, description="Chance a customer offered a payment plan on a call accepts it (when the policy offers plans; assumption).")


class Segment(_Frozen):
    """A group of customers with the same ordering, risk and payment behaviour."""

    name: str = Field(description="Segment name (used in policies and reports).")
    customers: Int = Field(100, ge=0, description="Number of customers.")
    invoices_per_month: Positive = Field(1.0, description="Mean invoices per customer per month.")
    order_pattern: Literal["poisson", "regular"] = Field(
        "poisson",
        description="poisson: orders at random; regular: customer k of n orders every 1/rate days from day k/n of an interval (deterministic).",
    )
    order_rate_cv: NonNegative = Field(0.8, description="Spread (coefficient of variation, gamma) of order rates between customers.")
    amount: LogNormal = Field(LogNormal(median=1500, sigma=1.0), description="Invoice amount (currency units); lognormal.")
    customer_amount_sigma: NonNegative = Field(
        0.5,
        description="Part of amount.sigma that is between customers (each customer's typical amount); at most amount.sigma.",
    )
    terms_days: Int = Field(30, ge=0, description="Payment terms: net days from invoice date to due date.")
    statement_terms_share: Probability = Field(
        0.0,
        description="Share of customers on statement terms: an invoice falls due at the end of the month of invoice date + terms_days, and invoices due "
        "together are paid as one.",
    )
    default_probability_per_year: Probability = Field(
        0.005, description="Average chance a customer defaults within a year (its open invoices are never paid); risk moves it per customer.")
    risk: CreditRisk = Field(default_factory=lambda: CreditRisk(), description="How default is foreshadowed by cash strain and lateness.")
    relationship: Relationship = Field(default_factory=lambda: Relationship(), description="How held orders, penalties and write-offs drive customers away.")
    e_invoice_share: Probability = Field(0.6, description="Share of customers who receive electronic invoices (the rest get paper).")
    behaviour: PaymentBehaviour = Field(default_factory=PaymentBehaviour, description="Payment behaviour.")
    contact_response: ContactResponse = Field(default_factory=ContactResponse, description="Response to dunning contacts.")

    @model_validator(mode="after")
    def _amount_spread(self) -> Segment:
        if self.customer_amount_sigma > self.amount.sigma:
            raise ValueError(f"customer_amount_sigma ({self.customer_amount_sigma}) must not exceed amount.sigma ({self.amount.sigma})")
        return self


class Portfolio(_Frozen):
    """The customers."""

    segments: tuple[Segment, ...] = Field(default=(Segment(name="all"),), description="Customer segments.")

    @field_validator("segments")
    @classmethod
    def _unique_names(cls, value: tuple[Segment, ...]) -> tuple[Segment, ...]:
        names = [s.name for s in value]
        if not value:
            raise ValueError("at least one segment is needed")
        if len(set(names)) != len(names):
            raise ValueError(f"segment names must be unique, got {names}")
        if not any(s.customers for s in value):
            raise ValueError("every segment has 0 customers; a run needs at least one customer")
        return value


class Invoicing(_Frozen):
    """How invoices reach customers, and how often they are wrong."""

    paper_delivery_days: Distribution = Field(Uniform(low=2, high=5), description="Days for a paper invoice to reach the customer.")
    electronic_delivery_days: Distribution = Field(Fixed(value=0), description="Days for an e-invoice to reach the customer.")
    paper_error_rate: Probability = Field(0.04, description="Chance a paper invoice contains an error (assumption).")
    electronic_error_rate: Probability = Field(0.015, description="Chance an e-invoice contains an error (assumption).")
    error_dispute_probability: Probability = Field(
        0.8, description="Chance an erroneous invoice is disputed when the customer processes it for payment (assumption).")
    error_rework_cost: NonNegative = Field(
        30.0, description="Cost of investigating and reissuing an erroneous invoice once it is disputed (currency; assumption).")
    error_dispute_multiplier: NonNegative = Field(3.0, description="Multiplier on a contact's dispute probability when the invoice is wrong.")


class Disputes(_Frozen):
    """How disputes and short payments end."""

    credit_note_probability: Probability = Field(
        0.4, description="Chance a dispute about a wrong invoice ends in a credit note correcting it (assumption).")
    concession_probability: Probability = Field(
        0.1, description="Chance a dispute about a correct invoice ends in a credit note all the same: a concession, a cost (assumption).")
    credit_note_share: Distribution = Field(Uniform(low=0.2, high=1.0), description="Share of the open amount a credit note cancels.")
    deduction_valid_probability: Probability = Field(0.5, description="Chance a short payment's deduction is accepted and credited in full (assumption).")
    unearned_recovered_probability: Probability = Field(
        0.6, description="Chance a chased unearned discount is paid after all (the rest is conceded; assumption).")

    @model_validator(mode="after")
    def _share(self) -> Disputes:
        high = getattr(self.credit_note_share, "high", getattr(self.credit_note_share, "value", 0.0))
        if high > 1 or self.credit_note_share.dist not in {"fixed", "uniform"}:
            raise ValueError("credit_note_share must be a fixed or uniform share within 0..1")
        return self


class TaskMinutes(_Frozen):
    """Collector minutes per task (distributions)."""

    call: Distribution = Field(LogNormal(median=6, sigma=0.5), description="Minutes per dunning call attempt.")
    query: Distribution = Field(LogNormal(median=20, sigma=0.7), description="Minutes to answer a query (assumption).")
    dispute: Distribution = Field(LogNormal(median=60, sigma=0.8), description="Collector minutes to work a dispute (assumption).")
    promise_followup: Distribution = Field(LogNormal(median=8, sigma=0.5), description="Minutes to follow up a broken promise.")


class Team(_Frozen):
    """The collections team and its calendar."""

    collectors: Int = Field(
        3, ge=0,
        description="Number of collectors (FTE). 0 is refused while the policy plans calls or broken promises need a follow-up; "
        "with 0, queries and disputes are never answered and their invoices are written off (the capacity trap).",
    )
    hours_per_day: Float = Field(7.0, gt=0, le=24, description="Hours each collector works per working day.")
    shift_start_hour: Float = Field(9.0, ge=0, lt=24, description="Hour of day the shift starts.")
    working_weekdays: tuple[Int, ...] = Field((0, 1, 2, 3, 4), description="Weekdays (0 = Monday) the team works; all 7 with 24 hours for a 24/7 team.")
    minutes: TaskMinutes = Field(default_factory=TaskMinutes, description="Task times.")
    query_sla_days: Positive = Field(2.0, description="A query should be answered within this many days.")
    dispute_external_days: Distribution = Field(
        Exponential(mean=7.0),
        description="Days other teams add to a dispute after the collector's work (APQC: 4-30 days total).",
    )
    cost_per_collector_per_year: NonNegative = Field(65000.0, description="Fully loaded cost of one collector per year.")

    @field_validator("working_weekdays")
    @classmethod
    def _weekdays(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return Calendar._weekdays(value)

    @model_validator(mode="after")
    def _fits_day(self) -> Team:
        if self.hours_per_day < 24 and self.shift_start_hour + self.hours_per_day > 24:
            raise ValueError("shift_start_hour + hours_per_day must not pass midnight (use 24 hours for round-the-clock)")
        return self


class Money(_Frozen):
    """Money parameters for the cost lines."""

    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$",
                          description="ISO 4217 code of the currency amounts are in (EUR, USD, GBP, ...); charts and reports format money with it.")
    cost_of_capital_per_year: NonNegative = Field(0.08, description="Annual cost of capital tied up in receivables.")
    gross_margin: Probability = Field(0.25, description="Gross margin lost on a refused order.")
    contact_cost: dict[str, NonNegative] = Field(
        default_factory=lambda: dict(DEFAULT_CONTACT_COST),
        description="Out-of-pocket cost per contact by channel (collector time is costed separately).",
    )

    @field_validator("contact_cost")
    @classmethod
    def _channels(cls, value: dict[str, float]) -> dict[str, float]:
        _known_channels(value)
        return {**DEFAULT_CONTACT_COST, **value}


# ---------------------------------------------------------------------------------------------- policy


class DunningStep(_Frozen):
    """One contact of a cadence: a channel on a day relative to the due date."""

    day: Int = Field(description="Days relative to the due date (negative: before it).")
    channel: Literal["email", "call", "letter", "agency"] = Field(description="Channel.")


def _distinct_days_in_order(steps: tuple[DunningStep, ...]) -> tuple[DunningStep, ...]:
    """A cadence in the order of its days, each day once: two steps on one day would be one contact and a
    contact-cap skip (or two contacts at once), which no one writes on purpose."""
    channels: dict[int, str] = {}
    for step in steps:
        if step.day in channels:
            raise ValueError(f"day {step.day} has two steps ({channels[step.day]} and {step.channel}); give each step its own day")
        channels[step.day] = step.channel
    return tuple(sorted(steps, key=lambda s: s.day))


Cadence = Annotated[tuple[DunningStep, ...], AfterValidator(_distinct_days_in_order)]
"""Dunning steps, sorted by day, no two on the same day."""


def _default_cadence() -> tuple[DunningStep, ...]:
    return (
        DunningStep(day=-5, channel="email"),
        DunningStep(day=1, channel="email"),
        DunningStep(day=7, channel="call"),
        DunningStep(day=21, channel="call"),
        DunningStep(day=45, channel="letter"),
        DunningStep(day=90, channel="agency"),
    )


class Dunning(_Frozen):
    """The contact policy."""

    steps: Cadence = Field(default_factory=_default_cadence, description="Default cadence, relative to the due date (one step per day).")
    by_segment: dict[str, Cadence] = Field(
        default_factory=dict,
        description="Cadence per segment name, replacing the default for that segment (one step per day).",
    )
    min_days_between_contacts: NonNegative = Field(
        3.0,
        description="Contact cap: a step waits until this many days after the customer's last contact on a channel at least as strong "
        "(email < letter < call < agency); it is deferred, never dropped, and a weaker contact never holds back a stronger one.",
    )
    min_days_by_channel: dict[str, NonNegative] = Field(
        default_factory=dict,
        description="Contact cap per channel, replacing min_days_between_contacts for steps of that channel (e.g. {call: 7}).",
    )
    pause_while_open: bool = Field(
        True,
        description="Dunning pauses on an invoice while a query or dispute on it is open (an ERP dunning block) and resumes with the "
        "step that was due once it is answered or resolved.",
    )
    enabled: bool = Field(True, description="Switch all dunning off (for validation and baselines).")
    volume: dict[str, Annotated[Float, Field(ge=0.0, le=MAX_CONTACT_VOLUME)]] = Field(
        default_factory=dict,
        description="Planned contacts per step, by channel (default 1): 2 repeats each step of that channel after repeat_gap_days, "
        "0.5 sends each with chance one half.",
    )
    repeat_gap_days: Positive = Field(3.0, description="Days between a step and its repeats when volume is above 1.")

    @field_validator("volume")
    @classmethod
    def _volume_channels(cls, value: dict[str, float]) -> dict[str, float]:
        _known_channels(value)
        return value

    @field_validator("min_days_by_channel")
    @classmethod
    def _cap_channels(cls, value: dict[str, float]) -> dict[str, float]:
        _known_channels(value)
        return value

    def cap_days(self, channel: str) -> float:
        """The contact cap that applies to a step on this channel."""
        return self.min_days_by_channel.get(channel, self.min_days_between_contacts)



class Credit(_Frozen):
    """Credit policy: limits, holds and approval."""

    limit_months_of_sales: Float | None = Field(6.0, gt=0, description="Credit limit as months of the customer's expected sales; null for no limit.")
    limit_by_segment: dict[str, NonNegative] = Field(
        default_factory=dict,
        description="Limit (months of sales, at least 0: 0 leaves only the floor) per segment name, overriding the default.",
    )
    limit_floor_invoices: NonNegative = Field(5.0, description="A limit is never below this many of the customer's average invoices (small, irregular buyers).")
    hold_days_past_due: Float | None = Field(
        60.0, ge=0,
        description="New orders are refused while the customer has an invoice this many days past due; null for no hold.",
    )
    max_default_probability: Float | None = Field(
        None, ge=0, le=1,
        description="Segments with a higher annual default probability are refused as customers; null accepts all.",
    )
    review_over_limit: bool = Field(
        True, description="An order over the limit from a customer with nothing overdue is approved on credit review (assumption); "
        "false: the limit is hard.")
    hold_min_amount: NonNegative = Field(
        50.0, description="The hold ignores invoices with less than this open (small remainders) and invoices under query or dispute.")


class Discount(_Frozen):
    """Early-payment discount: percent off if paid within days of the invoice date."""

    percent: Float = Field(0.0, ge=0, lt=100, description="Discount percent (0 for none).")
    days: Int = Field(10, ge=0, description="Discount window in days from the invoice date.")
    unearned: Literal["accept", "chase"] = Field(
        "chase", description="A discount deducted after the window: accept it (a concession) or chase it (a collector works it as a dispute).")


class Penalty(_Frozen):
    """Late-payment penalty."""

    interest_percent_per_month: NonNegative = Field(0.0, description="Interest charged per month past due, percent.")
    fee: NonNegative = Field(0.0, description="Fixed fee per late invoice.")
    waive_probability: Probability = Field(
        0.6, description="Chance the seller waives a contested penalty after the query; one upheld may drive the customer away.")


class PaymentPlan(_Frozen):
    """Instalment plans offered on collector calls for old debts."""

    enabled: bool = Field(False, description="Offer payment plans.")
    min_days_past_due: NonNegative = Field(45.0, description="Offered on a call that reaches a customer this many days past due or more.")
    instalments: Int = Field(3, ge=2, description="Number of equal instalments.")
    interval_days: Positive = Field(30.0, description="Days between instalments.")

    @model_validator(mode="before")
    @classmethod
    def _acceptance_is_the_customers(cls, data: Any) -> Any:
        """Whether a customer accepts a plan is its reaction, not the seller's choice: a policy (or a search) must not set it."""
        if isinstance(data, dict) and "acceptance_probability" in data:
            raise ValueError(f"acceptance_probability: it moved to {MOVED_FIELDS['policy.payment_plan.acceptance_probability']}")
        return data


class AgencyPolicy(_Frozen):
    """Whether written-off debts go to a collection agency (what the agency achieves is in the scenario's `agency`)."""

    enabled: bool = Field(True, description="Hand written-off debts to a collection agency.")


class Agency(_Frozen):
    """What a collection agency achieves with the debts handed to it: a share recovered after a delay, for a
    commission. The market sets these, not the seller's policy (assumptions; contingency fees of a quarter to a
    third of what is recovered are common)."""

    recovery_probability_solvent: Probability = Field(
        0.6, description="Chance the agency recovers a debt from a customer that has not defaulted (assumption).")
    recovery_probability_insolvent: Probability = Field(
        0.05, description="Chance the agency recovers anything from a defaulted customer (an insolvency dividend; assumption).")
    recovered_share: Uniform = Field(Uniform(low=0.3, high=1.0), description="Share of a debt recovered when the agency recovers (uniform).")
    recovery_days: Distribution = Field(Exponential(mean=90.0), description="Days from hand-over to the recovered money.")
    commission_share: Probability = Field(0.25, description="Share of what it recovers that the agency keeps (contingency fee; assumption).")


class Policy(_Frozen):
    """The collections policy: everything management can change."""

    name: str = Field("standard", description="Policy name (used in reports).")
    credit: Credit = Field(default_factory=Credit, description="Credit limits, holds and approval.")
    discount: Discount = Field(default_factory=Discount, description="Early-payment discount.")
    penalty: Penalty = Field(default_factory=Penalty, description="Late-payment penalty.")
    dunning: Dunning = Field(default_factory=Dunning, description="Dunning cadence and contact cap.")
    worklist_rule: WorklistRule = Field(
        "task_type",
        description="Order of the collectors' worklist: task_type (queries, disputes, follow-ups, then calls), fifo, amount_at_risk "
        "(largest open amount first), days_past_due (oldest due first), predicted_risk (largest expected amount-days late from the "
        "customer's payment history so far in the run and its open past-due amount).",
    )
    write_off_days_past_due: Positive = Field(
        180.0, description="Unpaid invoices are written off this many days past due; the customer is then blocked for new orders.")
    agency: AgencyPolicy = Field(default_factory=lambda: AgencyPolicy(), description="Collection agency for written-off debts.")
    payment_plan: PaymentPlan = Field(default_factory=PaymentPlan, description="Instalment plans.")


# ---------------------------------------------------------------------------------------------- run and scenario


class Run(_Frozen):
    """How long and how often to simulate."""

    horizon_days: Int = Field(365, gt=0, description="Measured days after the warm-up.")
    warmup_days: Int = Field(180, ge=0, description="Days simulated before measuring, so the book starts in steady state.")
    seed: Int = Field(12345, ge=0, description="Seed of all random streams.")
    replications: Int = Field(10, ge=1, description="Independent replications (common random numbers across policies).")


class Scenario(_Frozen):
    """A world, a policy and run settings: everything one experiment needs."""

    name: str = Field(
        "scenario",
        description="Scenario name; it names the run's folder under results/, so no '/', '\\', '..', leading '.' or control characters.",
    )
    description: str = Field("", description="Free text.")
    calendar: Calendar = Field(default_factory=Calendar, description="Calendar.")
    portfolio: Portfolio = Field(default_factory=Portfolio, description="Customers.")
    invoicing: Invoicing = Field(default_factory=Invoicing, description="Invoice delivery and errors.")
    disputes: Disputes = Field(default_factory=Disputes, description="How disputes and deductions end.")
    team: Team = Field(default_factory=Team, description="Collections team.")
    money: Money = Field(default_factory=Money, description="Money parameters.")
    agency: Agency = Field(default_factory=lambda: Agency(), description="What a collection agency achieves with written-off debts.")
    policy: Policy = Field(default_factory=Policy, description="Collections policy.")
    run: Run = Field(default_factory=Run, description="Run settings.")

    @field_validator("name")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        """The name becomes the folder results/<name>/, so it must stay one plain folder inside results/."""
        advice = "use letters, digits, '-', '_' and '.'"
        if not value.strip():
            raise ValueError(f"{value!r} is empty, and the name is the results folder; {advice}")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError(f"{value!r} has a control character, and the name is the results folder; {advice}")
        if "/" in value or "\\" in value or ".." in value or value.startswith("."):
            raise ValueError(f"{value!r} would leave the results folder; {advice}")
        return value

    @model_validator(mode="after")
    def _segment_names_known(self) -> Scenario:
        names = {s.name for s in self.portfolio.segments}
        for field, mapping in (
            ("policy.dunning.by_segment", self.policy.dunning.by_segment),
            ("policy.credit.limit_by_segment", self.policy.credit.limit_by_segment),
        ):
            unknown = sorted(set(mapping) - names)
            if unknown:
                raise _FieldProblem(field, f"unknown segment(s) {unknown}; segments are {sorted(names)}")
        return self

    @model_validator(mode="after")
    def _planned_work_has_collectors(self) -> Scenario:
        """With no collectors, a planned call or a broken promise's follow-up would wait in the worklist
        forever: the run would look like a policy that never calls. Queries and disputes are allowed to go
        unanswered (the capacity trap: their invoices are written off), as that is what a team of 0 means."""
        if self.team.collectors > 0:
            return self
        dunning = self.policy.dunning
        for segment in self.portfolio.segments:
            if segment.customers == 0:
                continue
            where = f"policy.dunning.by_segment.{segment.name}" if segment.name in dunning.by_segment else "policy.dunning.steps"
            for step in self.cadence_for(segment.name):
                if dunning.volume.get(step.channel, 1.0) <= 0:
                    continue  # a channel at volume 0 is never sent
                if step.channel == "call":
                    raise _FieldProblem("team.collectors", f"0 collectors, but {where} plans calls (day {step.day}); add collectors or drop the call steps")
                response = segment.contact_response
                if response.channels[step.channel].promise_probability > 0 and response.promise_keep_probability < 1:
                    promise = f"portfolio.segments.{segment.name}.contact_response.channels.{step.channel}.promise_probability"
                    raise _FieldProblem(
                        "team.collectors",
                        f"0 collectors, but broken promises after {step.channel} contacts need a collector's follow-up ({promise} > 0); "
                        f"add collectors or set it to 0",
                    )
        return self

    def cadence_for(self, segment: str) -> tuple[DunningStep, ...]:
        """The dunning steps that apply to a segment (empty when dunning is off)."""
        dunning = self.policy.dunning
        if not dunning.enabled:
            return ()
        return dunning.by_segment.get(segment, dunning.steps)

    def with_overrides(self, assignments: Mapping[str, Any], *, source: str | None = None) -> Scenario:
        """A copy with dotted-path fields replaced (``{"team.collectors": 4}``), validated again.

        A mistake raises InputError naming the argument (``assignments: team.nope: unknown field 'nope'``), or,
        when ``source`` is given, naming that instead (``trial 3: team.nope: ...``): callers that apply
        changes from elsewhere (a search space, a results folder) say where they came from.
        """
        def problem(detail: str) -> InputError:
            return InputError(f"{source}: {detail}") if source else InputError(detail, argument="assignments")

        if not isinstance(assignments, Mapping):
            raise problem(f"expected a mapping of field paths to values, such as {{'team.collectors': 4}}, got {type(assignments).__name__}")
        data = self.model_dump(mode="json")
        for path, value in assignments.items():
            if not isinstance(path, str) or not path.strip():
                raise problem(f"field paths must be text such as 'team.collectors', got {path!r}")
            try:
                _assign(data, path, value)
            except InputError as error:
                raise problem(error.detail) from None
        try:
            return validate_scenario(data, source=_OVERRIDES)
        except InputError as error:
            raise problem(str(error).removeprefix(f"{_OVERRIDES}: ")) from None

    def with_policy(self, policy: Policy) -> Scenario:
        """A copy with another policy (validated against this world's segment names)."""
        if not isinstance(policy, Policy):
            raise InputError(f"expected a Policy (arsim.load_policy reads a policy file), got {type(policy).__name__}", argument="policy")
        data = self.model_dump(mode="json")
        data["policy"] = policy.model_dump(mode="json")
        return validate_scenario(data, source=f"policy {policy.name!r}")


# ---------------------------------------------------------------------------------------------- loading


MOVED_FIELDS: dict[str, str] = {
    "policy.payment_plan.acceptance_probability": "portfolio.segments.NAME.relationship.plan_acceptance_probability "
                                                  "(a customer's reaction, not policy)",
}
"""Fields that moved, by their old path: a file (PaymentPlan's check) or an override of an old path says where the field went."""


def _assign(data: dict, path: str, value: Any) -> None:
    """Set ``data[a][b]...`` for a dotted path; list items by index or, for segments, by name."""
    parts = path.split(".")
    node: Any = data
    for depth, key in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            index = _list_index(node, key)
            if index is None:
                raise InputError(f"{where}: no list item {key!r}")
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if key not in node and not _is_open_mapping(parts[:depth]):
                moved = f"; it moved to {MOVED_FIELDS[where]}" if where in MOVED_FIELDS else ""
                raise InputError(f"{where}: unknown field {key!r}{moved}")
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
        else:
            raise InputError(f"{where}: {'.'.join(parts[:depth])} is not a group of fields")


_OVERRIDES = "<overrides>"
"""The source `with_overrides` validates under; its errors are re-raised without it, naming the argument or caller."""


def _is_open_mapping(parent: list[str]) -> bool:
    """Fields whose keys are user-chosen names (segments, channels) may gain new keys."""
    return bool(parent) and parent[-1] in {"by_segment", "limit_by_segment", "channels", "contact_cost", "volume", "min_days_by_channel"}


def _list_index(items: list, key: str) -> int | None:
    if key.lstrip("-").isdigit():
        index = int(key)
        return index if -len(items) <= index < len(items) else None
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == key:
            return index
    return None


def _format_error(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    location = ".".join(str(p) for p in first["loc"] if not (isinstance(p, str) and p in {"fixed", "exponential", "lognormal", "uniform", "gamma"}))
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, _FieldProblem):
        location = f"{location}.{cause.path}" if location else cause.path
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "finite_number":
        message = f"must be a finite number, got {first['input']!r}"
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {location or '<top>'}: {message}{suffix}"


def validate_scenario(data: Any, *, source: str = "<scenario>") -> Scenario:
    """Validate plain data as a scenario; raise InputError with one line naming source and field path."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a scenario must be a mapping of fields, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise InputError(_format_error(error, source)) from None


def validate_policy(data: Any, *, source: str = "<policy>") -> Policy:
    """Validate plain data as a policy; raise InputError naming source and field path."""
    if isinstance(data, dict) and set(data) == {"policy"}:
        data = data["policy"]
    if not isinstance(data, dict):
        raise InputError(f"{source}: a policy must be a mapping of fields, got {type(data).__name__}")
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        raise InputError(_format_error(error, source)) from None


# ---------------------------------------------------------------------------------------------- reference


