"""Scenario and policy files: YAML read strictly (one line per mistake, naming file, line or field), and
resolved scenarios written back.

Everything that can be wrong in a file is caught here or in the schema at load time, so a run never starts
on a file that says something other than what its author meant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from arsim.errors import InputError
from arsim.scenario.schema import Policy, Scenario, validate_policy, validate_scenario
from arsim.scenario.yaml_text import dump_yaml_data, parse_yaml


def _read_yaml(path: str | Path) -> Any:
    if not isinstance(path, (str, Path)):
        raise InputError(f"expected the path of a YAML file, got {type(path).__name__}", argument="path")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read: {error.__class__.__name__}") from None
    return parse_yaml(text, source=str(path))


SEARCH_SECTION = "search"
"""The top-level section of a scenario file that declares a policy search space (read by `arsim optimize`,
checked by `arsim.analysis.search_space`); it is not part of the scenario, so every other command skips it."""


SCENARIO_SECTIONS = frozenset(Scenario.model_fields) - {"name", "description", "policy"}
"""Top-level sections only a scenario file has: a file with one of them is a whole world, not a policy."""


def _scenario_from(data: Any, path: str | Path) -> Scenario:
    """A scenario file's data (its search: section left out) validated as a scenario."""
    if isinstance(data, dict):
        data = {key: value for key, value in data.items() if key != SEARCH_SECTION}
    return validate_scenario(data, source=str(path))


def load_scenario(path: str | Path, *, policy: str | Path | None = None) -> Scenario:
    """Read a scenario YAML file (and optionally a policy file that replaces its policy)."""
    scenario = _scenario_from(_read_yaml(path), path)
    if policy is not None:
        scenario = scenario.with_policy(load_policy(policy))
    return scenario


def read_search_section(path: str | Path) -> Any | None:
    """The ``search:`` section of a scenario file as plain data (None when the file has none)."""
    data = _read_yaml(path)
    return data.get(SEARCH_SECTION) if isinstance(data, dict) else None


def read_yaml_file(path: str | Path) -> Any:
    """A YAML file as plain data, read as strictly as scenario files (one line per mistake)."""
    return _read_yaml(path)


def load_policy(path: str | Path) -> Policy:
    """Read a policy YAML file (either the policy's fields, or a mapping with one key ``policy``)."""
    return validate_policy(_read_yaml(path), source=str(path))


def load_policy_or_scenario(path: str | Path) -> Policy | Scenario:
    """Read a file that is a policy, or a whole scenario when it has a scenario's sections (``portfolio:``,
    ``team:``, ``run:``, ...): what a comparison's alternative given as a path may be. The file is read once."""
    data = _read_yaml(path)
    if isinstance(data, dict) and SCENARIO_SECTIONS & set(data):
        return _scenario_from(data, path)
    return validate_policy(data, source=str(path))


def dump_yaml(model: BaseModel) -> str:
    """YAML text of a scenario or policy, every field resolved (what a run actually used)."""
    return dump_yaml_data(model.model_dump(mode="json"))
