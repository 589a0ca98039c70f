"""`arsim run`, `arsim validate` and `arsim fields`: one scenario simulated, checked, or described.

Only `run` simulates, and it imports the experiment layer (numpy, pandas, simpy) inside its handler;
`validate` and `fields` load nothing heavier than the scenario schema, so they answer at once.
"""

from __future__ import annotations

import argparse
import json
import sys

from arsim.cli.common import (
    add_run_options,
    check_executor,
    check_memory,
    command_line,
    format_number,
    fraction,
    load,
    plural,
    positive,
    results_folder,
    whole_or_auto,
)
from arsim.cli.report import add_report_option, report_extra
from arsim.errors import InputError

RUN_FLAGS = {
    "kpis": "--precision-kpis",
    "precision": "--precision",
    "max_replications": "--max-replications",
}
"""Library argument -> flag of `arsim run` (with the shared ones of `common.COMMON_FLAGS`)."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add run, validate and fields to the command line."""
    run = commands.add_parser("run", help="simulate a scenario and print its KPIs with 95% confidence intervals",
                              description="Simulate a scenario and print its KPIs with 95% confidence intervals.")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--policy", help="policy YAML file replacing the scenario's policy")
    run.add_argument("--replications", type=whole_or_auto,
                     help="number of replications (default: the scenario's), or auto: add replications until --precision is met")
    run.add_argument("--precision", type=fraction,
                     help="with --replications auto: target 95% CI half-width as a share of |mean| (default 0.02)")
    run.add_argument("--precision-kpis", metavar="KPI,KPI", help="with --replications auto: KPIs that must reach the precision (default dso)")
    run.add_argument("--max-replications", type=positive, help="with --replications auto: stop here even if not precise (default 100)")
    add_run_options(run, out="results/<scenario name>", what="the table")
    add_report_option(run)
    run.set_defaults(handler=cmd_run, flags=RUN_FLAGS)

    validate = commands.add_parser("validate", help="check a scenario file; runs nothing",
                                   description="Check a scenario file (and its policy and overrides); runs nothing.")
    validate.add_argument("scenario", help="scenario YAML file")
    validate.add_argument("--policy", help="policy YAML file replacing the scenario's policy")
    validate.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override a field (repeatable)")
    validate.set_defaults(handler=cmd_validate)

    fields = commands.add_parser("fields", help="list every scenario field with its default and description",
                                 description="List every scenario field with its default and description.")
    fields.add_argument("--markdown", action="store_true", help="print docs/scenario.md")
    fields.set_defaults(handler=cmd_fields)


AUTO_OPTIONS = ("precision", "precision_kpis", "max_replications")
"""The options that only --replications auto uses."""


def _auto_options(args: argparse.Namespace) -> None:
    """Refuse an auto-only option given without --replications auto (it would be silently ignored), then fill
    in the defaults, which are `run_experiment_auto`'s."""
    from arsim.experiment.arguments import AUTO_KPIS, AUTO_MAX_REPLICATIONS, AUTO_PRECISION

    defaults = {"precision": AUTO_PRECISION, "precision_kpis": ",".join(AUTO_KPIS), "max_replications": AUTO_MAX_REPLICATIONS}
    if args.replications != "auto":
        given = [name for name in AUTO_OPTIONS if getattr(args, name) is not None]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise InputError(f"{flag}: only with --replications auto (it sets when adding replications stops)")
    for name, default in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, default)


