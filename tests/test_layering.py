"""The package map holds: imports point one way, private names stay private, heavy libraries stay in their place.

Every module under src/arsim is parsed (ast, recursively through subpackages); nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "arsim"
# Lower layers first: a module may import modules of its own package or of an earlier layer only.
LAYERS: list[str] = ["errors", "files", "scenario", "sim", "measure", "ledger", "experiment", "analysis", "present", "cli"]
# Third-party libraries that only some packages may import (the first part of the module name).
ONLY_IN: dict[str, set[str]] = {
    "simpy": {"arsim.sim"},
    "optuna": {"arsim.analysis"},
    "altair": {"arsim.present"},
    "dask": {"arsim.experiment"},
    "distributed": {"arsim.experiment"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module, names imported from it, line) for every import statement, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append(("<relative>", [], node.lineno))
    return found


def _layer(module: str) -> int:
    """Layer index of an arsim module (arsim.<package>...), or -1 for the top-level arsim package."""
    parts = module.split(".")
    if len(parts) == 1:
        return len(LAYERS)  # the package's __init__: the public API sits above everything
    if module == "arsim.__main__":
        return len(LAYERS)  # `python -m arsim`: the command line's entry point, beside the public API
    package = parts[1]
    if package not in LAYERS:
        raise AssertionError(f"{module}: package {package!r} is not in the layer map of tests/test_layering.py")
    return LAYERS.index(package)


def test_every_module_is_in_a_known_package():
    for path in MODULES:
        _layer(_module_name(path))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down_the_layers(path: Path):
    me = _module_name(path)
    mine = _layer(me)
    for module, _, line in _imports(path):
        assert module != "<relative>", f"{me}:{line}: use absolute imports"
        if module == "arsim" or not module.startswith("arsim."):
            continue
        assert _layer(module) <= mine, f"{me}:{line} imports {module}, which is in a higher layer"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_private_names_stay_in_their_module(path: Path):
    me = _module_name(path)
    for module, names, line in _imports(path):
        if not module.startswith("arsim"):
            continue
        private = [n for n in names if n.startswith("_") and n != "__version__"]
        assert not private, f"{me}:{line} imports private name(s) {private} from {module}"
        hidden = [part for part in module.split(".") if part.startswith("_") and part != "__main__"]
        assert not hidden, f"{me}:{line} imports private module {module}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_heavy_libraries_stay_in_their_packages(path: Path):
    me = _module_name(path)
    for module, _, line in _imports(path):
        allowed = ONLY_IN.get(module.split(".")[0])
        if allowed is not None:
            assert any(me == p or me.startswith(p + ".") for p in allowed), f"{me}:{line} imports {module}"


def test_the_top_level_package_imports_nothing_heavy_at_import_time():
    """`import arsim` must stay cheap: the public API is loaded lazily (PEP 562)."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
            assert module in {"__future__", "importlib", "typing"}, f"arsim/__init__.py imports {module} at import time"
