"""A results folder under interruption: real processes are stopped (SIGINT, SIGKILL) or fail while writing it.

After every interruption the folder must be the previous one, byte for byte, or the new one, complete;
SIGINT and failures leave no temporary file; what SIGKILL leaves behind is removed (or put back) by the next
write. Two kinds of test:

- fresh interpreters (``python CHILD``) write a small run's folder, with a slowed-down writer so that the
  signal can land while files are being written: the signal is sent when the staging folder appears, or at
  random moments after that;
- forked copies of this process write the same folder and are interrupted just before their n-th file
  system call (n = 1, 2, ... until the write completes), which reaches every step: the staging folder, each
  temporary file, each rename, the swap and the removal of the previous folder.
"""

from __future__ import annotations

import builtins
import errno
import gzip
import io
import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from arsim import files
from arsim.errors import InputError
from arsim.experiment.replications import run_experiment
from arsim.experiment.results import write_results
from arsim.files import recover_folder
from arsim.scenario.files import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"run.horizon_days": 60, "run.warmup_days": 30, "portfolio.segments.prompt.customers": 40, "portfolio.segments.slow.customers": 30}
FILE_CALLS = ("mkdir", "open", "rename", "replace", "unlink", "rmdir", "scandir")  # os functions counted as steps

CHILD = """
import pickle, sys, time
import arsim.experiment.results as results

result_file, folder, delay, slow = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4].split(",")
with open(result_file, "rb") as stream:
    result = pickle.load(stream)
if delay:  # a slow disk: each file the named writers write takes `delay` seconds
    for name in slow:
        def slow(*args, _real=getattr(results, name), **options):
            time.sleep(delay)
            return _real(*args, **options)
        setattr(results, name, slow)
print("writing", flush=True)
results.write_results(result, folder)
"""


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    """Two runs of a small scenario (the previous and the new folder), their reference folders and pickles."""
    base = tmp_path_factory.mktemp("books")
    scenario = load_scenario(ROOT / "scenarios/smb.yaml").with_overrides(SMALL)
    old = run_experiment(scenario, replications=1, seed=1, command="old")
    new = run_experiment(scenario, replications=1, seed=2, command="new")
    write_results(old, base / "old")
    write_results(new, base / "new")
    for name, result in (("old", old), ("new", new)):
        (base / f"{name}.pickle").write_bytes(pickle.dumps(result))
    (base / "child.py").write_text(CHILD)
    snapshots = {"old": _snapshot(base / "old"), "new": _snapshot(base / "new")}
    assert snapshots["old"] != snapshots["new"] and len(snapshots["new"]) == 5
    return {"base": base, "old": old, "new": new, **{f"{k}_files": v for k, v in snapshots.items()}}


def _state(folder: Path, books) -> str:
    """old, new, missing, or other (which must never happen)."""
    if not folder.exists():
        return "missing"
    snapshot = _snapshot(folder)
    return "old" if snapshot == books["old_files"] else "new" if snapshot == books["new_files"] else "other"


def _others(folder: Path) -> list[str]:
    """Everything in the folder's parent but the folder: staging folders, folders moved aside, temporary files."""
    return sorted(p.name for p in folder.parent.iterdir() if p != folder)


def _previous(case: Path, books) -> Path:
    """A fresh place holding the previous folder, exactly as the reference."""
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir(parents=True)
    folder = case / "run"
    shutil.copytree(books["base"] / "old", folder)
    return folder


# ---------------------------------------------------------------------------------------------- fresh interpreters


def _start(books, folder: Path, *, delay: float, slow: str = "write_csv,write_ledger,write_json") -> subprocess.Popen:
    """A fresh interpreter writing the new folder; the writers named in ``slow`` take ``delay`` seconds a file."""
    command = [sys.executable, str(books["base"] / "child.py"), str(books["base"] / "new.pickle"), str(folder), str(delay), slow]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _when_staging_appears(child: subprocess.Popen, folder: Path, *, holding: str | None = None, timeout: float = 120.0) -> bool:
    """Wait until the child's staging folder exists (and holds the file ``holding``): True; or the child ended: False.
    (The write check's probe folder, made and removed before the run, is not the staging folder.)"""
    deadline = time.monotonic() + timeout
    prefix = f".{folder.name}.arsim-"
    while time.monotonic() < deadline:
        for name in os.listdir(folder.parent):
            if name.startswith(prefix) and not name.endswith(".probe") and (holding is None or (folder.parent / name / holding).exists()):
                return True
        if child.poll() is not None:
            return False
        time.sleep(0.0005)
    raise AssertionError("the child never started writing")


