"""What-if questions answered with honest statistics: paired policy comparisons and factorial sweeps.

Every alternative runs on the same replication numbers, with the same seed, as the baseline, so
replication r of each sees the same customers, orders and latent behaviour (common random numbers). The
difference of two policies is then measured replication by replication, and its confidence interval comes
from those paired differences: the shared noise cancels, which makes the interval much narrower than one
from independent runs of the same size.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from arsim.experiment import (
    build_manifest, clean_number, confidence_interval, paired_difference, run_parallel, run_replication, with_run,
    write_csv, write_json,
)
from arsim.kpis import KPI_KEYS
from arsim.scenario import InputError, Policy, Scenario

MAIN_KPIS: tuple[str, ...] = (
    "dso", "add", "cei", "past_due_amount", "bad_debt_amount", "query_wait_days", "query_sla_attainment",
    "collector_utilization", "backlog_tasks_end", "contacts_email", "contacts_call", "discount_cost", "net_cost",
)
"""The KPIs the command-line tables show by default (every KPI is always in the saved tables)."""

COMPARE_COLUMNS: tuple[str, ...] = (
    "alternative", "kpi", "baseline", "alternative_mean", "diff", "ci_low", "ci_high", "relative_change", "significant", "n",
)

__all__ = ["compare", "compare_json", "sweep", "sweep_json", "sweep_cells", "paired_difference", "independent_difference", "parse_values", "parse_param"]


# ---------------------------------------------------------------------------------------------- statistics


def independent_difference(baseline: Sequence[float], alternative: Sequence[float], *, level: float = 0.95) -> tuple[float, float, float]:
    """Difference of means of two independent samples with Welch's t interval (what runs without CRN give)."""
    a = np.asarray([v for v in baseline if math.isfinite(v)], dtype=float)
    b = np.asarray([v for v in alternative if math.isfinite(v)], dtype=float)
    diff = float(b.mean() - a.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + level / 2, dof) * se)
    return diff, diff - half, diff + half


# ---------------------------------------------------------------------------------------------- compare


def _as_scenario(baseline: Scenario, alternative: Scenario | Policy) -> Scenario:
    """An alternative as a scenario that shares the baseline's run settings (seed, replications, horizon)."""
    scenario = baseline.with_policy(alternative) if isinstance(alternative, Policy) else alternative
    return scenario.model_copy(update={"run": baseline.run})


def _named(alternatives: Mapping[str, Scenario | Policy] | Sequence[Scenario | Policy]) -> list[tuple[str, Scenario | Policy]]:
    if isinstance(alternatives, Mapping):
        items = list(alternatives.items())
    else:
        items = [(getattr(a, "name", f"alternative-{i + 1}"), a) for i, a in enumerate(alternatives)]
    names = [name for name, _ in items]
    if not items:
        raise InputError("compare: give at least one alternative (--policy FILE or a second scenario file)")
    if len(set(names)) != len(names):
        # Policies often keep the default name: number the repeats so every row stays identifiable.
        seen: dict[str, int] = {}
        renamed = []
        for name, item in items:
            seen[name] = seen.get(name, 0) + 1
            renamed.append((name if names.count(name) == 1 else f"{name}-{seen[name]}", item))
        items = renamed
    return items


