"""Replications, common random numbers, process-pool parallelism, confidence intervals, the results folder.

A replication is a pure function of (scenario, replication number): it draws its streams from the
scenario's seed and its own number, so replication r of two policies sees the same customers and orders
(common random numbers), and results do not depend on which process ran it or how many workers there were.
The model never knows which experiment it is in; this layer adds the replication column and summarises.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arsim.errors import InputError
from arsim.experiment.arguments import (
    AUTO,
    AUTO_KPIS,
    AUTO_MAX_REPLICATIONS,
    AUTO_PRECISION,
    executor_arguments,
    names_argument,
    number_argument,
    replications_argument,
    scenario_argument,
    seed_argument,
    whole_number,
)
from arsim.experiment.executors import progress_bar, run_parallel
from arsim.experiment.results import ExperimentResult, build_manifest
from arsim.experiment.statistics import (
    kpi_confidence_interval,
    mser,
    relative_half_width,
    replications_needed,
)
from arsim.ledger.write import ledger_from_frames
from arsim.measure.simulated import KPI_KEYS, kpis_and_monthly, simulation_kpis
from arsim.scenario.schema import Scenario
from arsim.sim.model import simulate


@dataclass(frozen=True)
class Replication:
    """What one replication returns to the experiment: KPIs, the monthly series, optionally its ledger."""

    replication: int
    kpis: dict[str, float]
    monthly: pd.DataFrame
    ledger: pd.DataFrame | None
    events: int
    orders: int
    extras: dict[str, Any] = field(default_factory=dict)  # what an optional measure returned


Measure = Callable[..., dict[str, Any]]
"""An extra measurement of one replication: ``measure(frames, scenario, start=, end=) -> dict``.

