"""Print the model's figures against theory: the numbers behind the assertions of the theory tests.

The tests assert tolerances; this script prints how close the simulation actually comes, using the very
scenarios the tests build (imported from tests/, so the figures and the checks cannot drift apart):

- Little's law: average AR against daily sales x amount-weighted days to collect (tests/test_theory.py);
- Erlang C: mean query wait before service against theory, for two (collectors, load) pairs;
- contact capacity: the simulated saturation scale against the analytic one (tests/test_capacity.py);
- paired against independent confidence intervals for the same number of replications (tests/test_compare.py).

    python benchmarks/theory.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import small_world  # noqa: E402
from test_capacity import HOURS, analytic_minutes_per_day, deterministic_world  # noqa: E402
from test_theory import _erlang_world  # noqa: E402

from arsim.capacity import capacity, erlang_c_mean_wait  # noqa: E402
from arsim.compare import compare, independent_difference  # noqa: E402
from arsim.experiment import run_replications  # noqa: E402
from arsim.kpis import movements_from_frames, paid_days  # noqa: E402
from arsim.model import simulate  # noqa: E402


def littles_law() -> None:
    scenario = small_world(
        portfolio={"segments": [{"name": "all", "customers": 150, "invoices_per_month": 1.5, "default_probability_per_year": 0.0,
                                 "behaviour": {"deduction_probability": 0.0}}]},
        invoicing={"paper_error_rate": 0, "electronic_error_rate": 0},
        policy={"dunning": {"enabled": False}, "write_off_days_past_due": 100000, "credit": {"limit_months_of_sales": None, "hold_days_past_due": None}},
        run={"horizon_days": 3650, "warmup_days": 365, "seed": 3},
    )
    result = simulate(scenario)
    start, end = result.warmup_days, result.total_days
    movements = movements_from_frames(result.frames)
    average_ar = movements.average_balance(start, end)
    daily_sales = movements.sales(start, end) / (end - start)
    issued = result.frames["invoice_issued"].set_index("invoice_id")
    paid = paid_days(result.frames)
    paid = paid[(paid >= start) & (paid < end)]
    amounts = issued.loc[paid.index, "amount"]
    days = float((amounts * (paid - issued.loc[paid.index, "day"])).sum() / amounts.sum())
    print(f"Little's law   average AR {average_ar:,.0f} vs daily sales {daily_sales:,.0f} x {days:.2f} days = {daily_sales * days:,.0f}"
          f"  ({100 * (average_ar / (daily_sales * days) - 1):+.2f}%, test allows 2%)")


def erlang_c() -> None:
    for collectors, load in [(1, 0.6), (3, 0.8)]:
        waits, arrivals, days = [], 0, 0
        for seed in (1, 2):
            scenario, _ = _erlang_world(collectors=collectors, load=load, mean_minutes=60.0, seed=seed)
            result = simulate(scenario)
            raised = result.frames["query_raised"]
            raised = raised[raised["time"] >= result.warmup_days]
            answered = result.frames["query_answered"].merge(raised[["query_id", "time"]].rename(columns={"time": "raised"}), on="query_id")
            waits.append(answered["started"] - answered["raised"])
            arrivals += len(raised)
            days += result.total_days - result.warmup_days
        simulated = float(np.concatenate(waits).mean())
        theory = erlang_c_mean_wait(servers=collectors, arrival_rate=arrivals / days, service_rate=24.0)
        print(f"Erlang C       c={collectors} load {load}: {arrivals:,} queries, wait {simulated * 1440:.1f} min vs {theory * 1440:.1f} min"
              f"  ({100 * (simulated / theory - 1):+.1f}%, test allows 5%)")


def saturation() -> None:
    analytic = HOURS * 60 / analytic_minutes_per_day(1.0)
    table = capacity(deterministic_world(), contact_scales=[round(1.9 + 0.1 * i, 1) for i in range(11)], jobs=2, save=False)
    found = table.attrs["saturation_scale"]
    print(f"saturation     simulated scale {found} vs analytic {analytic:.3f}  ({100 * (found / analytic - 1):+.1f}%, test allows 10%)")


def paired_intervals() -> None:
    replications = 6
    baseline = small_world(run={"horizon_days": 180, "warmup_days": 60, "seed": 11, "replications": replications})
    discount = baseline.with_overrides({"policy.discount.percent": 2.0})
    table = compare(baseline, {"discount": discount}, save=False).set_index("kpi")
    base = pd.DataFrame([r.kpis for r in run_replications(baseline, range(replications))])
    other = pd.DataFrame([r.kpis for r in run_replications(discount, range(replications, 2 * replications))])
    for key in ("dso", "past_due_amount", "net_cost"):
        paired = table.loc[key, "ci_high"] - table.loc[key, "ci_low"]
        _, low, high = independent_difference(base[key].tolist(), other[key].tolist())
        print(f"paired CI      {key:<16} width {paired:,.2f} vs independent {high - low:,.2f}  (ratio {paired / (high - low):.2f})")


if __name__ == "__main__":
    littles_law()
    erlang_c()
    saturation()
    paired_intervals()
