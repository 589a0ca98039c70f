"""`arsim compare`, `arsim sweep` and `arsim capacity`: what-if questions answered under common random numbers.

Each command checks everything it can before the first replication (its options, the KPIs it prints, the
results folder, the memory a replication needs), then calls the analysis API once and prints its result.
The analysis layer (pandas, scipy) and the charts (altair) are imported inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from arsim.cli.common import (
    add_run_options,
    check_executor,
    check_memory,
    command_line,
    format_number,
    kpi_list,
    load,
    number,
    parse_assignments,
    parse_param,
    parse_values,
    plural,
    positive,
    print_table,
    results_folder,
)
from arsim.cli.report import add_report_option, report_extra
from arsim.errors import InputError

COMPARE_FLAGS = {"kpis": "--kpis"}
"""Library argument -> flag of `arsim compare` (with the shared ones of `common.COMMON_FLAGS`)."""
SWEEP_FLAGS = {"kpis": "--kpis", "parameters": "--param"}
"""Library argument -> flag of `arsim sweep`."""
CAPACITY_FLAGS = {
    "sla_target": "--sla-target",
    "contact_scales": "--contact-scale",
    "email_scales": "--email-scale",
    "call_scales": "--call-scale",
    "collectors": "--collectors",
    "plan_scale": "--plan-scale",
}
"""Library argument -> flag of `arsim capacity`."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add compare, sweep and capacity to the command line."""
    compare = commands.add_parser("compare", help="paired comparison of policies or scenarios against a baseline (common random numbers)",
                                  description="Paired comparison of policies or scenarios against a baseline, under common random numbers.")
    compare.add_argument("scenario", help="baseline scenario YAML file")
    compare.add_argument("alternatives", nargs="*", default=[], metavar="SCENARIO", help="alternative scenario files (run with the baseline's run settings)")
    compare.add_argument("--policy", dest="policies", action="append", default=[], metavar="FILE", help="an alternative policy YAML file (repeatable)")
    compare.add_argument("--variant", dest="variants", action="append", default=[], metavar="'NAME: PATH=VALUE; PATH=VALUE'",
                         help="an alternative made of field changes to the baseline (repeatable)")
    compare.add_argument("--replications", type=positive, help="paired replications (default: the scenario's)")
    compare.add_argument("--kpis", metavar="KPI,KPI", help="KPIs in the printed table (all are saved)")
    add_run_options(compare, out="results/<scenario name>-compare", what="the tables", set_help="override a field of every scenario (repeatable)")
    add_report_option(compare)
    compare.set_defaults(handler=cmd_compare, flags=COMPARE_FLAGS, policy=None)

    sweep = commands.add_parser("sweep", help="full factorial sweep of scenario fields, mean and 95% CI per cell",
                                description="Full factorial sweep of scenario fields: the mean and 95% CI of every KPI per cell.")
    sweep.add_argument("scenario", help="scenario YAML file")
    sweep.add_argument("--param", action="append", default=[], required=True, metavar="PATH=V1,V2|START:STOP[:STEP]",
                       help="a field and its values (repeatable; ranges include STOP)")
    sweep.add_argument("--policy", help="policy YAML file replacing the scenario's policy")
    sweep.add_argument("--replications", type=positive, help="replications per cell (default: the scenario's)")
    sweep.add_argument("--kpis", metavar="KPI,KPI", help="KPIs in the printed table and chart (default dso,net_cost,query_sla_attainment; all are saved)")
    add_run_options(sweep, out="results/<scenario name>-sweep", what="the table",
                    jobs_help="worker processes for cells and replications (results do not depend on it)")
    add_report_option(sweep)
    sweep.set_defaults(handler=cmd_sweep, flags=SWEEP_FLAGS)

    cap = commands.add_parser("capacity", help="scale contact volume and team: follow-up work against collector capacity",
                              description="Scale the contact volume (and the team): can the collectors carry the follow-up work?")
    cap.add_argument("scenario", help="scenario YAML file")
    cap.add_argument("--contact-scale", metavar="START:STOP:STEP|A,B", help="scale of email, call and letter volume (default 1)")
    cap.add_argument("--email-scale", metavar="START:STOP:STEP|A,B", help="scale of email volume only (one value pins it)")
    cap.add_argument("--call-scale", metavar="START:STOP:STEP|A,B", help="scale of call volume only (one value pins it)")
    cap.add_argument("--collectors", metavar="START:STOP|A,B", help="team sizes (default: the scenario's)")
    cap.add_argument("--sla-target", type=number, default=0.8, help="share of queries that must be answered within team.query_sla_days (default 0.8)")
    cap.add_argument("--plan-scale", type=number, help="the plan whose smallest team is sought (default: the largest scale)")
    cap.add_argument("--policy", help="policy YAML file replacing the scenario's policy")
    cap.add_argument("--replications", type=positive, help="replications per level (default: the scenario's)")
    add_run_options(cap, out="results/<scenario name>-capacity", what="the table")
    add_report_option(cap)
    cap.set_defaults(handler=cmd_capacity, flags=CAPACITY_FLAGS)