def compare(
    baseline: Scenario, alternatives: Mapping[str, Scenario | Policy] | Sequence[Scenario | Policy], *,
    replications: int | None = None, seed: int | None = None, jobs: int = 1, progress: bool = False,
    name: str | None = None, folder: str | Path | None = None, save: bool = True, command: str | None = None,
) -> pd.DataFrame:
    """Paired comparison of alternatives (policies or scenarios) against a baseline, one row per alternative x KPI.

    Columns: alternative, kpi, baseline, alternative_mean, diff (alternative - baseline, mean over paired
    replications), ci_low, ci_high (95% t interval of the paired differences), relative_change (diff /
    |baseline|), significant (the interval excludes 0), n. ``frame.attrs`` holds baseline, replications and
    folder. Unless ``save`` is false the table is written to ``folder`` (default results/<name>/) with
    replications.csv (every replication's KPIs) and manifest.json.
    """
    baseline = with_run(baseline, replications=replications, seed=seed)
    named = [(alt_name, _as_scenario(baseline, alt)) for alt_name, alt in _named(alternatives)]
    count = baseline.run.replications
    work = [(scenario, r) for scenario in [baseline] + [s for _, s in named] for r in range(count)]
    done = run_parallel(_replication_kpis, work, jobs=jobs, progress=progress, desc=f"compare {baseline.name}")
    per_scenario = [pd.DataFrame(done[i * count:(i + 1) * count]) for i in range(len(named) + 1)]
    base_rows = per_scenario[0]
    rows = []
    for (alt_name, _), alt_rows in zip(named, per_scenario[1:]):
        for key in KPI_KEYS:
            rows.append({"alternative": alt_name, "kpi": key, **paired_difference(base_rows[key].tolist(), alt_rows[key].tolist())})
    table = pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
    table.attrs.update({"baseline": baseline.name, "replications": count, "seed": baseline.run.seed})
    if save:
        target = Path(folder) if folder is not None else Path("results") / (name or f"{baseline.name}-compare")
        replication_rows = pd.concat(
            [frame.assign(scenario=label, replication=range(count)) for label, frame in zip([baseline.name] + [n for n, _ in named], per_scenario)],
            ignore_index=True,
        )
        replication_rows = replication_rows[["scenario", "replication", *KPI_KEYS]]
        write_csv(target / "comparison.csv", table, index=False, float_format="%.6g")
        write_csv(target / "replications.csv", replication_rows, index=False, float_format="%.6g")
        extra = {"baseline": baseline.name, "alternatives": [{"name": n, "scenario": s.model_dump(mode="json")} for n, s in named]}
        write_json(target / "manifest.json", build_manifest(baseline, command=command, extra=extra))
        table.attrs["folder"] = str(target)
    return table


def _replication_kpis(item: tuple[Scenario, int]) -> dict[str, float]:
    scenario, replication = item
    return run_replication(scenario, replication).kpis


def compare_json(table: pd.DataFrame) -> dict[str, Any]:
    """The ``--json`` object of `arsim compare` (NaN becomes null)."""
    alternatives = []
    for alt_name, rows in table.groupby("alternative", sort=False):
        kpis = {
            row.kpi: {"baseline": clean_number(row.baseline), "alternative": clean_number(row.alternative_mean), "diff": clean_number(row.diff),
                      "ci_low": clean_number(row.ci_low), "ci_high": clean_number(row.ci_high), "significant": bool(row.significant)}
            for row in rows.itertuples(index=False)
        }
        alternatives.append({"name": str(alt_name), "kpis": kpis})
    return {"baseline": table.attrs.get("baseline"), "replications": int(table.attrs.get("replications", 0)), "alternatives": alternatives}


# ---------------------------------------------------------------------------------------------- sweep


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_number(text: str, *, option: str) -> float:
    """A number from the command line, or an InputError naming the option."""
    text = text.strip()
    if not _NUMBER.match(text):
        raise InputError(f"{option}: {text!r} is not a number")
    return float(text)


def parse_values(text: str, *, option: str) -> list[Any]:
    """Values of a sweep axis: ``2,3,4`` (YAML scalars), or a range ``start:stop[:step]`` with stop included.

    A range must be numeric with a positive step and stop >= start; a list must not be empty.
    """
    import yaml

    text = text.strip()
    if not text:
        raise InputError(f"{option}: empty list of values")
    if ":" in text and "," not in text:
        parts = text.split(":")
        if len(parts) not in (2, 3) or any(not p.strip() for p in parts):
            raise InputError(f"{option}: bad range {text!r}; expected start:stop or start:stop:step")
        start, stop = parse_number(parts[0], option=option), parse_number(parts[1], option=option)
        step = parse_number(parts[2], option=option) if len(parts) == 3 else 1.0
        if step <= 0:
            raise InputError(f"{option}: range step must be positive, got {parts[2].strip()}")
        if stop < start:
            raise InputError(f"{option}: empty range {text!r} (stop is below start)")
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        if count > 10_000:
            raise InputError(f"{option}: range {text!r} has {count} values; at most 10000")
        values = [round(start + i * step, 10) for i in range(count)]
        integral = all(float(p).is_integer() for p in (start, step))
        return [int(v) for v in values] if integral else values
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise InputError(f"{option}: empty value in {text!r}")
    values = []
    for item in items:
        try:
            values.append(yaml.safe_load(item))
        except yaml.YAMLError:
            raise InputError(f"{option}: {item!r} is not a valid value") from None
    return values


