"""What-if questions answered with honest statistics: paired policy comparisons and factorial sweeps.

Every alternative runs on the same replication numbers, with the same seed, as the baseline, so
replication r of each sees the same customers, orders and latent behaviour (common random numbers). The
difference of two policies is then measured replication by replication, and its confidence interval comes
from those paired differences: the shared noise cancels, which makes the interval much narrower than one
from independent runs of the same size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from arsim.errors import InputError
from arsim.experiment.arguments import (
    alternatives_argument,
    executor_arguments,
    replications_argument,
    scenario_argument,
    seed_argument,
)
from arsim.experiment.executors import run_parallel
from arsim.experiment.replications import kpis_of_replication, with_run
from arsim.experiment.results import build_manifest, write_folder
from arsim.experiment.statistics import clean_number, paired_difference
from arsim.measure.simulated import KPI_KEYS
from arsim.scenario.schema import Policy, Scenario

MAIN_KPIS: tuple[str, ...] = (
    "dso", "add", "cei", "past_due_amount", "bad_debt_amount", "query_wait_days", "query_sla_attainment",
    "collector_utilization", "backlog_tasks_end", "contacts_email", "contacts_call", "discount_cost", "net_cost",
)
"""The KPIs the command-line tables show by default (every KPI is always in the saved tables)."""

COMPARE_COLUMNS: tuple[str, ...] = (
    "alternative", "kpi", "baseline", "alternative_mean", "diff", "ci_low", "ci_high", "relative_change", "significant", "n",
)



@dataclass(frozen=True)
class Comparison:
    """A paired comparison of alternatives against a baseline under common random numbers.

    ``table`` has one row per alternative x KPI: alternative, kpi, baseline (mean), alternative_mean,
    diff (alternative - baseline, mean over paired replications), ci_low, ci_high (95% t interval of the
    paired differences), relative_change (diff / |baseline|), significant (the interval excludes 0), n.
    ``per_replication`` has every replication's KPIs of every scenario (columns scenario, replication, KPIs).
    """

    baseline: str
    alternatives: tuple[str, ...]
    replications: int
    seed: int
    table: pd.DataFrame
    per_replication: pd.DataFrame
    folder: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)

    def write(self, folder: str | Path, *, extra: Callable[[Path], Any] | None = None) -> Path:
        """Write this result's folder as a whole: its tables, then manifest.json; ``extra(staging)`` may add files."""
        return write_folder(folder, {"comparison.csv": self.table, "replications.csv": self.per_replication}, self.manifest, extra=extra)

    def of(self, alternative: str) -> pd.DataFrame:
        """The rows of one alternative, indexed by KPI."""
        if alternative not in self.alternatives:
            raise InputError(f"no alternative {alternative!r}; the alternatives are {list(self.alternatives)}", argument="alternative")
        return self.table[self.table["alternative"] == alternative].set_index("kpi")

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object of `arsim compare` (NaN becomes null)."""
        alternatives = []
        for alt_name, rows in self.table.groupby("alternative", sort=False):
            kpis = {
                row.kpi: {"baseline": clean_number(row.baseline), "alternative": clean_number(row.alternative_mean), "diff": clean_number(row.diff),
                          "ci_low": clean_number(row.ci_low), "ci_high": clean_number(row.ci_high), "significant": bool(row.significant)}
                for row in rows.itertuples(index=False)
            }
            alternatives.append({"name": str(alt_name), "kpis": kpis})
        return {"baseline": self.baseline, "replications": self.replications, "seed": self.seed, "alternatives": alternatives}



def _as_scenario(baseline: Scenario, alternative: Scenario | Policy) -> Scenario:
    """An alternative as a scenario that shares the baseline's run settings (seed, replications, horizon)."""
    scenario = baseline.with_policy(alternative) if isinstance(alternative, Policy) else alternative
    return scenario.model_copy(update={"run": baseline.run})


