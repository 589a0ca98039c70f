"""Goal feasibility: can a policy meet every goal within the staffing limit, and if not, how far short, and with what team?

A goal is a KPI bound (`arsim.analysis.goals`), usually relative to the scenario's own policy:
``past_due_amount<=-25%`` (a quarter less past due), ``dso<=-10`` (ten days less DSO), ``dso<=35``
(at most 35 days), ``contacts_total>=+100%`` (twice the contacts). `feasibility` searches the policy levers
for a policy that meets every goal (and any further constraint): the search minimises the total goal
shortfall (each goal's miss as a share of its baseline value, 0 when every goal is met), with every goal
also passed to Optuna as a constraint. Among policies that meet them all, the cheapest (net cost) wins.

The answer comes from fresh replications (`arsim.analysis.selection`): the winner is chosen on one fresh
block and confirmed on another, so "feasible" means the confirmed winner's means meet every goal, and for
each goal the share of confirmation replications on which it holds is the probability it is met, with a
Wilson 95% interval. When no policy meets every goal, the result says how far the best one falls short and
which goal binds (the largest shortfall).

With a staffing range (``collectors=(2, 8)``) the question becomes: what is the smallest team for which the
goals become feasible? One study per team size is run, smallest first, with the team fixed, until one is
feasible; the answer is that team and what it costs a year.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from arsim.analysis.goals import Bound, Objective, parse_bounds
from arsim.analysis.optimize import (
    BoundCheck,
    SearchOutcome,
    build_plan,
    kpi_object,
    make_executor,
    policy_yaml,
    resolve_space,
    search_and_select,
    search_arguments,
    study_location,
    write_search_folder,
)
from arsim.analysis.search_space import STAFFING, Lever, SearchSpace
from arsim.analysis.study import HEARTBEAT_SECONDS, SHORTFALL, shown_url
from arsim.errors import InputError
from arsim.experiment.executors import KeptPool
from arsim.experiment.results import build_manifest
from arsim.experiment.statistics import clean_number
from arsim.files import write_json, write_text
from arsim.scenario.schema import Policy, Scenario


@dataclass(frozen=True)
class StaffingAttempt:
    """One team size of a staffing range: whether the goals were feasible with it, and what it costs."""

    collectors: int
    feasible: bool
    shortfall: float  # total goal shortfall of that size's winner on the confirmation replications
    binding: str | None  # the goal with the largest shortfall, when infeasible
    team_cost_per_year: float
    study: str

    def to_json(self) -> dict[str, Any]:
        """The attempt as plain data."""
        return {"collectors": self.collectors, "feasible": self.feasible, "shortfall": clean_number(self.shortfall), "binding_goal": self.binding,
                "team_cost_per_year": clean_number(self.team_cost_per_year), "study": self.study}


@dataclass(frozen=True)
class FeasibilityResult:
    """Whether the goals can be met, by which policy, how surely, and (with a staffing range) with what team."""

    feasible: bool
    goals: tuple[BoundCheck, ...]
    constraints: tuple[BoundCheck, ...]
    params: dict[str, Any]
    policy: Policy
    collectors: int
    team_cost_per_year: float
    policy_file: Path | None
    study: str
    storage: str
    n_trials: int
    baseline: dict[str, list[float]]  # per KPI on the confirmation replications
    best: dict[str, list[float]]
    confirmation_replications: tuple[int, ...]
    staffing: tuple[StaffingAttempt, ...] = ()
    selection: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    trials: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    importances: dict[str, float] = field(default_factory=dict)  # lever -> its importance to the goal shortfall (PED-ANOVA)
    folder: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def shortfall(self) -> float:
        """Total goal shortfall of the winner's confirmation means (0 when feasible)."""
        return float(sum(check.bound.shortfall(check.reached, check.baseline) for check in self.goals))

    @property
    def binding(self) -> BoundCheck | None:
        """The goal missed by the largest share of its scale (None when every goal is met)."""
        missed = [c for c in self.goals if not c.met]
        return max(missed, key=lambda c: c.bound.shortfall(c.reached, c.baseline)) if missed else None

    @property
    def smallest_team(self) -> int | None:
        """With a staffing range: the smallest feasible team (None when none was, or without a range)."""
        return next((a.collectors for a in self.staffing if a.feasible), None)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object of `arsim feasibility`."""
        binding = self.binding
        return {
            "feasible": self.feasible, "study": self.study, "storage": self.storage, "n_trials": self.n_trials,
            "confirmation_replications": list(self.confirmation_replications),
            "goals": [c.to_json() for c in self.goals], "constraints": [c.to_json() for c in self.constraints],
            "policy_file": str(self.policy_file) if self.policy_file else None, "params": self.params,
            "collectors": self.collectors, "team_cost_per_year": clean_number(self.team_cost_per_year),
            "shortfall": None if self.feasible else {"total": clean_number(self.shortfall), "binding_goal": binding.bound.text if binding else None,
                                                     "binding_reached": clean_number(binding.reached) if binding else None,
                                                     "binding_threshold": clean_number(binding.threshold) if binding else None},
            "staffing": [a.to_json() for a in self.staffing], "smallest_team": self.smallest_team,
            "baseline": {"kpis": {k: kpi_object(k, v) for k, v in self.baseline.items()}},
            "best": {"kpis": {k: kpi_object(k, v) for k, v in self.best.items()}},
            "importances": {k: clean_number(v) for k, v in self.importances.items()},
        }

    def write(self, folder: str | Path, *, extra: Callable[[Path], Any] | None = None) -> Path:
        """Write the result files into the folder, each replaced whole (study databases are left alone)."""
        return write_search_folder(self, folder, extra=extra)


def parse_staffing(collectors: tuple[int, int] | str | None) -> tuple[int, int] | None:
    """A staffing range ``(low, high)`` or ``"2:8"``; None when not given."""
    if collectors is None:
        return None
    if isinstance(collectors, str):
        low_text, sep, high_text = collectors.partition(":")
        try:
            low, high = int(low_text), int(high_text if sep else low_text)
        except ValueError:
            raise InputError(f"{collectors!r}: expected LOW:HIGH team sizes such as 2:8", argument="collectors") from None
    else:
        low, high = collectors
    if low < 1 or high < low:
        raise InputError(f"{low}:{high}: expected 1 <= LOW <= HIGH", argument="collectors")
    return low, high


def feasibility(
    scenario: Scenario | str | Path, *, goals: Sequence[str | Bound], constraints: Sequence[str | Bound] = (), max_collectors: int | None = None,
    collectors: tuple[int, int] | str | None = None, space: SearchSpace | Mapping[str, Any] | None = None, trials: int = 50,
    replications: int = 5, storage: str | None = None, study: str | None = None, jobs: int = 1, cluster: str | None = None,
    seed: int | None = None, top: int = 5, fresh_replications: int = 10, progress: bool = False, folder: str | Path | None = None,
    save: bool = True, command: str | None = None, space_source: str = "search", heartbeat_seconds: int = HEARTBEAT_SECONDS,
) -> FeasibilityResult:
    """Search for a policy that meets every goal within the staffing limit (see the module docstring)."""
    scenario, jobs, cluster, replications, trials, top, fresh_replications, max_collectors = search_arguments(
        scenario, seed=seed, jobs=jobs, cluster=cluster, replications=replications, trials=trials, top=top,
        fresh_replications=fresh_replications, max_collectors=max_collectors)
    parsed_goals = parse_bounds(goals, argument="goals")
    if not parsed_goals:
        raise InputError("name at least one goal, such as dso<=-10", argument="goals")
    parsed_constraints = parse_bounds(constraints, argument="constraints")
    staffing = parse_staffing(collectors)
    if staffing is not None and max_collectors is not None:
        raise InputError("give either a staffing limit (--max-collectors) or a staffing range (--collectors), not both", argument="collectors")
    resolved = resolve_space(scenario, space, max_collectors=max_collectors, source=space_source)
    name, url, target = study_location(scenario, study=study, storage=storage, folder=folder, suffix="feasibility")
    objective = (Objective(SHORTFALL, "minimize"),)
    bounds = (*parsed_goals, *parsed_constraints)
    sizes = list(range(staffing[0], staffing[1] + 1)) if staffing else [None]
    plans = []
    for size in sizes:
        size_space = resolved if size is None else SearchSpace((*resolved.without(STAFFING).levers, Lever(STAFFING, "fixed", value=size)), resolved.source)
        if not size_space.searched:
            raise InputError("the search space has no lever besides the team size", argument="space")
        plans.append(build_plan(scenario, name=name if size is None else f"{name}-collectors-{size}", storage=url, space=size_space,
                                objectives=objective, bounds=bounds, goals=parsed_goals, replications=replications, sampler="tpe"))
    target.mkdir(parents=True, exist_ok=True)
    manifest = build_manifest(scenario, command=command, extra={"studies": [p.settings() | {"name": p.name} for p in plans],
                                                                 "storage": shown_url(url)})
    write_json(target / "manifest.json", manifest)
    executor = make_executor(jobs=jobs, cluster=cluster)
    attempts: list[StaffingAttempt] = []
    outcomes: list[SearchOutcome] = []
    try:
        for size, plan in zip(sizes, plans):
            outcome = search_and_select(plan, trials=trials, top=top, fresh=fresh_replications, executor=executor, progress=progress,
                                        heartbeat_seconds=heartbeat_seconds)
            outcomes.append(outcome)
            if size is None:
                break
            goal_checks = outcome.checks[: len(parsed_goals)]
            missed = [c for c in goal_checks if not c.met]
            binding = max(missed, key=lambda c: c.bound.shortfall(c.reached, c.baseline)).bound.text if missed else None
            attempts.append(StaffingAttempt(size, outcome.constraints_met, sum(c.bound.shortfall(c.reached, c.baseline) for c in goal_checks),
                                            binding, size * scenario.team.cost_per_collector_per_year, plan.name))
            if outcome.constraints_met:
                break
    finally:
        if isinstance(executor, KeptPool):
            executor.close()
    chosen = next((o for o in outcomes if o.constraints_met), outcomes[-1] if staffing is None else min(outcomes, key=_total_shortfall))
    selection = chosen.selection
    policy_file = target / "best-policy.yaml" if save else None
    result = FeasibilityResult(
        feasible=chosen.constraints_met, goals=chosen.checks[: len(parsed_goals)], constraints=chosen.checks[len(parsed_goals):],
        params=selection.winner.params, collectors=chosen.winner_collectors,
        policy=chosen.winner_policy.model_copy(update={"name": f"{chosen.plan.name}-best"}),
        team_cost_per_year=chosen.winner_collectors * scenario.team.cost_per_collector_per_year, policy_file=policy_file,
        study=chosen.plan.name, storage=shown_url(url), n_trials=sum(o.n_trials for o in outcomes), baseline=selection.baseline_b,
        best=selection.winner_b, confirmation_replications=selection.block_b, staffing=tuple(attempts),
        selection=pd.DataFrame(selection.rows), trials=chosen.trials, importances=chosen.importances, folder=target if save else None,
        manifest=manifest | {"confirmation_replications": list(selection.block_b), "selection_replications": list(selection.block_a)},
    )
    if save:
        write_text(policy_file, policy_yaml(result.policy, scenario=scenario, collectors=result.collectors, study=chosen.plan.name))
        result.write(target)
    return result


def _total_shortfall(outcome: SearchOutcome) -> float:
    return float(sum(c.bound.shortfall(c.reached, c.baseline) for c in outcome.checks))
