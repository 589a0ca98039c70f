"""Contact-volume capacity analysis: can the team answer what the contacts provoke?

More reminders bring more replies (queries, disputes, broken promises to follow up), and a reply nobody
answers holds its payment. This module scales the planned contact volume and the team, measures the
follow-up work offered against the collector minutes available, and names the saturation point, the best
scales for DSO and net cost, and the smallest team that carries a plan.

The queueing theory that simulated waits are checked against (Erlang C) is in `arsim.experiment.statistics`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arsim.errors import InputError
from arsim.experiment.arguments import (
    executor_arguments,
    number_argument,
    numbers_argument,
    replications_argument,
    scenario_argument,
    seed_argument,
)
from arsim.experiment.executors import run_parallel
from arsim.experiment.replications import run_replication, with_run
from arsim.experiment.results import build_manifest, write_folder
from arsim.experiment.statistics import (
    clean_number,
    kpi_confidence_interval,
    paired_difference,
)
from arsim.scenario.schema import CHANNELS, MAX_CONTACT_VOLUME, Scenario, validate_scenario
from arsim.sim.calendar import count_weekdays
from arsim.sim.rules import SKIP_REASONS, TASK_KINDS

# ---------------------------------------------------------------------------------------------- workload


def _mean_minutes(scenario: Scenario) -> dict[str, float]:
    minutes = scenario.team.minutes
    return {kind: float(getattr(minutes, kind).mean) for kind in ("call", "query", "dispute", "promise_followup")}


def working_days(scenario: Scenario, *, start: int, end: int) -> int:
    """Days of [start, end) on which the team works."""
    return count_weekdays(scenario.team.working_weekdays, start_weekday=scenario.calendar.start_date.weekday(), start=start, end=end)


def follow_up_workload(frames: dict[str, pd.DataFrame], scenario: Scenario, *, start: int, end: int) -> dict[str, float]:
    """The collector work that contacts offered in [start, end), and what was left at the end.

    Offered minutes are the minutes of every task created in the period (calls, queries, disputes, broken-
    promise follow-ups): a task worked to the end counts its recorded minutes (from the work records); a task
    still waiting or in hand when the run ends, or dropped unworked because its invoice was settled first,
    counts the mean of its task-time distribution (its own draw is not recorded), or the minutes already
    worked on it if more. Replies are the queries, contact-caused disputes and promise follow-ups of the period.
    """
    created, done, work = frames["task_created"], frames["task_done"], frames["work"]
    means = _mean_minutes(scenario)
    worked = ((work["end"] - work["start"]) * 1440.0).groupby(work["task_id"]).sum()
    finished = done.loc[done["worked"], "task_id"]
    ended = set(done["task_id"].tolist())
    in_period = created[(created["time"] >= start) & (created["time"] < end)]
    mean_of_kind = in_period["kind"].astype(str).map(means).to_numpy(dtype=float)
    worked_here = worked.reindex(in_period["task_id"]).fillna(0.0).to_numpy()
    is_finished = in_period["task_id"].isin(finished).to_numpy()
    offered = np.where(is_finished, worked_here, np.maximum(mean_of_kind, worked_here))
    waiting = created[(created["time"] < end) & ~created["task_id"].isin(ended)]
    waiting_mean = waiting["kind"].astype(str).map(means).to_numpy(dtype=float)
    waiting_worked = worked.reindex(waiting["task_id"]).fillna(0.0).to_numpy()
    backlog_minutes = float(np.maximum(waiting_mean - waiting_worked, 0.0).sum())
    days = max(1, working_days(scenario, start=start, end=end))
    queries = frames["query_raised"]
    disputes = frames["dispute_opened"]
    replies = (
        ((queries["time"] >= start) & (queries["time"] < end)).sum()
        + ((disputes["time"] >= start) & (disputes["time"] < end) & (disputes["cause"].astype(str) == "contact")).sum()
        + (in_period["kind"].astype(str) == "promise_followup").sum()
    )
    contacts = frames["contact"]
    contacts = contacts[(contacts["time"] >= start) & (contacts["time"] < end)]
    planned = contacts[contacts["step"] >= 0]  # dunning steps; promise follow-up calls are work, not planned contacts
    skipped = frames["contact_skipped"]
    skipped = skipped[(skipped["time"] >= start) & (skipped["time"] < end)]
    result = {
        "contacts": float(len(contacts)),
        "replies": float(replies),
        "offered_minutes_per_day": float(offered.sum()) / days,
        "backlog_minutes_end": backlog_minutes,
    }
    for channel in CHANNELS:
        result[f"sent_{channel}"] = float((planned["channel"].astype(str) == channel).sum())
        result[f"not_sent_{channel}"] = float((skipped["channel"].astype(str) == channel).sum())
    for reason in SKIP_REASONS:
        result[f"not_sent_{reason}"] = float((skipped["reason"].astype(str) == reason).sum())
    # Work by kind: offered (created in the period), done (worked to the end in it), undone (dropped unworked
    # because the invoice closed first, or still waiting at the end).
    kinds = in_period["kind"].astype(str).to_numpy()
    dropped = done.loc[~done["worked"], "task_id"]
    is_dropped = in_period["task_id"].isin(dropped).to_numpy()
    is_waiting = ~in_period["task_id"].isin(ended).to_numpy()
    for kind in TASK_KINDS:
        mine = kinds == kind
        result[f"offered_{kind}"] = float(mine.sum())
        result[f"done_{kind}"] = float((mine & is_finished).sum())
        result[f"undone_{kind}"] = float((mine & (is_dropped | is_waiting)).sum())
    return result


# ---------------------------------------------------------------------------------------------- capacity study


SCALED_CHANNELS: dict[str, tuple[str, ...]] = {"contact": ("email", "call", "letter"), "email": ("email",), "call": ("call",)}
"""Which channels each scale option multiplies (agency hand-overs are never scaled)."""

LEVEL_KEYS: tuple[str, ...] = (
    "contact_scale", "collectors", "requested_scale", "achieved_scale", "offered_minutes_per_day", "capacity_minutes_per_day",
    "utilization", "backlog_end", "query_wait_days", "query_sla_attainment", "dso", "past_due_amount", "net_cost",
)

PAIRED_KEYS: tuple[str, ...] = ("dso", "past_due_amount", "net_cost")
"""The outcomes each level is compared on with today's plan, replication by replication."""

