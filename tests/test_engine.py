"""The compiled engine and the Python engine: the same numbers, and a compiled module never runs stale code.

The install compiles arsim.sim's engine modules with mypyc (setup.py). These tests need that build; without it
(no C compiler) they are skipped, unless ARSIM_REQUIRE_COMPILED=1 (CI sets it), where a missing build fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import arsim
from arsim.sim import ENGINE_MODULES, engine

SRC = Path(arsim.__file__).resolve().parent.parent
SHORT = {"run.horizon_days": 240, "run.warmup_days": 60}
# The shipped scenarios' defaults, and every part of the engine: credit holds and refusals, discounts taken and unearned, penalties (paid, unpaid,
# contested), payment plans, the predicted-risk worklist (which reads payment history), an overloaded team.
CASES = {
    "smb": ("smb.yaml", None, {}),
    "baseline": ("baseline.yaml", None, {}),
    "late-fee, plans, one collector": ("baseline.yaml", "late-fee.yaml", {
        **SHORT, "policy.payment_plan.enabled": True, "policy.discount.percent": 2.0, "policy.discount.unearned": "accept",
        "team.collectors": 1}),
    "predicted risk, discount": ("baseline.yaml", "discount-1-10.yaml", {**SHORT, "policy.worklist_rule": "predicted_risk"}),
    "tight credit, more calls": ("baseline.yaml", "more-calls.yaml", {**SHORT, "policy.credit.limit_months_of_sales": 1.0}),
}

FINGERPRINTS = """
import hashlib, json, sys
import pandas as pd
import arsim
from arsim.sim import engine
from arsim.sim.model import simulate

def fingerprint(result):
    digest = hashlib.sha256()
    for name in sorted(result.frames):
        frame = result.frames[name]
        digest.update(name.encode())
        digest.update(str(list(frame.dtypes)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=True).values.tobytes())
    digest.update(repr((result.events, result.simpy_events, result.orders, result.open_amount_end, result.open_invoices_end)).encode())
    return digest.hexdigest()

cases = json.loads(sys.argv[1])
out = {"engine": engine()}
for name, (scenario, policy, overrides) in cases.items():
    loaded = arsim.load_scenario(arsim.shipped_scenario(scenario), policy=arsim.shipped_scenario("policies/" + policy) if policy else None)
    out[name] = fingerprint(simulate(loaded.with_overrides(overrides) if overrides else loaded, replication=1))
print(json.dumps(out))
"""


def _needs_compiled() -> None:
    if engine() != "compiled":
        if os.environ.get("ARSIM_REQUIRE_COMPILED", "") not in ("", "0"):
            pytest.fail("ARSIM_REQUIRE_COMPILED is set, but the engine is not compiled (see `make install`'s output)")
        pytest.skip("the engine is not compiled here (ARSIM_ENGINE=python, no C compiler, or a failed build: "
                    "`pip install -v -e .` shows why)")


def _python(code: str, *args: str, env: dict | None = None, path: Path | None = None) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "ARSIM_ENGINE"}
    environment.update(env or {})
    if path is not None:
        environment["PYTHONPATH"] = str(path)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=environment, check=False)


def test_the_compiled_engine_gives_the_python_engine_s_numbers():
    _needs_compiled()
    runs = {}
    for chosen in ("compiled", "python"):
        done = _python(FINGERPRINTS, json.dumps(CASES), env={"ARSIM_ENGINE": chosen} if chosen == "python" else None)
        assert done.returncode == 0, done.stderr
        runs[chosen] = json.loads(done.stdout)
    assert runs["compiled"].pop("engine") == "compiled" and runs["python"].pop("engine") == "python"
    assert runs["compiled"] == runs["python"]


def test_the_python_engine_is_what_the_compiled_one_compiles():
    """The build records each source's SHA-256; the sources beside the compiled modules are those sources."""
    _needs_compiled()
    record = json.loads((SRC / "arsim" / "sim" / "engine_build.json").read_text())
    for name in ENGINE_MODULES:
        source = SRC / "arsim" / "sim" / f"{name}.py"
        assert record["sources"][source.name] == hashlib.sha256(source.read_bytes()).hexdigest()


