"""The capacity trap on the shipped baseline, measured with paired CIs (the figures in docs/whatif.md).

Two collectors, contact scale 3 against 1, under the shipped `task_type` worklist and under a
first-come-first-served one. The test `test_shipped_baseline_shows_the_trap_only_when_replies_wait_behind_calls`
checks the directions with 3 replications; this script prints the paired 95% CIs, which need about 10.

    python benchmarks/capacity_trap.py                  # 10 paired replications, 2 workers
    python benchmarks/capacity_trap.py --replications 20 --jobs 2
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from arsim.analysis.capacity import capacity
from arsim.experiment.statistics import paired_difference
from arsim.scenario.files import load_scenario

ROOT = Path(__file__).resolve().parents[1]
KPIS = ("dso", "past_due_amount", "query_wait_days", "query_sla_attainment", "backlog_tasks_end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    base = load_scenario(ROOT / "scenarios/baseline.yaml").with_overrides({"team.collectors": 2, "run.replications": args.replications})
    print(f"baseline, 2 collectors, contact scale 3 vs 1, {args.replications} paired replications (95% CIs)")
    with tempfile.TemporaryDirectory() as scratch:
        for rule in ("task_type", "fifo"):
            folder = Path(scratch) / rule
            capacity(base.with_overrides({"policy.worklist_rule": rule}), contact_scales=[1.0, 3.0], jobs=args.jobs, folder=folder)
            rows = pd.read_csv(folder / "replications.csv")
            print(f"worklist {rule}:")
            for key in KPIS:
                at_1 = rows.loc[rows["contact_scale"] == 1.0, key].tolist()
                at_3 = rows.loc[rows["contact_scale"] == 3.0, key].tolist()
                d = paired_difference(at_1, at_3)
                print(f"  {key:<22} scale 1 {d['baseline']:>14,.3f}  scale 3 {d['alternative_mean']:>14,.3f}"
                      f"  diff {d['diff']:>+14,.3f}  [{d['ci_low']:,.3f}, {d['ci_high']:,.3f}]")


if __name__ == "__main__":
    main()
