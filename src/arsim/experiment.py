"""Replications, common random numbers, process-pool parallelism, confidence intervals, the results folder.

A replication is a pure function of (scenario, replication number): it draws its streams from the
scenario's seed and its own number, so replication r of two policies sees the same customers and orders
(common random numbers), and results do not depend on which process ran it or how many workers there were.
The model never knows which experiment it is in; this layer adds the replication column and summarises.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from arsim import __version__
from arsim.kpis import KPI_KEYS, monthly_kpis, paid_days, simulation_kpis
from arsim.model import simulate
from arsim.scenario import InputError, Scenario
from arsim.streams import STREAM_NAMES, STREAMS_VERSION

LEDGER_COLUMNS: tuple[str, ...] = (
    "customer_id", "invoice_id", "invoice_date", "due_date", "amount", "paid_date", "disputed", "written_off", "segment",
    "channel", "item_type",
)


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


@dataclass(frozen=True)
class ExperimentResult:
    """KPIs of every replication of one scenario, with their summary and the first replication's ledger."""

    scenario: Scenario
    replications: pd.DataFrame  # one row per replication, a column per KPI
    summary: pd.DataFrame  # index KPI: mean, ci_low, ci_high, std, n
    monthly: pd.DataFrame  # replication, month, KPI columns
    ledger: pd.DataFrame | None
    manifest: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)  # warm-up check, auto-replication stopping rule

    def kpi_values(self, key: str) -> list[float]:
        return self.replications[key].tolist()


