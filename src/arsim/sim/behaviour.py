"""Customer behaviour as vectorised numpy draws, made before the simulation runs.

Everything the collections policy cannot influence is drawn here, up front and in batches: who the
customers are, when they order and for how much, how late each invoice would be paid if nobody called,
when customers default, which invoices are wrong. Drawing these first is what makes policy comparisons
paired (common random numbers): two policies simulated on the same (seed, replication) see the same
customers, orders and latent payment days. The draws a policy can influence (a contacted customer's
reply) come from per-step response arrays, indexed by invoice, so contacting one invoice never shifts
another's draws.

The payment model, per invoice of a customer in a segment:
- a latent lateness u ~ N(0, 1) per customer shifts the log-odds of paying late and the log of days late;
- a two-state continuous-time Markov chain (normal / cash-strained) per customer gives the state at the
  due date, which sets the base chance of lateness and the days-late distribution (persistence);
- not late: early (uniform 1..early_days_max days before due) or exactly on the due date;
- late: lognormal days late, shrunk or stretched by a late-payment penalty;
- the customer decides on due date + offset + delivery days; the payment itself happens in the customer's
  next payment run (a weekly weekday, or any business day), which the simulator applies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from arsim.scenario.schema import (
    MAX_CONTACT_VOLUME,
    CreditRisk,
    Distribution,
    Exponential,
    Fixed,
    Gamma,
    LogNormal,
    Scenario,
    Uniform,
)
from arsim.sim.calendar import DAYS_PER_MONTH, days_forward
from arsim.sim.rules import discount_annual_rate, penalty_annual_rate, segment_refused
from arsim.sim.streams import stream, substream

# Columns of each per-step response array (uniform draws in [0, 1)); append only, never reorder.
(
    R_REACH, R_OUTCOME, R_UPLIFT, R_REPLY_DELAY, R_PROMISE_DAYS, R_PROMISE_KEPT, R_RESUME, R_CALL_MINUTES,
    R_QUERY_MINUTES, R_DISPUTE_MINUTES, R_FOLLOWUP_MINUTES, R_FOLLOWUP_UPLIFT, R_EXTERNAL_DAYS, R_CREDIT_NOTE,
    R_CREDIT_SHARE, R_PLAN, R_SEND,
) = range(17)
RESPONSE_COLUMNS = 17
SLOT_ERROR_DISPUTE, SLOT_DEDUCTION = 0, 1

# Columns of the per-order relationship draws (Orders.relationship: uniform in [0, 1)); append only, never reorder.
(
    U_PATIENCE, U_LEAVE_HELD, U_LEAVE_LOST, U_LEAVE_PENALTY, U_CONTEST, U_WAIVE, U_PENALTY_PAID, U_CONTEST_MINUTES,
    U_RECOVERY, U_RECOVERED_SHARE, U_RECOVERY_DAYS, U_UNEARNED, U_PAY_TO_RELEASE, U_LEAVE_CHASE, U_LEAVE_UPHELD,
) = range(15)
RELATIONSHIP_COLUMNS = 15
FIRST_STEP_SLOT = 2
REPEATS_PER_STEP = int(MAX_CONTACT_VOLUME)


def contact_slot(step: int, repeat: int) -> int:
    """Response slot of a planned contact: slots 0 and 1 serve disputes that no contact caused; repeat j of
    cadence step k uses slot 2 + 4k + j, whatever the volume, so the draws of a contact two policies share
    are the same (common random numbers)."""
    return FIRST_STEP_SLOT + step * REPEATS_PER_STEP + repeat

_STANDARD_NORMAL = NormalDist()


def sample(dist: Distribution, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
    """Vectorised draws from a scenario distribution."""
    if isinstance(dist, Fixed):
        return np.full(size, float(dist.value))
    if isinstance(dist, Exponential):
        return rng.exponential(dist.mean, size)
    if isinstance(dist, LogNormal):
        return dist.median * np.exp(dist.sigma * rng.standard_normal(size))
    if isinstance(dist, Uniform):
        return rng.uniform(dist.low, dist.high, size)
    if isinstance(dist, Gamma):
        shape = 1.0 / dist.cv**2
        return rng.gamma(shape, dist.mean / shape, size)
    raise TypeError(f"unknown distribution {dist!r}")


def quantile_function(dist: Distribution) -> Callable[[float], float]:
    """The quantile function of a distribution, u -> value: turns one stored uniform draw into a draw of
    ``dist``. The constants are bound once, as the simulator calls these in its hot path."""
    if isinstance(dist, Fixed):
        value = float(dist.value)
        return lambda u: value
    if isinstance(dist, Exponential):
        mean = dist.mean
        return lambda u: -mean * math.log1p(-u)
    if isinstance(dist, LogNormal):
        median, sigma = dist.median, dist.sigma
        if sigma == 0:
            return lambda u: median
        inv_cdf = _STANDARD_NORMAL.inv_cdf
        return lambda u: median * math.exp(sigma * inv_cdf(min(max(u, 1e-12), 1 - 1e-12)))
    if isinstance(dist, Uniform):
        low, width = dist.low, dist.high - dist.low
        return lambda u: low + u * width
    if isinstance(dist, Gamma):
        shape, mean = 1.0 / dist.cv**2, dist.mean
        from scipy import special  # only scenarios with a gamma distribution pay for scipy's import

        return lambda u: float(special.gammaincinv(shape, u)) * mean / shape
    raise TypeError(f"unknown distribution {dist!r}")


def _logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), computed as scipy.special.logit computes it (the same bits): near 1/2 the plain formula
    loses precision, and the difference of two log1p keeps it. Written out so that a run does not import scipy."""
    s = 2.0 * (p - 0.5)
    return np.where((p < 0.3) | (p > 0.65), np.log(p / (1.0 - p)), np.log1p(s) - np.log1p(-s))


