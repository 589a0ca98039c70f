"""Checks of the arguments every layer's public functions share: a scenario (or its file), whole and finite numbers.

They sit in the scenario layer so that the simulator (`arsim.simulate`) can use them as well as the experiment
and analysis functions; `arsim.experiment.arguments` builds the rest (replications, seeds, executors, grids) on
them. A rejected argument raises `InputError` naming the Python argument, never a TypeError from deep inside.
"""

from __future__ import annotations

import math
import operator
from numbers import Real
from pathlib import Path
from typing import Any

from arsim.errors import InputError
from arsim.scenario.files import load_scenario
from arsim.scenario.schema import Scenario


def shown_value(value: Any) -> str:
    """A value as an error message quotes it: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def whole_number(value: Any, *, argument: str, minimum: int | None) -> int:
    """``value`` as an int of at least ``minimum`` (None: any, the caller checks the range): an int, a numpy integer
    or a whole float (2.0); never a bool or text."""
    if isinstance(value, bool):
        raise InputError(f"must be a whole number, got {value!r}", argument=argument)
    try:
        number = operator.index(value)
    except TypeError:
        if not (isinstance(value, Real) and math.isfinite(value) and float(value).is_integer()):
            raise InputError(f"must be a whole number, got {shown_value(value)}", argument=argument) from None
        number = int(value)
    if minimum is not None and number < minimum:
        raise InputError(f"must be at least {minimum}, got {number}", argument=argument)
    return number


def number_argument(value: Any, *, argument: str) -> float:
    """``value`` as a finite float (never a bool or text)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise InputError(f"must be a finite number, got {shown_value(value)}", argument=argument)
    return float(value)


def scenario_argument(value: Any, *, argument: str = "scenario") -> Scenario:
    """A `Scenario`, or the path (str or Path) of a scenario file, loaded with `load_scenario`."""
    if isinstance(value, Scenario):
        return value
    if isinstance(value, (str, Path)):
        return load_scenario(value)
    raise InputError(f"expected a Scenario or the path of a scenario file, got {type(value).__name__}", argument=argument)
