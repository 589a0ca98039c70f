"""An Optuna study of policies: storage, resume, heartbeats, the trial loop and its progress bar.

Every trial is one policy (the search space's levers put into the scenario), simulated on replications
0..R-1 of one seed, the same for every trial (common random numbers), through an executor (in this process,
a kept pool of worker processes, or a Dask cluster). The trial's value is the mean of each objective KPI
over those replications; each constraint is passed to Optuna with ``trial.set_constraint`` (Optuna's core
constrained-optimisation API: a value <= 0 is met), and the per-replication values of every KPI are stored
as the trial's user attribute ``kpis``, so every figure can be recomputed from the study alone. Trials are
proposed in batches of four and simulated together (`TRIALS_PER_BATCH`), so every worker stays busy.

The study lives in an SQL database (SQLite by default, ``results/<study>/study.db``; PostgreSQL for
workers on several machines). ``trials`` is the study's total: a run counts the trials already finished
(and the ones other live workers are running) and adds only the rest, so re-running the same command
resumes. Trials record a heartbeat; a trial whose process died stops beating and is marked failed by the
next worker that starts a trial, and failed trials are not counted. The baseline policy's KPIs on the
search replications are stored with the study, as are its settings: resuming a study with another
scenario, space, objectives, bounds or replications is refused rather than mixing two searches.

The sampler is TPE (multivariate, with a constant liar for the trials of a batch and of other workers), seeded from
the seed and the number of trials already in the study, so a single worker's search is reproducible and a
resumed one does not replay the first proposals.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import sqlalchemy

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
    # Trials are asked in batches with a heartbeat thread of arsim's own (run_trials), not through Study.optimize.
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")


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
        for attempt in range(5):
            try:
                storage = optuna.storages.RDBStorage(
                    storage_url(url), engine_kwargs=engine, heartbeat_interval=heartbeat_seconds, grace_period=3 * heartbeat_seconds,
                )
                if url.startswith("sqlite:"):
                    _fast_sqlite(storage)
                return storage
            except Exception as error:  # noqa: BLE001
                # Workers that open a new database at the same moment race to create its tables; the loser sees a
                # duplicate key (PostgreSQL) or a table that already exists (SQLite) once the winner has committed, so
                # the tables are there when it tries again. A short wait: a long one hands the winner the first trials.
                if attempt == 4 or not any(race in str(error).lower() for race in ("duplicate key", "already exists")):
                    raise
                time.sleep(0.1 * (attempt + 1))
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


RANDOM_START_TRIALS = 10
"""Trials TPE draws at random before it models the space (Optuna's default), counting today's policy; the
one-lever moves come on top, so that they do not take the place of the random start: a model built only from
policies next to today's would look for the best policy only there."""

MOVES_BUDGET_SHARE = 3
"""One-lever moves are tried only when the study's total is at least this many times their number, so that
they take at most a third of the trials and the sampler keeps the rest."""


def enqueue_one_lever_moves(plan: StudyPlan, study: optuna.Study, *, trials: int) -> int:
    """Queue today's policy with each lever moved alone (`SearchSpace.one_lever_moves`), once per study, when the
    budget of ``trials`` allows; returns how many were queued.

    A sampler that proposes every lever at once rarely tries a policy that differs from today's in one lever
    only, and on a book where most changes cost money it can miss a one-lever saving that a paired comparison
    shows at once. The moves run right after today's policy (or next, when a study resumes with a budget that
    now allows them); the sampler then starts from what they found. The study remembers that it has them.
    """
    if study.user_attrs.get("one_lever_moves") is not None:
        return 0
    moves = plan.space.one_lever_moves(plan.scenario)
    if not moves or trials < MOVES_BUDGET_SHARE * len(moves):
        return 0
    for move in moves:
        study.enqueue_trial(move, skip_if_exists=True)
    study.set_user_attr("one_lever_moves", len(moves))
    return len(moves)


def baseline_of(study: optuna.Study) -> dict[str, list[float]]:
    """The baseline policy's per-replication KPIs on the search replications, as stored with the study."""
    return {key: [math.nan if v is None else v for v in values] for key, values in study.user_attrs["baseline_kpis"].items()}


def propose(plan: StudyPlan, trial: optuna.Trial) -> Scenario | None:
    """The trial's policy (the space's levers suggested and put into the scenario), or None when those levers
    make no valid policy (the reason is stored as the trial's ``invalid`` attribute)."""
    values = plan.space.suggest(trial)
    try:
        return apply_levers(plan.scenario, values, source=f"trial {trial.number}")
    except InputError as error:
        trial.set_user_attr("invalid", str(error))
        return None


def score(plan: StudyPlan, trial: optuna.Trial, rows: Sequence[dict[str, float]], baseline_means: dict[str, float]) -> float | list[float] | None:
    """Record a trial's per-replication KPIs and its constraints; returns its objective value(s), or None when an
    objective KPI is undefined for its policy (the trial is then pruned)."""
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
        return None
    return scores if len(scores) > 1 else scores[0]


def counted(study: optuna.Study) -> tuple[int, int]:
    """(finished, running) trials: finished ones count towards the total; failed ones never do."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    finished = sum(s in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for s in states)
    running = sum(s == optuna.trial.TrialState.RUNNING for s in states)
    return finished, running


def is_feasible(trial: optuna.trial.FrozenTrial) -> bool:
    """A completed trial that meets every constraint."""
    return trial.state == optuna.trial.TrialState.COMPLETE and all(v <= 0 for v in trial.constraints.values())


TRIALS_PER_BATCH = 4
"""Trials proposed together and evaluated in one go: their replications (4 x R) keep every worker busy, where one
trial's R replications leave workers idle at its end (5 replications on 2 workers take 3 rounds). A fixed number,
not the number of workers, so a search proposes the same policies with any executor and any number of workers;
the sampler sees the batch's earlier trials as running (TPE's constant liar)."""


def run_trials(plan: StudyPlan, study: optuna.Study, *, storage: optuna.storages.RDBStorage, trials: int, executor: Executor,
               progress: bool = False, poll_seconds: float = 2.0) -> int:
    """Run trials until the study holds ``trials`` finished ones; returns how many this call ran.

    Trials go in batches of `TRIALS_PER_BATCH` (fewer when fewer are left): asked of the study one after another,
    simulated together, each told its values as soon as the batch is done. While they run, a heartbeat records every
    `HEARTBEAT_SECONDS` that this process is alive, so a killed run loses at most the batch in flight: its trials stop
    beating and are marked failed by the next worker. An error or an interrupt marks the batch's unfinished trials
    failed before it propagates.
    """
    baseline_means = means(baseline_of(study))
    seed = int(np.random.SeedSequence([plan.seed, len(study.get_trials(deepcopy=False))]).generate_state(1)[0])
    if plan.sampler == "random":
        study.sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        queued_moves = study.user_attrs.get("one_lever_moves") or 0
        study.sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                                   n_startup_trials=RANDOM_START_TRIALS + queued_moves)
    finished, _ = counted(study)
    bar = _bar(plan, study, total=trials, done=finished, enabled=progress)
    ran = 0
    try:
        while True:
            fail_dead_trials(study, storage)
            finished, running = counted(study)
            bar.n = min(finished, trials)
            _describe(bar, plan, study)
            if finished >= trials:
                break
            if finished + running >= trials:
                time.sleep(poll_seconds)  # the rest are running in other workers; wait for them (or for their heartbeats to stop)
                continue
            ran += _run_batch(plan, study, storage, trials=trials, executor=executor, baseline_means=baseline_means)
    finally:
        bar.close()
    return ran


def fail_dead_trials(study: optuna.Study, storage: optuna.storages.RDBStorage) -> None:
    """Mark failed the running trials whose process is gone: Optuna's stale trials (heartbeat stopped), and the ones
    Optuna cannot see. ``study.ask()`` creates a trial as running and then lets the sampler propose its levers, and
    only then can its first heartbeat be recorded; a process killed in between leaves a running trial with no
    heartbeat, which Optuna never calls stale and which would hold up every later run. Such a trial started more
    than four grace periods ago (the margin covers clocks of other machines sharing a study) is failed here."""
    optuna.storages.fail_stale_trials(study)
    running = {t._trial_id: t.datetime_start for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))}
    if not running:
        return
    interval = storage.get_heartbeat_interval() or HEARTBEAT_SECONDS
    cutoff = datetime.now() - timedelta(seconds=4 * (storage.grace_period or 2 * interval))
    old = [trial_id for trial_id, started in running.items() if started is not None and started < cutoff]
    if not old:
        return
    query = sqlalchemy.text("SELECT trial_id FROM trial_heartbeats WHERE trial_id IN :ids").bindparams(sqlalchemy.bindparam("ids", expanding=True))
    with storage.engine.connect() as connection:  # Optuna's table of heartbeats (its schema is versioned)
        beating = {row[0] for row in connection.execute(query, {"ids": old})}
    for trial_id in old:
        if trial_id not in beating:
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                storage.set_trial_state_values(trial_id, state=optuna.trial.TrialState.FAIL)


def _run_batch(plan: StudyPlan, study: optuna.Study, storage: optuna.storages.RDBStorage, *, trials: int, executor: Executor,
               baseline_means: dict[str, float]) -> int:
    """Ask up to `TRIALS_PER_BATCH` trials, simulate the valid ones together and tell every one its outcome; returns
    how many were run (asked, less queued copies). Before each ask the study is counted again, so workers sharing it
    overshoot the total by at most one trial each, as with one trial at a time."""
    asked: list[optuna.Trial] = []
    told: set[int] = set()
    copies = 0
    try:
        with _Heartbeat(storage) as heartbeat:
            policies: list[tuple[optuna.Trial, Scenario]] = []
            for _ in range(TRIALS_PER_BATCH):
                if asked and sum(counted(study)) >= trials:
                    break
                trial = study.ask()
                asked.append(trial)
                heartbeat.beat_for(trial._trial_id)  # Optuna's own heartbeat thread keys trials by this id too
                original = queued_copy_of(study, storage.get_trial(trial._trial_id))
                if original is not None:
                    trial.set_user_attr("copy_of", original)
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    told.add(trial.number)
                    copies += 1
                    continue
                candidate = propose(plan, trial)
                if candidate is None:
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    told.add(trial.number)
                else:
                    policies.append((trial, candidate))
            rows = evaluate(executor, [candidate for _, candidate in policies], range(plan.replications)) if policies else []
            for (trial, _), trial_rows in zip(policies, rows):
                values = score(plan, trial, trial_rows, baseline_means)
                if values is None:
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                else:
                    study.tell(trial, values)
                told.add(trial.number)
    except BaseException:
        for trial in asked:
            if trial.number not in told:
                with contextlib.suppress(Exception):
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    return len(asked) - copies


def queued_copy_of(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> int | None:
    """The number of an earlier queued trial with the same levers as the queued ``trial``, if there is one.

    Workers that open a new shared study at the same moment each queue today's policy and the one-lever moves:
    Optuna's ``skip_if_exists`` looks for an existing copy before adding one, but two workers may both look before
    either adds. The copy would be simulated on the same replications and give the same numbers, so the worker that
    draws it marks it failed (failed trials never count towards the total) with a ``copy_of`` attribute instead.
    An earlier copy that failed does not count: its policy is still to be run.
    """
    fixed = trial.system_attrs.get("fixed_params")
    if not fixed:
        return None  # a trial the sampler drew: no need to read the whole study
    for earlier in study.get_trials(deepcopy=False):
        if earlier.number < trial.number and earlier.state != optuna.trial.TrialState.FAIL and earlier.system_attrs.get("fixed_params") == fixed:
            return earlier.number
    return None


class _Heartbeat:
    """A thread that records, every heartbeat interval of the storage, that this process is alive for each trial it runs
    (what ``study.optimize`` does for its one trial; a batch has several)."""

    def __init__(self, storage: optuna.storages.RDBStorage) -> None:
        self.storage = storage
        self.trial_ids: list[int] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._beat, name="arsim-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def beat_for(self, trial_id: int) -> None:
        """Record a heartbeat for this trial now, and with the others from now on."""
        with self.lock:
            self.trial_ids.append(trial_id)
            self.storage.record_heartbeat(trial_id)

    def _beat(self) -> None:
        interval = self.storage.get_heartbeat_interval() or HEARTBEAT_SECONDS
        while not self.stop.wait(timeout=interval):
            with self.lock:
                for trial_id in self.trial_ids:
                    self.storage.record_heartbeat(trial_id)


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
