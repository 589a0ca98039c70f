"""The collections team's question, answered on the baseline: can we roughly double our contacts?

Two tables, quoted in docs/whatif.md:

1. The worked example: today's plan against "calls +25%, emails to reach about twice the contacts in all"
   (email volume 2.5 with a one-day email cap, call volume 1.25), with 2, 3 and 4 collectors: contacts
   achieved by channel, queries and disputes offered and answered, query wait and SLA, DSO, past-due
   receivables and net cost, each plan against today's with the same team, paired over common random numbers.
2. The five worklist rules with two and three collectors, against the shipped task_type rule.

    python benchmarks/contact_plans.py                  # 6 replications (about 4 minutes on two cores)
    python benchmarks/contact_plans.py --replications 3 --jobs 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from arsim.analysis.compare import compare
from arsim.scenario.files import load_scenario

ROOT = Path(__file__).resolve().parents[1]
PLAN = {"policy.dunning.volume": {"email": 2.5, "call": 1.25}, "policy.dunning.min_days_by_channel": {"email": 1}}
PLAN_KPIS = ("contacts_email", "contacts_call", "contacts_letter", "contacts_delivered_share", "queries_opened", "queries_answered",
             "query_wait_days", "query_sla_attainment", "collector_utilization", "dso", "past_due_amount", "net_cost")
RULE_KPIS = ("query_wait_days", "query_sla_attainment", "dso", "past_due_amount", "bad_debt_amount", "net_cost")
RULES = ("fifo", "amount_at_risk", "days_past_due", "predicted_risk")


def _markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (rows labelled by the index)."""
    lines = ["| | " + " | ".join(map(str, frame.columns)) + " |", "|---" * (len(frame.columns) + 1) + "|"]
    lines += ["| " + str(label) + " | " + " | ".join(map(str, row)) + " |" for label, row in zip(frame.index, frame.to_numpy())]
    return "\n".join(lines)


def _cell(row: pd.Series) -> str:
    def f(x: float) -> str:
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
    star = "*" if row["significant"] else ""
    return f"{f(row['alternative_mean'])} ({row['diff']:+,.3g} [{row['ci_low']:+,.3g}, {row['ci_high']:+,.3g}]{star})"


def worked_example(replications: int, jobs: int) -> None:
    baseline = load_scenario(ROOT / "scenarios/baseline.yaml")
    print(f"## The plan against today's, by team size ({replications} paired replications; plan value (difference [95% CI]), * significant)\n")
    rows = {}
    for team in (2, 3, 4):
        today = baseline.with_overrides({"team.collectors": team})
        result = compare(today, {"plan": today.with_overrides(PLAN)}, replications=replications, jobs=jobs, save=False)
        table = result.of("plan")
        rows[f"today, {team}"] = {k: (f"{table.loc[k, 'baseline']:,.0f}" if abs(table.loc[k, 'baseline']) >= 100 else f"{table.loc[k, 'baseline']:.3g}")
                                  for k in PLAN_KPIS}
        rows[f"plan, {team}"] = {k: _cell(table.loc[k]) for k in PLAN_KPIS}
    frame = pd.DataFrame(rows).T
    print(_markdown(frame), flush=True)
    print()


def worklist_rules(replications: int, jobs: int) -> None:
    baseline = load_scenario(ROOT / "scenarios/baseline.yaml")
    print(f"## Worklist rules against task_type ({replications} paired replications; rule value (difference [95% CI]), * significant)\n")
    rows = {}
    for team in (2, 3):
        shipped = baseline.with_overrides({"team.collectors": team, "policy.worklist_rule": "task_type"})
        result = compare(shipped, {rule: shipped.with_overrides({"policy.worklist_rule": rule}) for rule in RULES},
                         replications=replications, jobs=jobs, save=False)
        first = result.of(RULES[0])
        rows[f"task_type, {team}"] = {k: f"{first.loc[k, 'baseline']:,.0f}" if abs(first.loc[k, 'baseline']) >= 100 else f"{first.loc[k, 'baseline']:.3g}"
                                      for k in RULE_KPIS}
        for rule in RULES:
            table = result.of(rule)
            rows[f"{rule}, {team}"] = {k: _cell(table.loc[k]) for k in RULE_KPIS}
    frame = pd.DataFrame(rows).T
    print(_markdown(frame), flush=True)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    pd.set_option("display.width", 250)
    worked_example(args.replications, args.jobs)
    worklist_rules(args.replications, args.jobs)


if __name__ == "__main__":
    main()