def _expit(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), scipy.special.expit's formula (the same bits)."""
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Customers:
    """One row per customer (arrays of equal length)."""

    segment: np.ndarray  # int: index into scenario.portfolio.segments
    order_rate_per_day: np.ndarray
    typical_amount: np.ndarray  # median of the customer's invoice amounts
    expected_monthly_sales: np.ndarray
    average_invoice_amount: np.ndarray
    latent_lateness: np.ndarray  # N(0, 1)
    default_day: np.ndarray  # inf if the customer never defaults in the run
    run_weekday: np.ndarray  # int weekday of the weekly payment run, -1 = pays any business day
    electronic: np.ndarray  # bool: receives e-invoices
    discount_taker: np.ndarray  # bool: would take the current discount (its implied rate beats the customer's cost of capital)
    discount_minded: np.ndarray  # bool: considers discounts at all (may deduct one after the window)
    payables_days: np.ndarray  # days its payables process needs from receiving an invoice to paying it
    risk_class: np.ndarray  # int: index into the segment's credit risk classes
    statement: np.ndarray  # bool: on statement terms (invoices fall due at a month end)
    penalty_backfire: np.ndarray  # bool: treats a late fee as a price
    refused: np.ndarray  # bool: refused by the credit approval rule


@dataclass(frozen=True)
class Orders:
    """One row per order (would-be invoice), sorted by order day; a refused order keeps its row."""

    customer: np.ndarray
    day: np.ndarray  # int business day the invoice would be dated
    amount: np.ndarray
    due_day: np.ndarray  # int
    received_day: np.ndarray  # float: invoice date + delivery days
    error: np.ndarray  # bool
    error_disputed: np.ndarray  # bool: the customer disputes the error when it processes the invoice for payment
    strained: np.ndarray  # bool: customer cash-strained at the due date
    decision_day: np.ndarray  # float: day the customer decides to pay with nobody calling; inf if never
    takes_discount: np.ndarray  # bool
    deduction_share: np.ndarray  # 0 if the payment is not short
    relationship: np.ndarray  # float32 (n_orders, RELATIONSHIP_COLUMNS): uniform draws for holds, churn, penalties, agency


@dataclass(frozen=True)
class Book:
    """The pre-drawn world of one replication, plus per-step response draws."""

    customers: Customers
    orders: Orders
    responses: dict[int, np.ndarray]  # slot -> float32 array (n_orders, RESPONSE_COLUMNS)
    total_days: int


