"""The model as small stories with exact event logs, plus properties that must hold for any scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arsim.scenario.schema import Team, validate_scenario
from arsim.sim.calendar import ShiftCalendar
from arsim.sim.model import simulate
from conftest import deep_update, one_invoice_world, small_world


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(row) for row in frame.itertuples(index=False)]


def _only_tables(frames: dict[str, pd.DataFrame], names: set[str]) -> None:
    non_empty = {name for name, frame in frames.items() if len(frame)}
    assert non_empty == names


def test_one_invoice_exact_event_log():
    # Invoice on Monday day 0, due day 30 (Wednesday); reminder the day after; the customer decides to pay
    # 10 days late, on day 40, a Saturday, so the payment lands on Monday day 42.
    frames = simulate(one_invoice_world()).frames
    _only_tables(frames, {"invoice_issued", "contact", "payment"})
    assert _rows(frames["invoice_issued"]) == [(0, 0, 0, "solo", 1000.0, 30, True, False)]
    assert _rows(frames["contact"]) == [(31.0, 0, 0, "email", 0, True)]
    assert _rows(frames["payment"]) == [(42, 0, 0, 1000.0, 0.0, 0.0, True, "full")]


def _query_story(collectors: int, **extra):
    return one_invoice_world(
        portfolio={"segments": [deep_update(one_invoice_world().portfolio.segments[0].model_dump(mode="json"), {
            "contact_response": {"channels": {"email": {"query_probability": 1.0}}},
            "behaviour": {"days_late_normal": {"dist": "lognormal", "median": 2, "sigma": 0}},
        })]},
        team={"collectors": collectors}, **extra,
    )


def test_a_query_holds_payment_until_answered():
    # The reminder on day 31 provokes a query 6 hours later (day 31.25, before the 9:00 shift). The collector
    # answers it at 9:00 in 30 minutes; the customer pays 2 days after the answer, in the first business-day
    # run: day 33.4 -> day 34 is a Sunday -> Monday day 35. Without the query it would have paid on day 32.
    frames = simulate(_query_story(1)).frames
    answered = 31.375 + 30 / 1440
    assert _rows(frames["query_raised"]) == [(31.25, 1, 0, 0)]
    assert _rows(frames["work"]) == [(0, 1, "query", 31.375, answered)]
    assert _rows(frames["query_answered"]) == [(answered, 1, 31.375)]
    assert _rows(frames["payment"]) == [(35, 0, 0, 1000.0, 0.0, 0.0, True, "full")]
    quiet = _query_story(1).with_overrides({"portfolio.segments.solo.contact_response.channels.email.query_probability": 0.0})
    assert _rows(simulate(quiet).frames["payment"]) == [(32, 0, 0, 1000.0, 0.0, 0.0, True, "full")]


def test_without_collectors_an_unanswered_query_ends_in_write_off():
    # The capacity trap in miniature: nobody answers, the customer never pays, the invoice is written off
    # 180 days past due (day 210).
    frames = simulate(_query_story(0, run={"horizon_days": 250})).frames
    assert frames["payment"].empty
    assert _rows(frames["write_off"]) == [(210, 0, 0, 1000.0, "bad_debt")]
    assert frames["query_answered"].empty


def test_a_call_takes_collector_time_and_is_made_in_the_shift():
    scenario = one_invoice_world(policy={"dunning": {"steps": [{"day": 1, "channel": "call"}]}})
    frames = simulate(scenario).frames
    # Day 31 is a Thursday: the call task appears at 0:00 and is made at 9:00 for 6 minutes.
    assert _rows(frames["work"]) == [(0, 1, "call", 31.375, 31.375 + 6 / 1440)]
    assert _rows(frames["contact"]) == [(31.375 + 6 / 1440, 0, 0, "call", 0, True)]


def test_a_discount_taker_pays_inside_the_window():
    segment = one_invoice_world().portfolio.segments[0].model_dump(mode="json")
    segment["behaviour"] |= {"discount_sensitive_share": 1.0, "cost_of_capital": {"dist": "lognormal", "median": 0.05, "sigma": 0}}
    scenario = one_invoice_world(portfolio={"segments": [segment]}, policy={"discount": {"percent": 2, "days": 10}})
    frames = simulate(scenario).frames
    # 2/10 net 30 is worth 37% a year, more than the customer's 5%: it pays on day 10 (a Thursday) and keeps 2%.
    assert _rows(frames["payment"]) == [(10, 0, 0, 980.0, 20.0, 0.0, True, "full")]


def test_an_uncontested_penalty_is_income_when_paid():
    scenario = one_invoice_world(policy={"penalty": {"interest_percent_per_month": 1.5, "fee": 40}})
    data = scenario.model_dump(mode="json")
    data["portfolio"]["segments"][0]["relationship"].update(penalty_collect_share=1.0, penalty_contest_probability=0.0)
    scenario = validate_scenario(data, source="test")
    frames = simulate(scenario).frames
    payment = frames["payment"].iloc[0]
    days_late = payment["day"] - 30
    assert days_late > 0
    charged = 1000 * 0.015 * days_late / 30 + 40
    assert payment["penalty_income"] == pytest.approx(charged)
    settled = frames["penalty_settled"]
    assert settled[["charged", "collected"]].to_numpy().tolist() == [[pytest.approx(charged), pytest.approx(charged)]]
    assert list(settled["outcome"]) == ["paid"]


def test_a_contested_penalty_takes_a_collector_and_may_be_waived():
    scenario = one_invoice_world(policy={"penalty": {"fee": 40, "waive_probability": 1.0}})
    data = scenario.model_dump(mode="json")
    data["portfolio"]["segments"][0]["relationship"].update(penalty_contest_probability=1.0)
    scenario = validate_scenario(data, source="test")
    frames = simulate(scenario).frames
    assert frames["payment"]["penalty_income"].sum() == 0  # nothing collected with the payment
    assert list(frames["penalty_settled"]["outcome"]) == ["waived"]
    assert frames["penalty_settled"]["collected"].sum() == 0
    assert len(frames["query_raised"]) == 1 and len(frames["query_answered"]) == 1  # a collector answered the query
    assert list(frames["work"]["kind"]) == ["query"]


def test_the_shift_calendar_gives_exact_minutes():
    team = Team(hours_per_day=7, shift_start_hour=9)
    calendar = ShiftCalendar(team, start_weekday=0)
    assert calendar.minutes_between(0, 7) == pytest.approx(5 * 7 * 60)
    assert calendar.shift_end(0.5) == pytest.approx(16 / 24)
    assert calendar.shift_end(5.5) is None  # Saturday
    assert calendar.next_start(4.9) == pytest.approx(7 + 9 / 24)  # Friday evening -> Monday 9:00


# ---------------------------------------------------------------------------------------------- properties


@st.composite
def worlds(draw):
    segments = []
    for index in range(draw(st.integers(1, 2))):
        segments.append({
            "name": f"s{index}",
            "customers": draw(st.integers(1, 25)),
            "invoices_per_month": draw(st.floats(0.3, 4.0)),
            "terms_days": draw(st.sampled_from([0, 10, 30, 60])),
            "default_probability_per_year": draw(st.sampled_from([0.0, 0.05, 0.5])),
            "statement_terms_share": draw(st.sampled_from([0.0, 0.5])),
            "e_invoice_share": draw(st.floats(0, 1)),
            "behaviour": {
                "late_share_normal": draw(st.floats(0, 1)),
                "strained_share": draw(st.floats(0, 0.9)),
                "deduction_probability": draw(st.floats(0, 0.5)),
                "weekly_run_share": draw(st.floats(0, 1)),
                "discount_sensitive_share": draw(st.floats(0, 1)),
                "unearned_discount_probability": draw(st.sampled_from([0.0, 0.5])),
            },
            "relationship": {
                "order_patience_days": {"dist": "exponential", "mean": draw(st.sampled_from([1.0, 20.0]))},
                "pay_to_release_probability": draw(st.floats(0, 1)),
                "leave_probability_per_lost_order": draw(st.sampled_from([0.0, 0.5])),
                "leave_probability_per_penalty": draw(st.sampled_from([0.0, 0.2])),
                "penalty_contest_probability": draw(st.sampled_from([0.0, 0.3, 0.9])),
                "plan_acceptance_probability": 0.8,
            },
            "risk": {"distress_days": draw(st.sampled_from([0, 120])), "classes": draw(st.sampled_from([
                [{"share": 1.0}], [{"share": 0.7}, {"share": 0.3, "hazard_multiplier": 4.0, "lateness_shift": 1.0}]]))},
            "contact_response": {"channels": {"call": {
                "reach_probability": draw(st.floats(0, 1)), "query_probability": draw(st.floats(0, 0.5)),
                "promise_probability": draw(st.floats(0, 0.3)), "dispute_probability": draw(st.floats(0, 0.2)),
            }}},
        })
    weekdays = draw(st.sampled_from([[0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5, 6], [1, 3]]))
    data = {
        "portfolio": {"segments": segments},
        "invoicing": {"paper_error_rate": draw(st.floats(0, 0.3))},
        "team": {
            "collectors": draw(st.integers(0, 3)), "hours_per_day": draw(st.sampled_from([2.0, 7.5, 24.0])),
            "shift_start_hour": 6, "working_weekdays": weekdays,
        },
        "policy": {
            "discount": {"percent": draw(st.sampled_from([0, 1, 2.5])), "days": 10, "unearned": draw(st.sampled_from(["accept", "chase"]))},
            "penalty": {"interest_percent_per_month": draw(st.sampled_from([0, 2])), "fee": draw(st.sampled_from([0, 25])),
                        "waive_probability": draw(st.sampled_from([0.0, 0.6]))},
            "agency": {"enabled": draw(st.booleans())},
            "dunning": {"min_days_between_contacts": draw(st.sampled_from([0, 3, 14])), "enabled": draw(st.booleans())},
            "worklist_rule": draw(st.sampled_from(["task_type", "fifo", "amount_at_risk", "days_past_due"])),
            "write_off_days_past_due": draw(st.sampled_from([20, 45.5, 180])),
            "payment_plan": {"enabled": draw(st.booleans()), "min_days_past_due": 10},
            "credit": {"limit_months_of_sales": draw(st.sampled_from([None, 1.0, 6.0])), "hold_days_past_due": draw(st.sampled_from([None, 30])),
                       "review_over_limit": draw(st.booleans()), "hold_min_amount": draw(st.sampled_from([0.0, 500.0]))},
        },
        "agency": {"recovery_probability_insolvent": draw(st.sampled_from([0.0, 0.5]))},
        "run": {"horizon_days": draw(st.integers(30, 200)), "warmup_days": draw(st.integers(0, 60)), "seed": draw(st.integers(0, 10**6))},
    }
    if data["team"]["hours_per_day"] == 24.0:
        data["team"]["shift_start_hour"] = 0
    if data["team"]["collectors"] == 0:  # no one to make calls: a team without collectors dunns in writing only
        data["policy"]["dunning"]["steps"] = [{"day": -5, "channel": "email"}, {"day": 1, "channel": "email"}, {"day": 21, "channel": "letter"}]
    return validate_scenario(data, source="hypothesis")


PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(worlds())
def test_money_is_conserved(scenario):
    result = simulate(scenario)
    frames = result.frames
    invoiced = frames["invoice_issued"]["amount"].sum()
    collected = frames["payment"]["collected"].sum()
    discounts = frames["payment"]["discount"].sum()
    written_off = frames["write_off"]["amount"].sum()
    assert invoiced == pytest.approx(collected + discounts + written_off + result.open_amount_end, rel=1e-9, abs=1e-6)
    assert result.open_amount_end >= -1e-6
    # Money outside the invoices: an agency never recovers more than it was given, nor keeps more than it got; a
    # penalty never brings in more than was charged.
    recoveries, penalties = frames["agency_recovery"], frames["penalty_settled"]
    assert (recoveries["recovered"] <= recoveries["placed"] + 1e-9).all()
    assert ((recoveries["commission"] >= 0) & (recoveries["commission"] <= recoveries["recovered"] + 1e-9)).all()
    assert ((penalties["collected"] >= 0) & (penalties["collected"] <= penalties["charged"] + 1e-9)).all()
    placed = frames["write_off"].query("kind == 'bad_debt'").set_index("invoice_id")["amount"]
    assert np.allclose(recoveries["placed"].to_numpy(), placed.reindex(recoveries["invoice_id"]).to_numpy())


@PROPERTY_SETTINGS
@given(worlds())
def test_every_order_ships_once_is_lost_once_or_still_waits(scenario):
    result = simulate(scenario)
    frames = result.frames
    issued = frames["invoice_issued"]["invoice_id"]
    lost = frames["order_refused"]["order_id"]
    assert not issued.duplicated().any() and not lost.duplicated().any()
    assert not set(issued) & set(lost)
    held = frames["order_held"]
    assert not held["order_id"].duplicated().any()  # an order is held once, and waits until it ships or is lost
    still_waiting = set(held["order_id"]) - set(issued) - set(lost)
    assert len(issued) + len(lost) + len(still_waiting) == result.orders
    # A held order ships on or after the day it was held, never before its order day.
    shipped = frames["invoice_issued"].set_index("invoice_id").reindex(held["order_id"])
    waited = shipped["day"].notna()
    assert (shipped.loc[waited.to_numpy(), "day"].to_numpy() >= held.loc[waited.to_numpy(), "day"].to_numpy()).all()
    # Nobody leaves twice.
    assert not frames["customer_lost"]["customer_id"].duplicated().any()
    # A customer's due dates never fall back in the order its invoices were issued, held orders shipped late
    # included (statement terms too): the credit hold's scan of the oldest invoices relies on it.
    issued_in_order = frames["invoice_issued"].sort_values(["day", "invoice_id"], kind="stable")
    assert (issued_in_order.groupby("customer_id")["due_day"].diff().dropna() >= 0).all()


@PROPERTY_SETTINGS
@given(worlds())
def test_no_payment_precedes_its_invoice_and_none_on_closed_days(scenario):
    frames = simulate(scenario).frames
    issued = frames["invoice_issued"].set_index("invoice_id")["day"]
    payments = frames["payment"]
    assert (payments["day"].to_numpy() >= issued.loc[payments["invoice_id"]].to_numpy()).all()
    weekday = (scenario.calendar.start_date.weekday() + payments["day"]) % 7
    assert weekday.isin(scenario.calendar.business_weekdays).all()
    # Each invoice is settled at most once in full.
    assert not payments.loc[payments["closes"], "invoice_id"].duplicated().any()
    # A customer that has failed pays nothing more.
    from arsim.sim.behaviour import draw_book
    default_day = draw_book(scenario, replication=0, response_slots=[]).customers.default_day
    assert (payments["day"].to_numpy() < default_day[payments["customer_id"].to_numpy()]).all()


@PROPERTY_SETTINGS
@given(worlds())
def test_no_invoice_stays_open_past_its_write_off_threshold(scenario):
    # Every open invoice keeps a live wake-up, so one that is neither paid nor on a payment plan is written off
    # once it is write_off_days_past_due past due (a fractional threshold included), whatever else happened.
    result = simulate(scenario)
    frames = result.frames
    issued = frames["invoice_issued"].set_index("invoice_id")
    settled = pd.concat([
        frames["payment"].groupby("invoice_id")[["collected", "discount"]].sum().sum(axis=1),
        frames["write_off"].groupby("invoice_id")["amount"].sum(),
    ]).groupby(level=0).sum()
    still_open = issued["amount"] - settled.reindex(issued.index, fill_value=0.0) > 1e-6 * issued["amount"]
    overdue = issued["due_day"] + scenario.policy.write_off_days_past_due < result.total_days - 1
    on_plan = issued.index.isin(frames["plan_agreed"]["invoice_id"])
    assert not (still_open & overdue & ~on_plan).any()


@PROPERTY_SETTINGS
@given(worlds())
def test_collectors_never_work_more_than_their_shifts(scenario):
    frames = simulate(scenario).frames
    work = frames["work"]
    if work.empty:
        return
    team = scenario.team
    calendar = ShiftCalendar(team, start_weekday=scenario.calendar.start_date.weekday())
    assert (work["end"] >= work["start"]).all()
    assert work["collector"].between(0, team.collectors - 1).all()
    for row in work.itertuples(index=False):
        # Every stretch of work lies inside one shift.
        end_of_shift = calendar.shift_end(row.start)
        assert end_of_shift is not None and row.end <= end_of_shift + 1e-9
    # And no collector is in two places at once: per collector, stretches do not overlap.
    for _, own in work.sort_values(["collector", "start"]).groupby("collector"):
        assert (own["start"].to_numpy()[1:] >= own["end"].to_numpy()[:-1] - 1e-9).all()
    per_day = work.assign(day=np.floor(work["start"]).astype(int), minutes=(work["end"] - work["start"]) * 1440)
    assert (per_day.groupby(["collector", "day"])["minutes"].sum() <= team.hours_per_day * 60 + 1e-6).all()


# ---------------------------------------------------------------------------------------------- reproducibility


def _same(a, b) -> bool:
    return all(a.frames[name].equals(b.frames[name]) for name in a.frames)


def test_same_seed_same_events_other_seed_differs():
    scenario = small_world()
    assert _same(simulate(scenario, replication=0), simulate(scenario, replication=0))
    assert not _same(simulate(scenario, replication=0), simulate(scenario, replication=1))
    other = scenario.with_overrides({"run.seed": 12})
    assert not simulate(other).frames["invoice_issued"].equals(simulate(scenario).frames["invoice_issued"])


def test_a_dunning_change_leaves_invoices_identical():
    # Common random numbers: with credit limits and holds off, and no write-off inside the run (a write-off blocks
    # the customer), no policy lever changes which invoices exist.
    base = small_world(policy={"credit": {"limit_months_of_sales": None, "hold_days_past_due": None}, "write_off_days_past_due": 1000})
    harsher = base.with_overrides({
        "policy.dunning.steps": [{"day": -3, "channel": "call"}, {"day": 2, "channel": "call"}, {"day": 10, "channel": "letter"}],
        "policy.dunning.min_days_between_contacts": 0,
        "team.collectors": 3,
    })
    a, b = simulate(base).frames, simulate(harsher).frames
    assert a["invoice_issued"].equals(b["invoice_issued"])
    assert not a["payment"].equals(b["payment"])  # the policy did change something


def test_contact_volume_plans_repeats_and_thins():
    from arsim.scenario.schema import DunningStep
    from arsim.sim.rules import planned_contacts

    steps = (DunningStep(day=1, channel="email"), DunningStep(day=7, channel="call"))
    plan = planned_contacts(steps, volume={"email": 2.5, "call": 0.5}, repeat_gap_days=3)
    assert [(c.day, c.channel, c.step, c.repeat, c.send_probability) for c in plan] == [
        (1, "email", 0, 0, 1.0), (4, "email", 0, 1, 1.0), (7, "email", 0, 2, 0.5), (7, "call", 1, 0, 0.5),
    ]
    assert planned_contacts(steps, volume={"call": 0.0}, repeat_gap_days=3) == [plan[0]]


def test_more_email_volume_sends_more_emails_and_keeps_shared_draws():
    base = small_world(policy={"credit": {"limit_months_of_sales": None, "hold_days_past_due": None}, "dunning": {"min_days_between_contacts": 0}})
    doubled = base.with_overrides({"policy.dunning.volume": {"email": 2.0}})
    a, b = simulate(base).frames, simulate(doubled).frames
    emails_a = (a["contact"]["channel"] == "email").sum()
    emails_b = (b["contact"]["channel"] == "email").sum()
    assert 1.5 * emails_a < emails_b <= 2 * emails_a
    # The first pre-due reminder of every invoice is the same contact under both plans (same draws).
    def first(f):
        return f["contact"][(f["contact"]["step"] == 0)].drop_duplicates("invoice_id").set_index("invoice_id")
    common = first(a).index.intersection(first(b).index)
    assert len(common) > 100
    assert first(a).loc[common, "reached"].equals(first(b).loc[common, "reached"])
