"""Typed results of a run and the manifest that makes a results folder reproducible."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arsim import __version__
from arsim.errors import InputError
from arsim.experiment.statistics import clean_number
from arsim.files import replacing_folder, write_csv, write_json
from arsim.ledger.write import write_ledger
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

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object of `arsim run`: every KPI's mean, 95% CI and per-replication values (NaN as null)."""
        return {
            "scenario": self.scenario.name,
            "seed": self.scenario.run.seed,
            "replications": self.scenario.run.replications,
            "kpis": {
                key: {
                    "mean": clean_number(row["mean"]), "ci_low": clean_number(row["ci_low"]), "ci_high": clean_number(row["ci_high"]),
                    "values": [clean_number(v) for v in self.replications[key].tolist()],
                }
                for key, row in self.summary.iterrows()
            },
        }

    def write(self, folder: str | Path, *, extra: Callable[[Path], Any] | None = None) -> Path:
        """Write the run's folder as a whole (see `write_results`); ``extra(staging)`` may add files (charts)."""
        return write_results(self, folder, extra=extra)


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


TABLE_FORMAT: dict[str, Any] = {"index": False, "float_format": "%.6g"}
"""How result tables are written: no row index, six significant digits."""


def write_folder(folder: str | Path, tables: Mapping[str, pd.DataFrame], manifest: dict[str, Any], *,
                 extra: Callable[[Path], Any] | None = None) -> Path:
    """Write a results folder as a whole: each table as NAME (CSV), then manifest.json last.

    ``extra(staging)`` may add more files. Nothing replaces the previous folder until every file is
    complete (see `arsim.files.replacing_folder`).
    """
    folder = Path(folder)
    with replacing_folder(folder) as staging:
        for name, frame in tables.items():
            write_csv(staging / name, frame, **TABLE_FORMAT)
        if extra is not None:
            extra(staging)
        write_json(staging / "manifest.json", manifest)
    return folder


def write_results(result: ExperimentResult, folder: str | Path, *, extra: Callable[[Path], Any] | None = None) -> Path:
    """Write a run's folder as a whole: kpis.csv, replications.csv, monthly.csv, the ledger, manifest.json.

    The folder is replaced only once every file is complete (see `arsim.files`).
    """
    if not isinstance(result, ExperimentResult):
        raise InputError(f"expected an ExperimentResult (what run_experiment returns), got {type(result).__name__}", argument="result")
    if not isinstance(folder, (str, Path)):
        raise InputError(f"expected the path of a folder, got {type(folder).__name__}", argument="folder")
    ledger = result.ledger

    def more(staging: Path) -> None:
        if ledger is not None:
            write_ledger(ledger, staging)
        if extra is not None:
            extra(staging)

    tables = {"kpis.csv": result.summary.reset_index(), "replications.csv": result.replications, "monthly.csv": result.monthly}
    return write_folder(folder, tables, result.manifest, extra=more)
