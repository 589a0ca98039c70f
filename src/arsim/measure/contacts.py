"""Contact delivery: what a dunning plan asked for against what went out, and why the rest did not.

A planned contact is a dunning step that fell due for an open invoice (and that the plan's volume put in
that invoice's plan). It is either sent, or not sent because its invoice closed while the step waited: for
the contact cap, for an open query or dispute (dunning pause), or, for a call, for a collector. Promise
follow-up calls are collector work, not planned contacts, and are not counted here.
"""

from __future__ import annotations

import pandas as pd

from arsim.scenario.schema import CHANNELS
from arsim.sim.rules import SKIP_REASONS

CONTACT_DELIVERY_KEYS: tuple[str, ...] = (
    *(f"contacts_planned_{channel}" for channel in CHANNELS),
    *(f"contacts_not_sent_{channel}_{reason}" for channel in CHANNELS for reason in SKIP_REASONS),
    "contacts_deferred_contact_cap", "contacts_deferred_paused", "contacts_delivered_share",
)
"""KPI keys of contact delivery, per channel (planned = sent + not sent) and per reason."""


def contact_delivery(frames: dict[str, pd.DataFrame], *, start: float, end: float) -> dict[str, float]:
    """Planned, not sent (by reason) and deferred contacts per channel in [start, end), and the share delivered."""
    contacts = frames["contact"]
    sent = contacts[(contacts["time"] >= start) & (contacts["time"] < end) & (contacts["step"] >= 0)]
    skipped = frames["contact_skipped"]
    skipped = skipped[(skipped["time"] >= start) & (skipped["time"] < end)]
    deferred = frames["contact_deferred"]
    deferred = deferred[(deferred["time"] >= start) & (deferred["time"] < end)]
    # The text columns are categoricals: counted by their codes, never turned into strings (a monthly series asks 13 times).
    sent_by = sent["channel"].value_counts()
    skipped_by = skipped.groupby(["channel", "reason"], observed=True).size()
    result: dict[str, float] = {}
    planned_total = 0.0
    for channel in CHANNELS:
        not_sent = 0.0
        for reason in SKIP_REASONS:
            count = float(skipped_by.get((channel, reason), 0))
            result[f"contacts_not_sent_{channel}_{reason}"] = count
            not_sent += count
        planned = float(sent_by.get(channel, 0)) + not_sent
        result[f"contacts_planned_{channel}"] = planned
        planned_total += planned
    reasons = deferred["reason"].value_counts()
    result["contacts_deferred_contact_cap"] = float(reasons.get("contact_cap", 0))
    result["contacts_deferred_paused"] = float(reasons.get("paused", 0))
    result["contacts_delivered_share"] = float(len(sent)) / planned_total if planned_total else float("nan")
    return result
