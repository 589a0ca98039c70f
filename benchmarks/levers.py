"""Lever audit: does every lever trade off, in a direction and size a finance reader can defend?

For each lever, a low and a high setting are compared with the shipped baseline under common random numbers
(paired replications), and one table prints the paired mean difference and its 95% CI for DSO, past-due
amount, bad debt, sales and net cost; a second table shows the mechanisms behind them (lost margin, customers
lost, concessions, penalty income, agency recoveries, disputes). docs/model.md carries the table with a
sentence per lever on why its direction and size are plausible.

    python benchmarks/levers.py [--scenario scenarios/baseline.yaml] [--replications 6] [--jobs 2] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from arsim import compare, load_scenario

HEADLINE = ("dso", "past_due_amount", "bad_debt_amount", "sales", "net_cost")
MECHANISMS = ("lost_margin", "customers_lost", "concessions", "penalty_income", "agency_recovered", "disputes_opened", "collector_utilization")

# lever, setting, overrides (dotted scenario paths)
LEVERS: tuple[tuple[str, str, dict], ...] = (
    ("credit limit", "2 months of sales", {"policy.credit.limit_months_of_sales": 2.0}),
    ("credit limit", "none", {"policy.credit.limit_months_of_sales": None}),
    ("credit hold", "30 days past due", {"policy.credit.hold_days_past_due": 30.0}),
    ("credit hold", "none", {"policy.credit.hold_days_past_due": None}),
    ("credit control", "no limit, no hold", {"policy.credit.limit_months_of_sales": None, "policy.credit.hold_days_past_due": None}),
    ("approval rule", "refuse PD > 1%", {"policy.credit.max_default_probability": 0.01}),
    ("write-off", "90 days", {"policy.write_off_days_past_due": 90.0}),
    ("write-off", "365 days", {"policy.write_off_days_past_due": 365.0}),
    ("penalty", "1%/month", {"policy.penalty.interest_percent_per_month": 1.0}),
    ("penalty", "3%/month + fee 100", {"policy.penalty.interest_percent_per_month": 3.0, "policy.penalty.fee": 100.0}),
    ("discount", "1/10 net 30", {"policy.discount.percent": 1.0}),
    ("discount", "2/10 net 30", {"policy.discount.percent": 2.0}),
    ("discount window", "1% within 20 days", {"policy.discount.percent": 1.0, "policy.discount.days": 20}),
    ("invoice errors", "none", {"invoicing.paper_error_rate": 0.0, "invoicing.electronic_error_rate": 0.0}),
    ("invoice errors", "3x", {"invoicing.paper_error_rate": 0.12, "invoicing.electronic_error_rate": 0.045}),
    ("dunning", "off", {"policy.dunning.enabled": False}),
    ("email volume", "x0.5", {"policy.dunning.volume.email": 0.5}),
    ("email volume", "x2", {"policy.dunning.volume.email": 2.0}),
    ("call volume", "x0.5", {"policy.dunning.volume.call": 0.5}),
    ("call volume", "x2", {"policy.dunning.volume.call": 2.0}),
    ("collectors", "2", {"team.collectors": 2}),
    ("collectors", "4", {"team.collectors": 4}),
)


def _cell(row: pd.Series, *, scale: float = 1.0, digits: int = 0) -> str:
    mark = "*" if row["significant"] else ""
    return f"{row['diff'] / scale:+,.{digits}f} [{row['ci_low'] / scale:+,.{digits}f}, {row['ci_high'] / scale:+,.{digits}f}]{mark}"


FORMATS = {"dso": (1.0, 2), "collector_utilization": (0.01, 1), "customers_lost": (1.0, 1), "disputes_opened": (1.0, 0)}


def audit(scenario_path: str, *, replications: int, jobs: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The two audit tables (headline and mechanisms), one row per lever setting, and the baseline's means."""
    baseline = load_scenario(scenario_path)
    alternatives = {f"{lever}: {setting}": baseline.with_overrides(overrides, source="levers.py") for lever, setting, overrides in LEVERS}
    result = compare(baseline, alternatives, replications=replications, jobs=jobs, save=False)
    rows, mechanism_rows = [], []
    for (lever, setting, _), name in zip(LEVERS, alternatives):
        table = result.of(name)
        rows.append({"lever": lever, "setting": setting,
                     **{k: _cell(table.loc[k], scale=FORMATS.get(k, (1.0, 0))[0], digits=FORMATS.get(k, (1.0, 0))[1]) for k in HEADLINE}})
        mechanism_rows.append({"lever": lever, "setting": setting,
                               **{k: _cell(table.loc[k], scale=FORMATS.get(k, (1.0, 0))[0], digits=FORMATS.get(k, (1.0, 0))[1]) for k in MECHANISMS}})
    base = result.table.drop_duplicates("kpi").set_index("kpi")["baseline"]
    return pd.DataFrame(rows), pd.DataFrame(mechanism_rows), base


def _markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"))
    parser.add_argument("--replications", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown (for docs/model.md)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    headline, mechanisms, base = audit(args.scenario, replications=args.replications, jobs=args.jobs)
    show = _markdown if args.markdown else (lambda frame: frame.to_string(index=False))
    print(f"Lever audit on {Path(args.scenario).name}: paired differences against the baseline policy, mean [95% CI] over "
          f"{args.replications} replications (* = the interval excludes 0). DSO in days; money in currency units per measured year.")
    print("Baseline: " + ", ".join(f"{k} {base[k]:,.2f}" if k == "dso" else f"{k} {base[k]:,.0f}" for k in HEADLINE))
    print()
    print(show(headline))
    print()
    print("Mechanisms (collector utilisation in percentage points):")
    print(show(mechanisms))
    print(f"\n{time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