WORK_KEYS: tuple[str, ...] = tuple(f"{what}_{kind}" for kind in TASK_KINDS for what in ("offered", "done", "undone"))


def _volumes(scenario: Scenario, scales: dict[str, float]) -> dict[str, float]:
    """Channel volumes for the given scales: each multiplies the policy's own volume (1 when unset)."""
    base = scenario.policy.dunning.volume
    volumes = {}
    for option in ("contact", "email", "call"):  # channel options after contact, so a pin wins
        if option in scales:
            for channel in SCALED_CHANNELS[option]:
                volume = base.get(channel, 1.0) * scales[option]
                if volume > MAX_CONTACT_VOLUME + 1e-9:
                    raise InputError(f"{scales[option]:g} gives {channel} volume {volume:g}, above the maximum {MAX_CONTACT_VOLUME:g} contacts per step",
                                     argument=f"{option}_scales")
                if scales[option] < 0:
                    raise InputError(f"must be 0 or more, got {scales[option]:g}", argument=f"{option}_scales")
                volumes[channel] = round(volume, 10)
    return volumes


def _capacity_replication(item: tuple[Scenario, int]) -> dict[str, float]:
    scenario, replication = item
    result = run_replication(scenario, replication, measure=follow_up_workload)
    return {**result.kpis, **result.extras}


def _axes(contact: Sequence[float] | None, email: Sequence[float] | None, call: Sequence[float] | None) -> tuple[str, list[float], dict[str, float]]:
    given = {name: list(values) for name, values in (("contact", contact), ("email", email), ("call", call)) if values is not None}
    for name, values in given.items():
        if not values:
            raise InputError("empty range", argument=f"{name}_scales")
    if not given:
        given = {"contact": [1.0]}
    varying = [name for name, values in given.items() if len(values) > 1]
    if len(varying) > 1:
        raise InputError(f"only one of contact_scales, email_scales, call_scales may take several values (got {', '.join(v + '_scales' for v in varying)})",
                         argument=f"{varying[-1]}_scales")
    axis = varying[0] if varying else next(iter(given))
    pins = {name: float(values[0]) for name, values in given.items() if name != axis}
    scales = [float(v) for v in given[axis]]
    if len(set(scales)) != len(scales):
        raise InputError("repeated values", argument=f"{axis}_scales")
    return axis, sorted(scales), pins


