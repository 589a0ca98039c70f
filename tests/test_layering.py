"""Imports point one way down the module map; simpy and optuna stay in their own modules."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "arsim"
# Lower layers first; a module may import only modules of its own or an earlier layer.
LAYERS = [
    {"scenario"},
    {"policy", "streams"},
    {"behaviour", "records"},
    {"model"},
    {"kpis", "ledger"},
    {"experiment", "capacity", "ledger_metrics", "calibrate"},
    {"optimize", "goals", "compare"},
    {"charts", "report"},
    {"cli", "__init__"},
]
ONLY_IN = {"simpy": {"model"}, "optuna": {"optimize"}, "altair": {"charts", "report"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _layer(module: str) -> int:
    for index, layer in enumerate(LAYERS):
        if module in layer:
            return index
    raise AssertionError(f"module {module} is not in the layer map of tests/test_layering.py")


def test_imports_point_down_the_layers():
    for path in sorted(PACKAGE.glob("*.py")):
        module = path.stem
        for name in _imports(path):
            if name.startswith("arsim.") or name == "arsim":
                target = name.split(".")[1] if "." in name else "__init__"
                if target == "__init__" and module != "__init__":
                    continue  # only __version__ is taken from the package root
                assert _layer(target) <= _layer(module), f"{module} imports {target}, a higher layer"


def test_heavy_libraries_stay_in_their_modules():
    for path in sorted(PACKAGE.glob("*.py")):
        for name in _imports(path):
            root = name.split(".")[0]
            if root in ONLY_IN:
                assert path.stem in ONLY_IN[root], f"{path.stem} imports {root}"
