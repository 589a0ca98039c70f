"""The policy search space: which levers an optimiser may move, and how far.

A lever is a scenario field named by its dotted path, spelled as for ``--set``: any field of the policy
(``policy.credit.hold_days_past_due``, ``policy.dunning.volume.call``, ``policy.dunning.steps.2.day``,
``policy.dunning.by_segment.strategic.0.channel``, ...) or the staffing, ``team.collectors``. The rest of the
scenario is the world, which a policy cannot change. Each lever is one of:

- a range, ``{low: 1, high: 12}`` with optional ``step`` and ``log: true`` (numeric fields only; an integer
  field gets whole numbers);
- a list of choices, ``[task_type, fifo]`` or ``{choices: [...]}`` (any field: numbers, names, true/false, null);
- fixed, a single value (``2.5``, or ``{fixed: false}`` for a yes/no field);
- off, ``off``: not searched, the scenario's own value stays (useful to drop a lever of the default space).

The space is built from the pydantic schema itself: a path is resolved through the model's fields, so a
field added to the policy tomorrow is a lever without any change here. Every lever is checked when the space
is loaded, by putting its low and high ends (or each choice, or the fixed value) into the scenario and
validating it: a range above a field's maximum, a type that does not fit, an unknown field or a list index
that does not exist fails then, with one line naming the lever. Combinations can still be invalid (two
dunning steps moved onto one day); a trial that draws one is recorded as invalid and not simulated.

`DEFAULT_SPACE` is the space used when a scenario has no ``search:`` section and no ``--space`` file is given.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from arsim.errors import InputError
from arsim.scenario.schema import Scenario

DEFAULT_SPACE: dict[str, Any] = {
    "policy.credit.limit_months_of_sales": {"low": 1.0, "high": 12.0, "step": 0.5},
    "policy.credit.hold_days_past_due": {"low": 15, "high": 120, "step": 5},
    "policy.discount.percent": {"low": 0.0, "high": 3.0, "step": 0.25},
    "policy.discount.days": {"low": 5, "high": 20},
    "policy.penalty.interest_percent_per_month": {"low": 0.0, "high": 2.0, "step": 0.25},
    "policy.penalty.fee": {"low": 0, "high": 100, "step": 10},
    "policy.dunning.volume.email": {"low": 0.0, "high": 3.0, "step": 0.5},
    "policy.dunning.volume.call": {"low": 0.0, "high": 3.0, "step": 0.5},
    "policy.dunning.min_days_between_contacts": {"low": 1, "high": 14, "step": 1},
    "policy.worklist_rule": ["task_type", "fifo", "amount_at_risk", "days_past_due", "predicted_risk"],
    "policy.write_off_days_past_due": {"low": 90, "high": 360, "step": 30},
    "policy.credit.review_over_limit": [True, False],
    "policy.credit.max_default_probability": [None, 0.01, 0.02, 0.05],
    "policy.discount.unearned": ["accept", "chase"],
    "policy.penalty.waive_probability": {"low": 0.0, "high": 1.0, "step": 0.1},
    "policy.agency.enabled": [True, False],
    "team.collectors": "around",
}
"""The main levers searched when the scenario names none: credit limit, hold, credit review and approval rule,
discount and how unearned discounts are handled, penalty and how often a contested one is waived, dunning
volume by channel, contact cap, worklist order, write-off age, the collection agency and the team size. ``"around"`` for
``team.collectors`` means from 1 to twice the scenario's team (at least 2 more), capped by ``--max-collectors``.
New policy fields belong here when they are main levers; any field can be searched from a ``search:`` section."""

STAFFING = "team.collectors"
"""The one lever outside the policy: the team size."""

Kind = Literal["range", "choices", "fixed", "off"]
Scalar = bool | int | float | str | None


@dataclass(frozen=True)
class Lever:
    """One searchable field: its dotted path, how it varies, and the field's value type."""

    path: str
    kind: Kind
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Scalar, ...] = ()
    value: Scalar = None
    integer: bool = False

    def describe(self) -> str:
        """The lever in a few words, for tables and the docs."""
        if self.kind == "range":
            step = f" step {self.step:g}" if self.step else ""
            return f"{self.low:g}..{self.high:g}{step}{' (log)' if self.log else ''}"
        if self.kind == "choices":
            return " | ".join(_text(c) for c in self.choices)
        if self.kind == "fixed":
            return f"= {_text(self.value)}"
        return "off"

    def to_json(self) -> dict[str, Any]:
        """The lever as plain data (stored with the study, so a resumed study can be checked against it)."""
        data: dict[str, Any] = {"path": self.path, "kind": self.kind}
        if self.kind == "range":
            data.update(low=self.low, high=self.high, step=self.step, log=self.log, integer=self.integer)
        elif self.kind == "choices":
            data["choices"] = list(self.choices)
        elif self.kind == "fixed":
            data["value"] = self.value
        return data


