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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from arsim.analysis.capacity import capacity
from test_capacity import HOURS, analytic_minutes_per_day, deterministic_world  # noqa: E402
from test_compare import paired_and_independent_widths  # noqa: E402
from test_theory import erlang_c_sides, littles_law_sides  # noqa: E402


def littles_law() -> None:
    average_ar, daily_sales, days = littles_law_sides()
    print(f"Little's law   average AR {average_ar:,.0f} vs daily sales {daily_sales:,.0f} x {days:.2f} days = {daily_sales * days:,.0f}"
          f"  ({100 * (average_ar / (daily_sales * days) - 1):+.2f}%, test allows 2%)")


def erlang_c() -> None:
    for collectors, load in [(1, 0.6), (3, 0.8)]:
        sides = erlang_c_sides(collectors=collectors, load=load)
        simulated, theory = sides["simulated"], sides["theory"]
        print(f"Erlang C       c={collectors} load {load}: {sides['queries']:,} queries, wait {simulated * 1440:.1f} min vs {theory * 1440:.1f} min"
              f"  ({100 * (simulated / theory - 1):+.1f}%, test allows 5%)")


def saturation() -> None:
    analytic = HOURS * 60 / analytic_minutes_per_day(1.0)
    table = capacity(deterministic_world(), contact_scales=[round(1.9 + 0.1 * i, 1) for i in range(11)], jobs=2, save=False)
    found = table.attrs["saturation_scale"]
    print(f"saturation     simulated scale {found} vs analytic {analytic:.3f}  ({100 * (found / analytic - 1):+.1f}%, test allows 10%)")


def paired_intervals() -> None:
    _, widths = paired_and_independent_widths(keys=("dso", "past_due_amount", "net_cost"))
    for key, (paired, independent) in widths.items():
        print(f"paired CI      {key:<16} width {paired:,.2f} vs independent {independent:,.2f}  (ratio {paired / independent:.2f})")


if __name__ == "__main__":
    littles_law()
    erlang_c()
    saturation()
    paired_intervals()
