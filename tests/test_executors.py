"""Replications give the same numbers in this process, in a process pool and on a Dask cluster.

The cluster tests use the scheduler named by ARSIM_TEST_SCHEDULER (CI starts a real one on loopback),
or else start a LocalCluster of two worker processes on 127.0.0.1 for the module.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import socket
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from arsim.analysis.compare import compare
from arsim.analysis.sweep import sweep
from arsim.errors import InputError
from arsim.experiment.executors import (
    DaskCluster,
    InProcess,
    LocalPool,
    check_workers,
    executor_for,
    in_item_order,
    run_parallel,
    worker_environment,
)
from arsim.experiment.replications import run_experiment
from arsim.scenario.files import load_scenario

# A scheduler always serves HTTP (health, metrics) and moves to a free port when 8787 is taken, with a warning.
pytestmark = pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning")

SMB = Path(__file__).resolve().parents[1] / "scenarios" / "smb.yaml"
TINY = {
    "portfolio.segments.prompt.customers": 40,
    "portfolio.segments.slow.customers": 25,
    "run.horizon_days": 120,
    "run.warmup_days": 30,
    "run.replications": 4,
}


@pytest.fixture(scope="module")
def smb_tiny():
    """The shipped small-business world, shrunk to 65 customers over 120 days and 4 replications."""
    return load_scenario(SMB).with_overrides(TINY)


@pytest.fixture(scope="module")
def local_run(smb_tiny):
    return run_experiment(smb_tiny)


def assert_same_experiment(left, right) -> None:
    pd.testing.assert_frame_equal(left.replications, right.replications, check_exact=True)
    pd.testing.assert_frame_equal(left.monthly, right.monthly, check_exact=True)
    pd.testing.assert_frame_equal(left.summary, right.summary, check_exact=True)
    pd.testing.assert_frame_equal(left.ledger, right.ledger, check_exact=True)


def finish_in_reverse(index: int) -> int:
    """Later items finish first, so completion order is not item order."""
    time.sleep(0.05 * (4 - index))
    return index * 10


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------- local executors


def test_in_process_and_pools_of_two_and_three_give_identical_experiments(smb_tiny, local_run):
    assert list(local_run.replications["replication"]) == [0, 1, 2, 3]
    for jobs in (2, 3):
        assert_same_experiment(run_experiment(smb_tiny, jobs=jobs), local_run)


def test_a_pool_returns_results_in_item_order_and_counts_each_item_as_it_finishes():
    finished = []
    values = list(LocalPool(3).map(finish_in_reverse, range(5), on_done=lambda: finished.append(1)))
    assert values == [0, 10, 20, 30, 40]
    assert len(finished) == 5


def test_results_wait_for_the_items_before_them():
    futures = [concurrent.futures.Future() for _ in range(3)]
    for value, future in zip("abc", futures):
        future.set_result(value)
    done = []
    order = in_item_order(futures, reversed(futures), lambda: done.append(len(done)))
    assert next(order) == "a"
    assert len(done) == 3  # "a" finished last, so all three were counted before it could be yielded
    assert list(order) == ["b", "c"]


def test_an_error_in_an_item_reaches_the_caller():
    with pytest.raises(ValueError, match="math domain error"):
        run_parallel(math.sqrt, [4.0, -1.0, 9.0], jobs=2)
    with pytest.raises(ValueError, match="math domain error"):
        run_parallel(math.sqrt, [4.0, -1.0, 9.0])


def test_the_executor_follows_the_arguments():
    assert isinstance(executor_for(), InProcess)
    assert isinstance(executor_for(jobs=4, items=1), InProcess)
    assert isinstance(executor_for(jobs=2, items=8), LocalPool)
    chosen = executor_for(jobs=2, cluster="tcp://127.0.0.1:8786")
    assert isinstance(chosen, DaskCluster) and chosen.address == "tcp://127.0.0.1:8786"
    assert run_parallel(math.sqrt, [], jobs=2, cluster="tcp://127.0.0.1:1") == []  # nothing to do: no connection


def test_a_pool_needs_a_worker():
    with pytest.raises(InputError, match="jobs: must be at least 1"):
        LocalPool(0)


# ---------------------------------------------------------------------------------------------- cluster, fast failures


def test_a_cluster_without_dask_installed_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` raise ImportError
    with pytest.raises(InputError) as caught:
        run_parallel(math.sqrt, [1.0, 4.0], cluster="tcp://127.0.0.1:8786")
    assert caught.value.argument == "cluster"
    assert str(caught.value) == "cluster: Dask is not installed; pip install 'arsim[cluster]'"


def test_a_scheduler_that_does_not_answer_fails_fast_in_one_line():
    pytest.importorskip("distributed", reason="Dask is not installed; pip install 'arsim[cluster]' to test clusters")
    address = f"tcp://127.0.0.1:{free_loopback_port()}"
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        DaskCluster(address, connect_seconds=1).connect()
    assert time.monotonic() - started < 30
    assert caught.value.argument == "cluster"
    assert str(caught.value) == f"cluster: no Dask scheduler answered at {address} within 1 s"


def test_an_address_that_is_not_a_scheduler_address_is_refused():
    pytest.importorskip("distributed", reason="Dask is not installed; pip install 'arsim[cluster]' to test clusters")
    with pytest.raises(InputError, match="expected tcp://HOST:PORT") as caught:
        DaskCluster("http://127.0.0.1:8786").connect()
    assert "\n" not in str(caught.value)


def test_workers_must_run_the_same_arsim_and_libraries():
    here = worker_environment()
    assert set(here) == {"python", "arsim source", "numpy", "scipy", "pandas", "simpy"}
    check_workers("tcp://h:8786", here, {"tcp://w1:1": dict(here), "tcp://w2:2": dict(here)})
    older = {**here, "numpy": "1.0.0"}
    with pytest.raises(InputError, match=r"worker tcp://w2:2 of tcp://h:8786 has numpy 1.0.0, this machine "):
        check_workers("tcp://h:8786", here, {"tcp://w1:1": dict(here), "tcp://w2:2": older})


# ---------------------------------------------------------------------------------------------- a real cluster


@pytest.fixture(scope="module")
def scheduler_address():
    """ARSIM_TEST_SCHEDULER if set (a running cluster), else a LocalCluster of two processes on loopback."""
    distributed = pytest.importorskip("distributed", reason="Dask is not installed; pip install 'arsim[cluster]' to test clusters")
    given = os.environ.get("ARSIM_TEST_SCHEDULER")
    if given:
        yield given
        return
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.mark.slow
def test_a_cluster_gives_exactly_the_local_experiment(smb_tiny, local_run, scheduler_address):
    on_cluster = run_experiment(smb_tiny, cluster=scheduler_address)
    assert_same_experiment(on_cluster, local_run)
    assert on_cluster.manifest["events_per_replication"] == local_run.manifest["events_per_replication"]


@pytest.mark.slow
def test_compare_and_sweep_on_a_cluster_equal_the_local_ones(smb_tiny, scheduler_address):
    smaller = smb_tiny.with_overrides({"run.replications": 2})
    two_collectors = smaller.with_overrides({"team.collectors": 2})
    local = compare(smaller, {"two collectors": two_collectors}, save=False)
    remote = compare(smaller, {"two collectors": two_collectors}, cluster=scheduler_address, save=False)
    pd.testing.assert_frame_equal(remote.per_replication, local.per_replication, check_exact=True)
    pd.testing.assert_frame_equal(remote.table, local.table, check_exact=True)

    parameters = {"team.hours_per_day": [4, 6]}
    local_sweep = sweep(smaller, parameters, save=False)
    remote_sweep = sweep(smaller, parameters, cluster=scheduler_address, save=False)
    pd.testing.assert_frame_equal(remote_sweep.summary, local_sweep.summary, check_exact=True)


@pytest.mark.slow
def test_an_error_on_a_cluster_worker_reaches_the_caller(scheduler_address):
    with pytest.raises(ValueError, match="math domain error"):
        run_parallel(math.sqrt, [4.0, -1.0, 9.0], cluster=scheduler_address)
    assert run_parallel(math.sqrt, [4.0, 9.0, 16.0], cluster=scheduler_address) == [2.0, 3.0, 4.0]


@pytest.mark.slow
def test_a_scheduler_without_workers_fails_fast():
    distributed = pytest.importorskip("distributed", reason="Dask is not installed; pip install 'arsim[cluster]' to test clusters")
    with (distributed.LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None) as empty,
          pytest.raises(InputError, match="has no workers") as caught):
        DaskCluster(empty.scheduler_address, connect_seconds=1).connect()
    assert caught.value.argument == "cluster"


@pytest.mark.parametrize("address", ["notanaddr", "tcp://host", "tcp://host:", "host:port", "tcp://a b:8786", "http://host:8786", "tcp://host:8786/x"])
def test_a_malformed_scheduler_address_is_refused_before_dask_sees_it(address):
    """Dask refuses some of these only after half-making a client that then hangs 20 s at exit."""
    from arsim.experiment.executors import check_scheduler_address

    with pytest.raises(InputError) as caught:
        check_scheduler_address(address)
    assert str(caught.value) == f"cluster: {address!r} is not a scheduler address; expected tcp://HOST:PORT"


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "127.0.0.1:8786", "tls://scheduler.example:8786", "tcp://[::1]:8786"])
def test_a_well_formed_scheduler_address_passes(address):
    from arsim.experiment.executors import check_scheduler_address

    assert check_scheduler_address(address) == address
