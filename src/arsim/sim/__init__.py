"""One replication of the simulation: random streams, behaviour, policy rules, agenda, collectors, model.

The engine's modules (ENGINE_MODULES) are plain, annotated Python that the install compiles to C with mypyc
(setup.py); Python then imports the compiled module in preference to the source beside it. Both give the same
numbers (a test compares them); the compiled event loop is about twice as fast. The sources run instead:
- when ``ARSIM_ENGINE=python`` is set (to compare, debug or profile the engine as Python);
- when the compiled modules cannot be trusted to be these sources, with a warning: a source was edited after
  the build (its SHA-256 differs from the one the build recorded in ``engine_build.json``), compiled modules lie
  here without that record (left by a build of other sources, as a checkout of another commit does), or their
  shared library is missing.
The choice is made once, when this package is first imported; reloading an engine module later (Jupyter's
autoreload) does not compile it again: restart the kernel after editing the engine.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path

ENGINE_MODULES = ("agenda", "behaviour", "calendar", "collectors", "model", "rules")
"""The modules the install compiles (setup.py reads this tuple from here)."""

BUILD_RECORD = "engine_build.json"
SHARED_LIBRARY = "arsim_engine__mypyc"
"""The library the compiled modules share (mypyc's group name, setup.py), installed beside the arsim package."""
_HERE = Path(__file__).resolve().parent


def _compiled_files() -> list[Path]:
    """The compiled engine modules present beside their sources."""
    return [path for name in ENGINE_MODULES for suffix in importlib.machinery.EXTENSION_SUFFIXES
            if (path := _HERE / f"{name}{suffix}").is_file()]


def _reason_for_sources() -> str | None:
    """Why the engine must run from its sources although compiled modules may exist, or None."""
    if os.environ.get("ARSIM_ENGINE", "").strip().lower() == "python":
        return "ARSIM_ENGINE=python"
    if not _compiled_files():
        return None  # not compiled: Python finds the sources itself
    record = _HERE / BUILD_RECORD
    try:
        built = json.loads(record.read_text())["sources"]
    except FileNotFoundError:
        return f"compiled modules lie in {_HERE} without the {BUILD_RECORD} of their build"
    except (OSError, ValueError, KeyError, TypeError):
        return f"{record} is unreadable"
    for name in ENGINE_MODULES:
        source = _HERE / f"{name}.py"
        if built.get(source.name) != hashlib.sha256(source.read_bytes()).hexdigest():
            return f"{source} changed since the engine was compiled"
    # The library is imported by name from anywhere on sys.path; only the one beside this arsim is of its build.
    beside = _HERE.parent.parent
    if not any((beside / f"{SHARED_LIBRARY}{suffix}").is_file() for suffix in importlib.machinery.EXTENSION_SUFFIXES):
        return f"the compiled modules' shared library {SHARED_LIBRARY} is missing from {beside}"
    return None


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the engine's modules as their .py sources, passing over compiled ones."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != __name__ or name not in ENGINE_MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, _HERE / f"{name}.py")


def engine() -> str:
    """'compiled' or 'python': how the engine runs in this process (found without loading it, so cheap).

    'compiled' only when every engine module is; a module already imported counts as it was imported.
    """
    for name in ENGINE_MODULES:
        spec = importlib.util.find_spec(f"{__name__}.{name}")
        if spec is None or str(spec.origin).endswith(".py"):
            return "python"
    return "compiled"


_reason = _reason_for_sources()
if _reason is not None and not any(isinstance(finder, _SourceFinder) for finder in sys.meta_path):
    sys.meta_path.insert(0, _SourceFinder())
if _reason is not None and _reason != "ARSIM_ENGINE=python":
    warnings.warn(f"arsim runs its engine from the Python sources: {_reason} (installing arsim again compiles it)", stacklevel=2)
