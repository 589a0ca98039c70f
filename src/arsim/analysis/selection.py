"""The guard against the optimiser's curse: re-evaluate the best candidates on fresh replications, select, confirm.

The best of many noisy trials looks better than it is: its search mean was picked for being low, so part
of its lead is luck. The search's numbers are therefore never reported as the result. Instead:

1. **Candidates.** The ``top`` best distinct policies of the search (those meeting every constraint first,
   in the search's order; then the nearest misses).
2. **Selection, on fresh block A.** Every candidate and the baseline run on F replications never used by
   the search (replication numbers R..R+F-1 of the same seed: the streams of a replication depend on its
   number, so these are new customers, orders and behaviour, shared by all candidates). Candidates whose
   block-A means miss a constraint are dropped. Among the rest the incumbent is the search's favourite;
   each other candidate challenges it with a one-sided paired t-test on the primary objective (pairs are
   the common replications), and the p-values are adjusted with Holm's step-down procedure. The incumbent
   is replaced only by a challenger that is significantly better after the adjustment (the best such), so
   the family-wise chance of replacing a policy by a worse one is held at 5%.
3. **Confirmation, on fresh block B.** The winner and the baseline run on another F replications, used for
   nothing else (R+F..R+2F-1). Every figure reported (KPIs with 95% CIs, paired differences, whether each
   constraint or goal is met, the share of replications meeting it) comes from block B, so it carries no
   selection bias at all: it is an honest estimate of what the chosen policy will do.

Why this procedure rather than KN or OCBA: with common random numbers the paired differences are far less
noisy than the KPIs, so a handful of paired t-tests already separates candidates; Holm's procedure is valid
under any dependence between the tests (the candidates share replications), needs no indifference-zone
parameter a finance user would have to choose, and the fixed budget (top x F + 2F replications) is known
in advance. Sample splitting (select on A, report on B) removes the selection bias that a procedure
reporting its own selection sample would keep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from scipy import stats

from arsim.analysis.goals import Bound, Objective, mean_of
from arsim.analysis.search_space import SearchSpace, apply_levers
from arsim.analysis.study import SHORTFALL, StudyPlan, by_kpi, evaluate, is_feasible, means, shortfall
from arsim.errors import InputError
from arsim.experiment.executors import Executor
from arsim.scenario.schema import Scenario

FAMILY_ALPHA = 0.05
"""Family-wise error rate of replacing the incumbent by a candidate that is not better (Holm)."""


@dataclass(frozen=True)
class Candidate:
    """One policy of the search, as re-evaluated: its lever values, its scenario and its block-A KPIs."""

    trial: int
    params: dict[str, Any]
    scenario: Scenario
    search_feasible: bool
    search_values: tuple[float, ...]
    fresh: dict[str, list[float]] = field(default_factory=dict)  # block A, per replication


@dataclass(frozen=True)
class Selection:
    """The outcome of selection (block A) and confirmation (block B)."""

    winner: Candidate
    candidates: tuple[Candidate, ...]
    rows: list[dict[str, Any]]  # one per candidate: block-A means, constraints met, p-value, adjusted, chosen
    block_a: tuple[int, ...]
    block_b: tuple[int, ...]
    baseline_a: dict[str, list[float]]
    baseline_b: dict[str, list[float]]
    winner_b: dict[str, list[float]]


def candidates_of(plan: StudyPlan, study: optuna.Study, *, top: int) -> list[Candidate]:
    """The search's best ``top`` distinct policies: feasible ones by objective, then by smallest constraint violation."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise InputError(f"study {plan.name!r} has no completed trial; every policy drawn was invalid (see trials.csv)", argument="trials")
    primary = plan.objectives[0]
    sign = -1.0 if primary.direction == "maximize" else 1.0

    def rank(trial: optuna.trial.FrozenTrial) -> tuple:
        miss = sum(max(0.0, v) for v in trial.constraints.values())
        # In a goal search every feasible trial has shortfall 0: the cheaper policy goes first.
        cost = mean_of(trial.user_attrs.get("kpis", {}).get("net_cost") or []) if plan.goals else 0.0
        return (not is_feasible(trial), miss, sign * trial.values[0], cost if math.isfinite(cost) else math.inf, trial.number)

    chosen: list[Candidate] = []
    seen: set[str] = set()
    for trial in sorted(complete, key=rank):
        key = repr(sorted(trial.params.items()))
        if key in seen:
            continue
        seen.add(key)
        params = {**plan.space.fixed, **trial.params}
        scenario = apply_levers(plan.scenario, params, source=f"trial {trial.number}")
        chosen.append(Candidate(trial.number, params, scenario, is_feasible(trial), tuple(trial.values)))
        if len(chosen) == top:
            break
    return chosen


def selection_kpi(plan: StudyPlan) -> Objective:
    """What selection compares: the first objective, or in a goal search the net cost (all candidates then meet the goals)."""
    return Objective("net_cost", "minimize") if plan.goals else plan.objectives[0]


