"""How much memory one replication needs, estimated from the scenario before anything is drawn.

A replication holds its whole book in memory: every order's pre-drawn arrays, the response draws of every
planned contact, each open invoice's state and every event record. That is about 2.4 kB per invoice, so a
scenario with tens of millions of invoices would exhaust the machine's memory minutes or hours into a
run, and the operating system would kill the process without a word. `check_fits_in_memory` turns that into
a one-line input error before the run starts.

The figures come from measurements, not from theory; see `estimated_peak_bytes`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from arsim.errors import InputError
from arsim.scenario.schema import Scenario
from arsim.sim.behaviour import (
    RESPONSE_COLUMNS,
    SLOT_DEDUCTION,
    SLOT_ERROR_DISPUTE,
    contact_slot,
    mean_risk_factor,
    risk_class_shares,
)
from arsim.sim.calendar import DAYS_PER_MONTH
from arsim.sim.rules import planned_contacts

FIXED_BYTES = 150_000_000
"""A worker process before it simulates: the interpreter with numpy, pandas, scipy and simpy loaded (measured
141 MB) plus what does not grow with the book."""
BYTES_PER_INVOICE = 1_750
"""Measured bytes per invoice (order row) besides its response draws: order arrays, the invoice's state,
its event records and the tables built from them. Set for the compiled engine, which needs more than the
Python one (see `estimated_peak_bytes`)."""
RESPONSE_BYTES_PER_SLOT = 4 * RESPONSE_COLUMNS + 32
"""Each response slot is a float32 row of RESPONSE_COLUMNS draws per invoice, allocated up front, and the
records of the contacts it adds (measured: about 96 bytes per invoice and slot in all, compiled engine)."""
DRAW_BYTES_PER_INVOICE = 200
"""While the book is drawn, before the model exists: the order arrays built so far."""
BYTES_PER_COLLECTOR = 40
"""Each collector is an entry of the team's stack of idle collectors (a list item and its int): measured 39
bytes per collector (smb, 30 days: peak RSS 483 MB with 10 million collectors, 1,266 MB with 30 million). Only
an absurd team makes it count, but an absurd team must be refused, not run until the machine kills it."""
BYTES_PER_SWITCH_COLUMN = 9
"""The cash-strained state at each due date is found from a temporary (invoices x switch columns) matrix of
float64 switch times and its boolean comparison: 9 bytes per invoice and column."""


def estimated_invoices(scenario: Scenario) -> int:
    """Expected invoices (orders) one replication draws, warm-up included: the size the memory grows with.

    Per segment: customers x invoices_per_month x months over warmup_days + horizon_days, as in
    `behaviour.draw_book`, whose customer order rates are gamma multipliers with mean 1 around the
    segment's rate. A customer orders nothing after it defaults, so its expected ordering time is
    (1 - exp(-hT)) / h rather than T for its default hazard h. Hazards differ between customers (risk class,
    latent lateness; see `behaviour._relative_hazard`), which lengthens the average ordering time, so it is
    averaged over classes and over the normal latent lateness (Gauss-Hermite nodes); cash-strained spells are
    taken as averaged into the hazard (they are short against a run), which undercounts a little when defaults
    are very frequent. Regular order patterns give the same count on average.
    Within a few percent of the drawn count.
    """
    total_days = scenario.run.warmup_days + scenario.run.horizon_days
    nodes, weights = np.polynomial.hermite_e.hermegauss(24)
    weights = weights / weights.sum()
    expected = 0.0
    for segment in scenario.portfolio.segments:
        base = -math.log1p(-min(segment.default_probability_per_year, 1 - 1e-12)) / 365.0
        risk = segment.risk
        beta = risk.lateness_hazard_effect
        mean = mean_risk_factor(risk)
        ordering = 0.0
        for share, risk_class in zip(risk_class_shares(risk), risk.classes):
            relative = risk_class.hazard_multiplier * np.exp(beta * (nodes + risk_class.lateness_shift)) / mean
            exposure = base * relative * total_days
            days = total_days * np.where(exposure > 0, -np.expm1(-exposure) / np.where(exposure > 0, exposure, 1.0), 1.0)
            ordering += share * float(np.sum(weights * days))
        expected += segment.customers * segment.invoices_per_month / DAYS_PER_MONTH * ordering
    return round(expected)


def response_slots(scenario: Scenario) -> int:
    """How many per-invoice response arrays a replication allocates: one per (cadence step, repeat) that any
    segment plans, plus the two for disputes no contact caused (as `model.simulate` asks `draw_book`)."""
    dunning = scenario.policy.dunning
    slots = {SLOT_ERROR_DISPUTE, SLOT_DEDUCTION}
    for segment in scenario.portfolio.segments:
        for contact in planned_contacts(scenario.cadence_for(segment.name), volume=dunning.volume, repeat_gap_days=dunning.repeat_gap_days):
            slots.add(contact_slot(contact.step, contact.repeat))
    return len(slots)


def strained_switch_columns(scenario: Scenario) -> int:
    """About how many normal/strained switches the busiest customer has over the run: the width of the
    switch-time matrix `behaviour.draw_book` compares every invoice against.

    A segment's customers switch on average m = 2 T x strained_share / strained_spell_days times in T days
    (one normal and one strained spell per cycle of strained_spell_days / strained_share days); the busiest
    of thousands of customers is taken as m + 4 sqrt(m), plus the column that ends the run.
    """
    total_days = scenario.run.warmup_days + scenario.run.horizon_days
    columns = 1.0
    for segment in scenario.portfolio.segments:
        behaviour = segment.behaviour
        if segment.customers == 0 or behaviour.strained_share <= 0:
            continue
        mean = 2.0 * total_days * behaviour.strained_share / behaviour.strained_spell_days
        columns = max(columns, mean + 4.0 * math.sqrt(mean) + 2.0)
    return math.ceil(columns)


def estimated_peak_bytes(scenario: Scenario, *, workers: int = 1) -> int:
    """Peak resident memory of a run, from the expected invoices: FIXED_BYTES per process plus, per invoice,
    BYTES_PER_INVOICE and RESPONSE_BYTES_PER_SLOT for each response slot, and BYTES_PER_COLLECTOR per
    collector. ``workers`` replications run at once
    (the process pool's size); with more than one, the parent process adds its own FIXED_BYTES.

    Customers with very short cash-strained spells make the book's draw the peak instead: per invoice,
    DRAW_BYTES_PER_INVOICE plus BYTES_PER_SWITCH_COLUMN for each of `strained_switch_columns`; the larger of
    the two peaks is returned.

    Measured on the reference machine (2 cores, 24 GB, Linux, Python 3.11): the peak resident memory
    (ru_maxrss) of a fresh process that loads the scenario, imports arsim.experiment (as a worker has) and
    simulates replication 0. `run_replication` with the ledger, what replication 0 of an experiment does,
    peaked within 2 MB of `simulate` alone. The command, with ``--set``-style overrides for the variants:

        .venv/bin/python -c "import resource, sys; import arsim.experiment.replications; \\
            from arsim.scenario.files import load_scenario; from arsim.sim.model import simulate; \\
            r = simulate(load_scenario(sys.argv[1])); \\
            print(r.orders, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)" scenarios/baseline.yaml

    | scenario                                   | invoices | slots | switch cols | compiled |   Python | estimate |
    |--------------------------------------------|---------:|------:|------------:|---------:|---------:|---------:|
    | arsim.experiment imported, nothing run     |        0 |       |             |    85 MB |    85 MB |          |
    | smb                                        |    3,835 |     6 |          13 |    95 MB |    93 MB |   158 MB |
    | baseline                                   |   38,651 |     8 |          17 |   177 MB |   164 MB |   244 MB |
    | enterprise                                 |  224,284 |     8 |          17 |   588 MB |   520 MB |   713 MB |
    | enterprise, customers x 2                  |  444,661 |     8 |          17 | 1,130 MB | 1,009 MB | 1,277 MB |
    | enterprise, run.horizon_days 1095          |  522,318 |     8 |          30 | 1,264 MB | 1,080 MB | 1,462 MB |
    | baseline, run.horizon_days 3650            |  265,266 |     8 |          66 |   692 MB |   601 MB |   796 MB |
    | enterprise, dunning.volume.call 4          |  224,284 |    17 |          17 |   782 MB |   695 MB |   912 MB |
    | baseline, volume 4 on call, email, letter  |   38,651 |    23 |          17 |   243 MB |   220 MB |   299 MB |

    (MB = 10^6 bytes; the estimate uses `estimated_invoices`, not the drawn count.) The compiled engine needs
    about 12% more than the Python one: its state classes hold numbers unboxed, so every number it puts into an
    event record is a new Python object, where the Python engine's records share the objects its state holds.
    Between the enterprise runs the compiled engine grows by 2,270-2,460 bytes per invoice with 8 response
    slots, and by about 96 bytes per invoice for each slot more; the constants (1,750 + 100 x slots per invoice,
    2,550 with 8 slots, over 150 MB) put the estimate 13-23% above every run of a large book here, and above
    the Python engine by more, with per-invoice and per-slot rates above the largest measured, so that a book
    far larger than these stays under its estimate too. The fixed part is what a worker's imports take on the
    machine at hand: 85 MB here, 141 MB on the machine of an earlier measurement. The draw peak of very short cash-strained spells was measured before the
    engine was compiled (baseline, strained_spell_days 2, share 0.5: 274 MB against an estimate of 271 MB,
    141 MB + 38,618 x (200 + 9 x 341) bytes); the draw is numpy arrays, the same under either engine.
    """
    per_invoice = max(
        BYTES_PER_INVOICE + RESPONSE_BYTES_PER_SLOT * response_slots(scenario),
        DRAW_BYTES_PER_INVOICE + BYTES_PER_SWITCH_COLUMN * strained_switch_columns(scenario),
    )
    processes = workers + (1 if workers > 1 else 0)
    per_run = per_invoice * estimated_invoices(scenario) + BYTES_PER_COLLECTOR * scenario.team.collectors
    return processes * FIXED_BYTES + workers * per_run


def available_memory_bytes() -> int | None:
    """Memory the machine can give a new run now: MemAvailable of /proc/meminfo (Linux), else free physical
    pages from os.sysconf; None when neither is known (then no check is possible)."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _gigabytes(count: int) -> str:
    value = count / 1e9
    return f"{value:.1f} GB" if value < 10 else f"{value:,.0f} GB"


def check_fits_in_memory(scenario: Scenario, *, available_bytes: int | None = None, workers: int = 1) -> None:
    """Refuse a scenario whose run would need more memory than the machine has, before anything runs.

    Call it after loading the scenario (and its --set overrides) and before simulating, with ``workers``
    the number of replications run at once (min(jobs, replications) for a process pool; 1 in process). Without it, an oversized book fails late and badly: the
    operating system kills the process midway, with no message. Raises InputError, one line, e.g.
    ``scenario 'big': about 42,000,000 invoices would need about 107 GB of memory; this machine has 24 GB
    available``. ``available_bytes`` defaults to the machine's available memory; when that cannot be read,
    nothing is checked.
    """
    available = available_memory_bytes() if available_bytes is None else available_bytes
    if available is None:
        return
    needed = estimated_peak_bytes(scenario, workers=workers)
    if needed <= available:
        return
    invoices = estimated_invoices(scenario)
    at_once = f" ({workers} replications at once)" if workers > 1 else ""
    team = f" and {scenario.team.collectors:,} collectors" if BYTES_PER_COLLECTOR * scenario.team.collectors > available / 10 else ""
    raise InputError(
        f"scenario {scenario.name!r}: about {invoices:,} invoices{team} would need about {_gigabytes(needed)} of memory{at_once}; "
        f"this machine has {_gigabytes(available)} available"
    )
