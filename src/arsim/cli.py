"""The command-line front end: parse arguments, call the public API, print. No logic of its own."""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from pathlib import Path
from typing import Sequence

import yaml

from arsim.scenario import InputError, Scenario, load_scenario


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other input error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{self.prog}: {message}")


def _parse_assignments(items: Sequence[str]) -> dict[str, object]:
    """``path.to.field=value`` pairs; values are read as YAML scalars (numbers, true/false, null, lists)."""
    assignments: dict[str, object] = {}
    for item in items:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise InputError(f"--set {item!r}: expected path.to.field=value")
        try:
            assignments[path.strip()] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            raise InputError(f"--set {item!r}: value is not valid YAML") from None
    return assignments


def _load(args: argparse.Namespace) -> Scenario:
    scenario = load_scenario(args.scenario, policy=args.policy)
    if getattr(args, "set", None):
        scenario = scenario.with_overrides(_parse_assignments(args.set))
    return scenario


def _whole_number(minimum: int):
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


_positive = _whole_number(1)
_non_negative = _whole_number(0)


def _format(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1 or magnitude == 0:
        return f"{value:.3f}"
    return f"{value:.3g}"  # shares and ratios: three significant digits


def _cmd_run(args: argparse.Namespace) -> int:
    from arsim.experiment import kpis_json, run_experiment, write_results

    scenario = _load(args)
    command = "arsim " + " ".join(shlex.quote(a) for a in args.argv)
    result = run_experiment(scenario, replications=args.replications, seed=args.seed, jobs=args.jobs, progress=True, command=command)
    folder = Path(args.out) if args.out else Path("results") / scenario.name
    write_results(result, folder)
    if args.json:
        print(json.dumps(kpis_json(result), allow_nan=False))
        return 0
    summary = result.summary
    n = result.scenario.run.replications
    print(f"{scenario.name}: {n} replication{'s' if n != 1 else ''}, seed {result.scenario.run.seed}, "
          f"{scenario.run.horizon_days} days after {scenario.run.warmup_days} days warm-up")
    print(f"{'KPI':<26}{'mean':>16}{'95% CI':>32}")
    for key, row in summary.iterrows():
        ci = f"[{_format(row['ci_low'])}, {_format(row['ci_high'])}]" if n > 1 else ""
        print(f"{key:<26}{_format(row['mean']):>16}{ci:>32}")
    print(f"results written to {folder}/")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    scenario = _load(args)
    segments = scenario.portfolio.segments
    collectors = scenario.team.collectors
    print(f"{args.scenario}: valid ({len(segments)} segment{'s' if len(segments) != 1 else ''}, "
          f"{sum(s.customers for s in segments)} customers, {collectors} collector{'s' if collectors != 1 else ''}, policy {scenario.policy.name!r})")
    return 0


def _cmd_fields(args: argparse.Namespace) -> int:
    from arsim.scenario import field_reference, field_reference_markdown

    if args.markdown:
        print(field_reference_markdown(), end="")
        return 0
    for row in field_reference():
        print(f"{row['path']}  [{row['default']}]  {row['description']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="arsim", description="Simulate B2B receivables and collections policy.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="simulate a scenario and print its KPIs with 95% confidence intervals")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--policy", help="policy YAML file replacing the scenario's policy")
    run.add_argument("--replications", type=_positive, help="number of replications (default: the scenario's)")
    run.add_argument("--seed", type=_non_negative, help="seed (default: the scenario's)")
    run.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override a field, e.g. team.collectors=4 (repeatable)")
    run.add_argument("--out", help="results folder (default: results/<scenario name>)")
    run.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    run.add_argument("--jobs", type=_positive, default=1, help="worker processes (results do not depend on it)")
    run.set_defaults(handler=_cmd_run)

    validate = commands.add_parser("validate", help="check a scenario file; runs nothing")
    validate.add_argument("scenario", help="scenario YAML file")
    validate.add_argument("--policy", help="policy YAML file replacing the scenario's policy")
    validate.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override a field (repeatable)")
    validate.set_defaults(handler=_cmd_validate)

    fields = commands.add_parser("fields", help="list every scenario field with its default and description")
    fields.add_argument("--markdown", action="store_true", help="print docs/scenario.md")
    fields.set_defaults(handler=_cmd_fields)
    return parser


def main(argv: Sequence[str] | None = None) -> int:  # noqa: D401
    """Entry point of the ``arsim`` command; returns the exit code (2 for bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        args.argv = argv
        return args.handler(args)
    except InputError as error:
        print(f"arsim: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("arsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
