"""Scenario and policy files: YAML read strictly (one line per mistake, naming file, line or field), and
resolved scenarios written back.

Everything that can be wrong in a file is caught here or in the schema at load time, so a run never starts
on a file that says something other than what its author meant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
)

from arsim.errors import InputError
from arsim.scenario.schema import Policy, Scenario, validate_policy, validate_scenario


class _DuplicateKey(yaml.YAMLError):
    """A mapping states the same key twice (PyYAML would silently keep the last)."""

    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"line {line}: duplicate key {key!r} in a mapping")
        self.key, self.line = key, line


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key stated twice in one mapping.

    A scenario that says `collectors: 3` and, further down the same block, `collectors: 5` is a mistake
    whichever one was meant; PyYAML keeps the last without a word. Keys brought in by a merge (`<<: *base`)
    may be overridden, as that is what a merge is for.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # an unhashable key: the base constructor reports it
            if duplicate:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read: {error.__class__.__name__}") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except _DuplicateKey as error:
        raise InputError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(f"{path}: {where}invalid YAML: {problem}") from None


SEARCH_SECTION = "search"
"""The top-level section of a scenario file that declares a policy search space (read by `arsim optimize`,
checked by `arsim.analysis.search_space`); it is not part of the scenario, so every other command skips it."""


def load_scenario(path: str | Path, *, policy: str | Path | None = None) -> Scenario:
    """Read a scenario YAML file (and optionally a policy file that replaces its policy)."""
    data = _read_yaml(path)
    if isinstance(data, dict):
        data = {key: value for key, value in data.items() if key != SEARCH_SECTION}
    scenario = validate_scenario(data, source=str(path))
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


def dump_yaml(model: BaseModel) -> str:
    """YAML text of a scenario or policy, every field resolved (what a run actually used)."""
    return yaml.safe_dump(model.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
