"""Policy search within staffing limits: `optimize` and its typed result.

`optimize` searches the policy levers of a search space (`arsim.analysis.search_space`) for the policy that
minimises or maximises one or more KPIs (a Pareto front for several) while meeting KPI bounds, absolute or
relative to the scenario's own policy (`arsim.analysis.goals`), within a staffing limit. The search is an
Optuna study (`arsim.analysis.study`: storage, resume, heartbeats, workers); the winner is chosen and
reported on fresh replications (`arsim.analysis.selection`), and written as a policy file that
``arsim run --policy`` takes as it is.

The results folder (default ``results/<study>/``) holds the study's database (SQLite unless ``storage`` names
another), and after each run: ``manifest.json`` (settings and command), ``trials.csv`` (every trial: state,
levers, objective means, constraint values), ``selection.csv`` (the candidates on fresh block A),
``replications.csv`` (winner and baseline on confirmation block B), ``best-policy.yaml`` and
``result.json``. Each file is replaced whole; the database is never deleted.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from arsim.analysis.goals import Bound, Objective, parse_bounds, parse_objective
from arsim.analysis.search_space import SearchSpace, search_space
from arsim.analysis.selection import Selection, candidates_of, select_and_confirm, share_met
from arsim.analysis.study import (
    HEARTBEAT_SECONDS,
    SAMPLERS,
    StudyPlan,
    counted,
    enqueue_one_lever_moves,
    is_feasible,
    open_storage,
    open_study,
    run_trials,
    shown_url,
)
from arsim.errors import InputError
from arsim.experiment.arguments import executor_arguments, scenario_argument, seed_argument, whole_number
from arsim.experiment.executors import DaskCluster, InProcess, KeptPool, check_scheduler_address
from arsim.experiment.replications import with_run
from arsim.experiment.results import build_manifest
from arsim.experiment.statistics import clean_number, kpi_confidence_interval, paired_difference
from arsim.files import check_writable_folder, write_csv, write_json, write_text
from arsim.scenario.files import dump_yaml
from arsim.scenario.schema import Policy, Scenario

DEFAULT_OBJECTIVES: tuple[str, ...] = ("net_cost",)
"""What `optimize` minimises when no objective is named: the total cost of the receivables book."""


def kpi_object(kpi: str, values: Sequence[float]) -> dict[str, Any]:
    """A KPI as ``arsim run --json`` shows it: mean, 95% CI (within the KPI's possible range) and per-replication
    values (NaN as null)."""
    mean, low, high = kpi_confidence_interval(kpi, values)
    return {"mean": clean_number(mean), "ci_low": clean_number(low), "ci_high": clean_number(high), "values": [clean_number(v) for v in values]}


def diff_object(baseline: Sequence[float], alternative: Sequence[float]) -> dict[str, Any]:
    """A paired difference (winner - baseline) with its 95% CI, as ``arsim compare --json`` shows it."""
    d = paired_difference(baseline, alternative)
    return {"diff": clean_number(d["diff"]), "ci_low": clean_number(d["ci_low"]), "ci_high": clean_number(d["ci_high"]),
            "relative_change": clean_number(d["relative_change"]), "significant": bool(d["significant"])}


@dataclass(frozen=True)
class BoundCheck:
    """One constraint or goal on the confirmation replications."""

    bound: Bound
    baseline: float  # baseline mean
    threshold: float
    reached: float  # winner mean
    met: bool  # on the means
    probability: float  # share of replications meeting it (each against its own baseline)
    probability_low: float
    probability_high: float

    def to_json(self) -> dict[str, Any]:
        """The check as plain data."""
        return {"bound": self.bound.text, "kpi": self.bound.kpi, "baseline": clean_number(self.baseline), "threshold": clean_number(self.threshold),
                "reached": clean_number(self.reached), "met": self.met, "probability": clean_number(self.probability),
                "probability_ci": [clean_number(self.probability_low), clean_number(self.probability_high)]}


def check_bounds(bounds: Sequence[Bound], winner: Mapping[str, list[float]], baseline: Mapping[str, list[float]]) -> tuple[BoundCheck, ...]:
    """Each bound on the means and replication by replication."""
    from arsim.analysis.goals import mean_of

    checks = []
    for bound in bounds:
        base, reached = mean_of(baseline[bound.kpi]), mean_of(winner[bound.kpi])
        share, low, high = share_met(bound, winner[bound.kpi], baseline[bound.kpi])
        checks.append(BoundCheck(bound, base, bound.threshold(base), reached, bound.met(reached, base), share, low, high))
    return tuple(checks)


@dataclass(frozen=True)
class SearchOutcome:
    """What a search and its selection produced, shared by `OptimizeResult` and the goal search."""

    plan: StudyPlan
    n_trials: int
    trials_run: int
    selection: Selection
    checks: tuple[BoundCheck, ...]
    trials: pd.DataFrame
    pareto: list[dict[str, Any]]
    importances: dict[str, float] = field(default_factory=dict)

    @property
    def winner_policy(self) -> Policy:
        """The winning policy."""
        return self.selection.winner.scenario.policy

    @property
    def winner_collectors(self) -> int:
        """The winning team size."""
        return self.selection.winner.scenario.team.collectors

    @property
    def constraints_met(self) -> bool:
        """True when the winner meets every bound on the confirmation replications' means."""
        return all(check.met for check in self.checks)


@dataclass(frozen=True)
class OptimizeResult:
    """The outcome of `optimize`: the winner and the baseline on the same fresh replications, and the search."""

    study: str
    storage: str
    n_trials: int
    trials_run: int
    objectives: tuple[Objective, ...]
    constraints: tuple[BoundCheck, ...]
    params: dict[str, Any]
    policy: Policy
    collectors: int
    policy_file: Path | None
    baseline: dict[str, list[float]]  # per KPI, on the confirmation replications
    best: dict[str, list[float]]
    confirmation_replications: tuple[int, ...]
    selection: pd.DataFrame
    trials: pd.DataFrame
    pareto: list[dict[str, Any]]
    importances: dict[str, float] = field(default_factory=dict)  # lever -> its importance to the primary objective (PED-ANOVA)
    folder: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def constraints_met(self) -> bool:
        """True when the winner meets every constraint on the confirmation replications' means."""
        return all(check.met for check in self.constraints)

    def diff(self, kpi: str) -> dict[str, Any]:
        """The winner's paired difference from the baseline on one KPI (confirmation replications)."""
        return diff_object(self.baseline[kpi], self.best[kpi])

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object of `arsim optimize`."""
        return {
            "study": self.study, "storage": self.storage, "n_trials": self.n_trials, "trials_run": self.trials_run,
            "objectives": [o.text for o in self.objectives],
            "confirmation_replications": list(self.confirmation_replications),
            "baseline": {"kpis": {k: kpi_object(k, v) for k, v in self.baseline.items()}},
            "best": {"params": self.params, "collectors": self.collectors, "policy_file": str(self.policy_file) if self.policy_file else None,
                     "kpis": {k: kpi_object(k, v) for k, v in self.best.items()}, "constraints_met": self.constraints_met,
                     "constraints": [c.to_json() for c in self.constraints],
                     "diff_vs_baseline": {k: self.diff(k) for k in self.best}},
            "pareto": self.pareto,
            "importances": {k: clean_number(v) for k, v in self.importances.items()},
        }

    def write(self, folder: str | Path, *, extra: Callable[[Path], Any] | None = None) -> Path:
        """Write the result files into the folder, each replaced whole (the study database is left alone)."""
        return write_search_folder(self, folder, extra=extra)


def write_search_folder(result: Any, folder: str | Path, *, extra: Callable[[Path], Any] | None = None) -> Path:
    """The files of a search's results folder (see the module docstring), for an optimisation or a feasibility
    result alike (both carry manifest, trials, selection, baseline, best and confirmation_replications);
    ``extra(folder)`` may add files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "trials.csv", result.trials, index=False, float_format="%.6g")
    write_csv(folder / "selection.csv", result.selection, index=False, float_format="%.6g")
    replications = list(result.confirmation_replications)
    rows = pd.concat([pd.DataFrame(result.baseline).assign(policy="baseline", replication=replications),
                      pd.DataFrame(result.best).assign(policy="best", replication=replications)], ignore_index=True)
    write_csv(folder / "replications.csv", rows[["policy", "replication", *result.baseline]], index=False, float_format="%.6g")
    write_json(folder / "result.json", result.to_json())
    write_json(folder / "manifest.json", result.manifest)
    if extra is not None:
        extra(folder)
    return folder


