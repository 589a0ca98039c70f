"""Speed and memory of one replication, against a bare SimPy loop with the same number of events.

Prints, for each scenario: invoices simulated, wall time of the simulation (drawing the book, running the
events, building the event tables) and of the KPIs, microseconds and invoices per second, events
processed, peak memory (each scenario in a fresh process, so peaks do not mix), and the time a bare SimPy
loop takes for the same number of events, as a ratio.

The bare loop is the floor SimPy itself sets for this workload: that many timeouts, each with a callback
that only schedules the next, with as many pending at once as the model has open invoices (each open invoice
has one pending wake-up). A stricter floor is printed too: one process yielding one timeout after another,
with a one-entry heap, which no model with thousands of open invoices can reach.

    python benchmarks/speed.py                 # baseline and enterprise, as shipped and for one year
    python benchmarks/speed.py --scenario scenarios/smb.yaml
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


REPEATS = 7  # at least; small cases repeat until about MIN_SECONDS of simulating, at most MAX_REPEATS times
MIN_SECONDS = 15.0
MAX_REPEATS = 25


def measure(path: str, overrides: dict) -> dict:
    import numpy as np
    import simpy

    from arsim.measure.simulated import monthly_kpis, simulation_kpis
    from arsim.scenario.files import load_scenario
    from arsim.sim.model import simulate

    scenario = load_scenario(path)
    if overrides:
        scenario = scenario.with_overrides(overrides)
    started = time.perf_counter()
    result = simulate(scenario)  # a first run, untimed: imports and caches warm up, and it sizes the bare loops
    repeats = min(max(REPEATS, math.ceil(MIN_SECONDS / (time.perf_counter() - started))), MAX_REPEATS)
    started = time.perf_counter()
    simulation_kpis(result.frames, scenario, start=result.warmup_days, end=result.total_days)
    monthly_kpis(result.frames, scenario, start=result.warmup_days, end=result.total_days)
    kpi_seconds = time.perf_counter() - started
    invoices = len(result.frames["invoice_issued"])
    events, total_days = result.events, result.total_days
    order_days = len(set(result.frames["invoice_issued"]["day"]) | set(result.frames["order_refused"]["day"]))
    facts = {"days": total_days, "orders": result.orders, "order_days": order_days, "events": events, "simpy_timeouts": result.simpy_events}

    # Bare SimPy: the same number of timeouts, each with a callback that only schedules the next one, with as
    # many pending at once as the model had open invoices at the end (each open invoice has one wake-up).
    pending = max(result.open_invoices_end, 1)
    del result
    rng = np.random.default_rng(0)
    gaps = rng.exponential(total_days * pending / events, events).tolist()
    starts = [gaps[-1 - index] * rng.random() for index in range(pending)]

    def timed(start) -> float:
        """Seconds to run a fresh environment to the end after ``start(env)`` (cycle collector off, as in the model)."""
        env = simpy.Environment()
        gc.collect()
        gc.disable()
        started = time.perf_counter()
        start(env)
        env.run()
        elapsed = time.perf_counter() - started
        gc.enable()
        return elapsed

    def bare_loop(env) -> None:
        left = events - pending

        def next_one(event):
            nonlocal left
            if left > 0:
                left -= 1
                simpy.events.Timeout(env, gaps[left]).callbacks.append(next_one)

        for delay in starts:
            simpy.events.Timeout(env, delay).callbacks.append(next_one)

    def one_after_another(env) -> None:
        def process():
            for _ in range(events):
                yield env.timeout(1)

        env.process(process())

    # Best of `repeats` for each, interleaved so that both sides see the same state of the machine: its noise
    # only ever adds time, and it comes and goes (it slows the model, with its larger working set, more than
    # the bare loop, so more repeats are taken when they are cheap).
    simulated = bare = sequential = math.inf
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        result = simulate(scenario)
        simulated = min(simulated, time.perf_counter() - started)
        del result
        bare = min(bare, timed(bare_loop))
        sequential = min(sequential, timed(one_after_another))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "scenario": scenario.name, **facts, "invoices": invoices,
        "simulate_s": simulated, "kpis_s": kpi_seconds, "us_per_invoice": simulated / invoices * 1e6,
        "invoices_per_s": invoices / simulated, "peak_mb": peak_mb, "pending": pending, "bare_s": bare,
        "ratio": simulated / bare, "sequential_s": sequential, "ratio_sequential": simulated / sequential,
        "repeats": repeats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", help="scenario file (repeatable)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], json.loads(args.child[1]))))
        return
    if args.scenario:
        cases = [(path, {}, "as shipped") for path in args.scenario]
    else:
        one_year = {"run.warmup_days": 0, "run.horizon_days": 365}
        cases = [
            ("scenarios/baseline.yaml", {}, "as shipped"),
            ("scenarios/enterprise.yaml", {}, "as shipped"),
            ("scenarios/enterprise.yaml", one_year, "one year"),
        ]
    rows = []
    header = f"{'scenario':<12}{'run':<12}{'days':>6}{'invoices':>10}{'simulate s':>11}{'us/inv':>8}{'inv/s':>9}{'events':>9}{'peak MB':>9}{'bare s':>8}{'ratio':>7}{'seq s':>7}{'ratio':>7}{'KPIs s':>8}"
    print(header)
    for path, overrides, label in cases:
        done = subprocess.run([sys.executable, __file__, "--child", str(ROOT / path), json.dumps(overrides)], capture_output=True, text=True, check=True)
        m = json.loads(done.stdout)
        rows.append((m, label))
        print(f"{m['scenario']:<12}{label:<12}{m['days']:>6}{m['invoices']:>10,}{m['simulate_s']:>11.2f}{m['us_per_invoice']:>8.1f}{m['invoices_per_s']:>9,.0f}"
              f"{m['events']:>9,}{m['peak_mb']:>9,.0f}{m['bare_s']:>8.2f}{m['ratio']:>7.2f}{m['sequential_s']:>7.2f}{m['ratio_sequential']:>7.1f}{m['kpis_s']:>8.2f}")
    print(f"simulate s: draw the book + run the events + build the event tables, one replication; best of {', '.join(str(m['repeats']) for m, _ in rows)} runs, interleaved with the bare loops (best of as many).")
    print("bare s: that many SimPy timeouts, as many pending as open invoices; seq s: one process, one timeout after another.")
    print("events: orders, invoice wake-ups (stale ones too), other whole-day calls and timed callbacks, each processed one by one.")
    for m, label in rows:
        # An earlier count took one event per order day, not per order: the ratio under that count, for comparison
        # (the bare loop's time scales with the number of events).
        fewer = m["events"] - m["orders"] + m["order_days"]
        print(f"  {m['scenario']} {label}: counting one event per order day instead of per order ({fewer:,} events), the ratio would be {m['ratio'] * m['events'] / fewer:.2f}")


if __name__ == "__main__":
    main()