def confidence_interval(values: Iterable[float], *, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval; NaN bounds with fewer than two values."""
    data = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if data.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(data.mean())
    if data.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, data.size - 1) * data.std(ddof=1) / math.sqrt(data.size))
    return mean, mean - half, mean + half


def paired_difference(baseline: Sequence[float], alternative: Sequence[float], *, level: float = 0.95) -> dict[str, float | bool | int]:
    """Mean of alternative - baseline over paired replications, with its Student-t CI from the differences.

    Replications where either value is missing (NaN: e.g. no query was raised) are left out of the pair.
    """
    a = np.asarray(baseline, dtype=float)
    b = np.asarray(alternative, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired samples must have the same length")
    keep = np.isfinite(a) & np.isfinite(b)
    diffs = b[keep] - a[keep]
    mean, low, high = confidence_interval(diffs.tolist(), level=level)
    base_mean = float(np.nanmean(a)) if np.isfinite(a).any() else math.nan
    alt_mean = float(np.nanmean(b)) if np.isfinite(b).any() else math.nan
    significant = bool(not math.isnan(low) and (low > 0 or high < 0))
    relative = mean / abs(base_mean) if base_mean and math.isfinite(base_mean) else math.nan
    return {"baseline": base_mean, "alternative_mean": alt_mean, "diff": mean, "ci_low": low, "ci_high": high,
            "relative_change": relative, "significant": significant, "n": int(keep.sum())}


def ledger_from_frames(frames: dict[str, pd.DataFrame], scenario: Scenario) -> pd.DataFrame:
    """The simulated invoices as a ledger a company would export (dates as calendar dates)."""
    issued = frames["invoice_issued"]
    epoch = pd.Timestamp(scenario.calendar.start_date)
    paid = paid_days(frames).reindex(issued["invoice_id"]).to_numpy()
    disputed = set(frames["dispute_opened"]["invoice_id"].tolist())
    off = frames["write_off"]
    written = set(off.loc[off["kind"] == "bad_debt", "invoice_id"].tolist())
    ids = issued["invoice_id"]
    return pd.DataFrame({
        "customer_id": "C" + issued["customer_id"].astype(str).str.zfill(6),
        "invoice_id": "I" + ids.astype(str).str.zfill(8),
        "invoice_date": epoch + pd.to_timedelta(issued["day"], unit="D"),
        "due_date": epoch + pd.to_timedelta(issued["due_day"], unit="D"),
        "amount": issued["amount"].round(2),
        "paid_date": epoch + pd.to_timedelta(paid, unit="D"),
        "disputed": ids.isin(disputed),
        "written_off": ids.isin(written),
        "segment": issued["segment"],
        "channel": np.where(issued["electronic"], "electronic", "paper"),
        "item_type": "Invoice",
    })


Measure = Callable[..., dict[str, Any]]
"""An extra measurement of one replication: ``measure(frames, scenario, start=, end=) -> dict``.

It runs in the worker next to the simulation, so the (large) event tables never cross process boundaries;
it must be a module-level function so a process pool can pickle it.
"""


def run_replication(scenario: Scenario, replication: int, *, with_ledger: bool = False, measure: Measure | None = None) -> Replication:
    """Simulate one replication and measure it over the period after the warm-up."""
    result = simulate(scenario, replication=replication)
    start, end = result.warmup_days, result.total_days
    kpis = simulation_kpis(result.frames, scenario, start=start, end=end)
    monthly = monthly_kpis(result.frames, scenario, start=start, end=end)
    monthly.insert(0, "replication", replication)
    ledger = ledger_from_frames(result.frames, scenario) if with_ledger else None
    extras = measure(result.frames, scenario, start=start, end=end) if measure is not None else {}
    return Replication(replication, kpis, monthly, ledger, result.events, result.orders, extras)


def _run_one(args: tuple) -> Replication:
    scenario, replication, with_ledger, *rest = args
    return run_replication(scenario, replication, with_ledger=with_ledger, measure=rest[0] if rest else None)


def run_replications(
    scenario: Scenario, replications: Iterable[int], *, jobs: int = 1, with_ledger_of: int | None = 0, progress: bool = False,
    measure: Measure | None = None,
) -> list[Replication]:
    """Run the given replication numbers, in a process pool when jobs > 1; results in replication order."""
    work = [(scenario, r, r == with_ledger_of, measure) for r in replications]
    return run_parallel(_run_one, work, jobs=jobs, progress=progress, desc=scenario.name)


def run_parallel(function: Callable[[Any], Any], items: Sequence[Any], *, jobs: int = 1, progress: bool = False, desc: str = "arsim") -> list[Any]:
    """``[function(item) for item in items]``, in a process pool when jobs > 1, results in item order.

    Every item carries everything its result depends on (scenario, replication number), so the results
    are the same whichever worker ran an item and however many workers there were.
    """
    bar = _progress(len(items), desc=desc, enabled=progress)
    try:
        done = []
        if jobs <= 1 or len(items) <= 1:
            for item in items:
                done.append(function(item))
                bar.update(1)
            return done
        with ProcessPoolExecutor(max_workers=min(jobs, len(items))) as pool:
            for value in pool.map(function, items):
                done.append(value)
                bar.update(1)
        return done
    finally:
        bar.close()


def _progress(total: int, *, desc: str, enabled: bool):
    """A progress bar on stderr that appears only for runs longer than a second."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rep", file=sys.stderr, delay=1.0, disable=not enabled, leave=False)


def summarise(rows: pd.DataFrame, keys: Iterable[str] = KPI_KEYS) -> pd.DataFrame:
    """Mean and 95% CI over replications for each KPI."""
    records = []
    for key in keys:
        mean, low, high = confidence_interval(rows[key].tolist())
        values = rows[key].dropna()
        records.append({"kpi": key, "mean": mean, "ci_low": low, "ci_high": high, "std": float(values.std(ddof=1)) if len(values) > 1 else math.nan, "n": int(len(values))})
    return pd.DataFrame(records).set_index("kpi")


def with_run(scenario: Scenario, *, replications: int | None = None, seed: int | None = None) -> Scenario:
    """The scenario with its run's replications and seed replaced (None keeps the scenario's own)."""
    if seed is None and replications is None:
        return scenario
    run = scenario.run.model_copy(update={k: v for k, v in {"seed": seed, "replications": replications}.items() if v is not None})
    return scenario.model_copy(update={"run": run})


