"""A results folder read back into the typed result that wrote it, so `arsim report` can present any saved run.

Which command wrote a folder is its *kind*: the manifest's ``kind`` when a command records one, else the
command line it records (``arsim compare ...``), else (a folder written through the Python API, without a
command line) the manifest entries only that analysis writes. Each kind has a reader here that rebuilds its
typed result from the folder's tables and manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from arsim.analysis.capacity import CapacityStudy
from arsim.analysis.compare import Comparison
from arsim.analysis.feasibility import FeasibilityResult, StaffingAttempt
from arsim.analysis.goals import parse_bound, parse_objective
from arsim.analysis.optimize import BoundCheck, OptimizeResult
from arsim.analysis.search_space import apply_levers
from arsim.analysis.sweep import Sweep
from arsim.errors import InputError
from arsim.experiment.results import ExperimentResult
from arsim.scenario.schema import validate_scenario


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest.json of a results folder, or an InputError naming the folder and what is wrong."""
    folder = Path(folder)
    path = folder / "manifest.json"
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: is a file, not a results folder (give the folder a run, compare, sweep, capacity, optimize or "
                         "feasibility wrote)")
    if not folder.is_dir():
        raise InputError(f"{folder}: no such results folder")
    if not path.is_file():
        raise InputError(f"{folder}: not a results folder (no manifest.json; arsim run, compare, sweep, capacity, optimize and feasibility write one)")
    return _json_object(path)


def _json_object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold one object, or an InputError naming the file and what is wrong."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read it as JSON ({error})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def results_kind(manifest: dict[str, Any]) -> str:
    """Which command wrote a results folder: ``run``, ``compare``, ``sweep``, ``capacity``, ``optimize``, ``feasibility``."""
    if isinstance(manifest.get("kind"), str):
        return manifest["kind"]
    words = str(manifest.get("command") or "").split()
    if len(words) >= 2 and words[0] == "arsim":
        return words[1]
    if "capacity" in manifest:
        return "capacity"
    if "studies" in manifest:
        return "feasibility"
    if "study" in manifest:
        return "optimize"
    if "alternatives" in manifest and "baseline" in manifest:
        return "compare"
    if "parameters" in manifest and "cells" in manifest:
        return "sweep"
    return "run"


def _table(folder: Path, name: str) -> pd.DataFrame:
    path = folder / name
    if not path.is_file():
        raise InputError(f"{folder}: {name} is missing (the folder is incomplete or was written by another version)")
    return pd.read_csv(path)


def _scenario(folder: Path, manifest: dict[str, Any]):
    if not isinstance(manifest.get("scenario"), dict):
        raise InputError(f"{folder / 'manifest.json'}: no scenario recorded")
    return validate_scenario(manifest["scenario"], source=f"{folder / 'manifest.json'}: scenario")


def read_run(folder: Path, manifest: dict[str, Any]) -> ExperimentResult:
    """An `arsim run` folder as its `ExperimentResult` (without the ledger, which a report does not need)."""
    summary = _table(folder, "kpis.csv").set_index("kpi")
    return ExperimentResult(scenario=_scenario(folder, manifest), replications=_table(folder, "replications.csv"), summary=summary,
                            monthly=_table(folder, "monthly.csv"), ledger=None, manifest=manifest,
                            diagnostics={key: manifest[key] for key in ("warmup", "auto_replications") if key in manifest})


def read_comparison(folder: Path, manifest: dict[str, Any]) -> Comparison:
    """An `arsim compare` folder as its `Comparison`."""
    table = _table(folder, "comparison.csv")
    table["significant"] = table["significant"].astype(bool)
    alternatives = tuple(str(a["name"]) for a in manifest.get("alternatives", [])) or tuple(dict.fromkeys(table["alternative"].astype(str)))
    return Comparison(baseline=str(manifest.get("baseline", "baseline")), alternatives=alternatives, replications=int(manifest.get("replications", 0)),
                      seed=int(manifest.get("seed", 0)), table=table, per_replication=_table(folder, "replications.csv"), folder=folder,
                      manifest=manifest)


def read_sweep(folder: Path, manifest: dict[str, Any]) -> Sweep:
    """An `arsim sweep` folder as its `Sweep`."""
    summary = _table(folder, "summary.csv")
    parameters = tuple(manifest.get("parameters") or ())
    missing = [p for p in parameters if p not in summary]
    if not parameters or missing:
        raise InputError(f"{folder}: summary.csv does not have the swept fields {missing or '(none recorded in manifest.json)'}")
    return Sweep(parameters=parameters, replications=int(manifest.get("replications", 0)), seed=int(manifest.get("seed", 0)), summary=summary,
                 per_replication=_table(folder, "replications.csv"), folder=folder, manifest=manifest)


def read_capacity(folder: Path, manifest: dict[str, Any]) -> CapacityStudy:
    """An `arsim capacity` folder as its `CapacityStudy` (the answers come from the manifest)."""
    answers = manifest.get("capacity")
    if not isinstance(answers, dict):
        raise InputError(f"{folder / 'manifest.json'}: no capacity answers recorded")
    levels = _table(folder, "levels.csv")
    for column in ("within_capacity", "capacity_trap"):
        if column in levels:
            levels[column] = levels[column].astype(bool)
    by_team = {int(team): scale for team, scale in (answers.get("saturation_by_collectors") or {}).items()}
    return CapacityStudy(axis=answers.get("axis", "contact"), pins=answers.get("pins", {}), sla_target=float(answers.get("sla_target", 0.8)),
                         replications=int(manifest.get("replications", 0)), seed=int(manifest.get("seed", 0)), levels=levels,
                         per_replication=_table(folder, "replications.csv"), reference_collectors=int(answers["reference_collectors"]),
                         saturation_scale=answers.get("saturation_scale"), saturation=str(answers.get("saturation", "")),
                         saturation_by_collectors=by_team, capacity_trap=list(answers.get("capacity_trap", [])),
                         best_dso=dict(answers.get("best_dso", {})), best_net_cost=dict(answers.get("best_net_cost", {})),
                         smallest_team=dict(answers.get("smallest_team", {})), folder=folder, manifest=manifest)