def policy_yaml(policy: Policy, *, scenario: Scenario, collectors: int, study: str) -> str:
    """The winning policy as a file `arsim run --policy` reads, with a header saying how it was found and the team it needs."""
    lines = [f"# The winning policy of study {study} on scenario {scenario.name}, chosen and confirmed on fresh replications.",
             f"# arsim run SCENARIO --policy THIS_FILE{'' if collectors == scenario.team.collectors else f' --set team.collectors={collectors}'}"]
    if collectors != scenario.team.collectors:
        lines.append(f"# It needs a team of {collectors} collectors (the scenario has {scenario.team.collectors}); the team is not part of a policy.")
    return "\n".join(lines) + "\n" + dump_yaml(policy)


def trials_table(plan: StudyPlan, study: optuna.Study) -> pd.DataFrame:
    """Every trial: number, state, objective values, constraint values, feasibility, levers, and why it was invalid
    or not run (a queued copy, see `arsim.analysis.study.queued_copy_of`)."""
    rows = []
    names = [o.kpi for o in plan.objectives]
    for trial in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"trial": trial.number, "state": trial.state.name.lower()}
        for name, value in zip(names, trial.values or [None] * len(names)):
            row[name] = value
        for key, value in trial.constraints.items():
            row[f"constraint {key}"] = value
        row["feasible"] = is_feasible(trial)
        row.update(trial.params or trial.system_attrs.get("fixed_params", {}))
        row["invalid"] = trial.user_attrs.get("invalid", "")
        if "copy_of" in trial.user_attrs:
            row["invalid"] = f"a copy of trial {trial.user_attrs['copy_of']}, not run"
        rows.append(row)
    return pd.DataFrame(rows)


