"""Checks of the arguments the public functions share, so a mistake reads the same whichever function got it.

Every public entry point (`run_experiment`, `compare`, `sweep`, `capacity`, `optimize`, ...) passes its
arguments through these before any work starts. A rejected argument raises `InputError` naming the Python
argument (``replications: must be a whole number of at least 1, got 0``), never a TypeError from deep inside
pandas or numpy; the command line translates the argument into its flag. Each check also returns the value in
its plain form (a scenario path loaded, a numpy integer as an int, a range as a list), so the caller works with
what it checked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from arsim.errors import InputError
from arsim.experiment.executors import check_scheduler_address

# The scenario-level checks, re-exported: the experiment and analysis functions take every check from here.
from arsim.scenario.arguments import number_argument as number_argument
from arsim.scenario.arguments import scenario_argument as scenario_argument
from arsim.scenario.arguments import shown_value
from arsim.scenario.arguments import whole_number as whole_number
from arsim.scenario.files import load_policy_or_scenario
from arsim.scenario.schema import Policy, Scenario

AUTO = "auto"
"""The replications value that asks `run_experiment` to add replications until the CI is narrow enough."""
AUTO_PRECISION = 0.02
"""`run_experiment_auto`'s default target: the 95% CI half-width within 2% of |mean|."""
AUTO_KPIS: tuple[str, ...] = ("dso",)
"""`run_experiment_auto`'s default KPIs that must reach the precision."""
AUTO_MAX_REPLICATIONS = 100
"""`run_experiment_auto`'s default cap on replications."""


def replications_argument(value: Any, *, argument: str = "replications", minimum: int = 1, auto: bool = False) -> int | str | None:
    """None (the scenario's own), a whole number of at least ``minimum``, or ``"auto"`` where ``auto`` is allowed."""
    if value is None:
        return None
    if auto and isinstance(value, str) and value.strip().lower() == AUTO:
        return AUTO
    try:
        return whole_number(value, argument=argument, minimum=minimum)
    except InputError:
        if auto:
            raise InputError(f"must be a whole number of at least {minimum} or 'auto', got {shown_value(value)}", argument=argument) from None
        raise


def seed_argument(value: Any, *, argument: str = "seed") -> int | None:
    """None (the scenario's own) or a whole number from 0 up: what numpy's SeedSequence takes (no upper limit),
    the same range as a scenario file's ``run.seed``."""
    return None if value is None else whole_number(value, argument=argument, minimum=0)


def executor_arguments(jobs: Any, cluster: Any) -> tuple[int, str | None]:
    """``jobs`` (local worker processes, at least 1) and ``cluster`` (a Dask scheduler address or None), one or the other.

    Both at once are refused, as on the command line: they name different executors, and running the work on
    one of them would silently ignore what the user asked of the other.
    """
    jobs = whole_number(jobs, argument="jobs", minimum=1)
    if cluster is None:
        return jobs, None
    if not isinstance(cluster, str):
        raise InputError(f"must be a scheduler address such as 'tcp://HOST:8786', got {shown_value(cluster)}", argument="cluster")
    if jobs > 1:
        raise InputError(f"not with jobs={jobs}: choose one (jobs sets local worker processes; a cluster's workers are its own)",
                         argument="cluster")
    return jobs, check_scheduler_address(cluster)


def alternative_argument(baseline: Scenario, value: Any, *, name: str, argument: str = "alternatives") -> Scenario | Policy:
    """One alternative of a comparison, as a `Scenario` or `Policy`.

    A `Scenario` or `Policy` as it is; a mapping of field paths to values is a variant of the baseline
    (``{"team.collectors": 4}``, the command line's ``--variant``); a path is a policy file, or a scenario
    file when the file has a scenario's sections (``portfolio:``, ``team:``, ``run:``, ...).
    """
    if isinstance(value, (Scenario, Policy)):
        return value
    if isinstance(value, Mapping):
        try:
            return baseline.with_overrides(dict(value))
        except InputError as error:
            raise InputError(f"{name}: {error.detail}", argument=argument) from None
    if isinstance(value, (str, Path)):
        return load_policy_or_scenario(value)
    raise InputError(f"{name}: expected a Policy, a Scenario, a mapping of field changes such as {{'team.collectors': 4}} "
                     f"or the path of a policy file, got {type(value).__name__}", argument=argument)