def test_sigint_while_files_are_written_keeps_the_previous_folder_and_no_temporary(tmp_path, books):
    folder = _previous(tmp_path / "case", books)
    child = _start(books, folder, delay=2.0, slow="write_ledger")
    assert _when_staging_appears(child, folder, holding="monthly.csv")  # three files written, the ledger on its way
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode != 0 and "KeyboardInterrupt" in err
    assert _state(folder, books) == "old"
    assert _others(folder) == []


def test_sigkill_while_files_are_written_is_cleaned_up_by_the_next_run(tmp_path, books):
    folder = _previous(tmp_path / "case", books)
    child = _start(books, folder, delay=2.0, slow="write_json")
    assert _when_staging_appears(child, folder, holding="invoices.csv.gz")  # the manifest is on its way
    child.kill()
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert _state(folder, books) == "old"
    leftovers = _others(folder)
    assert len(leftovers) == 1 and leftovers[0].startswith(".run.arsim-") and leftovers[0].endswith(".new")
    assert sorted(os.listdir(folder.parent / leftovers[0])) == ["invoices.csv.gz", "kpis.csv", "monthly.csv", "replications.csv"]
    write_results(books["new"], folder)  # the next run
    assert _state(folder, books) == "new" and _others(folder) == []


def test_signals_at_random_moments(tmp_path, books):
    """SIGINT or SIGKILL at random moments from the staging folder's appearance to past the end of the write.

    Four writers run at once (each to its own folder), so that their interpreters start in parallel.
    """
    draw = random.Random(20250106)
    cases = []
    for index in range(4):
        folder = _previous(tmp_path / f"case{index}", books)
        delay = (0.0, 0.05)[index // 2 % 2]
        sig = (signal.SIGINT, signal.SIGKILL)[index % 2]
        cases.append((folder, sig, draw.uniform(0, 6 * delay + 0.05), _start(books, folder, delay=delay)))

    def interrupt(case) -> tuple[bool, str]:
        folder, sig, offset, child = case
        started = _when_staging_appears(child, folder)
        time.sleep(offset)
        child.send_signal(sig)
        return started, child.communicate(timeout=120)[1]

    with ThreadPoolExecutor(len(cases)) as pool:
        ended = list(pool.map(interrupt, cases))
    for (folder, sig, offset, child), (started, err) in zip(cases, ended):
        assert started or child.returncode == 0, err
        state = _state(folder, books)
        assert state in ("old", "new"), (sig, offset, state)
        if sig == signal.SIGINT:
            assert _others(folder) == [], (offset, _others(folder))
        recover_folder(folder)
        assert _state(folder, books) == state and _others(folder) == []


# ---------------------------------------------------------------------------------------------- every step


def _interrupt_before_call(n: int, action) -> None:
    """In this (child) process: do ``action`` just before the n-th file system call from now."""
    count = 0

    def counted(real):
        def call(*args, **options):
            nonlocal count
            count += 1
            if count == n:
                action()
            return real(*args, **options)
        return call

    for name in FILE_CALLS:
        setattr(os, name, counted(getattr(os, name)))
    builtins.open = io.open = counted(io.open)
    files._exchange = counted(files._exchange)


def _calls_before_swap(result, folder: Path) -> int:
    """How many file system calls writing ``result`` to ``folder`` makes before it swaps the folder in."""
    count, before = 0, []
    saved = {name: getattr(os, name) for name in FILE_CALLS}

    def counted(name, real):
        def call(*args, **options):
            nonlocal count
            count += 1
            if name == "rename" and not before and ".arsim-" in str(args[0]):
                before.append(count - 1)
            return real(*args, **options)
        return call

    opened = io.open
    try:
        for name in FILE_CALLS:
            setattr(os, name, counted(name, saved[name]))
        builtins.open = io.open = counted("open", opened)
        write_results(result, folder)
    finally:
        for name, real in saved.items():
            setattr(os, name, real)
        builtins.open = io.open = opened
    return before[0]


def _fail() -> None:
    raise OSError(errno.EIO, "input/output error")


def _write_in_fork(result, folder: Path, n: int, how: str, *, exchange: bool) -> str:
    """Write ``result`` to ``folder`` in a forked process interrupted before its n-th call: how it ended."""
    actions = {
        "sigkill": lambda: os.kill(os.getpid(), signal.SIGKILL),
        "sigint": lambda: os.kill(os.getpid(), signal.SIGINT),
        "error": _fail,
    }
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        code = 9
        try:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            if not exchange:
                files._exchange = lambda a, b: False
            fired = []
            _interrupt_before_call(n, lambda: (fired.append(1), actions[how]()))
            try:
                write_results(result, folder)
                code = 0
            except KeyboardInterrupt:
                code = 2
            except (OSError, InputError):  # an I/O error in the check before writing is reported as bad input
                code = 3
            if not fired:
                code = 10  # the write needs fewer than n calls
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return "killed"
    return {0: "completed", 2: "interrupted", 3: "failed", 10: "not reached"}[os.WEXITSTATUS(status)]


@pytest.mark.parametrize("how, exchange", [("sigkill", True), ("sigkill", False), ("sigint", True), ("error", True)],
                         ids=["sigkill", "sigkill-two-renames", "sigint", "error"])
def test_an_interruption_before_any_step_leaves_the_old_or_the_new_folder(tmp_path, books, how, exchange):
    seen: dict[str, set[int]] = {"old": set(), "new": set()}
    first = 1
    if not exchange:  # the steps before the swap are the same either way: start just before it
        first = _calls_before_swap(books["new"], _previous(tmp_path / "case", books)) - 2
        assert first > 20
    for n in range(first, 1000):
        folder = _previous(tmp_path / "case", books)
        ended = _write_in_fork(books["new"], folder, n, how, exchange=exchange)
        if ended == "not reached":
            break
        state = _state(folder, books)
        if how == "sigkill":
            assert ended == "killed"
            if exchange:
                assert state in ("old", "new"), f"killed before call {n}: {state}"
            else:  # killed between the two renames: the previous folder is beside it, and is put back
                assert state in ("old", "new") or (state == "missing" and any(p.endswith(".old") for p in _others(folder))), n
            recover_folder(folder)  # what the next run does first
            state = _state(folder, books)
        else:
            assert ended == {"sigint": "interrupted", "error": "failed"}[how] or (how == "error" and ended == "completed"), (n, ended)
            if how == "sigint":
                assert _others(folder) == [], f"SIGINT before call {n} left {_others(folder)}"
            recover_folder(folder)
        assert state in ("old", "new"), f"{how} before call {n}: the folder is {state}"
        assert _others(folder) == [], f"{how} before call {n}: {_others(folder)} left after recovery"
        seen[state].add(n)
    else:
        raise AssertionError("the write never completed")
    assert n > first + 4 and seen["old"] and seen["new"]  # every step was reached, and both outcomes occurred
    if how != "error":  # (a failing call the writer can do without, such as a clean-up, does not stop it)
        assert max(seen["old"]) < min(seen["new"])  # once the new folder is in place, it stays


def test_a_failing_manifest_leaves_the_previous_folder_untouched(tmp_path, books):
    folder = _previous(tmp_path / "case", books)
    broken = replace(books["new"], manifest={**books["new"].manifest, "not_a_number": float("nan")})
    with pytest.raises(ValueError, match="JSON"):
        write_results(broken, folder)
    assert _state(folder, books) == "old" and _others(folder) == []


def test_the_command_line_interrupted_while_it_writes(tmp_path, books):
    """`arsim run` itself, stopped by SIGINT or SIGKILL as soon as its staging folder appears."""
    command = [sys.executable, "-m", "arsim.cli", "run", str(ROOT / "scenarios/smb.yaml"), "--replications", "1", "--seed", "2"]
    for path, value in SMALL.items():
        command += ["--set", f"{path}={value}"]
    cases = []
    for sig in (signal.SIGINT, signal.SIGKILL):
        folder = _previous(tmp_path / sig.name, books)
        child = subprocess.Popen([*command, "--out", str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        cases.append((folder, sig, child))

    def interrupt(case) -> bool:
        folder, sig, child = case
        started = _when_staging_appears(child, folder)
        child.send_signal(sig)
        child.communicate(timeout=120)
        return started

    with ThreadPoolExecutor(len(cases)) as pool:
        started = list(pool.map(interrupt, cases))
    for (folder, sig, child), began in zip(cases, started):
        if _state(folder, books) != "old":  # the signal came after the swap: the new folder, complete
            assert not began or child.returncode in (0, 130, -signal.SIGKILL)
            names = sorted(p.name for p in folder.iterdir())
            assert names == ["invoices.csv.gz", "kpis.csv", "manifest.json", "monthly.csv", "replications.csv"]
            assert json.loads((folder / "manifest.json").read_text())["seed"] == 2
            assert gzip.decompress((folder / "invoices.csv.gz").read_bytes()).endswith(b"\n")
        if sig == signal.SIGINT:
            assert child.returncode in (0, 130) and _others(folder) == []
        recover_folder(folder)
        assert _others(folder) == []
