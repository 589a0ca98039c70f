"""Evidence that the policy search works and is not fooled (the figures in docs/optimize.md).

Three parts, each printed as figures:

1. **Search against random search** at the same budget, over several seeds: each search's best feasible
   policy (by its search mean) is re-run on the same fresh replications, never used by either search, so
   neither is flattered by the optimiser's curse; the paired difference TPE - random of the net cost,
   mean over seeds with a 95% t interval. Both try each lever alone first when the budget has room, as
   ``arsim optimize`` does; ``--against no-moves`` instead compares the search with and without those
   one-lever moves.
2. **Throughput**: trials per minute with ``--jobs`` workers, and the overhead per trial (the wall time not
   spent simulating: Optuna, the study database, the sampler).
3. **The unconstrained winner**: a search over every lever of the default space with no constraint but the
   staffing limit (the scenario's own team), and each lever the winner sets at an edge of its range.

    python benchmarks/optimizer.py                                   # the baseline, 200 trials x 5 replications, 5 seeds
    python benchmarks/optimizer.py --trials 40 --replications 3 --seeds 5 --set run.horizon_days=180
    python benchmarks/optimizer.py --trials 100 --replications 3 --seeds 10 --against no-moves --skip throughput --skip winner
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from arsim.analysis.goals import mean_of, parse_bound, parse_objective
from arsim.analysis.optimize import build_plan, make_executor, optimize
from arsim.analysis.search_space import search_space
from arsim.analysis.selection import levers_at_edges
from arsim.analysis.study import by_kpi, enqueue_one_lever_moves, evaluate, is_feasible, open_storage, open_study, run_trials
from arsim.experiment.executors import KeptPool
from arsim.experiment.statistics import confidence_interval
from arsim.scenario.files import load_scenario

ROOT = Path(__file__).resolve().parents[1]
OBJECTIVE = "net_cost"
CONSTRAINT = "query_sla_attainment>=0.8"
TARGET_SECONDS = 6 * 60  # 200 trials x 5 replications of the baseline with --jobs 2 on a 2-core machine


def shown(value: float) -> str:
    """A KPI value as printed: whole numbers for money and counts, two decimals for days and ratios."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}"


class TimedExecutor:
    """An executor that adds up the wall time spent in its maps (the simulation time of a search)."""

    def __init__(self, inner):
        self.inner = inner
        self.seconds = 0.0

    def map(self, function, items, *, on_done=None):
        start = time.perf_counter()
        results = list(self.inner.map(function, items, on_done=on_done))
        self.seconds += time.perf_counter() - start
        return iter(results)


def search_best(scenario, space, *, sampler: str, trials: int, replications: int, executor, folder: Path, seed: int,
                objective: str = OBJECTIVE, constraint: str = CONSTRAINT, moves: bool = True):
    """The best feasible trial's policy scenario of one search (by its search mean), and the search's wall time.

    With ``moves`` the search tries each lever alone after today's policy when the budget has room, as
    ``arsim optimize`` does."""
    folder.mkdir(parents=True, exist_ok=True)
    plan = build_plan(scenario.model_copy(update={"run": scenario.run.model_copy(update={"seed": seed})}), name=f"{sampler}-{seed}",
                      storage=f"sqlite:///{folder / f'{sampler}-{seed}.db'}", space=space, objectives=[parse_objective(objective)],
                      bounds=[parse_bound(constraint)], replications=replications, sampler=sampler)
    storage = open_storage(plan.storage)
    study = open_study(plan, storage=storage, executor=executor)
    if moves:
        enqueue_one_lever_moves(plan, study, trials=trials)
    start = time.perf_counter()
    run_trials(plan, study, storage=storage, trials=trials, executor=executor)
    seconds = time.perf_counter() - start
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    feasible = [t for t in complete if is_feasible(t)] or complete
    sign = -1.0 if parse_objective(objective).direction == "maximize" else 1.0
    best = min(feasible, key=lambda t: sign * t.values[0])
    from arsim.analysis.search_space import apply_levers

    return apply_levers(scenario, {**space.fixed, **best.params}), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios/baseline.yaml"))
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override a scenario field (repeatable)")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--replications", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--objective", default=OBJECTIVE, help=f"the KPI the compared searches minimise (KPI:max to maximise; default {OBJECTIVE})")
    parser.add_argument("--constraint", default=CONSTRAINT, help=f"the compared searches' constraint (default {CONSTRAINT})")
    parser.add_argument("--against", default="random", choices=["random", "no-moves"],
                        help="what the search is compared with: random search, or the same search without the one-lever moves")
    parser.add_argument("--fresh", type=int, default=5, help="fresh replications on which each search's best is judged")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--throughput-trials", type=int, default=40, help="trials timed for the throughput figure")
    parser.add_argument("--winner-trials", type=int, help="trials of the unconstrained search (default --trials)")
    parser.add_argument("--skip", action="append", default=[], choices=["compare", "throughput", "winner"])
    args = parser.parse_args()
    import yaml

    scenario = load_scenario(args.scenario)
    if args.set:
        scenario = scenario.with_overrides({k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)})
    space = search_space(None, scenario, max_collectors=scenario.team.collectors)
    print(f"{scenario.name}: {args.trials} trials x {args.replications} replications, objective {args.objective}, constraint {args.constraint}, "
          f"default space ({len(space.searched)} levers), team at most {scenario.team.collectors}")
    executor = make_executor(jobs=args.jobs, cluster=None)
    timed = TimedExecutor(executor)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            if "compare" not in args.skip:
                compare_samplers(scenario, space, args, timed, folder)
            if "throughput" not in args.skip:
                throughput(scenario, space, args, folder)
            if "winner" not in args.skip:
                unconstrained_winner(scenario, args, folder)
    finally:
        if isinstance(executor, KeptPool):
            executor.close()