# ---------------------------------------------------------------------------------------------- compare


def cmd_compare(args: argparse.Namespace) -> int:
    """Run the baseline and every alternative on the same replications and print the paired differences."""
    check_executor(args)
    from arsim.scenario.files import load_policy, load_scenario

    baseline = load(args)
    alternatives: dict[str, object] = {}
    for path in args.alternatives:
        scenario = load_scenario(path)
        if args.set:
            scenario = scenario.with_overrides(parse_assignments(args.set))
        alternatives[_unique(Path(path).stem, alternatives)] = scenario
    for path in args.policies:
        alternatives[_unique(Path(path).stem, alternatives)] = load_policy(path)
    named: set[str] = set()
    for text in args.variants:
        name, sep, assignments = text.partition(":")
        items = [item.strip() for item in assignments.split(";") if item.strip()]
        if not sep or not name.strip() or "=" in name or not items:
            raise InputError(f"--variant {text!r}: expected NAME: path.to.field=value; path.to.field=value")
        if name.strip() in named:  # two variants named alike are a slip; files that share a name are numbered instead
            raise InputError(f"--variant {name.strip()!r}: two variants have this name; give each its own")
        named.add(name.strip())
        changes = parse_assignments(items, option=f"--variant {name.strip()}")
        alternatives[_unique(name.strip(), alternatives)] = baseline.with_overrides(changes, source=f"--variant {name.strip()}")
    if not alternatives:
        raise InputError("compare: give at least one alternative: --policy FILE, --variant or a second scenario file")

    from arsim.analysis.compare import MAIN_KPIS, compare

    kpis = kpi_list(args.kpis, default=MAIN_KPIS)
    folder = results_folder(args, f"{baseline.name}-compare")
    count = baseline.run.replications if args.replications is None else args.replications
    check_memory([baseline] + [_as_run(baseline, alt) for alt in alternatives.values()], args=args, items=count * (len(alternatives) + 1))
    comparison = compare(baseline, alternatives, replications=args.replications, seed=args.seed, jobs=args.jobs, cluster=args.cluster,
                         progress=True, save=False, command=command_line(args.argv))
    comparison.write(folder, extra=report_extra(args, comparison))
    if args.json:
        print(json.dumps(comparison.to_json(), allow_nan=False))
        return 0
    print(f"{baseline.name}: {comparison.replications} paired replications (common random numbers), seed {comparison.seed}")
    for name, rows in comparison.table.groupby("alternative", sort=False):
        print(f"\n{name} vs {baseline.name}")
        rows = rows.set_index("kpi").loc[kpis].reset_index()
        rows["ci"] = [f"[{format_number(a)}, {format_number(b)}]" for a, b in zip(rows["ci_low"], rows["ci_high"])]
        rows["change"] = ["-" if math.isnan(v) else f"{100 * v:+.1f}%" for v in rows["relative_change"]]
        print_table(rows, [("kpi", "KPI", 24), ("baseline", "baseline", 14), ("alternative_mean", "alternative", 14),
                           ("diff", "difference", 14), ("ci", "95% CI", 28), ("change", "change", 9), ("significant", "significant", 13)])
    print(f"\nresults written to {folder}/" + (" (report.html, report.xlsx)" if args.report else ""))
    return 0


def _as_run(baseline, alternative):
    """An alternative as compare runs it (a policy in the baseline's world; the baseline's run settings), for
    the memory check: a policy with more contacts per invoice needs more memory than the baseline."""
    from arsim.scenario.schema import Policy

    scenario = baseline.with_policy(alternative) if isinstance(alternative, Policy) else alternative
    return scenario.model_copy(update={"run": baseline.run})


def _unique(name: str, taken: dict) -> str:
    candidate, count = name, 1
    while candidate in taken:
        count += 1
        candidate = f"{name}-{count}"
    return candidate