def _result_json(folder: Path) -> dict[str, Any]:
    path = folder / "result.json"
    if not path.is_file():
        raise InputError(f"{folder}: result.json is missing (the search has not finished, or the folder was written by another version)")
    return _json_object(path)


def _per_replication(kpis: dict[str, Any]) -> dict[str, list[float]]:
    """Per-replication KPI values as result.json keeps them (null for NaN), back to floats."""
    return {kpi: [float("nan") if v is None else float(v) for v in entry.get("values", [])] for kpi, entry in kpis.items()}


def _checks(entries: list[dict[str, Any]], *, argument: str) -> tuple[BoundCheck, ...]:
    def number(value: Any) -> float:
        return float("nan") if value is None else float(value)

    return tuple(BoundCheck(parse_bound(e["bound"], argument=argument), number(e["baseline"]), number(e["threshold"]), number(e["reached"]),
                            bool(e["met"]), number(e["probability"]), *(number(v) for v in e.get("probability_ci", [None, None])))
                 for e in entries)


def _trials(folder: Path) -> pd.DataFrame:
    trials = _table(folder, "trials.csv")
    if "feasible" in trials:
        trials["feasible"] = trials["feasible"].astype(bool)
    if "invalid" in trials:
        trials["invalid"] = trials["invalid"].astype(object).where(trials["invalid"].notna(), "")
    return trials


def read_optimization(folder: Path, manifest: dict[str, Any]) -> OptimizeResult:
    """An `arsim optimize` folder as its `OptimizeResult` (the figures from result.json, the tables from their CSVs)."""
    data = _result_json(folder)
    best = data.get("best") or {}
    params = dict(best.get("params") or {})
    scenario = _scenario(folder, manifest)
    policy_file = folder / "best-policy.yaml"
    return OptimizeResult(
        study=str(data.get("study", "")), storage=str(data.get("storage", "")), n_trials=int(data.get("n_trials", 0)),
        trials_run=int(data.get("trials_run", 0)), objectives=tuple(parse_objective(o) for o in data.get("objectives", [])),
        constraints=_checks(best.get("constraints", []), argument="constraints"), params=params,
        policy=apply_levers(scenario, params, source=f"{folder / 'result.json'}: best.params").policy,
        collectors=int(best.get("collectors", scenario.team.collectors)), policy_file=policy_file if policy_file.is_file() else None,
        baseline=_per_replication((data.get("baseline") or {}).get("kpis", {})), best=_per_replication(best.get("kpis", {})),
        confirmation_replications=tuple(data.get("confirmation_replications", [])), selection=_table(folder, "selection.csv"),
        trials=_trials(folder), pareto=list(data.get("pareto", [])), importances={k: float(v) for k, v in (data.get("importances") or {}).items()},
        folder=folder, manifest=manifest)


def read_feasibility(folder: Path, manifest: dict[str, Any]) -> FeasibilityResult:
    """An `arsim feasibility` folder as its `FeasibilityResult`."""
    data = _result_json(folder)
    params = dict(data.get("params") or {})
    scenario = _scenario(folder, manifest)
    policy_file = folder / "best-policy.yaml"
    staffing = tuple(StaffingAttempt(int(a["collectors"]), bool(a["feasible"]), float("nan") if a.get("shortfall") is None else float(a["shortfall"]),
                                     a.get("binding_goal"), float(a.get("team_cost_per_year") or 0.0), str(a.get("study", "")))
                     for a in data.get("staffing", []))
    return FeasibilityResult(
        feasible=bool(data.get("feasible")), goals=_checks(data.get("goals", []), argument="goals"),
        constraints=_checks(data.get("constraints", []), argument="constraints"), params=params,
        policy=apply_levers(scenario, params, source=f"{folder / 'result.json'}: params").policy,
        collectors=int(data.get("collectors", scenario.team.collectors)), team_cost_per_year=float(data.get("team_cost_per_year") or 0.0),
        policy_file=policy_file if policy_file.is_file() else None, study=str(data.get("study", "")), storage=str(data.get("storage", "")),
        n_trials=int(data.get("n_trials", 0)), baseline=_per_replication((data.get("baseline") or {}).get("kpis", {})),
        best=_per_replication((data.get("best") or {}).get("kpis", {})), confirmation_replications=tuple(data.get("confirmation_replications", [])),
        staffing=staffing, selection=_table(folder, "selection.csv"), trials=_trials(folder),
        importances={k: float(v) for k, v in (data.get("importances") or {}).items()}, folder=folder, manifest=manifest)


READERS: dict[str, Callable[[Path, dict[str, Any]], Any]] = {
    "run": read_run,
    "compare": read_comparison,
    "sweep": read_sweep,
    "capacity": read_capacity,
    "optimize": read_optimization,
    "feasibility": read_feasibility,
}
"""Each kind of results folder and the function that reads it back (see the module docstring)."""