def _copy_of_the_package(tmp_path: Path) -> Path:
    """arsim as installed here, compiled modules and build record included, in a folder of its own."""
    shutil.copytree(SRC / "arsim", tmp_path / "arsim", ignore=shutil.ignore_patterns("__pycache__"))
    for shared in SRC.glob("arsim_engine__mypyc*"):  # the library the compiled modules share
        shutil.copy2(shared, tmp_path / shared.name)
    return tmp_path


WHICH = "import warnings; warnings.simplefilter('always'); import arsim.sim.model as m, arsim.sim as s; print(s.engine(), m.__file__)"
WARNING = "arsim runs its engine from the Python sources"


def test_a_copy_of_the_package_runs_compiled(tmp_path):
    _needs_compiled()
    root = _copy_of_the_package(tmp_path)
    done = _python(WHICH, path=root)
    assert done.returncode == 0 and WARNING not in done.stderr, done.stderr
    chosen, file = done.stdout.split()
    assert chosen == "compiled" and Path(file).parent == root / "arsim" / "sim" and not file.endswith(".py")


def test_an_engine_source_edited_after_the_build_runs_from_source_with_a_warning(tmp_path):
    _needs_compiled()
    root = _copy_of_the_package(tmp_path)
    source = root / "arsim" / "sim" / "rules.py"
    source.write_text(source.read_text() + "\nEDITED = True\n")
    done = _python(WHICH + "; import arsim.sim.rules as r; print(r.EDITED)", path=root)
    assert done.returncode == 0, done.stderr
    chosen, file, edited = done.stdout.split()
    assert chosen == "python" and file == str(root / "arsim" / "sim" / "model.py") and edited == "True"
    assert f"{WARNING}: {source} changed since the engine was compiled" in done.stderr


@pytest.mark.parametrize("removed", ["engine_build.json", "arsim_engine__mypyc"])
def test_compiled_modules_that_cannot_be_trusted_run_from_source_with_a_warning(tmp_path, removed):
    """Compiled modules without their build record (left by a build of other sources: a checkout of another
    commit keeps the untracked compiled files) or without their shared library are passed over."""
    _needs_compiled()
    root = _copy_of_the_package(tmp_path)
    for path in [*root.glob(f"{removed}*"), *(root / "arsim" / "sim").glob(removed)]:
        path.unlink()
    done = _python(WHICH, path=root)
    assert done.returncode == 0, done.stderr
    chosen, file = done.stdout.split()
    assert chosen == "python" and file == str(root / "arsim" / "sim" / "model.py")
    expected = "without the engine_build.json of their build" if removed == "engine_build.json" else "shared library arsim_engine__mypyc is missing"
    assert WARNING in done.stderr and expected in done.stderr, done.stderr


def test_arsim_engine_python_runs_the_sources_without_a_warning(tmp_path):
    done = _python(WHICH, env={"ARSIM_ENGINE": "python"})
    assert done.returncode == 0 and WARNING not in done.stderr, done.stderr
    chosen, file = done.stdout.split()
    assert chosen == "python" and file.endswith(os.path.join("arsim", "sim", "model.py"))


def test_the_public_api_checks_its_arguments_in_either_engine():
    """Compiled functions refuse a wrong type with a TypeError; the entry points take ``object`` and say which argument."""
    smb = arsim.load_scenario(arsim.shipped_scenario("smb.yaml"))
    for wrong, argument in (("1", "replication"), (1.5, "replication"), (None, "replication")):
        with pytest.raises(arsim.InputError) as raised:
            arsim.simulate(smb, replication=wrong)
        assert raised.value.argument == argument
    result = arsim.simulate(smb.with_overrides(SHORT))
    assert isinstance(result.frames["payment"], pd.DataFrame) and len(result.frames["payment"]) > 0