@dataclass(frozen=True)
class SearchSpace:
    """The levers of a search, in the order they were declared."""

    levers: tuple[Lever, ...]
    source: str = "the default space"

    @property
    def searched(self) -> tuple[Lever, ...]:
        """The levers the optimiser moves (ranges and choices)."""
        return tuple(lever for lever in self.levers if lever.kind in ("range", "choices"))

    @property
    def fixed(self) -> dict[str, Scalar]:
        """The levers set to one value for every trial."""
        return {lever.path: lever.value for lever in self.levers if lever.kind == "fixed"}

    def lever(self, path: str) -> Lever | None:
        """The lever of a path, if the space has one."""
        return next((lever for lever in self.levers if lever.path == path), None)

    def without(self, path: str) -> SearchSpace:
        """The space with one lever removed (a staffing range fixes the team size per study)."""
        return SearchSpace(tuple(lever for lever in self.levers if lever.path != path), self.source)

    def to_json(self) -> list[dict[str, Any]]:
        """Every lever as plain data."""
        return [lever.to_json() for lever in self.levers]

    def contains(self, lever: Lever, value: Any) -> bool:
        """Whether a searched lever can take ``value`` (one of its choices, or a point of its range's grid)."""
        if lever.kind == "choices":
            return value in lever.choices
        if isinstance(value, bool) or not isinstance(value, int | float) or not lever.low <= value <= lever.high:
            return False
        step = lever.step or (1 if lever.integer else None)
        return step is None or abs((value - lever.low) / step - round((value - lever.low) / step)) < 1e-9

    def starting_point(self, scenario: Scenario) -> dict[str, Scalar]:
        """The scenario's own values of the searched levers that the space can take: the policy a search starts from,
        so that it never reports a policy worse than today's only for want of having tried today's."""
        data = scenario.model_dump(mode="json")
        point: dict[str, Scalar] = {}
        for lever in self.searched:
            node: Any = data
            for key in lever.path.split("."):
                node = node.get(key) if isinstance(node, dict) else None
            if node is None and lever.path.startswith("policy.dunning.volume."):
                node = 1.0  # a channel the volume map leaves out is sent at its cadence's own volume
            if node is None and lever.kind == "range":
                continue
            if self.contains(lever, node):
                point[lever.path] = node
        return point

    def one_lever_moves(self, scenario: Scenario) -> list[dict[str, Scalar]]:
        """Today's policy with one lever moved: each searched lever one grid step down and up (a tenth of its range
        where it has no step, a tenth of its log range for a log lever), or to each of its other choices.

        A search that proposes every lever at once rarely tries these: a trial near today's value of one lever
        has moved most of the others too. Empty when the space cannot express today's policy in every lever.
        """
        start = self.starting_point(scenario)
        if len(start) != len(self.searched):
            return []
        moves: list[dict[str, Scalar]] = []
        for lever in self.searched:
            today = start[lever.path]
            if lever.kind == "choices":
                options: list[Scalar] = [choice for choice in lever.choices if choice != today]
            else:
                options = [value for value in (_step_of(lever, today, -1), _step_of(lever, today, +1)) if value != today]
            moves.extend({**start, lever.path: value} for value in options)
        return moves

    def suggest(self, trial: Any) -> dict[str, Scalar]:
        """The values of one Optuna trial: every searched lever drawn from the trial, plus the fixed ones."""
        values: dict[str, Scalar] = dict(self.fixed)
        for lever in self.searched:
            if lever.kind == "choices":
                values[lever.path] = trial.suggest_categorical(lever.path, list(lever.choices))
            elif lever.integer:
                values[lever.path] = trial.suggest_int(lever.path, int(lever.low), int(lever.high), step=int(lever.step or 1), log=lever.log)
            else:
                values[lever.path] = trial.suggest_float(lever.path, lever.low, lever.high, step=lever.step, log=lever.log)
        return values


def apply_levers(scenario: Scenario, values: Mapping[str, Scalar], *, source: str = "search") -> Scenario:
    """The scenario with the levers' values put in (validated; InputError naming the field if invalid)."""
    if not values:
        return scenario
    return scenario.with_overrides(dict(values), source=source)