def business_day_on_or_after(days: np.ndarray, *, start_weekday: int, business_weekdays: tuple[int, ...]) -> np.ndarray:
    """Each day moved forward to the first business day (weekends and other closed weekdays skipped)."""
    shift = np.array(days_forward(business_weekdays), dtype=np.int64)
    days = np.asarray(days, dtype=np.int64)
    return days + shift[(start_weekday + days) % 7]


def _state_at(times: np.ndarray, owner: np.ndarray, switches: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """State (True = strained) of each owner's two-state chain at the given times."""
    crossed = (switches[owner] <= times[:, None]).sum(axis=1)
    return initial[owner] ^ (crossed % 2 == 1)


def _markov_switches(rng: np.random.Generator, *, initial: np.ndarray, mean_normal: np.ndarray, mean_strained: np.ndarray, total_days: int) -> np.ndarray:
    """Switch times of each customer's normal/strained chain over the run, padded with inf."""
    count = initial.size
    columns: list[np.ndarray] = []
    clock = np.zeros(count)
    state = initial.copy()
    while True:
        active = clock < total_days
        if not active.any():
            break
        holding = rng.exponential(1.0, count) * np.where(state, mean_strained, mean_normal)
        clock = np.where(active, clock + holding, np.inf)
        columns.append(clock.copy())
        state = ~state
    if not columns:
        return np.full((count, 1), np.inf)
    return np.column_stack(columns)


def risk_class_shares(risk: CreditRisk) -> np.ndarray:
    """The shares of a segment's credit risk classes, normalised to sum to 1."""
    shares = np.array([c.share for c in risk.classes], dtype=float)
    return shares / shares.sum()


def mean_risk_factor(risk: CreditRisk) -> float:
    """E[class hazard multiplier x exp(effect x latent lateness)] over a segment's customers (the latent lateness is
    N(class shift, 1)): what the default hazard is divided by so that classes and lateness share it out, not add to it."""
    beta = risk.lateness_hazard_effect
    per_class = np.array([c.hazard_multiplier * math.exp(beta * c.lateness_shift) for c in risk.classes])
    return float(np.sum(risk_class_shares(risk) * per_class)) * math.exp(beta**2 / 2.0)


def _relative_hazard(segments, segment: np.ndarray, *, latent: np.ndarray, class_hazard: np.ndarray) -> np.ndarray:
    """Each customer's default hazard in the normal state, relative to its segment's average hazard.

    The hazard is base x class multiplier x exp(effect x latent lateness) x (strained multiplier while
    strained). Dividing by the segment's expected value of that product (over classes, the normal latent
    lateness and the stationary share of strained time) keeps the segment's average default probability
    as the scenario states it, and only shares it out: to the strained, the habitually late, the riskier.
    """
    effect = np.array([s.risk.lateness_hazard_effect for s in segments])[segment]
    relative = class_hazard * np.exp(effect * latent)
    for index, seg in enumerate(segments):
        members = segment == index
        if not members.any():
            continue
        strained_share = seg.behaviour.strained_share
        state_mean = (1.0 - strained_share) + strained_share * seg.risk.strained_hazard_multiplier
        relative[members] /= mean_risk_factor(seg.risk) * state_mean
    return relative


def _default_days(exposure: np.ndarray, *, hazard_normal: np.ndarray, strained_multiplier: np.ndarray, switches: np.ndarray,
                  initial: np.ndarray, total_days: int) -> np.ndarray:
    """Day each customer defaults (inf if not within the run): the time its cumulative hazard reaches an Exp(1) draw.

    The hazard is piecewise constant between the switches of the customer's normal / strained chain, so the
    crossing is found interval by interval, vectorised over customers.
    """
    count = exposure.size
    default = np.full(count, np.inf)
    remaining = exposure.astype(float).copy()
    start = np.zeros(count)
    state = initial.copy()
    for column in range(switches.shape[1] + 1):
        end = np.minimum(switches[:, column] if column < switches.shape[1] else np.full(count, np.inf), float(total_days))
        rate = hazard_normal * np.where(state, strained_multiplier, 1.0)
        mass = rate * np.maximum(end - start, 0.0)
        hits = np.isnan(default) | np.isinf(default)
        crossing = hits & (remaining <= mass) & (rate > 0)
        default[crossing] = start[crossing] + remaining[crossing] / rate[crossing]
        remaining = np.where(crossing, np.inf, remaining - mass)
        start = np.maximum(start, end)
        state = ~state
    return np.where(default < total_days, default, np.inf)


def _regular_orders(owner, time, *, regular, segment, order_rate, total_days):
    """Replace the random orders of 'regular' customers by a fixed schedule: customer k of n in a segment
    orders at (k/n + j) x interval, j = 0, 1, ... (deterministic, for validation against queueing theory)."""
    keep = ~regular[owner]
    owners, times = [owner[keep]], [time[keep]]
    for index in np.flatnonzero(regular):
        members = np.flatnonzero(segment == segment[index])
        rank = int(np.searchsorted(members, index))
        interval = 1.0 / order_rate[index]
        schedule = np.arange((rank / members.size) * interval, total_days, interval)
        owners.append(np.full(schedule.size, index))
        times.append(schedule)
    return np.concatenate(owners), np.concatenate(times)


def month_end_day(days: np.ndarray, *, start_date) -> np.ndarray:
    """Day number of the last calendar day of the month that contains each day."""
    epoch = np.datetime64(start_date, "D")
    months = (epoch + days.astype("timedelta64[D]")).astype("datetime64[M]")
    return ((months + 1).astype("datetime64[D]") - 1 - epoch).astype(np.int64)


def _first_of_group(owner: np.ndarray, due_day: np.ndarray) -> np.ndarray:
    """For each order, the index of the first order (in order sequence) of the same customer and due day."""
    if owner.size == 0:
        return np.zeros(0, dtype=np.int64)
    keys = owner.astype(np.int64) * (int(due_day.max()) + 1) + due_day.astype(np.int64)
    _, first_index, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first_index[inverse]


def draw_book(scenario: Scenario, *, replication: int, response_slots: Iterable[int]) -> Book:
    """Draw the customers, orders, latent payment days and response arrays of one replication."""
    seed = scenario.run.seed
    total_days = scenario.run.warmup_days + scenario.run.horizon_days
    segments = scenario.portfolio.segments
    policy = scenario.policy
    start_weekday = scenario.calendar.start_date.weekday()
    business = scenario.calendar.business_weekdays

    # --- customers
    rng = stream(seed, replication, "customers")
    segment = np.repeat(np.arange(len(segments)), [s.customers for s in segments])
    n_customers = segment.size
    seg_rate = np.array([s.invoices_per_month / DAYS_PER_MONTH for s in segments])[segment]
    seg_cv = np.array([s.order_rate_cv for s in segments])[segment]
    shape = np.where(seg_cv > 0, 1.0 / np.maximum(seg_cv, 1e-9) ** 2, 1.0)
    rate_multiplier = np.where(seg_cv > 0, rng.gamma(shape, 1.0 / shape), 1.0)
    order_rate = seg_rate * rate_multiplier
    between = np.array([s.customer_amount_sigma for s in segments])[segment]
    within = np.sqrt(np.maximum(np.array([s.amount.sigma for s in segments])[segment] ** 2 - between**2, 0.0))
    typical_amount = np.array([s.amount.median for s in segments])[segment] * np.exp(between * rng.standard_normal(n_customers))
    average_invoice_amount = typical_amount * np.exp(within**2 / 2)
    expected_monthly_sales = order_rate * DAYS_PER_MONTH * average_invoice_amount
    latent = rng.standard_normal(n_customers)
    weekly = rng.random(n_customers) < np.array([s.behaviour.weekly_run_share for s in segments])[segment]
    run_weekday = np.where(weekly, np.asarray(business)[rng.integers(0, len(business), n_customers)], -1)
    electronic = rng.random(n_customers) < np.array([s.e_invoice_share for s in segments])[segment]
    sensitive = rng.random(n_customers) < np.array([s.behaviour.discount_sensitive_share for s in segments])[segment]
    coc_median = np.array([s.behaviour.cost_of_capital.median for s in segments])[segment]
    coc_sigma = np.array([s.behaviour.cost_of_capital.sigma for s in segments])[segment]
    cost_of_capital = coc_median * np.exp(coc_sigma * rng.standard_normal(n_customers))
    backfire = rng.random(n_customers) < np.array([s.behaviour.penalty_backfire_share for s in segments])[segment]
    initial_strained = rng.random(n_customers) < np.array([s.behaviour.strained_share for s in segments])[segment]
    terms = np.array([s.terms_days for s in segments])[segment]
    implied = np.array([discount_annual_rate(policy.discount.percent, discount_days=policy.discount.days, terms_days=t) for t in terms])
    discount_taker = sensitive & (implied > cost_of_capital)
    # Drawn from their own substream, so worlds that ignore them keep every other draw.
    rng_extra = substream(seed, replication, "customers", 2)
    payables_days = np.empty(n_customers)
    risk_class = np.zeros(n_customers, dtype=np.int64)
    lateness_shift = np.zeros(n_customers)
    class_hazard = np.ones(n_customers)
    u_class = rng_extra.random(n_customers)
    for index, seg in enumerate(segments):
        members = np.flatnonzero(segment == index)
        payables_days[members] = sample(seg.behaviour.payables_days, rng_extra, members.size)
        classes = seg.risk.classes
        chosen = np.searchsorted(np.cumsum(risk_class_shares(seg.risk)), u_class[members], side="right").clip(0, len(classes) - 1)
        risk_class[members] = chosen
        lateness_shift[members] = np.array([c.lateness_shift for c in classes])[chosen]
        class_hazard[members] = np.array([c.hazard_multiplier for c in classes])[chosen]
    latent = latent + lateness_shift  # a riskier class pays later: the same latent lateness drives lateness and default
    refused_segment = np.array([segment_refused(policy.credit, default_probability_per_year=s.default_probability_per_year) for s in segments], dtype=bool)
    refused = refused_segment[segment] if segments else np.zeros(0, bool)

    # --- each customer's normal / cash-strained chain over the run (its own stream)
    rng_states = stream(seed, replication, "states")
    share = np.array([s.behaviour.strained_share for s in segments])[segment]
    mean_strained = np.array([s.behaviour.strained_spell_days for s in segments])[segment]
    mean_normal = np.where(share > 0, mean_strained * (1 - share) / np.maximum(share, 1e-12), np.inf)
    switches = _markov_switches(rng_states, initial=initial_strained, mean_normal=mean_normal, mean_strained=mean_strained, total_days=total_days)

    rng_default = stream(seed, replication, "defaults")
    pd_year = np.array([s.default_probability_per_year for s in segments])[segment]
    base_hazard = -np.log1p(-np.minimum(pd_year, 1 - 1e-12)) / 365.0
    hazard_normal = base_hazard * _relative_hazard(segments, segment, latent=latent, class_hazard=class_hazard)
    strained_multiplier = np.array([s.risk.strained_hazard_multiplier for s in segments])[segment]
    default_day = _default_days(
        rng_default.exponential(1.0, n_customers), hazard_normal=hazard_normal, strained_multiplier=strained_multiplier,
        switches=switches, initial=initial_strained, total_days=total_days,
    )

    customers = Customers(
        segment=segment, order_rate_per_day=order_rate, typical_amount=typical_amount, expected_monthly_sales=expected_monthly_sales,
        average_invoice_amount=average_invoice_amount, latent_lateness=latent, default_day=default_day, run_weekday=run_weekday, electronic=electronic,
        discount_taker=discount_taker, discount_minded=sensitive, payables_days=payables_days, risk_class=risk_class,
        statement=np.zeros(n_customers, dtype=bool), penalty_backfire=backfire, refused=refused,
    )

    # --- orders: a Poisson process per customer, dated on business days, none after the customer defaults
    rng_orders = stream(seed, replication, "orders")
    counts = rng_orders.poisson(order_rate * total_days)
    owner = np.repeat(np.arange(n_customers), counts)
    time = rng_orders.random(owner.size) * total_days
    regular = np.array([s.order_pattern == "regular" for s in segments], dtype=bool)[segment] if segments else np.zeros(0, bool)
    if regular.any():
        owner, time = _regular_orders(owner, time, regular=regular, segment=segment, order_rate=order_rate, total_days=total_days)
    amount = typical_amount[owner] * np.exp(within[owner] * rng_orders.standard_normal(owner.size))
    keep = time < default_day[owner]
    owner, time, amount = owner[keep], time[keep], amount[keep]
    day = business_day_on_or_after(np.floor(time).astype(np.int64), start_weekday=start_weekday, business_weekdays=business)
    keep = day < total_days
    owner, time, amount, day = owner[keep], time[keep], amount[keep], day[keep]
    order = np.lexsort((owner, time))
    owner, amount, day = owner[order], amount[order], day[order]
    n_orders = owner.size
    seg_of = segment[owner]
    due_day = day + terms[owner]
    # Statement terms: drawn from their own substream so worlds without them keep every other draw.
    statement_share = np.array([s.statement_terms_share for s in segments])[segment] if segments else np.zeros(0)
    statement = np.zeros(n_customers, dtype=bool)
    if statement_share.any():
        statement = substream(seed, replication, "customers", 1).random(n_customers) < statement_share
        due_day = np.where(statement[owner], month_end_day(due_day, start_date=scenario.calendar.start_date), due_day)
        customers.statement[:] = statement

    # --- invoicing: delivery, errors, disputes caused by errors
    rng_inv = stream(seed, replication, "invoicing")
    inv = scenario.invoicing
    delivery = np.where(
        electronic[owner],
        sample(inv.electronic_delivery_days, rng_inv, n_orders),
        sample(inv.paper_delivery_days, rng_inv, n_orders),
    )
    received_day = day + delivery
    error = rng_inv.random(n_orders) < np.where(electronic[owner], inv.electronic_error_rate, inv.paper_error_rate)
    error_disputed = error & (rng_inv.random(n_orders) < inv.error_dispute_probability)

    # --- latent payment offsets from the due date
    strained = _state_at(due_day.astype(float), owner, switches, initial_strained)
    # The run-up to a default: a customer that will fail is cash-strained for its last distress_days.
    distress = np.array([s.risk.distress_days for s in segments])[segment]
    owner_default = default_day[owner]
    strained |= (due_day >= owner_default - distress[owner]) & (due_day < owner_default)

    rng_pay = stream(seed, replication, "payment")
    behaviour = [s.behaviour for s in segments]
    base_late = np.where(
        strained,
        np.array([b.late_share_strained for b in behaviour])[seg_of],
        np.array([b.late_share_normal for b in behaviour])[seg_of],
    )
    spread = np.array([b.customer_lateness_sigma for b in behaviour])[seg_of]
    u_customer = latent[owner]
    p_late = _expit(_logit(np.clip(base_late, 1e-9, 1 - 1e-9)) + spread * u_customer)
    late = rng_pay.random(n_orders) < p_late
    early = ~late & (rng_pay.random(n_orders) < np.array([b.early_share for b in behaviour])[seg_of])
    early_max = np.array([b.early_days_max for b in behaviour])[seg_of]
    early_days = np.ceil(rng_pay.random(n_orders) * early_max)
    median_late = np.where(
        strained,
        np.array([b.days_late_strained.median for b in behaviour])[seg_of],
        np.array([b.days_late_normal.median for b in behaviour])[seg_of],
    )
    sigma_late = np.where(
        strained,
        np.array([b.days_late_strained.sigma for b in behaviour])[seg_of],
        np.array([b.days_late_normal.sigma for b in behaviour])[seg_of],
    )
    days_effect = np.array([b.customer_lateness_days_effect for b in behaviour])[seg_of]
    days_late = median_late * np.exp(days_effect * u_customer + sigma_late * rng_pay.standard_normal(n_orders))
    # A late-payment penalty pulls late days in for most customers and pushes them out for a few.
    pressure = penalty_annual_rate(policy.penalty, amount=amount)
    # Pressure saturates: a fee many times an invoice's financing cost is felt as very dear, not infinitely so
    # (without this, a fixed fee on a small invoice would multiply a backfire customer's delay without bound).
    pressure = pressure / (1.0 + pressure)
    sensitivity = np.where(
        backfire[owner],
        -np.array([b.penalty_backfire_sensitivity for b in behaviour])[seg_of],
        np.array([b.penalty_sensitivity for b in behaviour])[seg_of],
    )
    days_late = np.maximum(np.ceil(days_late * np.exp(-sensitivity * pressure)), 1.0)
    offset = np.where(late, days_late, np.where(early, -np.minimum(early_days, np.maximum(early_max, 0)), 0.0))
    offset = np.where(early & (early_max < 1), 0.0, offset)
    if statement.any():
        # A statement is paid as one: every invoice of it takes the payment offset of its first invoice.
        first = _first_of_group(owner, due_day)
        on_statement = statement[owner]
        offset = np.where(on_statement, offset[first], offset)
    # Nobody pays an invoice before it arrives, whatever the terms.
    decision_day = np.maximum(due_day + offset + delivery, received_day)
    decision_day = np.where(decision_day >= default_day[owner], np.inf, decision_day)
    takes_discount = discount_taker[owner] & ~strained & (policy.discount.percent > 0)

    rng_ded = stream(seed, replication, "deductions")
    short = rng_ded.random(n_orders) < np.array([b.deduction_probability for b in behaviour])[seg_of]
    low = np.array([b.deduction_share.low for b in behaviour])[seg_of]
    high = np.array([b.deduction_share.high for b in behaviour])[seg_of]
    deduction_share = np.where(short, low + rng_ded.random(n_orders) * (high - low), 0.0)

    relationship = stream(seed, replication, "relationship").random((n_orders, RELATIONSHIP_COLUMNS), dtype=np.float32)
    orders = Orders(
        customer=owner, day=day, amount=amount, due_day=due_day, received_day=received_day, error=error,
        error_disputed=error_disputed, strained=strained, decision_day=decision_day,
        takes_discount=takes_discount, deduction_share=deduction_share, relationship=relationship,
    )
    responses = {
        slot: substream(seed, replication, "responses", slot).random((n_orders, RESPONSE_COLUMNS), dtype=np.float32)
        for slot in sorted(set(response_slots) | {SLOT_ERROR_DISPUTE, SLOT_DEDUCTION})
    }
    return Book(customers=customers, orders=orders, responses=responses, total_days=total_days)


def uplift_exposure(pay_probability: float) -> float:
    """The integral A of the payment hazard a first contact adds: the one that triggers payment with
    ``pay_probability`` (see uplift_trigger_delay)."""
    if pay_probability <= 0:
        return 0.0
    return -math.log1p(-min(pay_probability, 1 - 1e-12))


def trigger_delay(exposure_total: float, decay_days: float, u: float) -> float:
    """Days until a hazard A/decay x exp(-t/decay) with integral A = ``exposure_total`` first fires, by
    inversion of one uniform draw u; inf if it never does."""
    if exposure_total <= 0:
        return math.inf
    exposure = -math.log1p(-u)
    if exposure >= exposure_total:
        return math.inf
    return -decay_days * math.log1p(-exposure / exposure_total)


def uplift_trigger_delay(*, pay_probability: float, fatigue_factor: float, decay_days: float, u: float) -> float:
    """Days from a contact until it triggers payment, or inf if it does not.

    A contact adds a payment hazard h(t) = A/decay x exp(-t/decay) that decays after it; its integral A is
    set so a first contact triggers payment with ``pay_probability``, and each further contact scales A by
    the fatigue factor. Sampling the first event of that hazard by inversion needs one uniform draw. Hazards
    of several contacts add up, which is exactly the minimum of their separately drawn trigger times.
    """
    return trigger_delay(uplift_exposure(pay_probability) * max(fatigue_factor, 0.0), decay_days, u)