def select_and_confirm(plan: StudyPlan, candidates: Sequence[Candidate], *, executor: Executor, fresh: int, progress: bool = False) -> Selection:
    """Steps 2 and 3 of the module docstring."""
    start = plan.replications
    block_a = tuple(range(start, start + fresh))
    block_b = tuple(range(start + fresh, start + 2 * fresh))
    evaluated = evaluate(executor, [plan.scenario] + [c.scenario for c in candidates], block_a, progress=progress, desc=f"{plan.name}: selecting")
    baseline_a = by_kpi(evaluated[0])
    base_means = means(baseline_a)
    scored = [Candidate(c.trial, c.params, c.scenario, c.search_feasible, c.search_values, by_kpi(rows)) for c, rows in zip(candidates, evaluated[1:])]
    kpi = selection_kpi(plan)
    rows = []
    met = []
    for candidate in scored:
        cand_means = means(candidate.fresh)
        ok = all(b.met(cand_means[b.kpi], base_means[b.kpi]) for b in plan.bounds)
        met.append(ok)
        rows.append({"trial": candidate.trial, "search_value": candidate.search_values[0], "search_feasible": candidate.search_feasible,
                     "fresh_mean": cand_means[kpi.kpi], "fresh_constraints_met": ok,
                     SHORTFALL: shortfall(plan.goals, cand_means, base_means) if plan.goals else 0.0,
                     **{f"{b.text}": cand_means[b.kpi] for b in plan.bounds}})
    survivors = [i for i, ok in enumerate(met) if ok]
    if survivors:
        incumbent = survivors[0]
        challengers = survivors[1:]
        p_values = [_one_sided_p(scored[i].fresh[kpi.kpi], scored[incumbent].fresh[kpi.kpi], kpi) for i in challengers]
        adjusted = holm(p_values)
        for i, p, q in zip(challengers, p_values, adjusted):
            rows[i]["p_better_than_incumbent"] = p
            rows[i]["holm_adjusted_p"] = q
        better = [i for i, q in zip(challengers, adjusted) if q <= FAMILY_ALPHA]
        winner = incumbent
        for i in better:
            if kpi.better(mean_of(scored[i].fresh[kpi.kpi]), mean_of(scored[winner].fresh[kpi.kpi])):
                winner = i
    else:
        # Nothing meets every bound on fresh replications: report the nearest miss, flagged as such.
        def miss(i: int) -> float:
            cand_means = means(scored[i].fresh)
            return sum(b.shortfall(cand_means[b.kpi], base_means[b.kpi]) for b in plan.bounds)

        winner = min(range(len(scored)), key=miss)
    for i, row in enumerate(rows):
        row["role"] = "winner" if i == winner else ("incumbent" if survivors and i == survivors[0] else "candidate")
    confirmed = evaluate(executor, [plan.scenario, scored[winner].scenario], block_b, progress=progress, desc=f"{plan.name}: confirming")
    return Selection(scored[winner], tuple(scored), rows, block_a, block_b, baseline_a, by_kpi(confirmed[0]), by_kpi(confirmed[1]))


def _one_sided_p(challenger: list[float], incumbent: list[float], kpi: Objective) -> float:
    """p-value of 'the challenger is better than the incumbent' from the paired differences (1 when undefined)."""
    a, b = np.asarray(challenger, dtype=float), np.asarray(incumbent, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    diffs = a[keep] - b[keep]
    if diffs.size < 2:
        return 1.0
    if np.all(diffs == diffs[0]):
        return 0.0 if kpi.better(float(diffs[0]), 0.0) else 1.0
    alternative = "greater" if kpi.direction == "maximize" else "less"
    return float(stats.ttest_1samp(diffs, 0.0, alternative=alternative).pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (monotone, capped at 1), in the input order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    m = len(p_values)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def share_met(bound: Bound, values: Sequence[float], baseline: Sequence[float]) -> tuple[float, float, float]:
    """Share of replications on which the bound holds (each against its own replication's baseline), with a Wilson 95% CI."""
    hits = [bound.met(v, b) for v, b in zip(values, baseline)]
    n = len(hits)
    if n == 0:
        return math.nan, math.nan, math.nan
    k = sum(hits)
    z = float(stats.norm.ppf(0.975))
    share = k / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return share, max(0.0, centre - half), min(1.0, centre + half)


def levers_at_edges(space: SearchSpace, params: dict[str, Any]) -> list[str]:
    """The searched range levers that the given values put at the low or high end of their range."""
    edges = []
    for lever in space.searched:
        if lever.kind != "range" or lever.path not in params:
            continue
        value = params[lever.path]
        if math.isclose(value, lever.low, abs_tol=1e-9):
            edges.append(f"{lever.path} at its low end {lever.low:g}")
        elif math.isclose(value, lever.high, abs_tol=1e-9) or (lever.step and value + lever.step > lever.high + 1e-9):
            edges.append(f"{lever.path} at its high end {lever.high:g}")
    return edges
