"""Contact plans do what they say: deferred, never dropped; strongest channel first; paused on open items."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from arsim.analysis.compare import compare
from arsim.measure.contacts import contact_delivery
from arsim.sim.model import simulate
from conftest import deep_update, one_invoice_world, small_world


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(row) for row in frame.itertuples(index=False)]


def _contacts(frames) -> list[tuple]:
    return [(round(t, 6), channel, step) for t, channel, step in frames["contact"][["time", "channel", "step"]].itertuples(index=False)]


CAPPED = {"dunning": {
    "steps": [{"day": 1, "channel": "email"}, {"day": 2, "channel": "call"}, {"day": 3, "channel": "letter"}],
    "min_days_between_contacts": 4,
}}


def test_a_weaker_contact_never_holds_back_a_stronger_one_and_a_capped_step_waits():
    # Invoice due day 30 (a Wednesday). Email on day 31; the call step on day 32 goes out although the email was
    # a day before (an email never holds back a call), and the call is made at 9:00 for 6 minutes. The letter,
    # due on day 33, a Saturday, so Monday day 35, must wait four days after the call step (day 32 -> day 36,
    # a Tuesday): it is deferred to then and sent, not dropped.
    frames = simulate(one_invoice_world(policy=CAPPED)).frames
    call_made = round(32 + 9 / 24 + 6 / 1440, 6)
    assert _contacts(frames) == [(31.0, "email", 0), (call_made, "call", 1), (36.0, "letter", 2)]
    assert _rows(frames["contact_deferred"]) == [(35.0, 0, 0, "letter", "contact_cap", 36.0)]
    assert frames["contact_skipped"].empty


def test_steps_due_on_one_day_go_out_strongest_first():
    # Two steps of one invoice fall due on the same day (day 31): the call is made, the email waits for the cap.
    scenario = one_invoice_world(policy={"dunning": {
        "steps": [{"day": 1, "channel": "email"}, {"day": 2, "channel": "call"}], "min_days_between_contacts": 3,
        "min_days_by_channel": {"call": 0},
    }})
    frames = simulate(scenario.with_overrides({"policy.dunning.steps": [{"day": 1, "channel": "call"}, {"day": 5, "channel": "email"}]})).frames
    call_made = round(31 + 9 / 24 + 6 / 1440, 6)
    # The email is due on day 35 (a Friday... day 35 is a Monday) and the call was on day 31: 4 days apart, so it goes.
    assert _contacts(frames) == [(call_made, "call", 0), (35.0, "email", 1)]
    # Same invoice, two customers' worth of steps on one day: an email and a call both due on day 31.
    both = scenario.with_overrides({"policy.dunning.steps": [{"day": 1, "channel": "email"}, {"day": 2, "channel": "call"}],
                                    "policy.dunning.min_days_by_channel": {}})
    frames = simulate(both).frames
    assert [c[1] for c in _contacts(frames)] == ["email", "call"]  # days 31 and 32: nothing to reorder
    assert frames["contact_skipped"].empty


def _paused_story(pause: bool):
    segment = one_invoice_world().portfolio.segments[0].model_dump(mode="json")
    segment = deep_update(segment, {"contact_response": {"channels": {"email": {"query_probability": 1.0}}}})
    return one_invoice_world(
        portfolio={"segments": [segment]},
        team={"collectors": 1, "minutes": {"query": {"dist": "fixed", "value": 600}}},
        policy={"dunning": {"steps": [{"day": 1, "channel": "email"}, {"day": 2, "channel": "email"}], "pause_while_open": pause}},
    )


def test_dunning_pauses_while_a_query_is_open_and_resumes_with_the_step_that_was_due():
    # The email on day 31 raises a query at 31.25 that takes 600 minutes: 420 on Thursday's shift, the rest on
    # Friday from 9:00, answered at day 32.5. The second email, due on day 32, waits for the answer and goes
    # out on the next business day, Monday day 35 (not on Saturday 33). Without the pause it goes on day 32.
    paused = simulate(_paused_story(True)).frames
    assert _rows(paused["query_answered"])[0][0] == 32.5
    assert [c for c in _contacts(paused) if c[2] >= 0] == [(31.0, "email", 0), (35.0, "email", 1)]
    assert paused["contact_skipped"].empty
    unpaused = simulate(_paused_story(False)).frames
    assert [c for c in _contacts(unpaused) if c[2] >= 0][:2] == [(31.0, "email", 0), (32.0, "email", 1)]


def test_a_step_still_waiting_when_its_invoice_closes_is_recorded_with_why():
    # As above, the letter waits for the cap until day 36, but the customer pays on day 36 (six days late), and a
    # payment goes before the day's contacts: the letter is recorded as not sent because of the contact cap.
    scenario = one_invoice_world(policy=CAPPED)
    segment = deep_update(scenario.portfolio.segments[0].model_dump(mode="json"),
                          {"behaviour": {"days_late_normal": {"dist": "lognormal", "median": 6, "sigma": 0}}})
    frames = simulate(scenario.with_overrides({"portfolio.segments": [segment]})).frames
    assert _rows(frames["payment"])[0][0] == 36
    assert [(t, ch, reason) for t, _, _, ch, reason in _rows(frames["contact_skipped"])] == [(36.0, "letter", "contact_cap")]


def test_doubling_emails_never_makes_the_cap_hold_back_a_call():
    """Under common random numbers, with twice the emails, every call the contact cap holds back is held back by
    another call (or an agency hand-over) to the same customer within the cap, never by an email; and the
    doubled emails are delivered, not silently dropped."""
    base = small_world(policy={"dunning": {"min_days_between_contacts": 3}})
    one = simulate(base).frames
    two = simulate(base.with_overrides({"policy.dunning.volume": {"email": 2.0}})).frames
    deferred = two["contact_deferred"]
    capped_calls = deferred[(deferred["channel"] == "call") & (deferred["reason"] == "contact_cap")]
    strong = pd.concat([
        two["task_created"].loc[two["task_created"]["kind"] == "call", ["time", "invoice_id"]],  # a call counts from its step
        two["contact"].loc[two["contact"]["channel"] == "agency", ["time", "invoice_id"]],
    ]).merge(two["invoice_issued"][["invoice_id", "customer_id"]], on="invoice_id")
    for row in capped_calls.itertuples(index=False):
        mine = strong[(strong["customer_id"] == row.customer_id) & (strong["time"] <= row.time) & (strong["time"] > row.time - 3 - 1e-9)]
        assert len(mine), f"a call held back by something other than a call: {row}"
    assert len(capped_calls), "the cap binds between calls in this world"
    # Every email the plan asks for is sent or recorded as not sent with its reason: the plan doubles, and
    # what the cap cannot deliver shows (most of it overtaken by the invoice's next step).
    delivery_one, delivery_two = (contact_delivery(f, start=0, end=10_000) for f in (one, two))
    assert delivery_two["contacts_planned_email"] > 1.8 * delivery_one["contacts_planned_email"]
    assert int((two["contact"]["channel"] == "email").sum()) > int((one["contact"]["channel"] == "email").sum())
    assert delivery_two["contacts_not_sent_email_overtaken"] > delivery_one["contacts_not_sent_email_overtaken"]


def test_every_planned_contact_is_sent_or_recorded_as_not_sent():
    frames = simulate(small_world(policy={"dunning": {"min_days_between_contacts": 5, "volume": {"email": 2.0, "call": 1.5}}})).frames
    skipped = frames["contact_skipped"]
    assert set(skipped["reason"].astype(str)) <= {"contact_cap", "paused", "awaiting_collector", "overtaken"}
    # A step not sent while its invoice is open was overtaken by the next step; any other belongs to an
    # invoice that closed at that moment (nothing is dropped unrecorded while the invoice is open).
    skipped = skipped[skipped["reason"] != "overtaken"]
    closed_at = pd.concat([frames["payment"][["invoice_id", "day"]], frames["write_off"][["invoice_id", "day"]]]).groupby("invoice_id")["day"].max()
    assert (skipped["time"].round().to_numpy() == closed_at.reindex(skipped["invoice_id"]).to_numpy()).all()


def test_run_says_in_one_line_when_the_plan_delivers_much_less_than_it_asks(tmp_path, capsys):
    from arsim.cli.main import main

    small = ["--set", "portfolio.segments.prompt.customers=60", "--set", "portfolio.segments.slow.customers=40",
             "--set", "run.horizon_days=120", "--set", "run.warmup_days=60", "--replications", "1"]
    smb = str(Path(__file__).resolve().parents[1] / "scenarios" / "smb.yaml")
    crowded = ["--set", "policy.dunning.volume={email: 3}", "--set", "policy.dunning.min_days_between_contacts=10"]
    assert main(["run", smb, *small, *crowded, "--out", str(tmp_path / "a")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "contact plan delivers" in line]
    assert len(lines) == 1 and "emails" in lines[0] and "min_days_by_channel" in lines[0]
    assert main(["run", smb, *small, "--out", str(tmp_path / "b")]) == 0
    assert "contact plan delivers" not in capsys.readouterr().err


@pytest.mark.slow
def test_the_double_the_contacts_plan_needs_a_team_that_can_answer_the_replies():
    """The worked example of docs/whatif.md in small: calls +25% and emails to about twice the contacts.

    With one collector the extra replies take the time the calls needed, so calls are left undone; with three
    the plan is delivered (about twice the emails, calls kept) and the queries are still answered in time.
    """
    plan = {"policy.dunning.volume": {"email": 2.5, "call": 1.25}, "policy.dunning.min_days_by_channel": {"email": 1}}
    delivered = {}
    for team in (1, 3):
        today = small_world(team={"collectors": team}, run={"replications": 3})
        result = compare(today, {"plan": today.with_overrides(plan)}, replications=3, save=False).of("plan")
        delivered[team] = result
        assert result.loc["contacts_email", "alternative_mean"] > 1.8 * result.loc["contacts_email", "baseline"]
        assert result.loc["queries_opened", "diff"] > 0  # more contacts, more replies
    short, carried = delivered[1], delivered[3]
    assert short.loc["contacts_call", "alternative_mean"] < short.loc["contacts_call", "baseline"]  # calls crowded out by replies
    assert carried.loc["contacts_call", "alternative_mean"] > 0.9 * carried.loc["contacts_call", "baseline"]
    assert carried.loc["query_sla_attainment", "alternative_mean"] >= carried.loc["query_sla_attainment", "baseline"] - 0.02