def pareto_of(plan: StudyPlan, study: optuna.Study) -> list[dict[str, Any]]:
    """The search's Pareto front of feasible trials (search means: optimistic, see `arsim.analysis.selection`)."""
    front = []
    for trial in sorted(study.best_trials, key=lambda t: t.number):
        front.append({"trial": trial.number, "params": trial.params,
                      "values": {o.kpi: clean_number(v) for o, v in zip(plan.objectives, trial.values)}})
    return front


def importances_of(plan: StudyPlan, study: optuna.Study) -> dict[str, float]:
    """How much each searched lever matters to the primary objective across the completed trials, largest first,
    summing to 1.

    Optuna's PED-ANOVA evaluator: it asks how differently each lever is spread among the best trials (the top
    ``target_quantile``, at least two) than among all of them, so it suits the few dozen trials a search runs; it is
    deterministic and needs no scikit-learn (fANOVA would). Empty when there is nothing to apportion: fewer than two
    completed trials, or no lever that varied.
    """
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    varied = [name for name in {n for t in complete for n in t.params} if len({repr(t.params.get(name)) for t in complete}) > 1]
    if len(complete) < 2 or not varied:
        return {}
    # The best quarter of the trials, but at least two of them when there are more than two.
    quantile = max(0.25, 2.0 / len(complete)) if len(complete) > 2 else 0.5
    sign = -1.0 if plan.objectives[0].direction == "maximize" else 1.0  # PED-ANOVA looks for low target values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its notes on the target's direction (handled by the sign) and on tiny studies
        found = optuna.importance.get_param_importances(study, evaluator=optuna.importance.PedAnovaImportanceEvaluator(target_quantile=quantile),
                                                        params=sorted(varied), target=lambda t: sign * t.values[0], normalize=False)
    total = sum(found.values())
    if not total > 0:  # the good trials are spread like all of them on every lever: nothing to apportion
        return {}
    return {name: float(share) / total for name, share in sorted(found.items(), key=lambda item: -item[1])}


def make_executor(*, jobs: int, cluster: str | None):
    """The executor every evaluation of a search goes through (a kept pool: one start-up for the whole search)."""
    if cluster is not None:
        if jobs > 1:
            raise InputError(f"--cluster and --jobs {jobs}: choose one", argument="cluster")
        return DaskCluster(check_scheduler_address(cluster))
    if jobs < 1:
        raise InputError(f"must be at least 1, got {jobs}", argument="jobs")
    return KeptPool(jobs) if jobs > 1 else InProcess()