# ---------------------------------------------------------------------------------------------- sweep


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run every combination of the --param values and print the mean and 95% CI of the chosen KPIs per cell."""
    check_executor(args)
    scenario = load(args)
    parameters: dict[str, list] = {}
    for text in args.param:
        path, values = parse_param(text)
        if path in parameters:
            raise InputError(f"--param {path}: given twice")
        parameters[path] = values
    kpis = kpi_list(args.kpis, default=("dso", "net_cost", "query_sla_attainment"))
    folder = results_folder(args, f"{scenario.name}-sweep")

    from arsim.analysis.sweep import sweep, sweep_cells

    cells = sweep_cells(scenario, parameters)  # every cell validated (and its memory checked) before the first replication
    count = scenario.run.replications if args.replications is None else args.replications
    check_memory([cell for _, cell in cells], args=args, items=count * len(cells))
    result = sweep(scenario, parameters, replications=args.replications, seed=args.seed, jobs=args.jobs, cluster=args.cluster,
                   progress=True, save=False, command=command_line(args.argv))

    from arsim.present.charts import save_chart, sweep_chart

    more = report_extra(args, result)

    def extra(staging: Path) -> None:
        save_chart(sweep_chart(result, kpis=kpis), staging / "sweep.html")
        if more is not None:
            more(staging)

    result.write(folder, extra=extra)
    table = result.summary
    if args.json:
        print(json.dumps(result.to_json(kpis=kpis), allow_nan=False))
        return 0
    print(f"{scenario.name}: {plural(len(table), 'cell')} x {result.replications} replications, seed {result.seed} (mean and 95% CI)")
    columns = [(p, p, max(len(p) + 2, 10)) + (("g",) if table[p].dtype.kind == "f" else ()) for p in parameters]
    for key in kpis:
        table[f"{key} CI"] = [f"[{format_number(a)}, {format_number(b)}]" for a, b in zip(table[f"{key}_ci_low"], table[f"{key}_ci_high"])]
        columns += [(key, key, max(len(key) + 2, 12)), (f"{key} CI", "95% CI", 26)]
    print_table(table, columns)
    print(f"results written to {folder}/ (summary.csv, replications.csv, sweep.html" + (", report.html, report.xlsx)" if args.report else ")"))
    return 0


# ---------------------------------------------------------------------------------------------- capacity


def cmd_capacity(args: argparse.Namespace) -> int:
    """Scale contact volume (and team size) and print, level by level, whether the collectors keep up."""
    check_executor(args)
    scenario = load(args)

    def scales(text: str | None, option: str) -> list[float] | None:
        return None if text is None else [_number(v, option) for v in parse_values(text, option=option)]

    contact, email, call = (scales(args.contact_scale, "--contact-scale"), scales(args.email_scale, "--email-scale"),
                            scales(args.call_scale, "--call-scale"))
    teams = None
    if args.collectors is not None:
        teams = [_whole(v, "--collectors") for v in parse_values(args.collectors, option="--collectors")]
    folder = results_folder(args, f"{scenario.name}-capacity")
    levels = max(1, len(contact or email or call or [1])) * max(1, len(teams or [1]))
    count = scenario.run.replications if args.replications is None else args.replications
    check_memory([scenario], args=args, items=count * levels)

    from arsim.analysis.capacity import capacity

    study = capacity(scenario, contact_scales=contact, email_scales=email, call_scales=call, collectors=teams, sla_target=args.sla_target,
                     plan_scale=args.plan_scale, replications=args.replications, seed=args.seed, jobs=args.jobs, cluster=args.cluster,
                     progress=True, save=False, command=command_line(args.argv))

    from arsim.present.charts import capacity_chart, save_chart

    more = report_extra(args, study)

    def extra(staging: Path) -> None:
        save_chart(capacity_chart(study), staging / "capacity.html")
        if more is not None:
            more(staging)

    study.write(folder, extra=extra)
    table = study.levels
    answer = study.to_json()
    if args.json:
        print(json.dumps(answer, allow_nan=False))
        return 0
    scaled = {"contact": "email, call and letter", "email": "email", "call": "call"}[answer["scaled"]]
    print(f"{scenario.name}: {scaled} volume x scale, {study.replications} replications per level, "
          f"seed {study.seed}; within capacity = SLA attainment >= {args.sla_target:g} and end backlog clearable within the SLA")
    print_table(table, [("contact_scale", "asked", 7, "g"), ("achieved_scale", "sent", 7, ".2f"), ("collectors", "team", 6),
                        ("contacts", "contacts", 10), ("replies", "replies", 9),
                        ("offered_minutes_per_day", "offered/day", 13, ",.0f"), ("capacity_minutes_per_day", "capacity/day", 14, ",.0f"),
                        ("utilization", "util", 8, ".3f"), ("backlog_end", "backlog", 9, ".1f"), ("query_wait_days", "wait d", 8, ".2f"),
                        ("query_sla_attainment", "SLA", 7, ".3f"), ("dso", "DSO", 8, ".1f"), ("past_due_amount", "past due", 12),
                        ("net_cost", "net cost", 12), ("within_capacity", "within", 8)])
    print("\nwhere the work goes (per level, over the measured period: offered / done / left undone)")
    work = table.copy()
    for kind, label in (("query", "queries"), ("dispute", "disputes"), ("promise_followup", "follow-ups"), ("call", "calls")):
        work[label] = [f"{o:,.0f} / {d:,.0f} / {u:,.0f}" for o, d, u in zip(work[f"offered_{kind}"], work[f"done_{kind}"], work[f"undone_{kind}"])]
    for key, label in (("dso", "DSO vs today"), ("past_due_amount", "past due vs today")):
        work[label] = [f"{format_number(d)} [{format_number(lo)}, {format_number(hi)}]"
                       for d, lo, hi in zip(work[f"{key}_diff"], work[f"{key}_diff_ci_low"], work[f"{key}_diff_ci_high"])]
    print_table(work, [("contact_scale", "asked", 7, "g"), ("collectors", "team", 6), ("queries", "queries", 22), ("disputes", "disputes", 20),
                       ("follow-ups", "follow-ups", 20), ("calls", "calls", 24), ("DSO vs today", "DSO vs today (paired 95% CI)", 32),
                       ("past due vs today", "past due vs today", 36)])
    for row in table.to_dict(orient="records"):
        if row["extra_work_went"] != "today's plan":
            print(f"  scale {row['contact_scale']:g}, {plural(int(row['collectors']), 'collector')}: {row['extra_work_went']}")
    short = table[table["achieved_scale"] < 0.8 * table["requested_scale"]]
    if len(short):
        worst = short.loc[(short["achieved_scale"] / short["requested_scale"]).idxmin()]
        reasons = {reason: worst[f"not_sent_{reason}"] for reason in ("contact_cap", "paused", "awaiting_collector")}
        top = max(reasons, key=reasons.get)
        print(f"arsim: warning: the plan delivers much less than it asks: scale {worst['requested_scale']:g} sends {worst['achieved_scale']:.2f}x "
              f"today's contacts with {plural(int(worst['collectors']), 'collector')}; most contacts not sent were {top.replace('_', ' ')} "
              f"({reasons[top]:,.0f})", file=sys.stderr)
    reference = answer["reference_collectors"]
    print(f"\nsaturation point ({plural(reference, 'collector')}): {answer['saturation']}")
    if answer["capacity_trap"]:
        trapped = ", ".join(f"scale {t['contact_scale']:g} with {plural(t['collectors'], 'collector')}" for t in answer["capacity_trap"])
        print(f"capacity trap: more contacts make DSO or past-due receivables significantly worse at {trapped}")
    else:
        print("capacity trap: none (no level with more contacts than today has significantly worse DSO or past-due receivables)")
    for key, label in (("best_dso", "DSO"), ("best_net_cost", "net cost")):
        best = answer[key]
        print(f"best scale for {label} ({plural(reference, 'collector')}): {best['scale']:g} ({format_number(best['mean'])}, "
              f"95% CI [{format_number(best['ci_low'])}, {format_number(best['ci_high'])}]; vs scale {best['versus_scale']:g}: "
              f"{format_number(best['diff'])}, paired 95% CI [{format_number(best['diff_ci_low'])}, {format_number(best['diff_ci_high'])}])")
    team = answer["smallest_team"]
    if teams is not None and len(teams) > 1:
        from arsim.analysis.capacity import saturation_text

        by_team = [f"{plural(int(size), 'collector')}: {saturation_text(part)}" for size, part in table.groupby("collectors")]
        print("saturation point by team size: " + "; ".join(by_team))
        print(f"smallest team within capacity at scale {team['contact_scale']:g}: "
              + (plural(team["collectors"], "collector") if team["collectors"] is not None else "none in the range"))
    print(f"results written to {folder}/ (levels.csv, replications.csv, capacity.html" + (", report.html, report.xlsx)" if args.report else ")"))
    return 0


def _number(value: object, option: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{option}: {value!r} is not a number")
    return float(value)


def _whole(value: object, option: str) -> int:
    value = _number(value, option)
    if not value.is_integer():
        raise InputError(f"{option}: {value!r} is not a whole number")
    return int(value)