It runs in the worker next to the simulation, so the (large) event tables never cross process boundaries;
it must be a module-level function so a process pool can pickle it.
"""


def run_replication(scenario: Scenario, replication: int, *, with_ledger: bool = False, measure: Measure | None = None) -> Replication:
    """Simulate one replication and measure it over the period after the warm-up."""
    result = simulate(scenario, replication=replication)
    start, end = result.warmup_days, result.total_days
    kpis, monthly = kpis_and_monthly(result.frames, scenario, start=start, end=end)
    monthly.insert(0, "replication", replication)
    ledger = ledger_from_frames(result.frames, scenario) if with_ledger else None
    extras = measure(result.frames, scenario, start=start, end=end) if measure is not None else {}
    return Replication(replication, kpis, monthly, ledger, result.events, result.orders, extras)


def _run_one(args: tuple) -> Replication:
    scenario, replication, with_ledger, *rest = args
    return run_replication(scenario, replication, with_ledger=with_ledger, measure=rest[0] if rest else None)


def run_replications(
    scenario: Scenario, replications: Iterable[int], *, jobs: int = 1, cluster: str | None = None, with_ledger_of: int | None = 0, progress: bool = False,
    measure: Measure | None = None,
) -> list[Replication]:
    """Run the given replication numbers, in a process pool when jobs > 1; results in replication order."""
    work = [(scenario, r, r == with_ledger_of, measure) for r in replications]
    return run_parallel(_run_one, work, jobs=jobs, cluster=cluster, progress=progress, desc=scenario.name)


def summarise(rows: pd.DataFrame, keys: Iterable[str] = KPI_KEYS) -> pd.DataFrame:
    """Mean and 95% CI over replications for each KPI."""
    records = []
    for key in keys:
        mean, low, high = kpi_confidence_interval(key, rows[key].tolist())
        values = rows[key].dropna()
        std = float(values.std(ddof=1)) if len(values) > 1 else math.nan
        records.append({"kpi": key, "mean": mean, "ci_low": low, "ci_high": high, "std": std, "n": int(len(values))})
    return pd.DataFrame(records).set_index("kpi")


def with_run(scenario: Scenario, *, replications: int | None = None, seed: int | None = None) -> Scenario:
    """The scenario with its run's replications and seed replaced (None keeps the scenario's own)."""
    if seed is None and replications is None:
        return scenario
    run = scenario.run.model_copy(update={k: v for k, v in {"seed": seed, "replications": replications}.items() if v is not None})
    return scenario.model_copy(update={"run": run})


def run_experiment(
    scenario: Scenario | str | Path, *, replications: int | str | None = None, seed: int | None = None, jobs: int = 1,
    cluster: str | None = None, progress: bool = False, command: str | None = None, warmup_check: bool = False,
) -> ExperimentResult:
    """Run replications 0..R-1 of a scenario and summarise every KPI with a 95% confidence interval.

    ``scenario`` is a `Scenario` or the path of a scenario file. ``replications`` is a whole number (default: the
    scenario's), or ``"auto"``: `run_experiment_auto` with its defaults (add replications until the DSO's CI is
    within 2% of its mean). With ``warmup_check`` the daily open-AR series of every replication is kept and
    MSER-5 says whether the configured warm-up is long enough (``result.diagnostics["warmup"]``, also in the manifest).
    """
    scenario = scenario_argument(scenario)
    replications = replications_argument(replications, auto=True)
    seed = seed_argument(seed)
    jobs, cluster = executor_arguments(jobs, cluster)
    if replications == AUTO:
        return run_experiment_auto(scenario, seed=seed, jobs=jobs, cluster=cluster, progress=progress, command=command, warmup_check=warmup_check)
    scenario = with_run(scenario, replications=replications, seed=seed)
    measure = open_ar_measure if warmup_check else None
    done = run_replications(scenario, range(scenario.run.replications), jobs=jobs, cluster=cluster, progress=progress, measure=measure)
    return _experiment(scenario, done, command=command, diagnostics={"warmup": check_warmup(scenario, done)} if warmup_check else {})


def _experiment(scenario: Scenario, done: list[Replication], *, command: str | None, diagnostics: dict[str, Any]) -> ExperimentResult:
    rows = pd.DataFrame([{"replication": r.replication, **r.kpis} for r in done])
    monthly = pd.concat([r.monthly for r in done], ignore_index=True)
    extra = {"events_per_replication": [r.events for r in done], "orders_per_replication": [r.orders for r in done], **diagnostics}
    manifest = build_manifest(scenario, command=command, extra=extra)
    return ExperimentResult(scenario, rows, summarise(rows), monthly, done[0].ledger, manifest, diagnostics)


# ---------------------------------------------------------------------------------------------- how many replications


def run_experiment_auto(
    scenario: Scenario | str | Path, *, precision: float = AUTO_PRECISION, kpis: Sequence[str] = AUTO_KPIS, min_replications: int = 5,
    max_replications: int = AUTO_MAX_REPLICATIONS, seed: int | None = None, jobs: int = 1, cluster: str | None = None, progress: bool = False,
    command: str | None = None,
    warmup_check: bool = True,
) -> ExperimentResult:
    """Add replications in batches until the 95% CI half-width of every named KPI is within precision x |mean|.

    Stops at the first n that meets the rule (replications after it, run in the same batch, are dropped so
    the result equals a fixed run of n replications), or at ``max_replications``; the diagnostics say which.
    ``scenario`` is a `Scenario` or the path of a scenario file; ``kpis`` a list of KPI names (or one name).
    """
    scenario = scenario_argument(scenario)
    kpis = names_argument(kpis, argument="kpis")
    unknown = [key for key in kpis if key not in KPI_KEYS]
    if unknown:
        raise InputError(f"unknown KPI(s) {unknown}; see the KPI table in README.md", argument="kpis")
    if not kpis:
        raise InputError("name at least one KPI", argument="kpis")
    precision = number_argument(precision, argument="precision")
    if not precision > 0:
        raise InputError(f"must be a positive fraction such as 0.02, got {precision}", argument="precision")
    min_replications = whole_number(min_replications, argument="min_replications", minimum=2)
    max_replications = whole_number(max_replications, argument="max_replications", minimum=min_replications)
    seed = seed_argument(seed)
    jobs, cluster = executor_arguments(jobs, cluster)
    scenario = with_run(scenario, seed=seed)
    measure = open_ar_measure if warmup_check else None
    batch = max(2, jobs) if cluster is None else max(8, jobs)  # a cluster has more workers than this machine has cores
    done: list[Replication] = []
    needed: int | None = None
    bar = progress_bar(max_replications, desc=f"{scenario.name} (auto)", enabled=progress)
    try:
        while len(done) < max_replications:
            size = min_replications if not done else batch
            numbers = range(len(done), min(len(done) + size, max_replications))
            done += run_replications(scenario, numbers, jobs=jobs, cluster=cluster, measure=measure)
            bar.update(len(numbers))
            rows = pd.DataFrame([r.kpis for r in done])
            needed = replications_needed(rows, kpis=kpis, precision=precision, min_replications=min_replications)
            if needed is not None:
                done = done[:needed]
                break
    finally:
        bar.close()
    scenario = with_run(scenario, replications=len(done))
    rows = pd.DataFrame([r.kpis for r in done])
    half_widths = {key: relative_half_width(rows[key].tolist()) for key in kpis}
    auto = {"precision": precision, "kpis": list(kpis), "replications": len(done), "reached": needed is not None,
            "max_replications": max_replications, "relative_half_width": half_widths}
    diagnostics: dict[str, Any] = {"auto_replications": auto}
    if warmup_check:
        diagnostics["warmup"] = check_warmup(scenario, done)
    return _experiment(scenario, done, command=command, diagnostics=diagnostics)


# ---------------------------------------------------------------------------------------------- warm-up


def daily_open_ar(frames: dict[str, pd.DataFrame], *, days: int) -> np.ndarray:
    """Open receivables at the end of each day 0..days-1: invoiced minus collected, discounts and write-offs."""
    issued, pay, off = frames["invoice_issued"], frames["payment"], frames["write_off"]
    up = np.bincount(issued["day"].to_numpy(dtype=np.int64), weights=issued["amount"].to_numpy(dtype=float), minlength=days)[:days]
    settled = np.bincount(pay["day"].to_numpy(dtype=np.int64), weights=(pay["collected"] + pay["discount"]).to_numpy(dtype=float), minlength=days)[:days]
    written = np.bincount(off["day"].to_numpy(dtype=np.int64), weights=off["amount"].to_numpy(dtype=float), minlength=days)[:days]
    return np.cumsum(up - settled - written)


def open_ar_measure(frames: dict[str, pd.DataFrame], scenario: Scenario, *, start: int, end: int) -> dict[str, Any]:
    """The whole run's daily open-AR series (warm-up included), for the warm-up check."""
    return {"open_ar_daily": daily_open_ar(frames, days=end)}