def search_arguments(scenario: Any, *, seed: Any, jobs: Any, cluster: Any, replications: Any, trials: Any, top: Any,
                     fresh_replications: Any, max_collectors: Any) -> tuple[Scenario, int, str | None, int, int, int, int, int | None]:
    """The arguments `optimize` and `feasibility` share, checked (InputError naming the argument) and in their plain
    form: the scenario with the seed, jobs, cluster, replications, trials, top, fresh_replications, max_collectors.
    (Counts below their minimum are refused where the plan is built, with the reason.)"""
    scenario, seed, (jobs, cluster) = scenario_argument(scenario), seed_argument(seed), executor_arguments(jobs, cluster)
    replications, trials, top, fresh_replications = (whole_number(value, argument=argument, minimum=None) for argument, value in (
        ("replications", replications), ("trials", trials), ("top", top), ("fresh_replications", fresh_replications)))
    if max_collectors is not None:
        max_collectors = whole_number(max_collectors, argument="max_collectors", minimum=1)
    return with_run(scenario, seed=seed), jobs, cluster, replications, trials, top, fresh_replications, max_collectors


def study_folder(scenario_name: str, *, study: str | None, folder: str | Path | None, suffix: str) -> tuple[str, Path]:
    """The study's name (``study``, else ``<scenario name>-<suffix>``) and its results folder (``folder``, else
    results/<study>), before any check: what the command line checks its inputs against, and `study_location` uses."""
    name = study or f"{scenario_name}-{suffix}"
    return name, Path(folder) if folder is not None else Path("results") / name


def study_location(scenario: Scenario, *, study: str | None, storage: str | None, folder: str | Path | None, suffix: str) -> tuple[str, str, Path]:
    """The study's name, storage URL and results folder (checked writable); SQLite in the folder unless ``storage`` names one."""
    name, target = study_folder(scenario.name, study=study, folder=folder, suffix=suffix)
    if not name.strip() or "/" in name or "\\" in name or name.startswith("."):
        raise InputError(f"{name!r} cannot name a results folder; use letters, digits, '-', '_' and '.'", argument="study")
    check_writable_folder(target, what="the results folder")
    if storage is None:
        storage = f"sqlite:///{(target / 'study.db').resolve()}"
    elif "://" not in storage:
        raise InputError(f"{storage!r} is not a database URL; expected sqlite:///PATH or postgresql://USER@HOST/DB", argument="storage")
    return name, storage, target


def build_plan(scenario: Scenario, *, name: str, storage: str, space: SearchSpace, objectives: Sequence[Objective], bounds: Sequence[Bound],
               goals: Sequence[Bound] = (), replications: int, sampler: str) -> StudyPlan:
    """A checked `StudyPlan`."""
    if replications < 2:
        raise InputError(f"must be at least 2 (a trial's CI and the paired tests need two), got {replications}", argument="replications")
    if sampler not in SAMPLERS:
        raise InputError(f"sampler: unknown sampler {sampler!r}; samplers are {list(SAMPLERS)}")  # the API's only, no flag
    return StudyPlan(name=name, storage=storage, scenario=scenario, space=space, objectives=tuple(objectives), bounds=tuple(bounds),
                     goals=tuple(goals), replications=replications, sampler=sampler)


def search_and_select(plan: StudyPlan, *, trials: int, top: int, fresh: int, executor: Any, progress: bool,
                      heartbeat_seconds: int = HEARTBEAT_SECONDS) -> SearchOutcome:
    """Run (or resume) the study to ``trials`` finished trials, then select and confirm the winner."""
    if trials < 1:
        raise InputError(f"must be at least 1, got {trials}", argument="trials")
    if top < 1:
        raise InputError(f"must be at least 1, got {top}", argument="top")
    if fresh < 2:
        raise InputError(f"must be at least 2, got {fresh}", argument="fresh_replications")
    storage = open_storage(plan.storage, heartbeat_seconds=heartbeat_seconds)
    try:
        study = open_study(plan, storage=storage, executor=executor)
        enqueue_one_lever_moves(plan, study, trials=trials)
        ran = run_trials(plan, study, storage=storage, trials=trials, executor=executor, progress=progress)
        finished, _ = counted(study)
        candidates = candidates_of(plan, study, top=top)
        selection = select_and_confirm(plan, candidates, executor=executor, fresh=fresh, progress=progress)
        checks = check_bounds(plan.bounds, selection.winner_b, selection.baseline_b)
        return SearchOutcome(plan, finished, ran, selection, checks, trials_table(plan, study),
                             pareto_of(plan, study) if not plan.goals else [], importances_of(plan, study))
    finally:
        storage.remove_session()
        storage.engine.dispose()


