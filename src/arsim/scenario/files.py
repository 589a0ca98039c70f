"""TODO docstring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
)

from arsim.errors import InputError
from arsim.scenario.schema import Policy, Scenario, validate_policy, validate_scenario


def _read_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read: {error.__class__.__name__}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(f"{path}: {where}invalid YAML: {problem}") from None


def load_scenario(path: str | Path, *, policy: str | Path | None = None) -> Scenario:
    """Read a scenario YAML file (and optionally a policy file that replaces its policy)."""
    scenario = validate_scenario(_read_yaml(path), source=str(path))
    if policy is not None:
        scenario = scenario.with_policy(load_policy(policy))
    return scenario


def load_policy(path: str | Path) -> Policy:
    """Read a policy YAML file (either the policy's fields, or a mapping with one key ``policy``)."""
    return validate_policy(_read_yaml(path), source=str(path))


def dump_yaml(model: BaseModel) -> str:
    """YAML text of a scenario or policy, every field resolved (what a run actually used)."""
    return yaml.safe_dump(model.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