def parse_param(text: str) -> tuple[str, list[Any]]:
    """``path.to.field=values`` of ``--param`` into the path and its list of values."""
    path, sep, values = text.partition("=")
    if not sep or not path.strip():
        raise InputError(f"--param {text!r}: expected path.to.field=v1,v2,... or path.to.field=start:stop:step")
    return path.strip(), parse_values(values, option=f"--param {path.strip()}")


def sweep_cells(scenario: Scenario, parameters: Mapping[str, Sequence[Any]]) -> list[tuple[dict[str, Any], Scenario]]:
    """Every combination of the parameter values (full factorial), each as a validated scenario.

    All cells are built before anything runs, so an unknown path or a bad value fails at once.
    """
    if not parameters:
        raise InputError("sweep: give at least one --param path.to.field=v1,v2,...")
    for path, values in parameters.items():
        if len(values) == 0:
            raise InputError(f"--param {path}: empty list of values")
    paths = list(parameters)
    cells = []
    for combination in itertools.product(*(parameters[p] for p in paths)):
        assignment = dict(zip(paths, combination))
        cells.append((assignment, scenario.with_overrides(assignment, source=f"--param {', '.join(f'{k}={v}' for k, v in assignment.items())}")))
    return cells


def sweep(
    scenario: Scenario, parameters: Mapping[str, Sequence[Any]], *, replications: int | None = None, seed: int | None = None,
    jobs: int = 1, progress: bool = False, name: str | None = None, folder: str | Path | None = None, save: bool = True,
    command: str | None = None,
) -> pd.DataFrame:
    """A full factorial sweep: one row per cell with the mean and 95% CI of every KPI over its replications.

    Columns: the parameter paths, n, then for each KPI ``<kpi>``, ``<kpi>_ci_low``, ``<kpi>_ci_high``.
    Every cell runs replications 0..R-1 of the same seed (common random numbers across cells); cells and
    replications share one process pool, and the numbers do not depend on ``jobs``. Unless ``save`` is false
    the summary and the tidy table (one row per cell x replication: parameters, cell, replication, KPIs) are
    written as summary.csv and replications.csv with manifest.json; ``frame.attrs["folder"]`` names the folder.
    """
    scenario = with_run(scenario, replications=replications, seed=seed)
    cells = sweep_cells(scenario, parameters)
    count = scenario.run.replications
    paths = list(parameters)
    work = [(cell, r) for _, cell in cells for r in range(count)]
    done = run_parallel(_replication_kpis, work, jobs=jobs, progress=progress, desc=f"sweep {scenario.name}")
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
            mean, low, high = confidence_interval(part[key].tolist())
            row.update({key: mean, f"{key}_ci_low": low, f"{key}_ci_high": high})
        summary_rows.append(row)
    summary = pd.DataFrame(summary_rows)
    summary.attrs.update({"parameters": paths, "replications": count, "seed": scenario.run.seed})
    if save:
        target = Path(folder) if folder is not None else Path("results") / (name or f"{scenario.name}-sweep")
        write_csv(target / "summary.csv", summary, index=False, float_format="%.6g")
        write_csv(target / "replications.csv", tidy, index=False, float_format="%.6g")
        extra = {"parameters": {p: list(parameters[p]) for p in paths}, "cells": len(cells)}
        write_json(target / "manifest.json", build_manifest(scenario, command=command, extra=extra))
        summary.attrs["folder"] = str(target)
    return summary


def sweep_json(summary: pd.DataFrame, *, kpis: Sequence[str] = KPI_KEYS) -> dict[str, Any]:
    """The ``--json`` object of `arsim sweep`: every cell with its parameter values and KPI means and CIs."""
    parameters = list(summary.attrs.get("parameters", []))
    cells = []
    for row in summary.to_dict(orient="records"):
        cells.append({
            "parameters": {p: (row[p].item() if hasattr(row[p], "item") else row[p]) for p in parameters},
            "kpis": {k: {"mean": clean_number(row[k]), "ci_low": clean_number(row[f"{k}_ci_low"]), "ci_high": clean_number(row[f"{k}_ci_high"])} for k in kpis},
        })
    return {"parameters": parameters, "replications": int(summary.attrs.get("replications", 0)), "cells": cells}
