"""One replication of the simulation: random streams, behaviour, policy rules, agenda, collectors, model.

The engine's modules (ENGINE_MODULES) are plain, annotated Python that the install compiles to C with mypyc
(setup.py); Python then imports the compiled module in preference to the source beside it. Both give the same
numbers (a test compares them); the compiled one about twice as fast. The sources are used instead:
- when ``ARSIM_ENGINE=python`` is set (to compare, debug or profile the engine as Python);
- when a source was edited after the build (its SHA-256 differs from the one the build recorded in
  ``engine_build.json``), with a warning: a compiled module never runs code older than its source.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path

ENGINE_MODULES = ("agenda", "behaviour", "calendar", "collectors", "model", "rules")
"""The modules compiled by the install (keep in step with setup.py)."""

BUILD_RECORD = "engine_build.json"
_HERE = Path(__file__).resolve().parent


def _reason_for_sources() -> str | None:
    """Why the engine must run from its sources although compiled modules exist, or None."""
    if os.environ.get("ARSIM_ENGINE", "") == "python":
        return "ARSIM_ENGINE=python"
    record = _HERE / BUILD_RECORD
    if not record.is_file():
        return None  # not compiled (or built before builds were recorded): Python finds the sources itself
    try:
        built = json.loads(record.read_text())["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{BUILD_RECORD} is unreadable"
    for name in ENGINE_MODULES:
        source = _HERE / f"{name}.py"
        if built.get(source.name) != hashlib.sha256(source.read_bytes()).hexdigest():
            return f"src/arsim/sim/{source.name} changed since the engine was compiled"
    return None


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the engine's modules as their .py sources, passing over compiled ones."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != __name__ or name not in ENGINE_MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, _HERE / f"{name}.py")


def engine() -> str:
    """'compiled' or 'python': how the engine runs in this process (found without loading it, so cheap)."""
    spec = importlib.util.find_spec(f"{__name__}.model")
    return "python" if spec is None or str(spec.origin).endswith(".py") else "compiled"


_reason = _reason_for_sources()
if _reason is not None:
    sys.meta_path.insert(0, _SourceFinder())
    if _reason != "ARSIM_ENGINE=python":
        warnings.warn(f"arsim runs its engine from the Python sources: {_reason} (`make install` compiles it again)", stacklevel=2)