@dataclass(frozen=True)
class CapacityStudy:
    """Follow-up work against collector capacity, per contact scale and team size, with the answers drawn from it.

    ``levels``: one row per (contact_scale, collectors) level with means over replications (the same
    replications at every level) of contacts, replies, offered and capacity minutes per working day,
    utilisation, offered load, end backlog (tasks and minutes), query wait, SLA attainment, and DSO,
    past-due amount and net cost with 95% CIs, and ``within_capacity``. ``per_replication``: the same
    measures for every level x replication. The answers are for the reference team (the scenario's own if
    studied, else the smallest): ``saturation_scale`` (the largest scale such that it and every smaller
    scale are within capacity; None when the smallest is not), ``best_dso`` and ``best_net_cost`` (scale,
    mean, CI, and the paired difference against today's plan), ``smallest_team`` (the fewest collectors
    keeping ``plan_scale`` within capacity) and ``saturation_by_collectors``.
    """

    axis: str
    pins: dict[str, float]
    sla_target: float
    replications: int
    seed: int
    levels: pd.DataFrame
    per_replication: pd.DataFrame
    reference_collectors: int
    saturation_scale: float | None
    saturation: str
    saturation_by_collectors: dict[int, float | None]
    capacity_trap: list[dict[str, Any]]
    best_dso: dict[str, Any]
    best_net_cost: dict[str, Any]
    smallest_team: dict[str, Any]
    folder: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)

    def write(self, folder: str | Path, *, extra: Callable[[Path], Any] | None = None) -> Path:
        """Write this result's folder as a whole: its tables, then manifest.json; ``extra(staging)`` may add files."""
        return write_folder(folder, {"levels.csv": self.levels, "replications.csv": self.per_replication}, self.manifest, extra=extra)

    def answers(self) -> dict[str, Any]:
        """The study's answers as plain data (what the manifest and the JSON carry)."""
        return {
            "saturation_scale": self.saturation_scale,
            "saturation": self.saturation,
            "saturation_by_collectors": {str(k): v for k, v in self.saturation_by_collectors.items()},
            "capacity_trap": self.capacity_trap,
            "best_dso": self.best_dso,
            "best_net_cost": self.best_net_cost,
            "smallest_team": self.smallest_team,
            "reference_collectors": self.reference_collectors,
        }

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object of `arsim capacity` (NaN becomes null)."""
        levels = []
        for row in self.levels.to_dict(orient="records"):
            entry = {key: (int(row[key]) if key == "collectors" else clean_number(row[key])) for key in LEVEL_KEYS}
            entry.update({key: clean_number(row[key]) for key in ("contacts", "replies", "offered_load", "backlog_minutes_end",
                                                                   "dso_ci_low", "dso_ci_high", "net_cost_ci_low", "net_cost_ci_high")})
            entry["within_capacity"] = bool(row["within_capacity"])
            entry["contacts_sent"] = {ch: clean_number(row[f"sent_{ch}"]) for ch in CHANNELS}
            entry["contacts_not_sent"] = {reason: clean_number(row[f"not_sent_{reason}"]) for reason in SKIP_REASONS}
            entry["work"] = {kind: {what: clean_number(row[f"{what}_{kind}"]) for what in ("offered", "done", "undone")} for kind in TASK_KINDS}
            entry["versus_today"] = {key: {part: clean_number(row[f"{key}_{part}"]) for part in ("diff", "diff_ci_low", "diff_ci_high")}
                                     for key in PAIRED_KEYS}
            entry["capacity_trap"] = bool(row["capacity_trap"])
            entry["extra_work_went"] = row["extra_work_went"]
            levels.append(entry)
        return {
            "levels": levels,
            "best_dso_scale": self.best_dso["scale"],
            "best_net_cost_scale": self.best_net_cost["scale"],
            **self.answers(),
            "sla_target": self.sla_target,
            "scaled": self.axis,
            "replications": self.replications,
            "seed": self.seed,
        }


def capacity(
    scenario: Scenario | str | Path, *, contact_scales: Sequence[float] | None = None, email_scales: Sequence[float] | None = None,
    call_scales: Sequence[float] | None = None, collectors: Sequence[int] | None = None, sla_target: float = 0.9,
    plan_scale: float | None = None, replications: int | None = None, seed: int | None = None, jobs: int = 1, cluster: str | None = None,
    progress: bool = False, name: str | None = None, folder: str | Path | None = None, save: bool = True,
    command: str | None = None,
) -> CapacityStudy:
    """Scale the planned contact volume (and the team) and see whether the collectors can carry the replies.

    One row per (contact scale, collectors) level with the means over replications (CRN: the same
    replications at every level) of contacts, replies, offered follow-up minutes per working day, capacity
    minutes per working day, utilisation, offered load, backlog at the end (tasks and minutes), query wait,
    SLA attainment, DSO, past-due amount and net cost (these three with 95% CIs), and ``within_capacity``:
    SLA attainment >= ``sla_target`` and the end backlog small enough to clear within the SLA
    (backlog minutes <= capacity minutes per day x team.query_sla_days). A level without queries meets the
    SLA. The answers are described in `CapacityStudy`. Unless ``save`` is false, the folder is written whole:
    levels.csv, replications.csv and manifest.json.
    """
    scenario = scenario_argument(scenario)
    sla_target = number_argument(sla_target, argument="sla_target")
    if not 0 <= sla_target <= 1:
        raise InputError(f"must be a share between 0 and 1, got {sla_target}", argument="sla_target")
    axis, scales, pins = _axes(numbers_argument(contact_scales, argument="contact_scales", minimum=0),
                               numbers_argument(email_scales, argument="email_scales", minimum=0),
                               numbers_argument(call_scales, argument="call_scales", minimum=0))
    given_teams = numbers_argument(collectors, argument="collectors", whole=True, minimum=1)
    teams = sorted(set(given_teams)) if given_teams is not None else [scenario.team.collectors]
    replications, seed = replications_argument(replications), seed_argument(seed)
    jobs, cluster = executor_arguments(jobs, cluster)
    if plan_scale is not None:
        plan_scale = number_argument(plan_scale, argument="plan_scale")
    if plan_scale is None:
        plan_scale = scales[-1]
    elif not any(math.isclose(plan_scale, s) for s in scales):
        raise InputError(f"{plan_scale:g} is not one of the scales studied {scales}", argument="plan_scale")
    scenario = with_run(scenario, replications=replications, seed=seed)
    levels = []
    for team in teams:
        for scale in scales:
            volumes = _volumes(scenario, {**pins, axis: scale})
            data = scenario.model_dump(mode="json")
            data["team"]["collectors"] = team
            data["policy"]["dunning"]["volume"] = {**data["policy"]["dunning"]["volume"], **volumes}
            levels.append((scale, team, volumes, validate_scenario(data, source="capacity")))
    count = scenario.run.replications
    work = [(level, r) for *_, level in levels for r in range(count)]
    done = run_parallel(_capacity_replication, work, jobs=jobs, cluster=cluster, progress=progress, desc=f"capacity {scenario.name}")
    tidy = pd.DataFrame([
        {"contact_scale": scale, "collectors": team, "replication": r, **done[i * count + r]}
        for i, (scale, team, _, _) in enumerate(levels) for r in range(count)
    ])
    rows = []
    for i, (scale, team, volumes, level) in enumerate(levels):
        part = tidy.iloc[i * count:(i + 1) * count]
        capacity_per_day = team * level.team.hours_per_day * 60.0
        row: dict[str, Any] = {"contact_scale": scale, "collectors": team, **{f"{ch}_volume": v for ch, v in volumes.items()}}
        for key in ("contacts", "replies", "offered_minutes_per_day", *WORK_KEYS):
            row[key] = float(part[key].mean())
        row["sent"] = float(part[[f"sent_{ch}" for ch in SCALED_CHANNELS[axis]]].sum(axis=1).mean())
        for channel in CHANNELS:
            row[f"sent_{channel}"] = float(part[f"sent_{channel}"].mean())
        for reason in SKIP_REASONS:
            row[f"not_sent_{reason}"] = float(part[f"not_sent_{reason}"].mean())
        row["capacity_minutes_per_day"] = capacity_per_day
        row["offered_load"] = row["offered_minutes_per_day"] / capacity_per_day
        row["utilization"] = float(part["collector_utilization"].mean())
        row["backlog_end"] = float(part["backlog_tasks_end"].mean())
        row["backlog_minutes_end"] = float(part["backlog_minutes_end"].mean())
        row["query_wait_days"] = float(part["query_wait_days"].mean()) if part["query_wait_days"].notna().any() else math.nan
        row["query_sla_attainment"] = float(part["query_sla_attainment"].mean()) if part["query_sla_attainment"].notna().any() else math.nan
        for key in ("dso", "past_due_amount", "net_cost"):
            mean, low, high = kpi_confidence_interval(key, part[key].tolist())
            row.update({key: mean, f"{key}_ci_low": low, f"{key}_ci_high": high})
        sla_met = math.isnan(row["query_sla_attainment"]) or row["query_sla_attainment"] >= sla_target
        row["within_capacity"] = bool(sla_met and row["backlog_minutes_end"] <= capacity_per_day * level.team.query_sla_days)
        rows.append(row)
    table = pd.DataFrame(rows)
    today = 1.0 if any(math.isclose(s, 1.0) for s in scales) else scales[0]
    table = _against_today(table, tidy, today=today)
    reference = scenario.team.collectors if scenario.team.collectors in teams else teams[0]
    answers = _answers(table, tidy, reference=reference, plan_scale=plan_scale)
    study = CapacityStudy(axis=axis, pins=pins, sla_target=sla_target, replications=count, seed=scenario.run.seed, levels=table,
                          per_replication=tidy, **answers)
    extra = {"capacity": {"axis": axis, "scales": scales, "pins": pins, "collectors": teams, "sla_target": sla_target, **study.answers()}}
    target = None
    if save:
        target = Path(folder) if folder is not None else Path("results") / (name or f"{scenario.name}-capacity")
    study = dataclasses.replace(study, folder=target, manifest=build_manifest(scenario, command=command, extra=extra))
    if target is not None:
        study.write(target)
    return study


def saturation_scale(levels: pd.DataFrame) -> float | None:
    """The saturation point: the largest scale within capacity below the first scale that is over it.

    None when no studied scale is over capacity (saturation is not reached in the range) and when the
    smallest scale already is (see `saturation_text`).
    """
    best = None
    for row in levels.sort_values("contact_scale").itertuples(index=False):
        if not row.within_capacity:
            return best
        best = float(row.contact_scale)
    return None


def saturation_text(levels: pd.DataFrame) -> str:
    """The saturation point in words, true to what was studied."""
    ordered = levels.sort_values("contact_scale")
    scales = ordered["contact_scale"].to_numpy(dtype=float)
    over = ~ordered["within_capacity"].to_numpy(dtype=bool)
    if not over.any():
        return f"not reached up to scale {scales[-1]:g}"
    first_over = int(np.argmax(over))
    if first_over == 0:
        return f"already over capacity at scale {scales[0]:g}, the smallest studied"
    return f"scale {scales[first_over - 1]:g} (scale {scales[first_over]:g} is over capacity)"


def _against_today(table: pd.DataFrame, tidy: pd.DataFrame, *, today: float) -> pd.DataFrame:
    """Each level's achieved contact multiplier and its paired differences from today's plan (same team).

    The achieved multiplier is the planned contacts actually sent on the scaled channels, relative to what
    today's plan sends, times today's scale: a contact cap, paused dunning or calls that wait for a
    collector until their invoice is paid all make it fall short of the requested scale.
    """
    table = table.copy()
    table["requested_scale"] = table["contact_scale"]
    achieved, capacity_trap = [], []
    diffs: dict[str, list] = {f"{key}_{part}": [] for key in PAIRED_KEYS for part in ("diff", "diff_ci_low", "diff_ci_high")}
    for row in table.itertuples(index=False):
        same_team = tidy["collectors"] == row.collectors
        base = table[(table["collectors"] == row.collectors) & np.isclose(table["contact_scale"], today)]
        sent_today = float(base["sent"].iloc[0]) if len(base) else math.nan
        achieved.append(row.sent / sent_today * today if sent_today else math.nan)
        mine, theirs = same_team & np.isclose(tidy["contact_scale"], row.contact_scale), same_team & np.isclose(tidy["contact_scale"], today)
        worse = False
        for key in PAIRED_KEYS:
            paired = paired_difference(tidy.loc[theirs, key].tolist(), tidy.loc[mine, key].tolist())
            diffs[f"{key}_diff"].append(paired["diff"])
            diffs[f"{key}_diff_ci_low"].append(paired["ci_low"])
            diffs[f"{key}_diff_ci_high"].append(paired["ci_high"])
            if key in ("dso", "past_due_amount") and row.contact_scale > today and paired["significant"] and paired["diff"] > 0:
                worse = True
        capacity_trap.append(worse)
    table["achieved_scale"] = achieved
    for key, values in diffs.items():
        table[key] = values
    table["capacity_trap"] = capacity_trap
    table["extra_work_went"] = [where_work_went(row, table, today=today) for row in table.to_dict(orient="records")]
    return table


def where_work_went(row: dict[str, Any], table: pd.DataFrame, *, today: float) -> str:
    """One sentence: where the follow-up work that more (or fewer) contacts made went, against today's plan."""
    base = table[(table["collectors"] == row["collectors"]) & np.isclose(table["contact_scale"], today)]
    if not len(base) or math.isclose(row["contact_scale"], today):
        return "today's plan"
    base = base.iloc[0]
    parts = []
    extra = row["offered_minutes_per_day"] - base["offered_minutes_per_day"]
    parts.append(f"offered work {extra:+,.0f} min/day")
    if row["utilization"] - base["utilization"] > 0.01:
        parts.append(f"utilisation {base['utilization']:.2f} -> {row['utilization']:.2f}")
    for kind, label in (("call", "calls"), ("query", "queries"), ("dispute", "disputes"), ("promise_followup", "follow-ups")):
        more_undone = row[f"undone_{kind}"] - base[f"undone_{kind}"]
        if more_undone > 0.5:
            parts.append(f"{more_undone:,.0f} more {label} left undone")
    sla, sla_base = row["query_sla_attainment"], base["query_sla_attainment"]
    if sla == sla and sla_base == sla_base and sla_base - sla > 0.02:
        parts.append(f"query SLA {sla_base:.2f} -> {sla:.2f}")
    if row.get("capacity_trap"):
        parts.append("the capacity trap: DSO or past-due receivables significantly worse")
    return "; ".join(parts)


