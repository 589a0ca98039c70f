"""An Optuna study of policies: storage, resume, heartbeats, the trial loop and its progress bar.

Every trial is one policy (the search space's levers put into the scenario), simulated on replications
0..R-1 of one seed, the same for every trial (common random numbers), through an executor (in this process,
a kept pool of worker processes, or a Dask cluster). The trial's value is the mean of each objective KPI
over those replications; each constraint is passed to Optuna with ``trial.set_constraint`` (Optuna's core
constrained-optimisation API: a value <= 0 is met), and the per-replication values of every KPI are stored
as the trial's user attribute ``kpis``, so every figure can be recomputed from the study alone.

The study lives in an SQL database (SQLite by default, ``results/<study>/study.db``; PostgreSQL for
workers on several machines). ``trials`` is the study's total: a run counts the trials already finished
(and the ones other live workers are running) and adds only the rest, so re-running the same command
resumes. Trials record a heartbeat; a trial whose process died stops beating and is marked failed by the
next worker that starts a trial, and failed trials are not counted. The baseline policy's KPIs on the
search replications are stored with the study, as are its settings: resuming a study with another
scenario, space, objectives, bounds or replications is refused rather than mixing two searches.

The sampler is TPE (multivariate, with a constant liar when several workers share the study), seeded from
the seed and the number of trials already in the study, so a single worker's search is reproducible and a
resumed one does not replay the first proposals.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from arsim.analysis.goals import Bound, Objective, mean_of, with_derived
from arsim.analysis.search_space import SearchSpace, apply_levers
from arsim.errors import InputError
from arsim.experiment.executors import Executor, progress_bar
from arsim.experiment.replications import period_kpis_of_replication
from arsim.scenario.schema import Scenario

SHORTFALL = "goal_shortfall"
"""The objective of a goal search: the sum over goals of how far the trial's mean falls short, each as a share of its scale."""

HEARTBEAT_SECONDS = 10
"""How often a running trial records that its process is alive."""

SAMPLERS = ("tpe", "random")


