"""Where replications run: in this process, a local process pool, or a Dask distributed cluster.

Every executor maps a module-level function over items and yields the results in item order, whatever
order the items finished in. Each item carries everything its result depends on (the scenario, the
replication number, ...), and every random stream is seeded from the scenario's seed and the replication
number alone, so the results are the same whichever executor ran them and however many workers it had.

Dask is optional (``pip install 'arsim[cluster]'``) and is imported only when a cluster is asked for, so
``import arsim`` stays light.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import platform
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from arsim.errors import InputError

CONNECT_SECONDS = 10.0
"""How long a cluster may take to answer, and to have at least one worker, before the run gives up."""

RESULT_PACKAGES = ("numpy", "scipy", "pandas", "simpy")
"""The libraries whose versions can change a replication's numbers; every Dask worker must match them."""

OnDone = Callable[[], None]

SCHEDULER_ADDRESS = re.compile(r"^((tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]]+):\d{1,5}/?$")
"""What a scheduler address looks like: [PROTOCOL://]HOST:PORT, such as tcp://10.0.0.5:8786 or tcp://[::1]:8786. The
port is required: Dask refuses an address without one only after it has half-made its client, whose clean-up
then waits 20 s and prints a traceback at exit."""


def check_scheduler_address(address: str) -> str:
    """Refuse a malformed scheduler address at once (Dask itself fails late and noisily on one)."""
    if not SCHEDULER_ADDRESS.match(address):
        raise InputError(f"{address!r} is not a scheduler address; expected tcp://HOST:PORT", argument="cluster")
    return address


class Executor(Protocol):
    """Runs ``function`` over ``items`` and yields the results in item order."""

    def map(self, function: Callable[[Any], Any], items: Sequence[Any], *, on_done: OnDone | None = None) -> Iterator[Any]:
        """``function(item)`` for every item, in item order; ``on_done()`` is called as each item finishes."""
        ...


class InProcess:
    """Runs the items one after another in this process."""

    def map(self, function: Callable[[Any], Any], items: Sequence[Any], *, on_done: OnDone | None = None) -> Iterator[Any]:
        """``function(item)`` for every item, in item order, here."""
        for item in items:
            value = function(item)
            if on_done is not None:
                on_done()
            yield value

    def __repr__(self) -> str:
        return "InProcess()"


class LocalPool:
    """Runs the items in a pool of ``jobs`` worker processes on this machine."""

    def __init__(self, jobs: int) -> None:
        if jobs < 1:
            raise InputError(f"must be at least 1, got {jobs}", argument="jobs")
        self.jobs = jobs

    def map(self, function: Callable[[Any], Any], items: Sequence[Any], *, on_done: OnDone | None = None) -> Iterator[Any]:
        """``function(item)`` for every item in worker processes, in item order."""
        if not items:
            return
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=min(self.jobs, len(items)))
        try:
            futures = [pool.submit(function, item) for item in items]
            yield from in_item_order(futures, concurrent.futures.as_completed(futures), on_done)
        finally:
            # On an error or an interrupt the items not started yet are dropped rather than run.
            pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self) -> str:
        return f"LocalPool({self.jobs})"


