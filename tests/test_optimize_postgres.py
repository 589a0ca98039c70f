"""Two worker processes optimise one study in a real PostgreSQL server, and every trial is recorded exactly once.

The server is the one named by ``ARSIM_TEST_POSTGRES`` (CI starts one on loopback, see .ci/run); without it, a
private server is started here from the PostgreSQL binaries of this machine (initdb in a temporary folder, a
free loopback port, stopped at the end). The test skips only when neither is possible.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_FLAGS = ["--set", "portfolio.segments.prompt.customers=40", "--set", "portfolio.segments.slow.customers=30",
              "--set", "run.horizon_days=90", "--set", "run.warmup_days=30"]


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # /usr/local/bin/initdb may be a link into the real bin folder
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    given = os.environ.get("ARSIM_TEST_POSTGRES")
    if given:
        yield given  # a server CI started: the test must use it, and fail (not skip) if it does not answer
        return
    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("no PostgreSQL here: set ARSIM_TEST_POSTGRES=postgresql://... or install the postgresql server package")
    # PostgreSQL refuses to run as root; run it as the postgres user the package creates.
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root and runuser is missing, so PostgreSQL cannot be started here")
        prefix = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="arsim-pg-"))
    if prefix:
        shutil.chown(folder, user="postgres")
    data, port = folder / "data", _free_port()
    run = lambda *args: subprocess.run([*prefix, *args], check=True, capture_output=True, text=True, timeout=120)  # noqa: E731
    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60", "start",
            "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"could not start a private PostgreSQL server: {error}")
    try:
        run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "arsim_test")
        yield f"postgresql://postgres@127.0.0.1:{port}/arsim_test"
    finally:
        subprocess.run([*prefix, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def test_two_workers_share_one_study_and_record_every_trial_once(postgres_url, tmp_path):
    study = f"shared-search-{uuid.uuid4().hex[:8]}"  # a server given by ARSIM_TEST_POSTGRES may hold earlier runs' studies
    space = tmp_path / "space.yaml"
    space.write_text("policy.discount.percent: {low: 0, high: 2, step: 0.25}\npolicy.dunning.volume.call: {low: 0.5, high: 2, step: 0.5}\n")
    total = 16  # four batches of four: enough that a worker starting a moment later still finds trials to run
    command = [sys.executable, "-m", "arsim.cli", "optimize", str(ROOT / "scenarios/smb.yaml"), *TINY_FLAGS, "--space", str(space),
               "--trials", str(total), "--replications", "2", "--top", "2", "--fresh-replications", "2", "--storage", postgres_url,
               "--study", study, "--json"]
    workers = [subprocess.Popen([*command, "--out", str(tmp_path / f"worker-{i}")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(2)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
    results = [json.loads(out) for out, _ in outputs]

    loaded = optuna.load_study(study_name=study, storage=postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    trials = loaded.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    assert sorted(t.number for t in trials) == list(range(len(trials)))  # one row per trial number, none lost or doubled
    # Both workers queue today's policy and the one-lever moves when they open the new study together; a copy one of
    # them drew is marked failed with the number of the trial that ran its policy, and nothing else fails.
    by_number = {t.number: t for t in trials}
    for trial in trials:
        if trial.state != optuna.trial.TrialState.COMPLETE:
            assert trial.state == optuna.trial.TrialState.FAIL and "copy_of" in trial.user_attrs, (trial.number, trial.state)
            original = by_number[trial.user_attrs["copy_of"]]
            assert original.state == optuna.trial.TrialState.COMPLETE and original.number < trial.number
            assert original.system_attrs["fixed_params"] == trial.system_attrs["fixed_params"]
    fixed = [tuple(sorted(t.system_attrs["fixed_params"].items())) for t in finished if "fixed_params" in t.system_attrs]
    assert len(fixed) == len(set(fixed)) and loaded.user_attrs["one_lever_moves"] + 1 == len(fixed)  # each queued policy ran once
    # Both workers ran trials, together exactly the ones recorded; two workers starting the last trial at the same
    # instant may add one more than the total.
    ran = [r["trials_run"] for r in results]
    assert all(n >= 1 for n in ran) and sum(ran) == len(finished)
    assert total <= len(finished) <= total + 1
    for trial in finished:
        net_cost = trial.user_attrs["kpis"]["net_cost"]
        assert len(net_cost) == 2 and trial.values[0] == pytest.approx(sum(net_cost) / 2)
    # The baseline is measured once per study and both workers report the same study.
    assert results[0]["n_trials"] >= total and results[1]["n_trials"] >= total
    assert "baseline_kpis" in loaded.user_attrs