def run_experiment(
    scenario: Scenario, *, replications: int | None = None, seed: int | None = None, jobs: int = 1,
    progress: bool = False, command: str | None = None, warmup_check: bool = False,
) -> ExperimentResult:
    """Run replications 0..R-1 of a scenario and summarise every KPI with a 95% confidence interval.

    With ``warmup_check`` the daily open-AR series of every replication is kept and MSER-5 says whether
    the configured warm-up is long enough (``result.diagnostics["warmup"]``, also in the manifest).
    """
    scenario = with_run(scenario, replications=replications, seed=seed)
    measure = open_ar_measure if warmup_check else None
    done = run_replications(scenario, range(scenario.run.replications), jobs=jobs, progress=progress, measure=measure)
    return _experiment(scenario, done, command=command, diagnostics={"warmup": check_warmup(scenario, done)} if warmup_check else {})


def _experiment(scenario: Scenario, done: list[Replication], *, command: str | None, diagnostics: dict[str, Any]) -> ExperimentResult:
    rows = pd.DataFrame([{"replication": r.replication, **r.kpis} for r in done])
    monthly = pd.concat([r.monthly for r in done], ignore_index=True)
    extra = {"events_per_replication": [r.events for r in done], "orders_per_replication": [r.orders for r in done], **diagnostics}
    manifest = build_manifest(scenario, command=command, extra=extra)
    return ExperimentResult(scenario, rows, summarise(rows), monthly, done[0].ledger, manifest, diagnostics)


# ---------------------------------------------------------------------------------------------- how many replications


def precise_enough(values: Iterable[float], *, precision: float) -> bool:
    """True when the 95% CI half-width of the values is at most ``precision`` x |mean| (relative precision)."""
    mean, low, high = confidence_interval(values)
    if math.isnan(low):
        return False
    return (high - low) / 2 <= precision * abs(mean)


def replications_needed(rows: pd.DataFrame, *, kpis: Sequence[str], precision: float, min_replications: int = 2) -> int | None:
    """The first n >= min_replications at which replications 0..n-1 meet the precision for every named KPI.

    The rule looks at prefixes in replication order, so the answer depends only on the replications, not
    on how many were run in a batch or by how many workers; None when no prefix is precise enough.
    """
    for n in range(max(2, min_replications), len(rows) + 1):
        if all(precise_enough(rows[key].iloc[:n].tolist(), precision=precision) for key in kpis):
            return n
    return None


def run_experiment_auto(
    scenario: Scenario, *, precision: float = 0.02, kpis: Sequence[str] = ("dso",), min_replications: int = 5,
    max_replications: int = 100, seed: int | None = None, jobs: int = 1, progress: bool = False, command: str | None = None,
    warmup_check: bool = True,
) -> ExperimentResult:
    """Add replications in batches until the 95% CI half-width of every named KPI is within precision x |mean|.

    Stops at the first n that meets the rule (replications after it, run in the same batch, are dropped so
    the result equals a fixed run of n replications), or at ``max_replications``; the diagnostics say which.
    """
    unknown = [key for key in kpis if key not in KPI_KEYS]
    if unknown:
        raise InputError(f"--precision-kpis: unknown KPI(s) {unknown}; see the KPI table in README.md")
    if not kpis:
        raise InputError("--precision-kpis: name at least one KPI")
    if not (precision > 0 and math.isfinite(precision)):
        raise InputError(f"--precision: must be a positive fraction such as 0.02, got {precision}")
    if min_replications < 2 or max_replications < min_replications:
        raise InputError(f"--max-replications: must be at least {max(2, min_replications)}, got {max_replications}")
    scenario = with_run(scenario, seed=seed)
    measure = open_ar_measure if warmup_check else None
    batch = max(2, jobs)
    done: list[Replication] = []
    needed: int | None = None
    bar = _progress(max_replications, desc=f"{scenario.name} (auto)", enabled=progress)
    try:
        while len(done) < max_replications:
            size = min_replications if not done else batch
            numbers = range(len(done), min(len(done) + size, max_replications))
            done += run_replications(scenario, numbers, jobs=jobs, measure=measure)
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
    half_widths = {key: _relative_half_width(rows[key].tolist()) for key in kpis}
    auto = {"precision": precision, "kpis": list(kpis), "replications": len(done), "reached": needed is not None,
            "max_replications": max_replications, "relative_half_width": half_widths}
    diagnostics: dict[str, Any] = {"auto_replications": auto}
    if warmup_check:
        diagnostics["warmup"] = check_warmup(scenario, done)
    return _experiment(scenario, done, command=command, diagnostics=diagnostics)