@dataclass(frozen=True)
class StudyPlan:
    """Everything a study's trials depend on; two runs of the same plan may share one study."""

    name: str
    storage: str
    scenario: Scenario  # the baseline, with the run's seed
    space: SearchSpace
    objectives: tuple[Objective, ...]
    bounds: tuple[Bound, ...]  # constraints, and in a goal search the goals too
    goals: tuple[Bound, ...]  # the goals of a goal search (empty for an optimisation)
    replications: int
    sampler: str = "tpe"

    @property
    def seed(self) -> int:
        """The seed of every replication."""
        return self.scenario.run.seed

    def settings(self) -> dict[str, Any]:
        """What a resumed study must agree on, as plain data."""
        digest = hashlib.sha256(json.dumps(self.scenario.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]
        return {
            "scenario": self.scenario.name, "scenario_digest": digest, "seed": self.seed, "replications": self.replications,
            "space": self.space.to_json(), "objectives": [o.text for o in self.objectives], "bounds": [b.text for b in self.bounds],
            "goals": [g.text for g in self.goals], "sampler": self.sampler,
        }


def quiet_optuna() -> None:
    """Optuna's per-trial log lines and experimental-feature warnings are replaced by the progress bar."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def storage_url(url: str) -> str:
    """SQLAlchemy's URL for a storage: ``postgresql://`` uses psycopg 3 (the driver arsim installs)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def shown_url(url: str) -> str:
    """A storage URL with any password replaced by ***, for printing and manifests."""
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{head}://{user}:***@{host}" if ":" in credentials else url


def open_storage(url: str, *, heartbeat_seconds: int = HEARTBEAT_SECONDS) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage with heartbeats; InputError (naming --storage) when it cannot be opened."""
    quiet_optuna()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = {"connect_args": {"timeout": 60}}
    else:
        engine = {"pool_pre_ping": True}
    try:
        for attempt in range(3):
            try:
                storage = optuna.storages.RDBStorage(
                    storage_url(url), engine_kwargs=engine, heartbeat_interval=heartbeat_seconds, grace_period=3 * heartbeat_seconds,
                )
                if url.startswith("sqlite:"):
                    _fast_sqlite(storage)
                return storage
            except Exception as error:  # noqa: BLE001
                # Workers that open a new database at the same moment race to create its tables; the loser sees a
                # duplicate key (PostgreSQL) or a table that already exists (SQLite), and the tables are there when it
                # tries again.
                if attempt == 2 or not any(race in str(error).lower() for race in ("duplicate key", "already exists")):
                    raise
                time.sleep(1.0 + attempt)
        raise AssertionError("unreachable")
    except ModuleNotFoundError as error:
        raise InputError(f"{shown_url(url)}: its database driver is not installed ({error.name}); for PostgreSQL: pip install 'arsim[postgres]'",
                         argument="storage") from None
    except Exception as error:  # noqa: BLE001 - SQLAlchemy raises many kinds; the remedy is to fix the URL or the server
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InputError(f"cannot open {shown_url(url)}: {reason}", argument="storage") from None


def _fast_sqlite(storage: optuna.storages.RDBStorage) -> None:
    """Write-ahead logging without a disk flush per commit: a trial makes some thirty small commits, and a flush
    each cost about 10 ms (a third of a second per trial). A killed process still loses no committed trial (the
    log is in the file); only a power cut may lose the last few commits, which a resumed study re-runs."""
    from sqlalchemy import event

    def pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(storage.engine, "connect", pragmas)
    storage.engine.dispose()  # connections opened while the tables were made reconnect with the pragmas


def evaluate(executor: Executor, scenarios: Sequence[Scenario], replications: Sequence[int], *, progress: bool = False,
             desc: str = "re-evaluating") -> list[list[dict[str, float]]]:
    """Every scenario on the given replication numbers: a list (per scenario) of per-replication KPIs."""
    items = [(scenario, r) for scenario in scenarios for r in replications]
    bar = progress_bar(len(items), desc=desc, enabled=progress)
    try:
        flat = [with_derived(kpis) for kpis in executor.map(period_kpis_of_replication, items, on_done=lambda: bar.update(1))]
    finally:
        bar.close()
    count = len(replications)
    return [flat[i * count:(i + 1) * count] for i in range(len(scenarios))]


def by_kpi(rows: Sequence[dict[str, float]]) -> dict[str, list[float]]:
    """Per-replication KPI dicts as one list per KPI."""
    return {key: [float(row[key]) for row in rows] for key in rows[0]} if rows else {}


def means(values: dict[str, list[float]]) -> dict[str, float]:
    """The mean of each KPI over replications (undefined values left out)."""
    return {key: mean_of(series) for key, series in values.items()}


def shortfall(goals: Sequence[Bound], trial_means: dict[str, float], baseline_means: dict[str, float]) -> float:
    """The goal search's objective: the sum of the goals' shortfalls of the means (0 when every goal is met)."""
    return float(sum(goal.shortfall(trial_means[goal.kpi], baseline_means[goal.kpi]) for goal in goals))


def violation(bound: Bound, trial_means: dict[str, float], baseline_means: dict[str, float]) -> float:
    """A bound's constraint value for Optuna (<= 0 met); an undefined KPI counts as missed by its whole scale."""
    gap = bound.violation(trial_means[bound.kpi], baseline_means[bound.kpi])
    return gap if math.isfinite(gap) else bound.scale(baseline_means[bound.kpi])


def open_study(plan: StudyPlan, *, storage: optuna.storages.BaseStorage, executor: Executor) -> optuna.Study:
    """The plan's study, created or loaded; its settings checked and its baseline stored (computed once)."""
    directions = [o.direction for o in plan.objectives]
    study = optuna.create_study(study_name=plan.name, storage=storage, directions=directions, load_if_exists=True)
    settings = plan.settings()
    stored = study.user_attrs.get("arsim_settings")
    if stored is None:
        study.set_user_attr("arsim_settings", settings)
    elif stored != settings:
        differ = sorted(key for key in settings if stored.get(key) != settings.get(key))
        raise InputError(f"study {plan.name!r} in {shown_url(plan.storage)} was made with other settings ({', '.join(differ)}); "
                         "give another --study name, or the same settings to resume it", argument="study")
    if [d.name.lower() for d in study.directions] != directions:
        raise InputError(f"study {plan.name!r} has other objectives; give another --study name", argument="study")
    if "baseline_kpis" not in study.user_attrs:
        [rows] = evaluate(executor, [plan.scenario], range(plan.replications))
        study.set_user_attr("baseline_kpis", json_safe(by_kpi(rows)))
        # The first trial is today's policy (where the space can express it): a search starts from the incumbent.
        start = plan.space.starting_point(plan.scenario)
        if start:
            study.enqueue_trial(start, skip_if_exists=True)
    return study


def baseline_of(study: optuna.Study) -> dict[str, list[float]]:
    """The baseline policy's per-replication KPIs on the search replications, as stored with the study."""
    return {key: [math.nan if v is None else v for v in values] for key, values in study.user_attrs["baseline_kpis"].items()}


def make_objective(plan: StudyPlan, executor: Executor, baseline: dict[str, list[float]]) -> Callable[[optuna.Trial], Any]:
    """The function Optuna calls for each trial (see the module docstring)."""
    baseline_means = means(baseline)

    def objective(trial: optuna.Trial) -> Any:
        values = plan.space.suggest(trial)
        try:
            candidate = apply_levers(plan.scenario, values, source=f"trial {trial.number}")
        except InputError as error:
            trial.set_user_attr("invalid", str(error))
            raise optuna.TrialPruned(str(error)) from None
        [rows] = evaluate(executor, [candidate], range(plan.replications))
        per_replication = by_kpi(rows)
        trial_means = means(per_replication)
        trial.set_user_attr("kpis", json_safe(per_replication))
        for bound in plan.bounds:
            trial.set_constraint(bound.text, violation(bound, trial_means, baseline_means))
        if plan.goals:
            return shortfall(plan.goals, trial_means, baseline_means)
        scores = [trial_means[o.kpi] for o in plan.objectives]
        if not all(math.isfinite(s) for s in scores):
            trial.set_user_attr("invalid", "an objective KPI is undefined for this policy")
            raise optuna.TrialPruned("an objective KPI is undefined")
        return scores if len(scores) > 1 else scores[0]

    return objective


def counted(study: optuna.Study) -> tuple[int, int]:
    """(finished, running) trials: finished ones count towards the total; failed ones never do."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    finished = sum(s in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for s in states)
    running = sum(s == optuna.trial.TrialState.RUNNING for s in states)
    return finished, running


def is_feasible(trial: optuna.trial.FrozenTrial) -> bool:
    """A completed trial that meets every constraint."""
    return trial.state == optuna.trial.TrialState.COMPLETE and all(v <= 0 for v in trial.constraints.values())


def run_trials(plan: StudyPlan, study: optuna.Study, *, trials: int, executor: Executor, progress: bool = False,
               poll_seconds: float = 2.0) -> int:
    """Run trials until the study holds ``trials`` finished ones; returns how many this call ran."""
    baseline = baseline_of(study)
    objective = make_objective(plan, executor, baseline)
    optuna.storages.fail_stale_trials(study)
    finished, _ = counted(study)
    seed = int(np.random.SeedSequence([plan.seed, len(study.get_trials(deepcopy=False))]).generate_state(1)[0])
    if plan.sampler == "random":
        study.sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        study.sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)
    bar = _bar(plan, study, total=trials, done=finished, enabled=progress)
    ran = 0
    try:
        while True:
            optuna.storages.fail_stale_trials(study)
            finished, running = counted(study)
            bar.n = min(finished, trials)
            _describe(bar, plan, study)
            if finished >= trials:
                break
            if finished + running >= trials:
                time.sleep(poll_seconds)  # the rest are running in other workers; wait for them (or for their heartbeats to stop)
                continue
            study.optimize(objective, n_trials=1, catch=())
            ran += 1
    finally:
        bar.close()
    return ran


def _bar(plan: StudyPlan, study: optuna.Study, *, total: int, done: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=min(done, total), desc=plan.name, unit="trial", file=sys.stderr, disable=not enabled, leave=False,
                dynamic_ncols=True)


def _describe(bar: Any, plan: StudyPlan, study: optuna.Study) -> None:
    """Best value so far and the share of completed trials that meet every constraint, on the bar."""
    if bar.disable:
        return
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        bar.refresh()
        return
    feasible = [t for t in complete if is_feasible(t)]
    postfix = {"feasible": f"{len(feasible) / len(complete):.0%}"}
    if feasible:
        objective = plan.objectives[0]
        pick = min if objective.direction == "minimize" else max
        postfix[f"best {objective.kpi}"] = f"{pick(t.values[0] for t in feasible):,.4g}"
    bar.set_postfix(postfix, refresh=True)


def json_safe(values: Any) -> Any:
    """NaN and infinities as None, so the study stores plain JSON."""
    if isinstance(values, dict):
        return {k: json_safe(v) for k, v in values.items()}
    if isinstance(values, list | tuple):
        return [json_safe(v) for v in values]
    if isinstance(values, float) and not math.isfinite(values):
        return None
    return values