def resolve_space(scenario: Scenario, space: SearchSpace | Mapping[str, Any] | None, *, max_collectors: int | None, source: str) -> SearchSpace:
    """The search space: a ready one, plain data (a ``search:`` section or a --space file), or the default."""
    if isinstance(space, SearchSpace):
        return space
    return search_space(space, scenario, source=source, max_collectors=max_collectors)


def optimize(
    scenario: Scenario | str | Path, *, space: SearchSpace | Mapping[str, Any] | None = None, trials: int = 50, replications: int = 5,
    objectives: Sequence[str | Objective] = DEFAULT_OBJECTIVES, constraints: Sequence[str | Bound] = (), max_collectors: int | None = None,
    storage: str | None = None, study: str | None = None, jobs: int = 1, cluster: str | None = None, seed: int | None = None,
    top: int = 5, fresh_replications: int = 10, sampler: str = "tpe", progress: bool = False, folder: str | Path | None = None,
    save: bool = True, command: str | None = None, space_source: str = "search", heartbeat_seconds: int = HEARTBEAT_SECONDS,
) -> OptimizeResult:
    """Search the policy levers for the best policy under KPI constraints and a staffing limit (see the module docstring).

    ``space`` is a `SearchSpace`, its plain-data form, or None for the default space. ``objectives`` are KPI
    names (``cei:max`` or ``dso:min`` to set the direction); ``constraints`` are bounds such as
    ``query_sla_attainment>=0.9`` or ``past_due_amount<=-25%`` (`arsim.analysis.goals`). Each trial runs
    ``replications`` common replications; ``trials`` is the study's total (re-running resumes). The winner is
    chosen among the ``top`` candidates on ``fresh_replications`` new replications and reported, with the
    baseline, on another ``fresh_replications``.
    """
    scenario, jobs, cluster, replications, trials, top, fresh_replications, max_collectors = search_arguments(
        scenario, seed=seed, jobs=jobs, cluster=cluster, replications=replications, trials=trials, top=top,
        fresh_replications=fresh_replications, max_collectors=max_collectors)
    parsed_objectives = tuple(parse_objective(o) for o in objectives)
    if not parsed_objectives:
        raise InputError("name at least one objective KPI", argument="objectives")
    if len({o.kpi for o in parsed_objectives}) != len(parsed_objectives):
        raise InputError("an objective KPI is named twice", argument="objectives")
    bounds = parse_bounds(constraints, argument="constraints")
    resolved = resolve_space(scenario, space, max_collectors=max_collectors, source=space_source)
    name, url, target = study_location(scenario, study=study, storage=storage, folder=folder, suffix="optimize")
    plan = build_plan(scenario, name=name, storage=url, space=resolved, objectives=parsed_objectives, bounds=bounds,
                      replications=replications, sampler=sampler)
    executor = make_executor(jobs=jobs, cluster=cluster)
    target.mkdir(parents=True, exist_ok=True)
    manifest = build_manifest(scenario, command=command, extra={"study": plan.settings() | {"name": name, "storage": shown_url(url)}})
    write_json(target / "manifest.json", manifest)  # the folder's marker, before the database appears in it
    try:
        outcome = search_and_select(plan, trials=trials, top=top, fresh=fresh_replications, executor=executor, progress=progress,
                                    heartbeat_seconds=heartbeat_seconds)
    finally:
        if isinstance(executor, KeptPool):
            executor.close()
    selection = outcome.selection
    policy_file = target / "best-policy.yaml" if save else None
    result = OptimizeResult(
        study=name, storage=shown_url(url), n_trials=outcome.n_trials, trials_run=outcome.trials_run, objectives=parsed_objectives,
        constraints=outcome.checks, params=selection.winner.params, collectors=outcome.winner_collectors,
        policy=outcome.winner_policy.model_copy(update={"name": f"{name}-best"}),
        policy_file=policy_file, baseline=selection.baseline_b, best=selection.winner_b, confirmation_replications=selection.block_b,
        selection=pd.DataFrame(selection.rows), trials=outcome.trials, pareto=outcome.pareto, importances=outcome.importances,
        folder=target if save else None,
        manifest=manifest | {"confirmation_replications": list(selection.block_b), "selection_replications": list(selection.block_a)},
    )
    if save:
        write_text(policy_file, policy_yaml(result.policy, scenario=scenario, collectors=result.collectors, study=name))
        result.write(target)
    return result