def _relative_half_width(values: list[float]) -> float | None:
    mean, low, high = confidence_interval(values)
    return clean_number((high - low) / 2 / abs(mean)) if mean else None


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


def mser(series: Sequence[float], *, batch: int = 5, max_fraction: float = 0.5) -> int:
    """Warm-up length (in observations) that MSER-b suggests: MSER-5 with the default batch of 5.

    The series is cut into batch means Z_1..Z_k; truncating d batches leaves a mean whose squared standard
    error is estimated by sum((Z_j - mean)^2) / (k - d)^2. The d with the smallest estimate balances bias
    (transient kept) against variance (data thrown away). Only d up to ``max_fraction`` of the batches is
    considered, as is usual: a minimum near the end of the series means the run is too short to tell.
    """
    values = np.asarray(series, dtype=float)
    k = len(values) // batch
    if k < 2:
        return 0
    means = values[: k * batch].reshape(k, batch).mean(axis=1)
    means = means - means.mean()  # centring keeps the sums of squares accurate for large balances
    tail_sum = np.cumsum(means[::-1])[::-1]
    tail_squares = np.cumsum((means**2)[::-1])[::-1]
    kept = np.arange(k, 0, -1, dtype=float)  # k - d for d = 0..k-1
    statistic = (tail_squares - tail_sum**2 / kept) / kept**2
    last = max(0, min(k - 2, int(math.floor(k * max_fraction))))
    return int(np.argmin(statistic[: last + 1])) * batch


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


def build_manifest(scenario: Scenario, *, command: str | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a reader needs to reproduce a results folder."""
    import platform
    from importlib.metadata import version

    return {
        "arsim_version": __version__,
        "command": command,
        "scenario": scenario.model_dump(mode="json"),
        "seed": scenario.run.seed,
        "replications": scenario.run.replications,
        "measured_days": [scenario.run.warmup_days, scenario.run.warmup_days + scenario.run.horizon_days],
        "streams": list(STREAM_NAMES),
        "streams_version": STREAMS_VERSION,
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__, "simpy": version("simpy")},
        **(extra or {}),
    }


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder and rename, so no reader sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    _atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n", encoding="utf-8"))


def write_csv(path: Path, frame: pd.DataFrame, **options: Any) -> None:
    compression = "gzip" if path.suffix == ".gz" else None
    _atomic_write(path, lambda tmp: frame.to_csv(tmp, compression=compression, **options))


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def clean_number(value: float) -> float | None:
    """A float for JSON: NaN and infinities become null."""
    return None if value is None or not math.isfinite(value) else float(value)


def write_results(result: ExperimentResult, folder: str | Path) -> Path:
    """Write a run's folder: kpis.csv, replications.csv, monthly.csv, invoices.csv.gz, manifest.json (last)."""
    folder = Path(folder)
    write_csv(folder / "kpis.csv", result.summary, float_format="%.6g")
    write_csv(folder / "replications.csv", result.replications, index=False, float_format="%.6g")
    write_csv(folder / "monthly.csv", result.monthly, index=False, float_format="%.6g")
    if result.ledger is not None:
        ledger = result.ledger.copy()
        for column in ("invoice_date", "due_date", "paid_date"):
            ledger[column] = ledger[column].dt.strftime("%Y-%m-%d")
        write_csv(folder / "invoices.csv.gz", ledger, index=False)
    write_json(folder / "manifest.json", result.manifest)
    return folder


def kpis_json(result: ExperimentResult) -> dict[str, Any]:
    """The ``--json`` object of `arsim run`."""
    return {
        "scenario": result.scenario.name,
        "seed": result.scenario.run.seed,
        "replications": result.scenario.run.replications,
        "kpis": {
            key: {
                "mean": clean_number(row["mean"]), "ci_low": clean_number(row["ci_low"]), "ci_high": clean_number(row["ci_high"]),
                "values": [clean_number(v) for v in result.replications[key].tolist()],
            }
            for key, row in result.summary.iterrows()
        },
    }
