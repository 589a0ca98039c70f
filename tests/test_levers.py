"""Every lever has two sides: paired comparisons (common random numbers) on small worlds, and stories of the
mechanisms that carry each side (held orders, agency recoveries, penalties, unearned discounts, invoice errors,
default foreshadowed by lateness)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from arsim.analysis.compare import compare
from arsim.scenario.files import load_scenario
from arsim.sim.model import simulate
from arsim.sim.rules import counts_for_hold
from conftest import one_invoice_world, small_world

ROOT = Path(__file__).resolve().parent.parent


def _risky_world(**changes):
    """Two segments, one of them failing often, over a year and a half: defaults and write-offs happen."""
    data = {
        "portfolio": {"segments": [
            {"name": "steady", "customers": 200, "invoices_per_month": 1.5, "default_probability_per_year": 0.01},
            {"name": "shaky", "customers": 150, "invoices_per_month": 1.5, "default_probability_per_year": 0.15,
             "behaviour": {"late_share_normal": 0.4, "strained_share": 0.3}},
        ]},
        "team": {"collectors": 2},
        "run": {"horizon_days": 365, "warmup_days": 120, "seed": 5, "replications": 6},
    }
    from conftest import deep_update
    return small_world(**deep_update(data, changes))


def _diff(result, alternative: str, kpi: str):
    return result.of(alternative).loc[kpi]


# --------------------------------------------------------------------------------------- credit


@pytest.mark.slow
def test_credit_control_cuts_bad_debt():
    # Default is foreshadowed (strained, habitually late customers fail; a failing customer pays later and later),
    # so limits and holds stop orders to customers who are about to fail.
    base = _risky_world()
    open_credit = base.with_overrides({"policy.credit.limit_months_of_sales": None, "policy.credit.hold_days_past_due": None})
    result = compare(base, {"no credit control": open_credit}, save=False)
    bad_debt = _diff(result, "no credit control", "bad_debt_amount")
    assert bad_debt["diff"] > 0 and bad_debt["significant"], bad_debt.to_dict()
    sales = _diff(result, "no credit control", "sales")
    assert sales["diff"] > 0  # and the other side: credit control costs sales


def test_customers_who_default_pay_later_first():
    scenario = _risky_world(run={"replications": 1})
    frames = simulate(scenario).frames
    from arsim.sim.behaviour import draw_book
    book = draw_book(scenario, replication=0, response_slots=[])
    default_day = book.customers.default_day
    pay = frames["payment"]
    paid = pay[pay["closes"]].merge(frames["invoice_issued"][["invoice_id", "due_day"]], on="invoice_id")
    paid = paid.assign(days_late=paid["day"] - paid["due_day"], default=default_day[paid["customer_id"].to_numpy()])
    failing = paid[np.isfinite(paid["default"])]
    run_up = failing[failing["due_day"] >= failing["default"] - 120]
    before = failing[failing["due_day"] < failing["default"] - 120]
    survivors = paid[~np.isfinite(paid["default"])]
    assert len(run_up) > 30 and len(before) > 30
    assert run_up["days_late"].mean() > before["days_late"].mean() > survivors["days_late"].mean()


def test_the_segment_default_rate_is_kept_while_risk_is_shared_out():
    # The hazard is normalised: tying it to strain and lateness moves who defaults, not how many.
    from arsim.sim.behaviour import draw_book
    scenario = small_world(portfolio={"segments": [{"name": "a", "customers": 20000, "invoices_per_month": 0.1,
                                                    "default_probability_per_year": 0.1}]},
                           run={"warmup_days": 0, "horizon_days": 365})
    defaults = np.isfinite(draw_book(scenario, replication=0, response_slots=[]).customers.default_day).mean()
    assert defaults == pytest.approx(0.1, abs=0.012)


def test_the_hold_counts_only_what_is_really_owed():
    assert counts_for_hold(open_amount=500.0, under_query_or_dispute=False, min_amount=50.0)
    assert not counts_for_hold(open_amount=500.0, under_query_or_dispute=True, min_amount=50.0)
    assert not counts_for_hold(open_amount=12.0, under_query_or_dispute=False, min_amount=50.0)


def _two_orders(**policy):
    """One customer: an order on day 0 (due day 30, paid 10 days late) and one on day 35, while the first is overdue."""
    segment = {"name": "solo", "customers": 1, "invoices_per_month": 30.4375 / 35, "order_pattern": "regular", "order_rate_cv": 0,
               "amount": {"dist": "lognormal", "median": 1000, "sigma": 0}, "customer_amount_sigma": 0,
               "relationship": {"pay_to_release_probability": 0.0, "leave_probability_per_held_order": 0.0,
                                "leave_probability_per_lost_order": 0.0, "order_patience_days": {"dist": "fixed", "value": 30}}}
    scenario = one_invoice_world(policy={"credit": {"hold_days_past_due": 3, **policy}}, run={"horizon_days": 60})
    data = scenario.model_dump(mode="json")
    data["portfolio"]["segments"][0].update(segment)
    from arsim.scenario.schema import validate_scenario
    return validate_scenario(data, source="test")


def test_a_held_order_ships_when_the_overdue_invoice_is_paid():
    frames = simulate(_two_orders()).frames
    held = frames["order_held"]
    assert held[["day", "order_id", "reason"]].values.tolist() == [[35, 1, "credit_hold"]]
    paid_day = int(frames["payment"].loc[frames["payment"]["invoice_id"] == 0, "day"].iloc[0])
    issued = frames["invoice_issued"].set_index("invoice_id")
    assert paid_day > 35
    assert issued.loc[1, "day"] == paid_day  # cash is applied before the day's orders are checked
    assert issued.loc[1, "due_day"] == paid_day + 30  # its terms run from the day it shipped
    assert frames["order_refused"].empty


def test_a_held_order_is_lost_when_the_customer_runs_out_of_patience():
    scenario = _two_orders()
    data = scenario.model_dump(mode="json")
    data["portfolio"]["segments"][0]["relationship"]["order_patience_days"] = {"dist": "fixed", "value": 2}
    from arsim.scenario.schema import validate_scenario
    frames = simulate(validate_scenario(data, source="test")).frames
    lost = frames["order_refused"]
    assert lost[["day", "order_id", "reason"]].values.tolist() == [[37, 1, "held_too_long"]]  # held on day 35, for 2 days
    assert 1 not in set(frames["invoice_issued"]["invoice_id"])


# --------------------------------------------------------------------------------------- write-off


@pytest.mark.slow
def test_an_earlier_write_off_never_raises_collections_or_sales():
    base = _risky_world()
    early = base.with_overrides({"policy.write_off_days_past_due": 60})
    result = compare(base, {"early": early}, save=False)
    for kpi in ("collected", "sales"):
        row = _diff(result, "early", kpi)
        assert row["diff"] < 0, (kpi, row.to_dict())
        assert row["ci_low"] < 0 and not (row["significant"] and row["diff"] > 0)
    recovered = _diff(result, "early", "agency_recovered")
    assert recovered["diff"] > 0  # the agency gets more to work, and keeps its commission of it


def test_a_written_off_customer_is_blocked_and_the_agency_recovers_a_share():
    scenario = one_invoice_world(
        portfolio={"segments": [{"name": "solo", "customers": 1, "invoices_per_month": 2.0, "order_pattern": "regular", "order_rate_cv": 0,
                                 "amount": {"dist": "lognormal", "median": 1000, "sigma": 0}, "customer_amount_sigma": 0,
                                 "default_probability_per_year": 0,
                                 "behaviour": {"late_share_normal": 1.0, "strained_share": 0.0, "customer_lateness_sigma": 0,
                                               "customer_lateness_days_effect": 0, "weekly_run_share": 0,
                                               "days_late_normal": {"dist": "lognormal", "median": 200, "sigma": 0}}}]},
        policy={"write_off_days_past_due": 20},
        agency={"recovery_probability_solvent": 1.0, "recovered_share": {"dist": "uniform", "low": 0.5, "high": 0.5},
                "recovery_days": {"dist": "fixed", "value": 10}, "commission_share": 0.2},
        run={"horizon_days": 120},
    )
    frames = simulate(scenario).frames
    first_write_off = int(frames["write_off"]["day"].min())
    assert list(frames["customer_lost"]["reason"]) == ["written_off"]
    lost = frames["order_refused"]
    assert len(lost) > 0 and set(lost["reason"]) == {"written_off"} and (lost["day"] >= first_write_off).all()
    assert (frames["invoice_issued"]["day"] <= first_write_off).all()
    recovery = frames["agency_recovery"].iloc[0]
    assert recovery["recovered"] == pytest.approx(0.5 * recovery["placed"])
    assert recovery["commission"] == pytest.approx(0.2 * recovery["recovered"])
    assert recovery["day"] == first_write_off + 10


# --------------------------------------------------------------------------------------- invoice errors


@pytest.mark.slow
def test_more_invoice_errors_raise_disputes_and_dso():
    base = _risky_world(invoicing={"paper_error_rate": 0.02, "electronic_error_rate": 0.01})
    sloppy = base.with_overrides({"invoicing.paper_error_rate": 0.2, "invoicing.electronic_error_rate": 0.1})
    result = compare(base, {"sloppy": sloppy}, save=False)
    for kpi in ("disputes_opened", "dso", "error_cost", "net_cost"):
        row = _diff(result, "sloppy", kpi)
        assert row["diff"] > 0 and row["significant"], (kpi, row.to_dict())


def test_an_error_is_disputed_when_the_customer_comes_to_pay():
    scenario = one_invoice_world(invoicing={"electronic_error_rate": 1.0, "error_dispute_probability": 1.0},
                                 disputes={"credit_note_probability": 1.0, "credit_note_share": {"dist": "fixed", "value": 0.1}})
    frames = simulate(scenario).frames
    dispute = frames["dispute_opened"].iloc[0]
    assert dispute["cause"] == "invoice_error"
    assert dispute["time"] == pytest.approx(39.0)  # a day before it means to pay (due day 30 + 10 days late)
    credit = frames["write_off"].iloc[0]
    assert credit["kind"] == "credit_note" and credit["amount"] == pytest.approx(100.0)  # a correction, not a concession
    assert frames["payment"]["day"].iloc[0] > 40  # the dispute held the payment


# --------------------------------------------------------------------------------------- penalties


@pytest.mark.slow
def test_a_harsher_penalty_brings_income_and_its_costs():
    base = _risky_world(policy={"penalty": {"interest_percent_per_month": 0.5}})
    harsh = base.with_overrides({"policy.penalty.interest_percent_per_month": 3.0, "policy.penalty.fee": 100.0})
    result = compare(base, {"harsh": harsh}, save=False)
    for kpi in ("penalty_income", "penalties_contested", "customers_lost"):
        row = _diff(result, "harsh", kpi)
        assert row["diff"] > 0 and row["significant"], (kpi, row.to_dict())


# --------------------------------------------------------------------------------------- discounts


@pytest.mark.slow
def test_discount_uptake_rises_smoothly_with_the_discount():
    base = small_world(run={"replications": 3})
    uptake = []
    for percent in (0.5, 1.0, 2.0, 3.0):
        result = compare(base, {"d": base.with_overrides({"policy.discount.percent": percent})}, save=False)
        uptake.append(_diff(result, "d", "discount_uptake")["alternative_mean"])
    steps = np.diff(uptake)
    assert (steps > 0).all(), uptake
    # Without a jump: customers differ in cost of capital and in how fast their payables process can pay, so no
    # single step from 0.5% to 3% carries most of the rise.
    assert steps.max() < 0.6 * (uptake[-1] - uptake[0]), uptake


def test_unearned_discounts_are_chased_or_accepted():
    segment = {"name": "solo", "customers": 1, "invoices_per_month": 0.001, "order_pattern": "regular",
               "amount": {"dist": "lognormal", "median": 1000, "sigma": 0}, "customer_amount_sigma": 0,
               "default_probability_per_year": 0, "e_invoice_share": 1.0,
               "behaviour": {"late_share_normal": 1.0, "strained_share": 0.0, "customer_lateness_sigma": 0,
                             "customer_lateness_days_effect": 0, "weekly_run_share": 0, "deduction_probability": 0,
                             "days_late_normal": {"dist": "lognormal", "median": 10, "sigma": 0},
                             "discount_sensitive_share": 1.0, "cost_of_capital": {"dist": "lognormal", "median": 5.0, "sigma": 0},
                             "unearned_discount_probability": 1.0}}
    chased = one_invoice_world(portfolio={"segments": [segment]}, policy={"discount": {"percent": 2, "days": 10}},
                               disputes={"unearned_recovered_probability": 1.0})
    frames = simulate(chased).frames
    kinds = list(frames["payment"]["kind"])
    assert kinds == ["unearned_discount", "remainder"]
    assert frames["payment"]["collected"].sum() == pytest.approx(1000.0)  # chased and paid after all
    assert list(frames["dispute_opened"]["cause"]) == ["unearned_discount"]
    accepted = chased.with_overrides({"policy.discount.unearned": "accept"})
    frames = simulate(accepted).frames
    assert frames["payment"]["collected"].sum() == pytest.approx(980.0)
    assert frames["write_off"][["kind", "amount"]].values.tolist() == [["concession", pytest.approx(20.0)]]


# --------------------------------------------------------------------------------------- dunning


@pytest.mark.slow
def test_switching_dunning_off_costs_dso_in_the_documented_range():
    # docs/model.md: between 1 and 6 days on the baseline book (the reasoning and sources are there).
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml").with_overrides({"run.replications": 3, "run.horizon_days": 240})
    result = compare(base, {"off": base.with_overrides({"policy.dunning.enabled": False})}, save=False)
    dso = _diff(result, "off", "dso")
    assert dso["significant"] and 1.0 <= dso["diff"] <= 6.0, dso.to_dict()


def test_a_long_write_off_age_cannot_hide_a_default():
    # A default comes to light insolvency_notice_days later and all the failed customer owes is bad debt then, so
    # a write-off age longer than the run leaves no failed customer's invoice open and bad debt where it was.
    from arsim.sim.behaviour import draw_book
    base = _risky_world(run={"replications": 1})
    never = base.with_overrides({"policy.write_off_days_past_due": 100000})
    frames = simulate(never).frames
    notice = never.portfolio.segments[0].risk.insolvency_notice_days
    default_day = draw_book(never, replication=0, response_slots=[]).customers.default_day
    issued = frames["invoice_issued"]
    settled = pd.concat([frames["payment"].assign(amount=frames["payment"]["collected"] + frames["payment"]["discount"])[["invoice_id", "amount"]],
                         frames["write_off"][["invoice_id", "amount"]]]).groupby("invoice_id")["amount"].sum()
    open_amount = issued.set_index("invoice_id")["amount"] - settled.reindex(issued["invoice_id"]).fillna(0).to_numpy()
    failed_known = default_day[issued["customer_id"].to_numpy()] + notice < never.run.warmup_days + never.run.horizon_days
    assert failed_known.sum() > 50
    assert (open_amount.to_numpy()[failed_known] < 1e-6).all()
    assert simulate(base).frames["write_off"].query("kind == 'bad_debt'")["amount"].sum() > 0
    written = frames["write_off"].query("kind == 'bad_debt'")
    assert len(written) > 0 and np.isfinite(default_day[written["customer_id"].to_numpy()]).all()  # only failed customers'