def alternatives_argument(baseline: Scenario, value: Any, *, argument: str = "alternatives") -> list[tuple[str, Scenario | Policy]]:
    """The named alternatives of a comparison: a mapping ``{name: alternative}`` or a list (named after each
    alternative's name, or a file's stem); a lone alternative counts as a list of one."""
    if isinstance(value, (Scenario, Policy, str, Path)):
        value = [value]
    if isinstance(value, Mapping):
        bad = [key for key in value if not isinstance(key, str) or not key.strip()]
        if bad:
            raise InputError(f"names must be non-empty text, got {shown_value(bad[0])}", argument=argument)
        if value and all("." in key and not isinstance(item, (Mapping, Scenario, Policy, str, Path)) for key, item in value.items()):
            first = next(iter(value))
            raise InputError(f"{first!r} reads as a field path, not a name: give the changes a name, such as "
                             f"{{'my variant': {{{first!r}: {shown_value(value[first])}}}}}", argument=argument)
        items = list(value.items())
    elif isinstance(value, Iterable):
        items = []
        for i, item in enumerate(value):
            name = Path(item).stem if isinstance(item, (str, Path)) else getattr(item, "name", None)
            items.append((name if isinstance(name, str) and name else f"alternative-{i + 1}", item))
    else:
        raise InputError(f"expected a mapping {{name: alternative}} or a list of alternatives, got {type(value).__name__}", argument=argument)
    if not items:
        raise InputError("give at least one alternative: a Policy, a Scenario, a mapping of field changes or a policy file", argument=argument)
    return [(name, alternative_argument(baseline, item, name=name, argument=argument)) for name, item in items]


def values_argument(value: Any, *, argument: str, field: str | None = None) -> list[Any]:
    """The values of one sweep or capacity axis as a non-empty list: a list, tuple, range or array, never a lone value.

    ``field`` (the swept field's path) goes in front of the message when several axes share one argument.
    """
    where = f"{field}: " if field else ""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        example = f"[{value!r}]" if isinstance(value, (int, float, str)) and not isinstance(value, bool) else "[1, 2]"
        raise InputError(f"{where}give a list of values, such as {example}, got {shown_value(value)}", argument=argument)
    values = [item.item() if hasattr(item, "item") and callable(item.item) else item for item in value]
    if not values:
        raise InputError(f"{where}empty list of values", argument=argument)
    return values


def grid_argument(value: Any, *, argument: str = "parameters") -> dict[str, list[Any]]:
    """A sweep's grid: a non-empty mapping of field paths to non-empty lists of values."""
    if not isinstance(value, Mapping):
        raise InputError(f"expected a mapping of field paths to lists of values, such as {{'team.collectors': [2, 3]}}, "
                         f"got {type(value).__name__}", argument=argument)
    if not value:
        raise InputError("give at least one field path and its values, such as {'team.collectors': [2, 3]}", argument=argument)
    grid = {}
    for path, values in value.items():
        if not isinstance(path, str) or not path.strip():
            raise InputError(f"field paths must be text such as 'team.collectors', got {shown_value(path)}", argument=argument)
        grid[path] = values_argument(values, argument=argument, field=path)
    return grid


def numbers_argument(value: Any, *, argument: str, whole: bool = False, minimum: float | None = None) -> list[Any] | None:
    """None, or a non-empty list of finite numbers (whole numbers when ``whole``), each at least ``minimum``."""
    if value is None:
        return None
    values = values_argument(value, argument=argument)
    if whole:
        return [whole_number(v, argument=argument, minimum=None if minimum is None else math.ceil(minimum)) for v in values]
    numbers = [number_argument(v, argument=argument) for v in values]
    low = [v for v in numbers if minimum is not None and v < minimum]
    if low:
        raise InputError(f"must be {minimum:g} or more, got {low[0]:g}", argument=argument)
    return numbers


def names_argument(value: Any, *, argument: str) -> list[str]:
    """A list of names (KPIs, ...); a lone name counts as a list of one."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise InputError(f"expected a list of names, got {shown_value(value)}", argument=argument)
    names = list(value)
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise InputError(f"expected names (text), got {shown_value(bad[0])}", argument=argument)
    return names
