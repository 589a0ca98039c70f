"""YAML as users write it, read strictly: every scenario, policy, space and mapping file and every ``--set`` and
``--param`` value goes through `parse_yaml`, so a mistake reads the same (one line naming where and what)
wherever it was made. Kept apart from the schema so that reading a ledger's mapping file does not load pydantic.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from arsim.errors import InputError


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
        if not isinstance(node, yaml.MappingNode):  # (!!set [1] on a sequence): the base constructor reports it
            return super().construct_mapping(node, deep=deep)
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

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Build one value; a value its tag cannot hold (``2025-02-30`` read as a date, ``!!int abc``) is a YAML
        mistake at that node's line, not a crash deep inside PyYAML."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError, TypeError, AttributeError) as error:
            if isinstance(error, yaml.YAMLError):
                raise
            kind = {"timestamp": "date"}.get(node.tag.rsplit(":", 1)[-1], node.tag.rsplit(":", 1)[-1])
            why = "" if isinstance(error, AttributeError) else f": {error}"  # (PyYAML's own slip on a value it cannot parse)
            raise yaml.constructor.ConstructorError(None, None, f"{node.value!r} is not a valid {kind}{why}", node.start_mark) from None


# YAML 1.1, which PyYAML follows, reads 65e3 and 6.5e4 as text (its floats need a dot and a signed exponent:
# 6.5e+4); YAML 1.2 and every user read them as numbers. The strict loader does too. Added after the 1.1
# resolvers, so what those read as a number, a date or a boolean stays as it was.
_FLOAT_1_2 = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")
_UniqueKeyLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_1_2, list("-+0123456789."))


def parse_yaml(text: str, *, source: str, lines: bool = True) -> Any:
    """YAML text as plain data, read strictly: a key stated twice in a mapping, a value its tag cannot hold,
    nesting too deep to read, or a syntax error is an `InputError` naming ``source`` (and the line, where
    ``lines``) and the problem. Every YAML a user writes (scenario, policy, space and mapping files, ``--set``
    and ``--param`` values) is read through here, so each mistake reads the same wherever it was made."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except _DuplicateKey as error:
        raise InputError(f"{source}: {error}" if lines else f"{source}: duplicate key {error.key!r} in a mapping") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None and lines else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(f"{source}: {where}invalid YAML: {problem}") from None
    except RecursionError:
        raise InputError(f"{source}: invalid YAML: nested too deep to read") from None
    except (ValueError, TypeError, AttributeError, OverflowError) as error:  # a tag PyYAML fails on outside construct_object
        raise InputError(f"{source}: invalid YAML: {error.__class__.__name__}: {(str(error).splitlines() or [''])[0]}") from None


class _SafeDumper(yaml.SafeDumper):
    """The safe dumper, knowing the strict loader's numbers: text that reads as one (a name '2e5') is quoted."""


_SafeDumper.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_1_2, list("-+0123456789."))


def dump_yaml_data(data: Any) -> str:
    """Plain data as YAML text that `parse_yaml` reads back as the same data (block style, keys in order)."""
    return yaml.dump(data, Dumper=_SafeDumper, sort_keys=False, allow_unicode=True)
