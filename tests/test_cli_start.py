"""The command line starts at once: help, version and validate load none of the heavy libraries.

Each check runs a fresh interpreter, since this test process has long since imported everything. What is
asserted is which modules got imported, never how long it took (benchmarks/startup.py prints the times).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "pandas", "scipy", "altair", "simpy", "optuna", "dask", "distributed")
LIGHT_COMMANDS = {
    "help": ["--help"],
    "short help": ["-h"],
    "version": ["--version"],
    "validate": ["validate", str(ROOT / "scenarios/baseline.yaml")],
    "command help": ["capacity", "--help"],
}
# Runs the command's main() and prints, on stderr, the heavy top-level packages it left in sys.modules.
PROBE = f"""
import json, sys
from arsim.cli.main import main
code = main(sys.argv[1:])
heavy = sorted({{name.split(".")[0] for name in sys.modules}} & {set(HEAVY)!r})
print("HEAVY " + json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


def _probe(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=ROOT, check=True)
    line = [row for row in done.stderr.splitlines() if row.startswith("HEAVY ")][-1]
    return json.loads(line[len("HEAVY "):])


@pytest.mark.parametrize("args", LIGHT_COMMANDS.values(), ids=LIGHT_COMMANDS.keys())
def test_light_commands_import_no_heavy_library(args):
    probed = _probe(args)
    assert probed["code"] == 0
    assert probed["heavy"] == []


@pytest.mark.parametrize("module", ["arsim", "arsim.cli"])
@pytest.mark.parametrize("args", LIGHT_COMMANDS.values(), ids=LIGHT_COMMANDS.keys())
def test_the_module_entry_points_import_no_heavy_library(args, module):
    """The same through ``python -m arsim`` and ``python -m arsim.cli``, read from -X importtime: nothing imported
    before main() counts either."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", module, *args], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "arsim" in imported  # the probe reads what it thinks it reads
    assert sorted(imported & set(HEAVY)) == []


def test_validate_loads_the_scenario_without_numpy():
    """Scenario loading itself (arsim.scenario) must stay free of numpy, or validate would pay for it."""
    code = ("import sys; from arsim.scenario.files import load_scenario; load_scenario(sys.argv[1]); "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT / "scenarios/baseline.yaml")], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_simulating_command_does_import_them():
    """The probe does see heavy imports: a command that measures a ledger loads pandas."""
    probed = _probe(["kpis", str(ROOT / "tests/fixtures/ledgers/erp_export.csv"), "--mapping",
                     str(ROOT / "tests/fixtures/ledgers/erp_mapping.yaml"), "--json"])
    assert probed["code"] == 0
    assert "pandas" in probed["heavy"]