def _unique_names(items: list[tuple[str, Scenario | Policy]]) -> list[tuple[str, Scenario | Policy]]:
    """Repeated names numbered (policies often keep the default name), so every row stays identifiable."""
    names = [name for name, _ in items]
    if len(set(names)) == len(names):
        return items
    seen: dict[str, int] = {}
    renamed = []
    for name, item in items:
        seen[name] = seen.get(name, 0) + 1
        renamed.append((name if names.count(name) == 1 else f"{name}-{seen[name]}", item))
    return renamed


Alternative = Scenario | Policy | Mapping[str, Any] | str | Path
"""What `compare` takes as one alternative (see its docstring)."""


def compare(
    baseline: Scenario | str | Path, alternatives: Mapping[str, Alternative] | Sequence[Alternative] | Alternative, *,
    replications: int | None = None, seed: int | None = None, jobs: int = 1, cluster: str | None = None, progress: bool = False,
    name: str | None = None, folder: str | Path | None = None, save: bool = True, command: str | None = None,
) -> Comparison:
    """Paired comparison of alternatives (policies or scenarios) against a baseline (see `Comparison`).

    Every alternative runs replications 0..R-1 of the baseline's seed, so differences are measured
    replication by replication. Unless ``save`` is false the folder (default results/<name>/) is written
    whole: comparison.csv, replications.csv (every replication's KPIs) and manifest.json.

    ``baseline`` is a `Scenario` or the path of a scenario file. ``alternatives`` is a mapping ``{name:
    alternative}`` or a list (named after each policy's or scenario's name); an alternative is a `Policy` (run
    in the baseline's world), a `Scenario`, a mapping of field changes to the baseline (``{"team.collectors":
    4}``, like ``--variant``), or the path of a policy file (a scenario file when it has a scenario's sections).
    """
    baseline = scenario_argument(baseline, argument="baseline")
    baseline = with_run(baseline, replications=replications_argument(replications), seed=seed_argument(seed))
    jobs, cluster = executor_arguments(jobs, cluster)
    named = []
    for alt_name, alt in _unique_names(alternatives_argument(baseline, alternatives)):
        try:
            named.append((alt_name, _as_scenario(baseline, alt)))
        except InputError as error:  # a policy written for other segments than the baseline's
            raise InputError(f"{alt_name}: {error}", argument="alternatives") from None
    count = baseline.run.replications
    work = [(scenario, r) for scenario in [baseline] + [s for _, s in named] for r in range(count)]
    done = run_parallel(kpis_of_replication, work, jobs=jobs, cluster=cluster, progress=progress, desc=f"compare {baseline.name}")
    per_scenario = [pd.DataFrame(done[i * count:(i + 1) * count]) for i in range(len(named) + 1)]
    base_rows = per_scenario[0]
    rows = []
    for (alt_name, _), alt_rows in zip(named, per_scenario[1:]):
        for key in KPI_KEYS:
            rows.append({"alternative": alt_name, "kpi": key, **paired_difference(base_rows[key].tolist(), alt_rows[key].tolist())})
    table = pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
    labels = [baseline.name] + [n for n, _ in named]
    replication_rows = pd.concat(
        [frame.assign(scenario=label, replication=range(count)) for label, frame in zip(labels, per_scenario)], ignore_index=True,
    )[["scenario", "replication", *KPI_KEYS]]
    extra = {"baseline": baseline.name, "alternatives": [{"name": n, "scenario": s.model_dump(mode="json")} for n, s in named]}
    target = None
    if save:
        target = Path(folder) if folder is not None else Path("results") / (name or f"{baseline.name}-compare")
    result = Comparison(baseline=baseline.name, alternatives=tuple(n for n, _ in named), replications=count, seed=baseline.run.seed,
                      table=table, per_replication=replication_rows, folder=target,
                      manifest=build_manifest(baseline, command=command, extra=extra))
    if target is not None:
        result.write(target)
    return result