def compare_samplers(scenario, space, args, executor, folder: Path) -> None:
    fresh = range(1000, 1000 + args.fresh)  # far from every search's replications
    objective = parse_objective(args.objective)
    kpi, better = objective.kpi, (-1.0 if objective.direction == "maximize" else 1.0)
    # each arm: (name, sampler, one-lever moves); the difference printed is the first arm minus the second
    arms = [("tpe", "tpe", True), ("random", "random", True)] if args.against == "random" else [("moves", "tpe", True), ("no-moves", "tpe", False)]
    (first, _, _), (second, _, _) = arms
    rows = []
    for k in range(args.seeds):
        seed = scenario.run.seed + k
        judged = {}
        for name, sampler, moves in arms:
            best, seconds = search_best(scenario, space, sampler=sampler, trials=args.trials, replications=args.replications, executor=executor,
                                        folder=folder / name, seed=seed, objective=args.objective, constraint=args.constraint, moves=moves)
            [values] = evaluate(executor, [best.model_copy(update={"run": best.run.model_copy(update={"seed": seed})})], fresh)
            judged[name] = mean_of(by_kpi(values)[kpi])
            print(f"  seed {seed} {name:>8}: best policy's {kpi} on {args.fresh} fresh replications {shown(judged[name])} "
                  f"(search {seconds:.0f} s)", flush=True)
        rows.append(judged)
    diffs = [r[first] - r[second] for r in rows]
    mean, low, high = confidence_interval(diffs)
    first_mean = statistics.fmean(r[first] for r in rows)
    second_mean = statistics.fmean(r[second] for r in rows)
    print(f"{first} vs {second} over {len(rows)} seeds: {kpi} {shown(first_mean)} vs {shown(second_mean)}; "
          f"{first} - {second} {shown(mean)} (95% CI {shown(low)} to {shown(high)}); {first} better on {sum(better * d < 0 for d in diffs)}, "
          f"equal on {sum(d == 0 for d in diffs)}, worse on {sum(better * d > 0 for d in diffs)} of {len(diffs)} seeds")


def throughput(scenario, space, args, folder: Path) -> None:
    trials = args.throughput_trials
    executor = TimedExecutor(make_executor(jobs=args.jobs, cluster=None))
    try:
        plan = build_plan(scenario, name="throughput", storage=f"sqlite:///{folder / 'throughput.db'}", space=space,
                          objectives=[parse_objective(OBJECTIVE)], bounds=[parse_bound(CONSTRAINT)], replications=args.replications, sampler="tpe")
        storage = open_storage(plan.storage)
        study = open_study(plan, storage=storage, executor=executor)
        simulated_before = executor.seconds
        start = time.perf_counter()
        run_trials(plan, study, storage=storage, trials=trials, executor=executor)
        wall = time.perf_counter() - start
        simulating = executor.seconds - simulated_before
    finally:
        if isinstance(executor.inner, KeptPool):
            executor.inner.close()
    per_trial = wall / trials
    print(f"throughput with --jobs {args.jobs}: {trials} trials x {args.replications} replications in {wall:.0f} s = "
          f"{60 / per_trial:.1f} trials per minute ({per_trial:.2f} s per trial, of which {(wall - simulating) / trials * 1000:.0f} ms overhead: "
          f"Optuna, the study database, the sampler)")
    target = 200 * per_trial
    verdict = ""
    if args.replications == 5 and args.jobs == 2:
        verdict = f" (target: under {TARGET_SECONDS / 60:.0f} min on 2 cores: {'met' if target < TARGET_SECONDS else 'NOT met'})"
    print(f"  200 trials x {args.replications} replications would take {target / 60:.1f} min at this rate{verdict}")


def unconstrained_winner(scenario, args, folder: Path) -> None:
    result = optimize(scenario, trials=args.winner_trials or args.trials, replications=args.replications, objectives=[OBJECTIVE],
                      max_collectors=scenario.team.collectors,
                      jobs=args.jobs, folder=folder / "winner", top=5, fresh_replications=max(5, args.fresh))
    space = search_space(None, scenario, max_collectors=scenario.team.collectors)
    print(f"unconstrained winner ({OBJECTIVE}, team at most {scenario.team.collectors}), on {len(result.confirmation_replications)} fresh replications:")
    for path, value in result.params.items():
        print(f"  {path} = {value}")
    for key in ("net_cost", "dso", "past_due_amount", "bad_debt_amount", "lost_margin", "discount_cost", "penalty_income", "query_sla_attainment",
                "collector_utilization", "orders_refused"):
        d = result.diff(key)
        print(f"  {key:<24} baseline {mean_of(result.baseline[key]):>14,.4g}  winner {mean_of(result.best[key]):>14,.4g}  "
              f"diff {d['diff'] if d['diff'] is not None else float('nan'):>12,.4g} [{d['ci_low'] or 0:,.4g}, {d['ci_high'] or 0:,.4g}]")
    edges = levers_at_edges(space, result.params)
    print("levers at an edge of their range: " + ("; ".join(edges) if edges else "none"))


if __name__ == "__main__":
    main()