class KeptPool:
    """A pool of ``jobs`` worker processes kept open across many ``map`` calls (close it, or use ``with``).

    A policy search evaluates hundreds of small batches of replications, one per trial; starting a pool for
    each would cost its start-up every time. Results are in item order, as with `LocalPool`.
    """

    def __init__(self, jobs: int) -> None:
        if jobs < 1:
            raise InputError(f"must be at least 1, got {jobs}", argument="jobs")
        self.jobs = jobs
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def map(self, function: Callable[[Any], Any], items: Sequence[Any], *, on_done: OnDone | None = None) -> Iterator[Any]:
        """``function(item)`` for every item in the kept worker processes, in item order."""
        if not items:
            return
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(max_workers=self.jobs)
        futures = [self._pool.submit(function, item) for item in items]
        try:
            yield from in_item_order(futures, concurrent.futures.as_completed(futures), on_done)
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        """Stop the worker processes (items not started yet are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> KeptPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KeptPool({self.jobs})"


class DaskCluster:
    """Runs the items on the workers of a running Dask distributed scheduler, such as ``tcp://host:8786``.

    Connecting checks, before any work is sent, that the scheduler answers, that it has a worker, and that
    every worker runs the same arsim source and the same numerical libraries as this machine.
    """

    def __init__(self, address: str, *, connect_seconds: float = CONNECT_SECONDS) -> None:
        self.address = check_scheduler_address(address)
        self.connect_seconds = connect_seconds

    def map(self, function: Callable[[Any], Any], items: Sequence[Any], *, on_done: OnDone | None = None) -> Iterator[Any]:
        """``function(item)`` for every item on the cluster's workers, in item order."""
        if not items:
            return
        client = self.connect()
        try:
            from distributed import as_completed

            # pure=False: every item is its own task, even if two items happen to be equal.
            futures = client.map(function, list(items), pure=False)
            yield from in_item_order(futures, as_completed(futures, loop=client.loop), on_done)
        finally:
            # Closing the client releases its futures, so the scheduler drops items not run yet.
            client.close()

    def connect(self) -> Any:
        """A ``distributed.Client`` on this scheduler, checked; an InputError (one line) if it is unusable."""
        try:
            from distributed import Client
        except ImportError:
            raise InputError("Dask is not installed; pip install 'arsim[cluster]'", argument="cluster") from None
        seconds = f"{self.connect_seconds:g} s"
        try:
            client = Client(self.address, timeout=self.connect_seconds, set_as_default=False)
        except ValueError as error:
            raise InputError(f"{self.address!r} is not a scheduler address ({error}); expected tcp://HOST:PORT", argument="cluster") from None
        except OSError:
            raise InputError(f"no Dask scheduler answered at {self.address} within {seconds}", argument="cluster") from None
        try:
            try:
                client.wait_for_workers(1, timeout=self.connect_seconds)
            except TimeoutError:
                raise InputError(f"the scheduler at {self.address} has no workers (waited {seconds}); start one with: dask worker {self.address}",
                                 argument="cluster") from None
            try:
                environments = client.run(worker_environment)
            except Exception as error:  # noqa: BLE001 - whatever a worker raised, the remedy is the same
                reason = (str(error).splitlines() or [""])[0]
                raise InputError(f"a worker of {self.address} cannot run arsim ({type(error).__name__}: {reason}); "
                                 "install the same arsim on every worker", argument="cluster") from None
            check_workers(self.address, worker_environment(), environments)
        except BaseException:
            client.close()
            raise
        return client

    def __repr__(self) -> str:
        return f"DaskCluster({self.address!r})"


def executor_for(*, jobs: int = 1, cluster: str | None = None, items: int | None = None) -> Executor:
    """The executor for a run: the cluster if one is named, else a process pool when jobs > 1, else in-process."""
    if cluster is not None:
        return DaskCluster(cluster)
    if jobs <= 1 or (items is not None and items <= 1):
        return InProcess()
    return LocalPool(jobs)


def run_parallel(
    function: Callable[[Any], Any], items: Sequence[Any], *, jobs: int = 1, cluster: str | None = None, progress: bool = False, desc: str = "arsim",
) -> list[Any]:
    """``[function(item) for item in items]`` in this process, a pool of ``jobs`` processes or a Dask cluster.

    Results come back in item order. ``cluster`` (a scheduler address such as ``tcp://host:8786``) wins over
    ``jobs``. ``function`` must be a module-level function so it can be sent to other processes.
    """
    items = list(items)
    executor = executor_for(jobs=jobs, cluster=cluster, items=len(items))
    bar = progress_bar(len(items), desc=desc, enabled=progress)
    try:
        return list(executor.map(function, items, on_done=lambda: bar.update(1)))
    finally:
        bar.close()


def in_item_order(futures: Sequence[Any], completed: Iterable[Any], on_done: OnDone | None) -> Iterator[Any]:
    """The futures' results in the order of ``futures``, taken as ``completed`` yields them.

    ``on_done()`` is called as each future finishes; a result is yielded as soon as all before it are in.
    The first error raised by a task is raised here.
    """
    position = {id(future): i for i, future in enumerate(futures)}
    ready: dict[int, Any] = {}
    following = 0
    for future in completed:
        ready[position[id(future)]] = future.result()
        if on_done is not None:
            on_done()
        while following in ready:
            yield ready.pop(following)
            following += 1


def worker_environment() -> dict[str, str]:
    """What a replication's numbers depend on besides its item: arsim's source, Python's and libraries' versions.

    It runs on each Dask worker (``Client.run``) and here; the worker results are compared with this machine's.
    """
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    environment = {"python": ".".join(platform.python_version_tuple()[:2]), "arsim source": digest.hexdigest()[:12]}
    for name in RESULT_PACKAGES:
        try:
            environment[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            environment[name] = "missing"
    return environment


def check_workers(address: str, here: dict[str, str], workers: dict[str, dict[str, str]]) -> None:
    """Raise an InputError naming the first worker whose environment differs from this machine's."""
    for worker in sorted(workers):
        theirs = workers[worker]
        for key, mine in here.items():
            if theirs.get(key) != mine:
                raise InputError(f"worker {worker} of {address} has {key} {theirs.get(key)}, this machine {mine}; "
                                 "install the same arsim and libraries everywhere so results equal a local run", argument="cluster")


def progress_bar(total: int, *, desc: str, enabled: bool):
    """A progress bar on stderr that appears only for runs longer than a second."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rep", file=sys.stderr, delay=1.0, disable=not enabled, leave=False)
