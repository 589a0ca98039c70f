"""Build arsim, with the simulation engine compiled to C by mypyc where this machine can.

Everything else about the package is in pyproject.toml. The engine (the modules of `arsim.sim` that run once per
event: ENGINE_MODULES) is plain, type-annotated Python; mypyc compiles those same files into extension modules,
which Python imports in preference to the sources beside them. Compiled, the event loop runs about twice as fast
(docs/architecture.md, "The compiled engine") and gives exactly the same numbers; the sources remain the
reference and the fallback:

- ``ARSIM_ENGINE=python`` when installing compiles nothing (and at run time makes arsim use the sources);
- a machine without a C compiler, or sources mypyc cannot compile, get the Python engine, with a warning in
  the build's output (which pip shows only with ``-v``; ``make install`` ends by printing ``arsim --version``,
  which says which engine runs), unless ``ARSIM_REQUIRE_COMPILED=1`` (CI sets it), which makes that an error.

mypyc runs inside build_ext, so only a build compiles (not the metadata steps). Next to the compiled modules
the build writes ``engine_build.json``: the SHA-256 of each source as it was when compiled. `arsim.sim` compares
it with the sources on import and uses the sources when one was edited since. An in-place build (an editable
install) that compiles nothing removes the compiled modules an earlier build left, so they cannot run instead.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.machinery
import json
import os
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SIM = Path("src") / "arsim" / "sim"


def _engine_modules() -> tuple[str, ...]:
    """arsim.sim.ENGINE_MODULES, read from its source (the build cannot import arsim): one list for both."""
    for node in ast.parse((SIM / "__init__.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "ENGINE_MODULES" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise SystemExit("arsim setup: no ENGINE_MODULES in src/arsim/sim/__init__.py")


ENGINE_MODULES = _engine_modules()
"""The modules of arsim.sim compiled."""
BUILD_RECORD = "engine_build.json"
GROUP = "arsim_engine"
"""mypyc's group name: the compiled modules share the library arsim_engine__mypyc (see arsim.sim)."""
# Type-check the engine by its own annotations alone: installed packages (numpy, pandas, simpy) are not looked at,
# so the build is the same in an isolated build environment and in a full one.
MYPY_OPTIONS = ["--ignore-missing-imports", "--follow-imports=silent", "--no-site-packages"]
COMPILED: dict[str, str] = {}
"""SHA-256 of each engine source as mypyc read it (the build record)."""
PLACEHOLDER = Extension("arsim.sim._engine", sources=[])
"""Stands for the engine until build_ext asks mypyc for the real extensions (so that setuptools runs build_ext)."""


def _required() -> bool:
    return os.environ.get("ARSIM_REQUIRE_COMPILED", "") not in ("", "0")


def _warn(message: str) -> None:
    print(f"arsim setup: warning: {message}; arsim will run its engine from the Python sources (slower, same numbers)", flush=True)


def _digests() -> dict[str, str]:
    return {f"{name}.py": hashlib.sha256((SIM / f"{name}.py").read_bytes()).hexdigest() for name in ENGINE_MODULES}


class BuildEngine(build_ext):
    """build_ext that compiles the engine with mypyc, records what it compiled, and falls back to the Python
    engine when mypyc or the C compiler fails."""

    def finalize_options(self) -> None:
        if self.distribution.ext_modules == [PLACEHOLDER] and not COMPILED:  # the first time only (options may be finalized again)
            # With nothing to compile the placeholder stays, so that setuptools still runs build_ext (run() below).
            self.distribution.ext_modules = self._engine_extensions() or [PLACEHOLDER]
        super().finalize_options()

    def _engine_extensions(self) -> list[Extension]:
        if os.environ.get("ARSIM_ENGINE", "").strip().lower() == "python":
            if _required():
                raise SystemExit("arsim setup: ARSIM_ENGINE=python and ARSIM_REQUIRE_COMPILED=1 contradict each other")
            return []
        COMPILED.update(_digests())  # before compiling: a source saved during the build must not pass for compiled
        try:
            from mypyc.build import mypycify

            return mypycify([*MYPY_OPTIONS, *(str(SIM / f"{name}.py") for name in ENGINE_MODULES)], opt_level="3", group_name=GROUP)
        except (Exception, SystemExit) as error:  # mypy reports type errors by exiting
            if _required():
                raise
            _warn(f"mypyc could not compile the engine ({error})")
            return []

    def run(self) -> None:
        if self.extensions == [PLACEHOLDER]:  # nothing to compile
            self._remove_earlier_build()
            return
        try:
            super().run()
        except Exception as error:
            if _required():
                raise
            _warn(f"compiling the engine failed ({error})")
            self._remove_earlier_build()
            return
        record = json.dumps({"compiler": "mypyc", "sources": COMPILED}, indent=1, sort_keys=True) + "\n"
        for root in ([Path("src")] if self._in_place() else []) + [Path(self.build_lib)]:
            target = root / "arsim" / "sim" / BUILD_RECORD
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(record)

    def _in_place(self) -> bool:
        """Whether the build puts its modules into the source tree (an editable install, or build_ext --inplace)."""
        return bool(self.inplace or getattr(self, "editable_mode", False))

    def _remove_earlier_build(self) -> None:
        """In place, nothing compiled now: remove what an earlier build compiled, so that the sources run."""
        if not self._in_place():
            return
        suffixes = importlib.machinery.EXTENSION_SUFFIXES
        stale = [SIM / BUILD_RECORD, *(SIM / f"{name}{suffix}" for name in ENGINE_MODULES for suffix in suffixes),
                 *(Path("src") / f"{GROUP}__mypyc{suffix}" for suffix in suffixes)]
        for path in stale:
            path.unlink(missing_ok=True)


setup(ext_modules=[PLACEHOLDER], cmdclass={"build_ext": BuildEngine})