def cmd_run(args: argparse.Namespace) -> int:
    """Simulate replications of one scenario, write its results folder and print the KPI table (or JSON)."""
    check_executor(args)
    _auto_options(args)
    scenario = load(args)
    folder = results_folder(args, scenario.name)
    count = scenario.run.replications if args.replications is None else args.replications
    check_memory([scenario], args=args, items=args.max_replications if count == "auto" else count)

    from arsim.experiment.replications import run_experiment, run_experiment_auto

    command = command_line(args.argv)
    if args.replications == "auto":
        kpis = [k.strip() for k in args.precision_kpis.split(",") if k.strip()]
        result = run_experiment_auto(scenario, precision=args.precision, kpis=kpis, max_replications=args.max_replications,
                                     seed=args.seed, jobs=args.jobs, cluster=args.cluster, progress=True, command=command)
        _report_auto(result.diagnostics["auto_replications"])
    else:
        result = run_experiment(scenario, replications=args.replications, seed=args.seed, jobs=args.jobs, cluster=args.cluster,
                                progress=True, command=command, warmup_check=True)
    _report_warmup(result.diagnostics.get("warmup", {}))
    _report_delivery(result.summary["mean"])
    result.write(folder, extra=report_extra(args, result))
    if args.json:
        print(json.dumps(result.to_json(), allow_nan=False))
        return 0
    n = result.scenario.run.replications
    print(f"{scenario.name}: {plural(n, 'replication')}, seed {result.scenario.run.seed}, "
          f"{scenario.run.horizon_days} days after {scenario.run.warmup_days} days warm-up")
    width = max(26, *(len(str(key)) + 2 for key in result.summary.index))
    print(f"{'KPI':<{width}}{'mean':>16}{'95% CI':>32}")
    for key, row in result.summary.iterrows():
        ci = f"[{format_number(row['ci_low'])}, {format_number(row['ci_high'])}]" if n > 1 else ""
        print(f"{key:<{width}}{format_number(row['mean']):>16}{ci:>32}")
    print(f"results written to {folder}/" + (" (with report.html, report.xlsx)" if args.report else ""))
    return 0


def _report_auto(auto: dict) -> None:
    widths = ", ".join(f"{k} {format_number(100 * v) if v is not None else '-'}%" for k, v in auto["relative_half_width"].items())
    if auto["reached"]:
        print(f"arsim: {auto['replications']} replications reached the precision of {100 * auto['precision']:g}% "
              f"(95% CI half-width / mean: {widths})", file=sys.stderr)
    else:
        print(f"arsim: warning: precision of {100 * auto['precision']:g}% not reached after {auto['replications']} replications "
              f"(--max-replications); 95% CI half-width / mean: {widths}", file=sys.stderr)


DELIVERY_WARNING_SHARE = 0.8
"""Below this share of planned contacts delivered, `arsim run` says so (and why) in one line."""


def _report_delivery(means) -> None:
    """One line when the contact plan delivers much less than it asks, naming what held the rest back."""
    share = means.get("contacts_delivered_share")
    if share is None or share != share or share >= DELIVERY_WARNING_SHARE:
        return
    from arsim.scenario.schema import CHANNELS
    from arsim.sim.rules import SKIP_REASONS

    counts = {(channel, reason): means[f"contacts_not_sent_{channel}_{reason}"] for channel in CHANNELS for reason in SKIP_REASONS}
    channel, reason = max(counts, key=counts.get)
    hint = {"overtaken": "the contact cap held them until the next step was due (see policy.dunning.min_days_by_channel)",
            "contact_cap": "the contact cap held them until the invoice was paid", "paused": "a query or dispute was open",
            "awaiting_collector": "no collector got to the call before the invoice was paid"}[reason]
    print(f"arsim: warning: the contact plan delivers {100 * share:.0f}% of the contacts it plans; most not sent: "
          f"{counts[(channel, reason)]:,.0f} {channel}s per replication in the measured period, because {hint}", file=sys.stderr)


def _report_warmup(warmup: dict) -> None:
    if warmup.get("too_short"):
        print(f"arsim: warning: a warm-up of {warmup['configured_days']} days looks too short: MSER-5 on the daily open-AR "
              f"series suggests {warmup['suggested_days']} days (--set run.warmup_days={warmup['suggested_days']})", file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    """Load a scenario with its policy and overrides and say what it holds, so a file can be checked before a run."""
    scenario = load(args)
    segments = scenario.portfolio.segments
    collectors = scenario.team.collectors
    print(f"{args.scenario}: valid ({plural(len(segments), 'segment')}, {sum(s.customers for s in segments)} customers, "
          f"{plural(collectors, 'collector')}, policy {scenario.policy.name!r})")
    return 0


def cmd_fields(args: argparse.Namespace) -> int:
    """Print every scenario field with its default and description (or docs/scenario.md with --markdown)."""
    from arsim.scenario.reference import field_reference, field_reference_markdown

    if args.markdown:
        print(field_reference_markdown(), end="")
        return 0
    for row in field_reference():
        print(f"{row['path']}  [{row['default']}]  {row['description']}")
    return 0
