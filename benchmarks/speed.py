"""Speed of arsim: the engine against bare SimPy, whole `arsim run` processes against a naive SimPy model, and
the ledger file's format.

Three sections, each printing a table (all three by default):

--engine  Speed and memory of one replication, against a bare SimPy loop with the same number of events.
          For each scenario: invoices simulated, wall time of the simulation (drawing the book, running the
          events, building the event tables) and of the KPIs, microseconds and invoices per second, events
          processed, peak memory (each scenario in a fresh process, so peaks do not mix), and the time a bare
          SimPy loop takes for the same number of events, as a ratio. The bare loop is the floor SimPy itself
          sets for this workload: that many timeouts, each with a callback that only schedules the next, with
          as many pending at once as the model has open invoices (each open invoice has one pending wake-up).
          A stricter floor is printed too: one process yielding one timeout after another, with a one-entry
          heap, which no model with thousands of open invoices can reach.

--e2e     End to end, per shipped scenario (smb, baseline, enterprise): the wall time of a whole process
          `arsim run SCENARIO --replications 1 --out <tmp>` (imports, simulation, KPIs, ledger, writing the
          folder, exit; best of N), next to the simulation alone (best of N in one process), where the rest
          of the time goes (N more runs of the same command, timed inside), and a whole process running a
          NAIVE SimPy model of the same number of invoices: one generator process per invoice, which waits on
          ``timeout | paid`` for each of three dunning contacts (email at due-5, a call at due+7 that queues
          for a collector, a simpy.Resource with the scenario's number of collectors, a letter at due+21) and
          then for its payment on a drawn day. It prints naive / arsim.

--ledger  The costs of the ledger file's possible formats on the enterprise ledger (218,205 invoices): how the
          CSV text is built, how (or whether) it is compressed, and how long `read_ledger` takes to read it.

    python benchmarks/speed.py                  # everything (several minutes)
    python benchmarks/speed.py --e2e            # whole processes against the naive model
    python benchmarks/speed.py --quick          # everything, one repetition each (a short run)
    python benchmarks/speed.py --engine --scenario scenarios/smb.yaml
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("scenarios/smb.yaml", "scenarios/baseline.yaml", "scenarios/enterprise.yaml")


REPEATS = 7  # at least; small cases repeat until about MIN_SECONDS of simulating, at most MAX_REPEATS times
MIN_SECONDS = 15.0
MAX_REPEATS = 25


def measure(path: str, overrides: dict) -> dict:
    """In this process: one scenario's simulation, KPIs and peak memory, against the bare SimPy loops."""
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


def engine_section(cases: list[tuple[str, dict, str]], *, quick: bool) -> None:
    """The engine against bare SimPy loops (each scenario in a fresh process)."""
    rows = []
    print(f"{'scenario':<12}{'run':<12}{'days':>6}{'invoices':>10}{'simulate s':>11}{'us/inv':>8}{'inv/s':>9}{'events':>9}"
          f"{'peak MB':>9}{'bare s':>8}{'ratio':>7}{'seq s':>7}{'ratio':>7}{'KPIs s':>8}")
    for path, overrides, label in cases:
        command = [sys.executable, __file__, "--child", str(ROOT / path), json.dumps(overrides)] + (["--quick"] if quick else [])
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        m = json.loads(done.stdout)
        rows.append((m, label))
        print(f"{m['scenario']:<12}{label:<12}{m['days']:>6}{m['invoices']:>10,}{m['simulate_s']:>11.2f}{m['us_per_invoice']:>8.1f}"
              f"{m['invoices_per_s']:>9,.0f}{m['events']:>9,}{m['peak_mb']:>9,.0f}{m['bare_s']:>8.2f}{m['ratio']:>7.2f}{m['sequential_s']:>7.2f}"
              f"{m['ratio_sequential']:>7.1f}{m['kpis_s']:>8.2f}")
    print(f"simulate s: draw the book + run the events + build the event tables, one replication; best of "
          f"{', '.join(str(m['repeats']) for m, _ in rows)} runs, interleaved with the bare loops (best of as many).")
    print("bare s: that many SimPy timeouts, as many pending as open invoices; seq s: one process, one timeout after another.")
    print("events: orders, invoice wake-ups (stale ones too), other whole-day calls and timed callbacks, each processed one by one.")
    for m, label in rows:
        # An earlier count took one event per order day, not per order: the ratio under that count, for comparison
        # (the bare loop's time scales with the number of events).
        fewer = m["events"] - m["orders"] + m["order_days"]
        print(f"  {m['scenario']} {label}: counting one event per order day instead of per order ({fewer:,} events), "
              f"the ratio would be {m['ratio'] * m['events'] / fewer:.2f}")


