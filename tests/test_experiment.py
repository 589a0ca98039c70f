"""Experiment layer: the auto-replication stopping rule, MSER-5 warm-up detection, workers never change numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from arsim.errors import InputError
from arsim.experiment.executors import run_parallel
from arsim.experiment.replications import (
    daily_open_ar,
    run_experiment,
    run_experiment_auto,
)
from arsim.experiment.statistics import mser, precise_enough, replications_needed
from arsim.sim.model import simulate
from conftest import small_world


def _half_width_ratio(values: list[float]) -> float:
    """Student-t 95% half-width over |mean|, written out independently of the code under test."""
    data = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, data.size - 1) * data.std(ddof=1) / math.sqrt(data.size)
    return half / abs(data.mean())


def test_stopping_rule_stops_at_the_first_precise_prefix():
    rng = np.random.default_rng(5)
    rows = pd.DataFrame({"dso": 40 + rng.normal(0, 3, size=300), "net_cost": 1000 + rng.normal(0, 40, size=300)})
    for precision in (0.05, 0.02, 0.012):
        n = replications_needed(rows, kpis=["dso", "net_cost"], precision=precision, min_replications=3)
        assert n is not None
        ok = [all(_half_width_ratio(rows[k].iloc[:m].tolist()) <= precision for k in ("dso", "net_cost")) for m in range(3, 301)]
        assert n == 3 + ok.index(True)  # the first n that meets the rule, not a later one
    needed = [replications_needed(rows, kpis=["dso"], precision=p, min_replications=3) for p in (0.05, 0.02, 0.012)]
    # A prefix precise to 1.2% is also precise to 2% and 5%, so a tighter precision never needs fewer.
    assert needed[0] <= needed[1] <= needed[2] and needed[0] < needed[2]
    assert replications_needed(rows, kpis=["dso"], precision=0.001, min_replications=3) is None


def test_precision_is_relative_to_the_mean():
    assert precise_enough([99.0, 100.0, 101.0], precision=0.05)
    assert not precise_enough([99.0, 100.0, 101.0], precision=0.01)  # half-width 2.48 is 2.5% of 100
    assert not precise_enough([5.0], precision=0.5)  # one value has no interval


@pytest.mark.slow
def test_auto_replications_equal_a_fixed_run_of_that_size():
    scenario = small_world(run={"horizon_days": 150, "warmup_days": 30, "seed": 11, "replications": 2})
    loose = run_experiment_auto(scenario, precision=0.05, kpis=["dso"], min_replications=3, max_replications=12, warmup_check=False)
    tight = run_experiment_auto(scenario, precision=0.02, kpis=["dso"], min_replications=3, max_replications=12, jobs=2, warmup_check=False)
    n = loose.diagnostics["auto_replications"]["replications"]
    assert loose.diagnostics["auto_replications"]["reached"]
    assert len(loose.replications) == n == loose.scenario.run.replications
    assert _half_width_ratio(loose.replications["dso"].tolist()) <= 0.05
    if n > 3:
        assert _half_width_ratio(loose.replications["dso"].iloc[: n - 1].tolist()) > 0.05
    assert tight.scenario.run.replications >= n
    fixed = run_experiment(scenario, replications=n)
    pd.testing.assert_frame_equal(fixed.replications, loose.replications)
    # The tight run used a batch of two workers but saw the same replications in the same order.
    pd.testing.assert_frame_equal(tight.replications.iloc[:n], fixed.replications)


def test_auto_replications_reject_unknown_kpis():
    with pytest.raises(InputError, match="unknown KPI"):
        run_experiment_auto(small_world(), kpis=["dsoo"])


def test_mser5_finds_a_known_transient():
    rng = np.random.default_rng(1)
    days = np.arange(600)
    transient = np.where(days < 120, 100.0 * days / 120.0, 100.0)  # a ramp over 120 days, then steady
    series = transient + rng.normal(0, 2.0, size=days.size)
    suggested = mser(series, batch=5)
    assert 110 <= suggested <= 135
    assert suggested % 5 == 0
    steady = 100 + rng.normal(0, 2.0, size=600)
    assert mser(steady, batch=5) <= 60  # no transient: little or nothing to cut
    decay = 100 + 60 * np.exp(-days / 30.0) + rng.normal(0, 1.0, size=600)
    assert 60 <= mser(decay, batch=5) <= 200  # exponential transient: cut once it is within the noise


def test_daily_open_ar_matches_the_model_balance():
    scenario = small_world(run={"horizon_days": 120, "warmup_days": 30, "seed": 3, "replications": 1})
    result = simulate(scenario, replication=0)
    series = daily_open_ar(result.frames, days=result.total_days)
    assert len(series) == result.total_days
    assert series[-1] == pytest.approx(result.open_amount_end, rel=1e-9, abs=1e-6)
    assert series[0] >= 0 and (series >= -1e-6).all()


def test_warmup_check_flags_a_run_without_warmup():
    scenario = small_world(run={"horizon_days": 200, "warmup_days": 0, "seed": 3, "replications": 2})
    result = run_experiment(scenario, warmup_check=True)
    warm = result.diagnostics["warmup"]
    assert warm["configured_days"] == 0 and warm["suggested_days"] > 0 and warm["too_short"]
    assert result.manifest["warmup"] == warm


def _square(x: int) -> int:
    return x * x


def test_run_parallel_keeps_order_for_any_number_of_workers():
    items = list(range(7))
    assert run_parallel(_square, items, jobs=1) == run_parallel(_square, items, jobs=2) == [x * x for x in items]


def test_a_kpi_interval_is_cut_to_what_the_kpi_can_be():
    """Two replications of a share near 1: the t interval reaches past 1; what is shown stops at 1 (and at 0 for
    a cost), while the mean and intervals of KPIs that may be negative, and of non-KPI columns, are untouched."""
    from arsim.experiment.replications import summarise
    from arsim.experiment.statistics import confidence_interval, kpi_confidence_interval

    sla = [0.833, 0.933]
    mean, low, high = confidence_interval(sla)
    assert high > 1.0  # the plain t interval
    assert kpi_confidence_interval("query_sla_attainment", sla) == (mean, low, 1.0)
    costs = [1_000.0, 33_000.0]
    assert kpi_confidence_interval("bad_debt_amount", costs)[1] == 0.0
    assert kpi_confidence_interval("net_cost", costs) == confidence_interval(costs)  # may be negative: not cut
    assert kpi_confidence_interval("slack_minutes", [-5.0, 5.0]) == confidence_interval([-5.0, 5.0])  # not a KPI
    assert kpi_confidence_interval("cei", [207.0, 187.0, 1729.0]) == confidence_interval([207.0, 187.0, 1729.0])  # may pass 100
    outside = kpi_confidence_interval("query_sla_attainment", [1.2, 1.4])  # a mean outside the range: the range is wrong, nothing cut
    assert outside == confidence_interval([1.2, 1.4]) and outside[1] <= outside[0] <= outside[2]
    table = summarise(pd.DataFrame({"query_sla_attainment": sla, "net_cost": costs}), keys=["query_sla_attainment", "net_cost"])
    assert table.loc["query_sla_attainment", "ci_high"] == 1.0 and table.loc["net_cost", "ci_low"] < 0