def check_warmup(scenario: Scenario, done: Sequence[Replication]) -> dict[str, Any]:
    """MSER-5 on the daily open-AR series averaged over replications, against the configured warm-up."""
    series = [r.extras["open_ar_daily"] for r in done if "open_ar_daily" in r.extras]
    if not series:
        return {}
    mean_series = np.mean(np.vstack(series), axis=0)
    suggested = mser(mean_series, batch=5)
    configured = scenario.run.warmup_days
    return {"method": "MSER-5 on the daily open-AR series averaged over replications", "configured_days": configured,
            "suggested_days": suggested, "too_short": suggested > configured}


def kpis_of_replication(item: tuple[Scenario, int]) -> dict[str, float]:
    """The KPIs of replication r of a scenario, for `run_parallel` over (scenario, r) items."""
    scenario, replication = item
    return run_replication(scenario, replication).kpis


def period_kpis_of_replication(item: tuple[Scenario, int]) -> dict[str, float]:
    """The KPIs of replication r of a scenario over its measured period only, without the monthly series.

    A policy search needs nothing else from its thousands of replications, and the monthly series costs more
    than the period's KPIs; the values equal `kpis_of_replication`'s.
    """
    scenario, replication = item
    result = simulate(scenario, replication=replication)
    return simulation_kpis(result.frames, scenario, start=result.warmup_days, end=result.total_days)