# ---------------------------------------------------------------------------------------------- end to end


def arsim_command() -> list[str]:
    """How to start `arsim`: the console script next to this interpreter, else ``python -m arsim.cli``."""
    script = Path(sys.executable).with_name("arsim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "arsim.cli"]


def wall_seconds(command: list[str], **options) -> float:
    """Wall time of a whole process, from its start to its exit; it must succeed."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, **options)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def simulate_child(path: str, repeats: int) -> dict:
    """In this process: the scenario's size, and its simulation alone, best of ``repeats`` after a first run;
    also the event loop alone (SimPy's ``Environment.run``, timed by wrapping it), best of the same runs."""
    import simpy

    from arsim.scenario.files import load_scenario
    from arsim.sim.model import simulate

    looped: list[float] = []
    run = simpy.Environment.run

    def timed_run(env, *args, **options):
        begun = time.perf_counter()
        try:
            return run(env, *args, **options)
        finally:
            looped.append(time.perf_counter() - begun)

    simpy.Environment.run = timed_run
    scenario = load_scenario(path)
    started = time.perf_counter()
    result = simulate(scenario)
    first = time.perf_counter() - started
    facts = {"scenario": scenario.name, "invoices": len(result.frames["invoice_issued"]), "days": result.total_days,
             "collectors": scenario.team.collectors, "first_s": first}
    del result
    best = math.inf
    looped.clear()
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        simulate(scenario)
        best = min(best, time.perf_counter() - started)
    return {**facts, "simulate_s": best, "loop_s": min(looped)}


PHASES = (  # (module, function, label): what `arsim run` spends its time on, timed inside one run
    ("arsim.experiment.replications", "simulate", "simulate"),
    ("arsim.experiment.replications", "simulation_kpis", "KPIs"),
    ("arsim.experiment.replications", "monthly_kpis", "KPIs"),
    ("arsim.experiment.replications", "kpis_and_monthly", "KPIs"),
    ("arsim.experiment.replications", "ledger_from_frames", "ledger"),
    ("arsim.experiment.results", "write_results", "write"),
)


def phases_child(report: str, argv: list[str]) -> None:
    """Run `arsim` (``argv``) in this process with its main steps timed; write the times to ``report``."""
    started = time.perf_counter()
    import importlib

    from arsim.cli.main import main

    spent: dict[str, float] = {}
    for module_name, name, label in PHASES:
        module = importlib.import_module(module_name)
        function = getattr(module, name, None)
        if function is None:  # not used by this version
            continue

        def timed(*args, _function=function, _label=label, **options):
            begun = time.perf_counter()
            try:
                return _function(*args, **options)
            finally:
                spent[_label] = spent.get(_label, 0.0) + time.perf_counter() - begun

        setattr(module, name, timed)
    imported = time.perf_counter() - started
    sys.argv = ["arsim", *argv]  # main() reads them, as the `arsim` command calls it
    with contextlib.redirect_stdout(io.StringIO()):
        code = main()
    Path(report).write_text(json.dumps({"imports": imported, **spent, "in_process": time.perf_counter() - started, "code": code}))


NAIVE_TERMS_DAYS = 30.0
NAIVE_CONTACTS = ((-5.0, "email"), (7.0, "call"), (21.0, "letter"))  # days from the due date


def naive_model(invoices: int, days: float, collectors: int, *, seed: int = 1) -> dict:
    """A naive SimPy model: one process per invoice, waiting on ``timeout | paid`` for each dunning contact.

    Orders arrive as a Poisson stream over ``days``; each invoice is due after 30 days and is paid on a drawn
    day (a third late, by a lognormal number of days; the rest up to ten days early). Before each of three
    contacts the process waits for the contact's day or the payment, whichever comes first; a call queues for
    one of ``collectors`` (a simpy.Resource) and takes 4 to 8 minutes. Written as a first model would be:
    Python's random module, the cyclic garbage collector left on.
    """
    import random

    import simpy

    draw = random.Random(seed)
    env = simpy.Environment()
    team = simpy.Resource(env, capacity=collectors)
    per_day = invoices / days
    days_to_pay: list[float] = []
    contacts = {channel: 0 for _, channel in NAIVE_CONTACTS}

    def invoice(env: simpy.Environment, amount: float):
        issued = env.now
        due = issued + NAIVE_TERMS_DAYS
        pay_day = due + draw.lognormvariate(2.0, 0.9) if draw.random() < 0.35 else due - draw.uniform(0.0, 10.0)
        paid = env.timeout(max(pay_day, issued + 1.0) - env.now, value=amount)
        for offset, channel in NAIVE_CONTACTS:
            if due + offset > env.now:
                outcome = yield env.timeout(due + offset - env.now) | paid
                if paid in outcome:
                    break
            if channel == "call":
                with team.request() as request:
                    yield request
                    yield env.timeout(draw.uniform(4.0, 8.0) / 1440.0)
            contacts[channel] += 1
        if not paid.processed:
            yield paid
        days_to_pay.append(env.now - issued)

    def orders(env: simpy.Environment):
        for _ in range(invoices):
            yield env.timeout(draw.expovariate(per_day))
            env.process(invoice(env, draw.lognormvariate(7.0, 1.0)))

    env.process(orders(env))
    env.run()
    return {"invoices": len(days_to_pay), "mean_days_to_pay": sum(days_to_pay) / len(days_to_pay), "contacts": contacts}


def e2e_section(paths: list[str], *, repeats: int) -> None:
    """Whole `arsim run` processes per scenario, where their time goes, and the naive model's whole process."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="arsim-speed-") as scratch:
        for path in paths:
            full = str(ROOT / path)
            sized = subprocess.run([sys.executable, __file__, "--simulate-child", full, str(repeats)],
                                   capture_output=True, text=True, check=True)
            m = json.loads(sized.stdout)
            out = str(Path(scratch) / m["scenario"])
            run = [*arsim_command(), "run", full, "--replications", "1", "--out", out]
            whole = min(wall_seconds(run, cwd=ROOT) for _ in range(repeats))
            report = Path(scratch) / "phases.json"
            timed = [sys.executable, __file__, "--phases-child", str(report), "run", full, "--replications", "1", "--out", out]
            timed_wall, phases = math.inf, {}
            for _ in range(repeats):  # the fastest of as many runs, timed inside
                wall = wall_seconds(timed, cwd=ROOT)
                if wall < timed_wall:
                    timed_wall, phases = wall, json.loads(report.read_text())
            naive = [sys.executable, __file__, "--naive-child", str(m["invoices"]), str(m["days"]), str(m["collectors"])]
            naive_s = min(wall_seconds(naive) for _ in range(repeats))
            rows.append((m, whole, timed_wall, phases, naive_s))

    print(f"{'scenario':<12}{'invoices':>10}{'arsim run s':>13}{'simulate s':>12}{'loop s':>8}{'outside':>9}{'naive s':>9}{'naive/arsim':>13}")
    for m, whole, _, _, naive_s in rows:
        print(f"{m['scenario']:<12}{m['invoices']:>10,}{whole:>13.2f}{m['simulate_s']:>12.2f}{m['loop_s']:>8.2f}{1 - m['simulate_s'] / whole:>9.0%}"
              f"{naive_s:>9.2f}{naive_s / whole:>13.2f}")
    print(f"arsim run s: whole process `arsim run SCENARIO --replications 1 --out <tmp>`, best of {repeats}; simulate s: the simulation alone, "
          f"best of {repeats} in one process; loop s: its event loop alone (the book drawn and the tables built are the rest); "
          f"outside: the share of the whole process spent outside the simulation.")
    print(f"naive s: whole process of the naive SimPy model (one process per invoice, `timeout | paid` waits, three contacts, "
          f"a collector Resource) on as many invoices, best of {repeats}.")
    print()
    print(f"Where one `arsim run` process spends its time (timed inside the run, the fastest of {repeats}; s):")
    print(f"{'scenario':<12}{'imports':>9}{'simulate':>10}{'KPIs':>8}{'ledger':>8}{'write':>8}{'other':>8}{'whole':>8}{'outside':>9}")
    for m, _, timed_wall, phases, _ in rows:
        known = sum(phases.get(k, 0.0) for k in ("imports", "simulate", "KPIs", "ledger", "write"))
        print(f"{m['scenario']:<12}{phases['imports']:>9.2f}{phases.get('simulate', 0):>10.2f}{phases.get('KPIs', 0):>8.2f}"
              f"{phases.get('ledger', 0):>8.2f}{phases.get('write', 0):>8.2f}{timed_wall - known:>8.2f}{timed_wall:>8.2f}"
              f"{1 - phases.get('simulate', 0) / timed_wall:>9.0%}")
    print("imports: the command line and the experiment layer (numpy, pandas, scipy, simpy, pydantic); KPIs: the run's and the monthly KPIs;")
    print("ledger: building the ledger frame; write: the results folder (ledger file included); other: interpreter start and exit, loading")
    print("the scenario, summaries, printing.")
    for m, whole, timed_wall, phases, naive_s in rows:
        if m["scenario"] == "enterprise":
            share = 1 - phases.get("simulate", 0) / timed_wall
            print(f"targets (enterprise): outside the simulation {share:.0%} of the whole process (target at most 25%): "
                  f"{'met' if share <= 0.25 else 'NOT met'}; naive / arsim {naive_s / whole:.2f} (target at least 4): "
                  f"{'met' if naive_s / whole >= 4 else 'NOT met'}")


# ---------------------------------------------------------------------------------------------- ledger format


def ledger_section(*, repeats: int) -> None:
    """The enterprise ledger written in each candidate way: time to build, to compress, size, time to read back."""
    import csv
    import gzip

    import numpy as np

    from arsim.files import gzip_bytes, gzip_chunks
    from arsim.ledger.read import read_ledger
    from arsim.ledger.write import csv_bytes, csv_chunks, ledger_from_frames
    from arsim.scenario.files import load_scenario
    from arsim.sim.model import simulate

    scenario = load_scenario(ROOT / "scenarios/enterprise.yaml")
    frames = simulate(scenario).frames
    ledger = ledger_from_frames(frames, scenario)
    date_columns = [name for name in ledger.columns if ledger[name].dtype.kind == "M"]
    dated = ledger.copy(deep=False)
    for column in date_columns:
        dated[column] = dated[column].dt.normalize()

    def best(function):
        value, seconds = None, math.inf
        for _ in range(repeats):
            started = time.perf_counter()
            value = function()
            seconds = min(seconds, time.perf_counter() - started)
        return value, seconds

    def with_pandas() -> bytes:  # what write_ledger did before
        out = ledger.copy()
        for column in date_columns:
            out[column] = out[column].dt.strftime("%Y-%m-%d")
        return out.to_csv(index=False).encode("utf-8")

    def column_strings() -> list[list[str]]:
        columns = []
        for name in ledger.columns:
            values = ledger[name]
            if values.dtype.kind == "M":
                text = values.dt.strftime("%Y-%m-%d").to_numpy(dtype=object, na_value="")
            elif values.dtype == bool:
                text = np.where(values.to_numpy(), "True", "False").astype(object)
            elif values.dtype.kind == "f":
                text = np.array(["" if v != v else repr(v) for v in values.tolist()], dtype=object)
            else:
                text = values.astype(object).where(values.notna(), "").astype(str).to_numpy(dtype=object)
            columns.append(text.tolist())
        return columns

    def with_csv_writer() -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(list(ledger.columns))
        writer.writerows(zip(*column_strings()))
        return buffer.getvalue().encode("utf-8")

    def with_join() -> bytes:
        lines = map(",".join, zip(*column_strings()))
        return (",".join(ledger.columns) + "\n" + "\n".join(lines) + "\n").encode("utf-8")

    reference, pandas_s = best(with_pandas)
    text, numpy_s = best(lambda: csv_bytes(dated))
    same = text == reference
    _, writer_s = best(with_csv_writer)
    _, join_s = best(with_join)
    invoices = int((ledger["item_type"] == "Invoice").sum())
    print(f"Ledger of the enterprise scenario: {invoices:,} invoices and {len(ledger) - invoices:,} settlement rows, "
          f"{len(reference) / 1e6:.1f} MB of CSV; best of {repeats}, seconds.")
    _, build_s = best(lambda: ledger_from_frames(frames, scenario))
    print(f"{'building the ledger frame from the event tables':<44}{build_s:>8.2f}")
    print(f"{'building the CSV text':<44}{'s':>8}")
    for label, seconds in (("pandas: strftime + to_csv (before)", pandas_s), ("per-column strings + csv.writer", writer_s),
                           ("per-column strings + str.join", join_s), ("numpy byte matrix (csv_bytes)", numpy_s)):
        print(f"{label:<44}{seconds:>8.2f}")
    print(f"  the numpy text is {'byte for byte' if same else 'NOT'} the pandas text")
    print(f"{'compression':<28}{'s':>8}{'MB':>8}{'read_ledger s':>15}")
    with tempfile.TemporaryDirectory(prefix="arsim-ledger-") as scratch:
        for level in (None, 1, 3, 6, 9):
            if level is None:
                data, seconds, name = text, 0.0, "invoices.csv"
            else:
                data, seconds = best(lambda level=level: gzip_bytes(text, level=level))
                name = f"invoices-{level}.csv.gz"
            path = Path(scratch) / name
            _, written = best(lambda path=path, data=data: path.write_bytes(data))
            read = best(lambda path=path: read_ledger(path))[1] if level in (None, 1, 6) else math.nan
            label = "none (plain .csv)" if level is None else f"gzip level {level}" + {1: " (chosen)", 6: " (before)"}.get(level, "")
            print(f"{label:<28}{seconds + written:>8.2f}{len(data) / 1e6:>8.1f}{read:>15.2f}")
        pipelined, pipelined_s = best(lambda: gzip_chunks(csv_chunks(dated), level=1))
        assert gzip.decompress(pipelined) == reference
        print(f"write_ledger's way: text built in blocks while a second thread compresses (level 1): {pipelined_s:.2f} s for text and compression")


def main() -> None:
    """Run the sections asked for (all by default), each scenario's measurements in fresh processes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", action="store_true", help="the engine against bare SimPy loops")
    parser.add_argument("--e2e", action="store_true", help="whole `arsim run` processes against a naive SimPy model")
    parser.add_argument("--ledger", action="store_true", help="the ledger file's formats")
    parser.add_argument("--scenario", action="append", help="scenario file (repeatable; default: the shipped ones)")
    parser.add_argument("--repeats", type=int, help="best of how many runs in --e2e and --ledger (default 3, or 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a short run: one repetition of everything")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--simulate-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--naive-child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--phases-child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        global REPEATS, MIN_SECONDS
        if args.quick:
            REPEATS, MIN_SECONDS = 1, 0.0
        print(json.dumps(measure(args.child[0], json.loads(args.child[1]))))
        return
    if args.simulate_child:
        print(json.dumps(simulate_child(args.simulate_child[0], int(args.simulate_child[1]))))
        return
    if args.naive_child:
        invoices, days, collectors = args.naive_child
        print(json.dumps(naive_model(int(invoices), float(days), int(collectors))))
        return
    if args.phases_child:
        phases_child(args.phases_child[0], args.phases_child[1:])
        return
    repeats = args.repeats or (1 if args.quick else 3)
    everything = not (args.engine or args.e2e or args.ledger)
    from arsim.sim import engine

    print(f"arsim engine: {engine()} (ARSIM_ENGINE=python runs the Python sources; the children inherit it)\n")
    if args.engine or everything:
        if args.scenario:
            cases = [(path, {}, "as shipped") for path in args.scenario]
        else:
            one_year = {"run.warmup_days": 0, "run.horizon_days": 365}
            cases = [
                ("scenarios/baseline.yaml", {}, "as shipped"),
                ("scenarios/enterprise.yaml", {}, "as shipped"),
                ("scenarios/enterprise.yaml", one_year, "one year"),
            ]
        engine_section(cases, quick=args.quick)
        print()
    if args.e2e or everything:
        e2e_section(args.scenario or list(SHIPPED), repeats=repeats)
        print()
    if args.ledger or everything:
        ledger_section(repeats=repeats)


if __name__ == "__main__":
    main()
