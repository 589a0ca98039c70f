"""The simulation against theory: Little's law, Erlang C, and directional claims under common random numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arsim.experiment.statistics import erlang_c_mean_wait
from arsim.measure.simulated import movements_from_frames, paid_days
from arsim.scenario.schema import validate_scenario
from arsim.sim.model import simulate
from conftest import QUIET_CHANNEL, small_world


def littles_law_sides() -> tuple[float, float, float]:
    """Average AR, daily sales and amount-weighted days to collect over 10 years with contacts off."""
    scenario = small_world(
        portfolio={"segments": [{"name": "all", "customers": 150, "invoices_per_month": 1.5,
                                 "default_probability_per_year": 0.0,
                                 "behaviour": {"deduction_probability": 0.0}}]},
        invoicing={"paper_error_rate": 0, "electronic_error_rate": 0},
        policy={"dunning": {"enabled": False}, "write_off_days_past_due": 100000,
                "credit": {"limit_months_of_sales": None, "hold_days_past_due": None}},
        run={"horizon_days": 3650, "warmup_days": 365, "seed": 3},
    )
    result = simulate(scenario)
    start, end = result.warmup_days, result.total_days
    movements = movements_from_frames(result.frames)
    average_ar = movements.average_balance(start, end)
    daily_sales = movements.sales(start, end) / (end - start)
    issued = result.frames["invoice_issued"].set_index("invoice_id")
    paid = paid_days(result.frames)
    paid = paid[(paid >= start) & (paid < end)]
    amounts = issued.loc[paid.index, "amount"]
    days_to_collect = paid - issued.loc[paid.index, "day"]
    weighted_days = float((amounts * days_to_collect).sum() / amounts.sum())
    return average_ar, daily_sales, weighted_days


def test_littles_law_average_ar_equals_daily_sales_times_days_to_collect():
    average_ar, daily_sales, weighted_days = littles_law_sides()
    assert average_ar == pytest.approx(daily_sales * weighted_days, rel=0.02)


def _erlang_world(*, collectors: int, load: float, mean_minutes: float, seed: int):
    """Queries as a Poisson stream, exponential answer times, FIFO, collectors working around the clock.

    Orders are Poisson, so each day's reminders are a Poisson count; each reminder is a query after a
    Uniform(0, 1) day delay, which spreads each day's count evenly over the day: together exactly a
    homogeneous Poisson stream. (An exponential delay would not do: the stream's intensity would peak
    after midnight every day, and such a periodic stream queues measurably worse than Erlang C says.)"""
    queries_per_day = load * collectors * 1440.0 / mean_minutes
    customers = 400
    channel = QUIET_CHANNEL | {"query_probability": 1.0}
    data = {
        "calendar": {"business_weekdays": [0, 1, 2, 3, 4, 5, 6]},
        "portfolio": {"segments": [{
            "name": "all", "customers": customers, "order_rate_cv": 0.0,
            "invoices_per_month": queries_per_day / customers * 365.25 / 12,
            "default_probability_per_year": 0.0,
            # Nobody pays before the reminder, so every invoice yields exactly one query.
            "behaviour": {"deduction_probability": 0.0, "early_share": 0.0},
            "contact_response": {"channels": {"email": channel},
                                 "reply_delay_days": {"dist": "uniform", "low": 0.0, "high": 1.0},
                                 "resume_days": {"dist": "fixed", "value": 0}},
        }]},
        "invoicing": {"paper_error_rate": 0, "electronic_error_rate": 0},
        "team": {"collectors": collectors, "hours_per_day": 24, "shift_start_hour": 0,
                 "working_weekdays": [0, 1, 2, 3, 4, 5, 6],
                 "minutes": {"query": {"dist": "exponential", "mean": mean_minutes}}},
        "policy": {"dunning": {"steps": [{"day": -5, "channel": "email"}], "min_days_between_contacts": 0},
                   "worklist_rule": "fifo", "credit": {"limit_months_of_sales": None, "hold_days_past_due": None},
                   # No write-off inside the run: a written-off customer is blocked, which would thin the order stream.
                   "write_off_days_past_due": 100000},
        "run": {"horizon_days": 1500, "warmup_days": 60, "seed": seed},
    }
    return validate_scenario(data, source="erlang"), queries_per_day


def erlang_c_sides(*, collectors: int, load: float, mean_minutes: float = 60.0) -> dict[str, float]:
    """Simulated mean wait before service (two seeds pooled) and the Erlang C wait for the realised stream."""
    waits, arrivals, days = [], 0, 0
    for seed in (1, 2):
        scenario, planned_per_day = _erlang_world(collectors=collectors, load=load, mean_minutes=mean_minutes, seed=seed)
        result = simulate(scenario)
        frames = result.frames
        raised = frames["query_raised"]
        raised = raised[raised["time"] >= result.warmup_days]
        answered = frames["query_answered"].merge(raised[["query_id", "time"]].rename(columns={"time": "raised"}), on="query_id")
        waits.append(answered["started"] - answered["raised"])
        arrivals += len(raised)
        days += result.total_days - result.warmup_days
    queries_per_day = arrivals / days
    return {
        "queries": arrivals, "queries_per_day": queries_per_day, "planned_per_day": planned_per_day,
        "simulated": float(np.concatenate(waits).mean()),
        "theory": erlang_c_mean_wait(servers=collectors, arrival_rate=queries_per_day, service_rate=1440.0 / mean_minutes),
    }


@pytest.mark.slow
@pytest.mark.parametrize("collectors, load", [(1, 0.6), (3, 0.8)])
def test_query_wait_matches_erlang_c(collectors, load):
    sides = erlang_c_sides(collectors=collectors, load=load)
    assert sides["queries_per_day"] == pytest.approx(sides["planned_per_day"], rel=0.03)  # the stream is the one planned
    assert sides["simulated"] == pytest.approx(sides["theory"], rel=0.05)


def _query_waits(frames) -> pd.Series:
    """Wait (raised -> answered) of each query, keyed by the invoice and the moment it was raised."""
    answered = frames["query_answered"].merge(frames["query_raised"], on="query_id", suffixes=("", "_raised"))
    return (answered["time"] - answered["time_raised"]).set_axis(pd.MultiIndex.from_arrays([answered["invoice_id"], answered["time_raised"].round(9)]))


WRITTEN_DUNNING = [{"day": -5, "channel": "email"}, {"day": 1, "channel": "email"}, {"day": 7, "channel": "letter"},
                   {"day": 21, "channel": "letter"}, {"day": 45, "channel": "letter"}]


@pytest.mark.parametrize("steps, coupled", [(WRITTEN_DUNNING, 0.99), (None, 0.8)], ids=["written dunning", "with calls"])
def test_more_collectors_never_raise_query_waiting_time(steps, coupled):
    """Under common random numbers the same invoices raise the same queries at the same moments, except where
    faster answers changed later events; over the queries both staffings share, the mean wait must not rise.

    With written dunning only, no contact depends on the collectors, so (nearly) every query is shared. With
    calls, a call is made when a collector gets to it and paused dunning resumes when a query is answered, so
    a larger team moves later contacts and the queries they raise: fewer queries are shared, and the share
    required is lower, but the pathwise comparison over them is the same.
    """
    policy = {"dunning": {"steps": steps}} if steps else {}
    waits = [_query_waits(simulate(small_world(team={"collectors": c}, policy=policy)).frames) for c in (1, 2, 3, 4)]
    for fewer, more in zip(waits, waits[1:]):
        shared = fewer.index.intersection(more.index)
        assert len(shared) > coupled * len(fewer)
        assert more.loc[shared].mean() <= fewer.loc[shared].mean() + 1e-12
    assert waits[-1].mean() < waits[0].mean()


def test_a_larger_discount_never_lowers_uptake():
    uptake = []
    for percent in (0.5, 1.0, 2.0, 3.0):
        scenario = small_world(policy={"discount": {"percent": percent, "days": 10}, "credit": {"limit_months_of_sales": None, "hold_days_past_due": None}})
        frames = simulate(scenario).frames
        discounted = set(frames["payment"].loc[frames["payment"]["discount"] > 0, "invoice_id"])
        uptake.append(discounted)
    # Pathwise under common random numbers: every invoice discounted at a smaller discount is discounted at a larger one.
    for smaller, larger in zip(uptake, uptake[1:]):
        assert smaller <= larger
    assert len(uptake[-1]) > len(uptake[0])
