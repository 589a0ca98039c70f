"""TODO docstring."""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arsim import __version__
from arsim.experiment.statistics import clean_number
from arsim.scenario.schema import Scenario
from arsim.sim.streams import STREAM_NAMES, STREAMS_VERSION


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


def atomic_write(path: Path, write) -> None:
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
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n", encoding="utf-8"))


def write_csv(path: Path, frame: pd.DataFrame, **options: Any) -> None:
    compression = "gzip" if path.suffix == ".gz" else None
    atomic_write(path, lambda tmp: frame.to_csv(tmp, compression=compression, **options))


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


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