def _best(levels: pd.DataFrame, tidy: pd.DataFrame, key: str) -> dict[str, Any]:
    """The scale with the lowest mean, its CI, and its paired difference (CRN) from the current plan.

    The current plan is scale 1 when studied, else the smallest scale. Levels share replications, so the
    paired interval says whether the best scale is really better, which the wide per-level CIs cannot.
    """
    row = levels.loc[levels[key].idxmin()]
    scales = levels["contact_scale"].to_numpy()
    current = 1.0 if np.isclose(scales, 1.0).any() else float(scales.min())
    team = int(row["collectors"])
    mine = tidy[(tidy["collectors"] == team) & np.isclose(tidy["contact_scale"], row["contact_scale"])][key].tolist()
    theirs = tidy[(tidy["collectors"] == team) & np.isclose(tidy["contact_scale"], current)][key].tolist()
    paired = paired_difference(theirs, mine)
    return {"scale": float(row["contact_scale"]), "mean": clean_number(row[key]), "ci_low": clean_number(row[f"{key}_ci_low"]),
            "ci_high": clean_number(row[f"{key}_ci_high"]), "collectors": team,
            "versus_scale": current, "diff": clean_number(paired["diff"]), "diff_ci_low": clean_number(paired["ci_low"]),
            "diff_ci_high": clean_number(paired["ci_high"])}


def _answers(table: pd.DataFrame, tidy: pd.DataFrame, *, reference: int, plan_scale: float) -> dict[str, Any]:
    by_team = {int(team): saturation_scale(part) for team, part in table.groupby("collectors")}
    own = table[table["collectors"] == reference]
    at_plan = table[np.isclose(table["contact_scale"], plan_scale)].sort_values("collectors")
    fits = at_plan[at_plan["within_capacity"]]
    trapped = table[table["capacity_trap"]]
    return {
        "reference_collectors": reference,
        "saturation_scale": by_team[reference],
        "saturation": saturation_text(own),
        "saturation_by_collectors": by_team,
        "capacity_trap": [{"contact_scale": float(r.contact_scale), "collectors": int(r.collectors), "dso_diff": clean_number(r.dso_diff),
                           "past_due_amount_diff": clean_number(r.past_due_amount_diff)} for r in trapped.itertuples(index=False)],
        "best_dso": _best(own, tidy, "dso"),
        "best_net_cost": _best(own, tidy, "net_cost"),
        "smallest_team": {"contact_scale": float(plan_scale), "collectors": int(fits["collectors"].iloc[0]) if len(fits) else None},
    }
