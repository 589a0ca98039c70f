"""Build arsim, with the simulation engine compiled to C by mypyc where this machine can.

Everything else about the package is in pyproject.toml. The engine (the modules of `arsim.sim` that run once per
event: ENGINE_MODULES) is plain, type-annotated Python; mypyc compiles those same files into extension modules,
which Python imports in preference to the sources beside them. Compiled, a replication runs about twice as fast
(docs/architecture.md, "Speed") and gives exactly the same numbers; the sources remain the reference and the
fallback:

- ``ARSIM_ENGINE=python`` when installing builds no extension (and at run time makes arsim use the sources);
- a machine without a C compiler, or sources mypyc cannot compile, get a warning and the Python engine, unless
  ``ARSIM_REQUIRE_COMPILED=1`` (CI sets it), which makes that an error.

Next to the compiled modules the build writes ``engine_build.json``: the SHA-256 of each source it compiled.
`arsim.sim` compares it with the sources on import and uses the sources when one was edited since (see there).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ENGINE_MODULES = ("agenda", "behaviour", "calendar", "collectors", "model", "rules")
"""The modules of arsim.sim compiled (keep in step with arsim.sim.ENGINE_MODULES)."""
SIM = Path("src") / "arsim" / "sim"
BUILD_RECORD = "engine_build.json"
# Type-check the engine by its own annotations alone: installed packages (numpy, pandas, simpy) are not looked at,
# so the build is the same in an isolated build environment and in a full one.
MYPY_OPTIONS = ["--ignore-missing-imports", "--follow-imports=silent", "--no-site-packages"]
# The commands that compile; the others (metadata, sdist) need not spend the half minute mypyc takes.
BUILDING = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}


def _required() -> bool:
    return os.environ.get("ARSIM_REQUIRE_COMPILED", "") not in ("", "0")


def _warn(message: str) -> None:
    print(f"arsim setup: warning: {message}; arsim will run its engine from the Python sources (slower, same numbers)", flush=True)


def _sources() -> list[str]:
    return [str(SIM / f"{name}.py") for name in ENGINE_MODULES]


def engine_extensions() -> list:
    """The engine's extension modules, or none (the Python engine) when not wanted or not possible here."""
    if os.environ.get("ARSIM_ENGINE", "") == "python":
        if _required():
            raise SystemExit("arsim setup: ARSIM_ENGINE=python and ARSIM_REQUIRE_COMPILED=1 contradict each other")
        return []
    if not BUILDING & set(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify

        return mypycify([*MYPY_OPTIONS, *_sources()], opt_level="3", group_name="arsim_engine")
    except (Exception, SystemExit) as error:  # mypy reports type errors by exiting
        if _required():
            raise
        _warn(f"mypyc could not compile the engine ({error})")
        return []


class BuildEngine(build_ext):
    """build_ext that records what it compiled, and falls back to the Python engine when the C compiler fails."""

    def run(self) -> None:
        if not self.extensions:
            return
        try:
            super().run()
        except Exception as error:
            if _required():
                raise
            _warn(f"compiling the engine failed ({error})")
            return
        digests = {f"{name}.py": hashlib.sha256((SIM / f"{name}.py").read_bytes()).hexdigest() for name in ENGINE_MODULES}
        record = json.dumps({"compiler": "mypyc", "sources": digests}, indent=1, sort_keys=True) + "\n"
        for root in ([Path("src")] if self.inplace else []) + [Path(self.build_lib)]:
            target = root / "arsim" / "sim" / BUILD_RECORD
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(record)


setup(ext_modules=engine_extensions(), cmdclass={"build_ext": BuildEngine})
