"""Named random streams: the only place a numpy SeedSequence is built.

Every draw in arsim names its stream, and each stream of each replication is its own generator seeded from
``SeedSequence(seed, spawn_key=(replication, stream_index))``. So the numbers a stream gives depend only on
(seed, replication, stream name): not on the process that runs the replication, the number of workers, or
what other streams were used. STREAM_NAMES is append-only, so adding a stream never renumbers old ones.
"""

from __future__ import annotations

import numpy as np

STREAM_NAMES: tuple[str, ...] = (
    "customers",  # segment membership draws, order rates, amount scales, latent lateness, run days, flags
    "defaults",  # default times
    "orders",  # order arrival times and amounts
    "states",  # normal / cash-strained spells
    "payment",  # latent payment offsets of each invoice
    "invoicing",  # delivery days, invoice errors, spontaneous disputes
    "responses",  # per invoice and dunning step: reach, reply, uplift, promise, task minutes
    "deductions",  # short payments
    "relationship",  # per order: held-order patience, churn, penalty contest and payment, agency recovery, unearned discounts
)
STREAMS_VERSION = 2
"""Bumped whenever the meaning of an existing stream's draws changes (results are then not comparable)."""


def stream(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator of one named stream for one replication."""
    index = STREAM_NAMES.index(name)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(replication, index))))


def streams(seed: int, replication: int) -> dict[str, np.random.Generator]:
    """All named streams of a replication."""
    return {name: stream(seed, replication, name) for name in STREAM_NAMES}


def substream(seed: int, replication: int, name: str, index: int) -> np.random.Generator:
    """The generator of part ``index`` of a named stream, independent of how many parts are used.

    Per-invoice response draws are split by dunning step this way, so a policy with more steps gets more
    parts while the draws of the steps both policies share stay identical (common random numbers).
    """
    stream_index = STREAM_NAMES.index(name)
    sequence = np.random.SeedSequence(seed, spawn_key=(replication, stream_index, index))
    return np.random.Generator(np.random.PCG64(sequence))
