"""Statistics of replications: Student-t intervals, paired and Welch differences, precision rules, MSER.

Everything here works on plain sequences of per-replication values, so the same functions serve run,
compare, sweep and capacity, and can be checked against textbook cases.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from arsim.measure.simulated import KPI_KEYS, possible_range


def t_quantile(dof: float, probability: float) -> float:
    """Student's t quantile. scipy is imported here, not with the module: a one-replication run needs no interval,
    and scipy's import (about 0.3 s) is a tenth of a small run's whole process."""
    from scipy import special

    return float(special.stdtrit(dof, probability))


def confidence_interval(values: Iterable[float], *, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval; NaN bounds with fewer than two values."""
    data = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if data.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(data.mean())
    if data.size < 2:
        return mean, math.nan, math.nan
    half = float(t_quantile(data.size - 1, 0.5 + level / 2) * data.std(ddof=1) / math.sqrt(data.size))
    return mean, mean - half, mean + half


def kpi_confidence_interval(kpi: str, values: Iterable[float], *, level: float = 0.95) -> tuple[float, float, float]:
    """`confidence_interval` of a KPI's mean, cut to the values the KPI can take (`possible_range`): with few
    replications a t interval of a share near 1 can reach past 1 (0.88 [0.25, 1.52] from two values), which
    no reader should see. The true mean lies in the range, so cutting the interval there keeps its coverage.
    Keys that are not KPIs of a run (a sweep's own columns) are left as they are."""
    mean, low, high = confidence_interval(values, level=level)
    if kpi in KPI_KEYS and math.isfinite(low) and math.isfinite(high):
        floor, ceiling = possible_range(kpi)
        if floor <= mean <= ceiling:  # (a mean outside would mean the range is wrong: then nothing is cut)
            low, high = max(low, floor), min(high, ceiling)
    return mean, low, high


def paired_difference(baseline: Sequence[float], alternative: Sequence[float], *, level: float = 0.95) -> dict[str, float | bool | int]:
    """Mean of alternative - baseline over paired replications, with its Student-t CI from the differences.

    Replications where either value is missing (NaN: e.g. no query was raised) are left out of the pair.
    """
    a = np.asarray(baseline, dtype=float)
    b = np.asarray(alternative, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired samples must have the same length")
    keep = np.isfinite(a) & np.isfinite(b)
    diffs = b[keep] - a[keep]
    mean, low, high = confidence_interval(diffs.tolist(), level=level)
    base_mean = float(np.nanmean(a)) if np.isfinite(a).any() else math.nan
    alt_mean = float(np.nanmean(b)) if np.isfinite(b).any() else math.nan
    significant = bool(not math.isnan(low) and (low > 0 or high < 0))
    relative = mean / abs(base_mean) if base_mean and math.isfinite(base_mean) else math.nan
    return {"baseline": base_mean, "alternative_mean": alt_mean, "diff": mean, "ci_low": low, "ci_high": high,
            "relative_change": relative, "significant": significant, "n": int(keep.sum())}


def precise_enough(values: Iterable[float], *, precision: float) -> bool:
    """True when the 95% CI half-width of the values is at most ``precision`` x |mean| (relative precision)."""
    mean, low, high = confidence_interval(values)
    if math.isnan(low):
        return False
    return (high - low) / 2 <= precision * abs(mean)


def replications_needed(rows: pd.DataFrame, *, kpis: Sequence[str], precision: float, min_replications: int = 2) -> int | None:
    """The first n >= min_replications at which replications 0..n-1 meet the precision for every named KPI.

    The rule looks at prefixes in replication order, so the answer depends only on the replications, not
    on how many were run in a batch or by how many workers; None when no prefix is precise enough.
    """
    for n in range(max(2, min_replications), len(rows) + 1):
        if all(precise_enough(rows[key].iloc[:n].tolist(), precision=precision) for key in kpis):
            return n
    return None


def relative_half_width(values: list[float]) -> float | None:
    """Half the 95% CI width as a share of |mean| (None where the mean is zero or the interval undefined)."""
    mean, low, high = confidence_interval(values)
    return clean_number((high - low) / 2 / abs(mean)) if mean else None


def mser(series: Sequence[float], *, batch: int = 5, max_fraction: float = 0.5) -> int:
    """Warm-up length (in observations) that MSER-b suggests: MSER-5 with the default batch of 5.

    The series is cut into batch means Z_1..Z_k; truncating d batches leaves a mean whose squared standard
    error is estimated by sum((Z_j - mean)^2) / (k - d)^2. The d with the smallest estimate balances bias
    (transient kept) against variance (data thrown away). Only d up to ``max_fraction`` of the batches is
    considered, as is usual: a minimum near the end of the series means the run is too short to tell.
    """
    values = np.asarray(series, dtype=float)
    k = len(values) // batch
    if k < 2:
        return 0
    means = values[: k * batch].reshape(k, batch).mean(axis=1)
    means = means - means.mean()  # centring keeps the sums of squares accurate for large balances
    tail_sum = np.cumsum(means[::-1])[::-1]
    tail_squares = np.cumsum((means**2)[::-1])[::-1]
    kept = np.arange(k, 0, -1, dtype=float)  # k - d for d = 0..k-1
    statistic = (tail_squares - tail_sum**2 / kept) / kept**2
    last = max(0, min(k - 2, int(math.floor(k * max_fraction))))
    return int(np.argmin(statistic[: last + 1])) * batch


def independent_difference(baseline: Sequence[float], alternative: Sequence[float], *, level: float = 0.95) -> tuple[float, float, float]:
    """Difference of means of two independent samples with Welch's t interval (what runs without CRN give)."""
    a = np.asarray([v for v in baseline if math.isfinite(v)], dtype=float)
    b = np.asarray([v for v in alternative if math.isfinite(v)], dtype=float)
    diff = float(b.mean() - a.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(t_quantile(dof, 0.5 + level / 2) * se)
    return diff, diff - half, diff + half



def erlang_c_probability_of_wait(*, servers: int, offered_load: float) -> float:
    """Erlang C: the chance an arrival has to wait, for c servers and offered load a = arrival rate / service rate."""
    if offered_load >= servers:
        return 1.0
    term = 1.0
    below = 1.0  # sum of a^k / k! for k < c, built up without large factorials
    for k in range(1, servers):
        term *= offered_load / k
        below += term
    top = term * offered_load / servers * servers / (servers - offered_load)
    return top / (below + top)


def erlang_c_mean_wait(*, servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean time in queue (before service starts) of an M/M/c queue, in the time unit of the rates."""
    if arrival_rate >= servers * service_rate:
        return math.inf
    waiting = erlang_c_probability_of_wait(servers=servers, offered_load=arrival_rate / service_rate)
    return waiting / (servers * service_rate - arrival_rate)


def clean_number(value: float) -> float | None:
    """A float for JSON: NaN and infinities become null."""
    return None if value is None or not math.isfinite(value) else float(value)
