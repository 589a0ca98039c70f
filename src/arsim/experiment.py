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
from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy import stats

from arsim import __version__
from arsim.kpis import KPI_KEYS, monthly_kpis, paid_days, simulation_kpis
from arsim.model import simulate
from arsim.scenario import Scenario
from arsim.streams import STREAM_NAMES, STREAMS_VERSION

LEDGER_COLUMNS: tuple[str, ...] = (
    "customer_id", "invoice_id", "invoice_date", "due_date", "amount", "paid_date", "disputed", "written_off", "segment",
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


@dataclass(frozen=True)
class ExperimentResult:
    """KPIs of every replication of one scenario, with their summary and the first replication's ledger."""

    scenario: Scenario
    replications: pd.DataFrame  # one row per replication, a column per KPI
    summary: pd.DataFrame  # index KPI: mean, ci_low, ci_high, std, n
    monthly: pd.DataFrame  # replication, month, KPI columns
    ledger: pd.DataFrame | None
    manifest: dict[str, Any] = field(default_factory=dict)

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
    })


def run_replication(scenario: Scenario, replication: int, *, with_ledger: bool = False) -> Replication:
    """Simulate one replication and measure it over the period after the warm-up."""
    result = simulate(scenario, replication=replication)
    start, end = result.warmup_days, result.total_days
    kpis = simulation_kpis(result.frames, scenario, start=start, end=end)
    monthly = monthly_kpis(result.frames, scenario, start=start, end=end)
    monthly.insert(0, "replication", replication)
    ledger = ledger_from_frames(result.frames, scenario) if with_ledger else None
    return Replication(replication, kpis, monthly, ledger, result.events, result.orders)


def _run_one(args: tuple[Scenario, int, bool]) -> Replication:
    scenario, replication, with_ledger = args
    return run_replication(scenario, replication, with_ledger=with_ledger)


def run_replications(
    scenario: Scenario, replications: Iterable[int], *, jobs: int = 1, with_ledger_of: int | None = 0, progress: bool = False,
) -> list[Replication]:
    """Run the given replication numbers, in a process pool when jobs > 1; results in replication order."""
    work = [(scenario, r, r == with_ledger_of) for r in replications]
    bar = _progress(len(work), desc=scenario.name, enabled=progress)
    try:
        if jobs <= 1 or len(work) <= 1:
            done = []
            for item in work:
                done.append(_run_one(item))
                bar.update(1)
            return done
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            done = []
            for replication in pool.map(_run_one, work):
                done.append(replication)
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


def run_experiment(
    scenario: Scenario, *, replications: int | None = None, seed: int | None = None, jobs: int = 1,
    progress: bool = False, command: str | None = None,
) -> ExperimentResult:
    """Run replications 0..R-1 of a scenario and summarise every KPI with a 95% confidence interval."""
    if seed is not None or replications is not None:
        run = scenario.run.model_copy(update={k: v for k, v in {"seed": seed, "replications": replications}.items() if v is not None})
        scenario = scenario.model_copy(update={"run": run})
    count = scenario.run.replications
    done = run_replications(scenario, range(count), jobs=jobs, progress=progress)
    rows = pd.DataFrame([{"replication": r.replication, **r.kpis} for r in done])
    monthly = pd.concat([r.monthly for r in done], ignore_index=True)
    manifest = build_manifest(scenario, command=command, extra={"events_per_replication": [r.events for r in done], "orders_per_replication": [r.orders for r in done]})
    return ExperimentResult(scenario, rows, summarise(rows), monthly, done[0].ledger, manifest)


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