def search_space(spec: Any, scenario: Scenario, *, source: str = "search", max_collectors: int | None = None) -> SearchSpace:
    """A search space from its plain-data form (a mapping of lever path -> range, choices, value or off).

    ``None`` gives `DEFAULT_SPACE`. Every lever is checked against ``scenario`` (see the module docstring);
    ``max_collectors`` caps a team-size range and is checked against a fixed team size.
    """
    if spec is None:
        spec, source = default_space(scenario), "the default space"
    if not isinstance(spec, Mapping):
        raise InputError(f"{source}: expected a mapping of lever paths (such as policy.discount.percent) to ranges or choices, got {type(spec).__name__}")
    if not spec:
        raise InputError(f"{source}: names no lever; give at least one, e.g. policy.discount.percent: {{low: 0, high: 2}}")
    levers = []
    for path, given in spec.items():
        if not isinstance(path, str):
            raise InputError(f"{source}: lever {path!r}: a lever is a dotted field path such as policy.discount.percent")
        lever = _lever(path.strip(), given, scenario, where=f"{source}: {path}")
        if lever.path == STAFFING:
            lever = _capped_team(lever, max_collectors, where=f"{source}: {path}")
        levers.append(lever)
    if max_collectors is not None and STAFFING not in {lever.path for lever in levers} and scenario.team.collectors > max_collectors:
        raise InputError(f"the scenario has {scenario.team.collectors} collectors, above the limit of {max_collectors}; "
                         f"add {STAFFING} to the search space or raise the limit", argument="max_collectors")
    space = SearchSpace(tuple(levers), source)
    if not space.searched:
        raise InputError(f"{source}: every lever is fixed or off; give at least one range or list of choices")
    return space


def default_space(scenario: Scenario) -> dict[str, Any]:
    """`DEFAULT_SPACE` for this scenario (the team-size range follows its team)."""
    spec = dict(DEFAULT_SPACE)
    team = scenario.team.collectors
    spec[STAFFING] = {"low": 1, "high": max(2 * team, team + 2)}
    return spec


# ---------------------------------------------------------------------------------------------- one lever


def _lever(path: str, given: Any, scenario: Scenario, *, where: str) -> Lever:
    if not (path.startswith("policy.") or path == STAFFING):
        raise InputError(f"{where}: not a lever; levers are policy fields (policy.PATH) and {STAFFING}, the rest of the scenario is the world")
    annotation, nullable = field_type(path, where=where)
    kind = _kind(annotation)
    if given is False or (isinstance(given, str) and given.strip().lower() == "off"):
        return Lever(path, "off")
    if isinstance(given, list):
        given = {"choices": given}
    if not isinstance(given, Mapping):
        given = {"fixed": given}
    keys = set(given)
    if keys == {"fixed"}:
        value = given["fixed"]
        _check_values(scenario, path, [value], where=where)
        return Lever(path, "fixed", value=value)
    if keys == {"choices"}:
        return _choices(path, given["choices"], scenario, where=where)
    unknown = sorted(str(k) for k in keys - {"low", "high", "step", "log"})
    if unknown:
        raise InputError(f"{where}: unknown key(s) {unknown}; a lever is {{low, high[, step][, log]}}, a list of choices, {{fixed: VALUE}} or off")
    if kind not in ("int", "float"):
        raise InputError(f"{where}: a range needs a numeric field, and this field is {_kind_words(kind, annotation)}; give a list of choices instead")
    return _range(path, given, scenario, integer=kind == "int", nullable=nullable, where=where)


def _range(path: str, given: Mapping[str, Any], scenario: Scenario, *, integer: bool, nullable: bool, where: str) -> Lever:
    missing = [key for key in ("low", "high") if key not in given]
    if missing:
        raise InputError(f"{where}: a range needs low and high (missing {', '.join(missing)})")
    numbers = {}
    for key in ("low", "high", "step"):
        value = given.get(key)
        if value is None and key == "step":
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InputError(f"{where}: {key} must be a number, got {value!r}")
        if integer and value != int(value):
            raise InputError(f"{where}: {key} must be a whole number (the field is an integer), got {value!r}")
        numbers[key] = int(value) if integer else float(value)
    low, high, step = numbers["low"], numbers["high"], numbers.get("step")
    log = given.get("log", False)
    if not isinstance(log, bool):
        raise InputError(f"{where}: log must be true or false, got {log!r}")
    if low > high:
        raise InputError(f"{where}: low {low:g} is above high {high:g}")
    if step is not None and step <= 0:
        raise InputError(f"{where}: step must be above 0, got {step:g}")
    if log and (low <= 0 or step is not None):
        raise InputError(f"{where}: a log range needs low above 0 and no step")
    if step is not None and not integer:
        count = (high - low) / step
        if abs(count - round(count)) > 1e-9:
            raise InputError(f"{where}: high - low ({high - low:g}) is not a whole number of steps of {step:g}")
    _check_values(scenario, path, [low, high], where=where)
    return Lever(path, "range", low=low, high=high, step=step, log=log, integer=integer)


