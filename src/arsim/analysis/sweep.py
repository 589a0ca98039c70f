"""Full factorial sweeps of scenario fields.

Every cell runs replications 0..R-1 of the same seed (common random numbers across cells), so cells
differ only by the fields that vary.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from arsim.errors import InputError
from arsim.experiment.arguments import (
    executor_arguments,
    grid_argument,
    replications_argument,
    scenario_argument,
    seed_argument,
)
from arsim.experiment.executors import run_parallel
from arsim.experiment.replications import kpis_of_replication, with_run
from arsim.experiment.results import build_manifest, write_folder
from arsim.experiment.statistics import clean_number, kpi_confidence_interval
from arsim.measure.simulated import KPI_KEYS
from arsim.scenario.schema import Scenario


def sweep_cells(scenario: Scenario, parameters: Mapping[str, Sequence[Any]]) -> list[tuple[dict[str, Any], Scenario]]:
    """Every combination of the parameter values (full factorial), each as a validated scenario.

    All cells are built before anything runs, so an unknown path or a bad value fails at once, naming the
    ``parameters`` argument and the cell (``parameters: team.collectors=0: team.collectors: ...``).
    """
    grid = grid_argument(parameters)
    paths = list(grid)
    cells = []
    for combination in itertools.product(*(grid[p] for p in paths)):
        assignment = dict(zip(paths, combination))
        try:
            cells.append((assignment, scenario.with_overrides(assignment)))
        except InputError as error:
            cell = ", ".join(f"{k}={v}" for k, v in assignment.items())
            raise InputError(f"{cell}: {error.detail}", argument="parameters") from None
    return cells


@dataclass(frozen=True)
class Sweep:
    """A factorial sweep: the mean and 95% CI of every KPI per cell, and every replication's KPIs.

    ``summary`` has one row per cell: the parameter paths, n, then for each KPI ``<kpi>``, ``<kpi>_ci_low``,
    ``<kpi>_ci_high``. ``per_replication`` has one row per cell x replication (parameters, cell,
    replication, KPIs).
    """

    parameters: tuple[str, ...]
    replications: int
    seed: int
    summary: pd.DataFrame
    per_replication: pd.DataFrame
    folder: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)

    def write(self, folder: str | Path, *, extra: Callable[[Path], Any] | None = None) -> Path:
        """Write this result's folder as a whole: its tables, then manifest.json; ``extra(staging)`` may add files."""
        return write_folder(folder, {"summary.csv": self.summary, "replications.csv": self.per_replication}, self.manifest, extra=extra)

    def to_json(self, *, kpis: Sequence[str] = KPI_KEYS) -> dict[str, Any]:
        """The ``--json`` object of `arsim sweep`: every cell with its parameter values and KPI means and CIs."""
        cells = []
        for row in self.summary.to_dict(orient="records"):
            cells.append({
                "parameters": {p: (row[p].item() if hasattr(row[p], "item") else row[p]) for p in self.parameters},
                "kpis": {k: {"mean": clean_number(row[k]), "ci_low": clean_number(row[f"{k}_ci_low"]), "ci_high": clean_number(row[f"{k}_ci_high"])}
                         for k in kpis},
            })
        return {"parameters": list(self.parameters), "replications": self.replications, "seed": self.seed, "cells": cells}


def sweep(
    scenario: Scenario | str | Path, parameters: Mapping[str, Sequence[Any]], *, replications: int | None = None, seed: int | None = None,
    jobs: int = 1, cluster: str | None = None, progress: bool = False, name: str | None = None, folder: str | Path | None = None, save: bool = True,
    command: str | None = None,
) -> Sweep:
    """A full factorial sweep of scenario fields (see `Sweep`): every combination of the values given.

    Cells and replications share one executor, and the numbers do not depend on ``jobs`` or ``cluster``.
    Unless ``save`` is false the folder is written whole: summary.csv, replications.csv and manifest.json.
    ``scenario`` is a `Scenario` or the path of a scenario file; ``parameters`` maps each field path to a
    non-empty list of its values (``{"team.collectors": [2, 3]}``; a lone value is refused, naming the field).
    """
    scenario = scenario_argument(scenario)
    scenario = with_run(scenario, replications=replications_argument(replications), seed=seed_argument(seed))
    jobs, cluster = executor_arguments(jobs, cluster)
    parameters = grid_argument(parameters)
    cells = sweep_cells(scenario, parameters)
    count = scenario.run.replications
    paths = list(parameters)
    work = [(cell, r) for _, cell in cells for r in range(count)]
    done = run_parallel(kpis_of_replication, work, jobs=jobs, cluster=cluster, progress=progress, desc=f"sweep {scenario.name}")
    tidy_rows = []
    for index, (assignment, _) in enumerate(cells):
        for r in range(count):
            tidy_rows.append({**assignment, "cell": index, "replication": r, **done[index * count + r]})
    tidy = pd.DataFrame(tidy_rows)
    summary_rows = []
    for index, (assignment, _) in enumerate(cells):
        part = tidy[tidy["cell"] == index]
        row: dict[str, Any] = {**assignment, "n": count}
        for key in KPI_KEYS:
            mean, low, high = kpi_confidence_interval(key, part[key].tolist())
            row.update({key: mean, f"{key}_ci_low": low, f"{key}_ci_high": high})
        summary_rows.append(row)
    summary = pd.DataFrame(summary_rows)
    extra = {"parameters": {p: list(parameters[p]) for p in paths}, "cells": len(cells)}
    target = None
    if save:
        target = Path(folder) if folder is not None else Path("results") / (name or f"{scenario.name}-sweep")
    result = Sweep(parameters=tuple(paths), replications=count, seed=scenario.run.seed, summary=summary, per_replication=tidy, folder=target,
                   manifest=build_manifest(scenario, command=command, extra=extra))
    if target is not None:
        result.write(target)
    return result