def _choices(path: str, choices: Any, scenario: Scenario, *, where: str) -> Lever:
    if not isinstance(choices, list) or not choices:
        raise InputError(f"{where}: choices must be a non-empty list")
    for choice in choices:
        if choice is not None and not isinstance(choice, bool | int | float | str):
            raise InputError(f"{where}: a choice must be a number, a name, true/false or null, got {choice!r}")
    if len({(type(c), c) for c in choices}) != len(choices):
        raise InputError(f"{where}: a choice is listed twice in {choices}")
    _check_values(scenario, path, choices, where=where)
    return Lever(path, "choices", choices=tuple(choices))


def _check_values(scenario: Scenario, path: str, values: list[Any], *, where: str) -> None:
    """Each value put alone into the scenario must give a valid scenario."""
    for value in values:
        try:
            scenario.with_overrides({path: value}, source=f"{where} = {_text(value)}")
        except InputError as error:
            raise InputError(_one_line(str(error))) from None


def _capped_team(lever: Lever, max_collectors: int | None, *, where: str) -> Lever:
    if max_collectors is None:
        return lever
    if lever.kind == "range":
        if lever.low > max_collectors:
            raise InputError(f"{where}: low {lever.low:g} is above the staffing limit of {max_collectors}", argument="max_collectors")
        return Lever(lever.path, "range", low=lever.low, high=min(lever.high, max_collectors), step=lever.step, log=lever.log, integer=True)
    if lever.kind == "choices":
        kept = tuple(c for c in lever.choices if isinstance(c, int) and c <= max_collectors)
        if not kept:
            raise InputError(f"{where}: every choice is above the staffing limit of {max_collectors}", argument="max_collectors")
        return Lever(lever.path, "choices", choices=kept)
    if lever.kind == "fixed" and isinstance(lever.value, int) and lever.value > max_collectors:
        raise InputError(f"{where}: {lever.value} collectors is above the staffing limit of {max_collectors}", argument="max_collectors")
    return lever


# ---------------------------------------------------------------------------------------------- the schema


def field_type(path: str, *, where: str) -> tuple[Any, bool]:
    """The annotation of the field at a dotted scenario path, and whether it accepts null.

    The path is walked through the pydantic models' fields, mapping values (``volume.call``) and tuple items
    (``steps.2``), so any field of the schema, present or future, resolves without a list kept here.
    """
    node: Any = Scenario
    nullable = False
    walked: list[str] = []
    for part in path.split("."):
        node, nullable = _unwrap(node)
        walked.append(part)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(part)
            if field is None:
                known = ", ".join(sorted(node.model_fields))
                raise InputError(f"{where}: unknown field {'.'.join(walked)!r}; {'.'.join(walked[:-1]) or 'the scenario'} has {known}")
            node = field.annotation
        elif typing.get_origin(node) is dict:
            node = typing.get_args(node)[1]
        elif typing.get_origin(node) is tuple:
            if not part.lstrip("-").isdigit():
                raise InputError(f"{where}: {'.'.join(walked[:-1])} is a list; name an item by its number (0 is the first), not {part!r}")
            node = typing.get_args(node)[0]
        else:
            raise InputError(f"{where}: {'.'.join(walked[:-1])} is a single value, not a group of fields")
    node, nullable = _unwrap(node)
    return node, nullable


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The type under Annotated[...] and Optional[...], and whether None was allowed."""
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            nullable = nullable or len(members) < len(typing.get_args(annotation))
            if len(members) != 1:
                return annotation, nullable  # a union of models (a distribution): not a single value
            annotation = members[0]
        else:
            return annotation, nullable


def _kind(annotation: Any) -> str:
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if annotation is str or typing.get_origin(annotation) is Literal:
        return "name"
    return "group"


def _kind_words(kind: str, annotation: Any) -> str:
    if kind == "name" and typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(annotation))
    return {"bool": "true/false", "name": "a name", "group": "a group of fields"}.get(kind, kind)


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _step_of(lever: Lever, value: Any, direction: int) -> Scalar:
    """``value`` moved one step of a range lever in ``direction`` (-1 or +1), kept inside the range."""
    top = lever.high
    if lever.step or lever.integer:
        step = lever.step or 1
        moved = value + direction * step
        top = lever.low + math.floor((lever.high - lever.low) / step + 1e-9) * step  # the grid's last point
    elif lever.log:
        moved = value * (lever.high / lever.low) ** (direction / 10)
    else:
        moved = value + direction * (lever.high - lever.low) / 10
    moved = min(max(moved, lever.low), top)
    if lever.integer:
        return int(round(moved))
    return round(moved, 12)  # a grid point such as 0.1 * 7 printed as 0.7, not 0.7000000000000001
