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

from arsim.errors import InputError
from arsim.scenario.files import load_scenario
from arsim.scenario.schema import Scenario


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


def _replications(text: str) -> int | str:
    """A whole number of replications, or ``auto`` (add replications until --precision is met)."""
    return "auto" if text.strip().lower() == "auto" else _positive(text)


def _share_between(low: float, high: float, *, closed: bool):
    """An argparse type: a number in [low, high] (closed) or (low, high) (open)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        inside = low <= value <= high if closed else low < value < high
        if not inside:
            raise argparse.ArgumentTypeError(f"must lie between {low:g} and {high:g}, got {text}")
        return value

    return parse


_precision = _share_between(0.0, 1.0, closed=False)
_share = _share_between(0.0, 1.0, closed=True)


def _command(args: argparse.Namespace) -> str:
    """The command line as typed, for the manifest."""
    return "arsim " + " ".join(shlex.quote(a) for a in args.argv)


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
    from arsim.experiment.replications import run_experiment, run_experiment_auto
    from arsim.experiment.results import write_results

    scenario = _load(args)
    command = "arsim " + " ".join(shlex.quote(a) for a in args.argv)
    if args.replications == "auto":
        kpis = [k.strip() for k in args.precision_kpis.split(",") if k.strip()]
        result = run_experiment_auto(scenario, precision=args.precision, kpis=kpis, max_replications=args.max_replications,
                                     seed=args.seed, jobs=args.jobs, progress=True, command=command)
        _report_auto(result.diagnostics["auto_replications"])
    else:
        result = run_experiment(scenario, replications=args.replications, seed=args.seed, jobs=args.jobs, progress=True,
                                command=command, warmup_check=True)
    _report_warmup(result.diagnostics.get("warmup", {}))
    folder = Path(args.out) if args.out else Path("results") / scenario.name
    write_results(result, folder)
    if args.json:
        print(json.dumps(result.to_json(), allow_nan=False))
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


def _report_auto(auto: dict) -> None:
    widths = ", ".join(f"{k} {_format(100 * v) if v is not None else '-'}%" for k, v in auto["relative_half_width"].items())
    if auto["reached"]:
        print(f"arsim: {auto['replications']} replications reached the precision of {100 * auto['precision']:g}% "
              f"(95% CI half-width / mean: {widths})", file=sys.stderr)
    else:
        print(f"arsim: warning: precision of {100 * auto['precision']:g}% not reached after {auto['replications']} replications "
              f"(--max-replications); 95% CI half-width / mean: {widths}", file=sys.stderr)


def _report_warmup(warmup: dict) -> None:
    if warmup.get("too_short"):
        print(f"arsim: warning: a warm-up of {warmup['configured_days']} days looks too short: MSER-5 on the daily open-AR "
              f"series suggests {warmup['suggested_days']} days (--set run.warmup_days={warmup['suggested_days']})", file=sys.stderr)


def _print_table(frame, columns: list[tuple]) -> None:
    """Rows of a DataFrame as a fixed-width table: (column, heading, width[, format spec such as "g"])."""
    print("".join(f"{spec[1]:>{spec[2]}}" if i else f"{spec[1]:<{spec[2]}}" for i, spec in enumerate(columns)))
    for row in frame.to_dict(orient="records"):
        cells = []
        for i, (column, _, width, *fmt) in enumerate(columns):
            value = row[column]
            if isinstance(value, str):
                text = value
            elif isinstance(value, bool):
                text = "yes" if value else "no"
            elif fmt and value is not None and value == value:
                text = format(value, fmt[0])
            elif frame[column].dtype.kind in "iu":
                text = str(int(value))
            else:
                text = _format(value)
            cells.append(f"{text:>{width}}" if i else f"{text:<{width}}")
        print("".join(cells))


def _cmd_compare(args: argparse.Namespace) -> int:
    from arsim.analysis.compare import MAIN_KPIS, compare
    from arsim.scenario.files import load_policy

    baseline = _load(args)
    alternatives: dict[str, object] = {}
    for path in args.alternatives:
        scenario = load_scenario(path)
        if args.set:
            scenario = scenario.with_overrides(_parse_assignments(args.set))
        alternatives[_unique(Path(path).stem, alternatives)] = scenario
    for path in args.policies:
        alternatives[_unique(Path(path).stem, alternatives)] = load_policy(path)
    for text in args.variants:
        name, sep, assignments = text.partition(":")
        items = [item.strip() for item in assignments.split(";") if item.strip()]
        if not sep or not name.strip() or "=" in name or not items:
            raise InputError(f"--variant {text!r}: expected NAME: path.to.field=value; path.to.field=value")
        changes = _parse_assignments(items)
        alternatives[_unique(name.strip(), alternatives)] = baseline.with_overrides(changes, source=f"--variant {name.strip()}")
    if not alternatives:
        raise InputError("compare: give at least one alternative: --policy FILE, --variant or a second scenario file")
    kpis = _kpi_list(args.kpis, default=MAIN_KPIS)
    comparison = compare(baseline, alternatives, replications=args.replications, seed=args.seed, jobs=args.jobs, progress=True,
                    folder=args.out, command=_command(args))
    if args.json:
        print(json.dumps(comparison.to_json(), allow_nan=False))
        return 0
    print(f"{baseline.name}: {comparison.replications} paired replications (common random numbers), seed {comparison.seed}")
    for name, rows in comparison.table.groupby("alternative", sort=False):
        print(f"\n{name} vs {baseline.name}")
        rows = rows.set_index("kpi").loc[kpis].reset_index()
        rows["ci"] = [f"[{_format(a)}, {_format(b)}]" for a, b in zip(rows["ci_low"], rows["ci_high"])]
        rows["change"] = [f"{100 * v:+.1f}%" if v == v else "-" for v in rows["relative_change"]]
        _print_table(rows, [("kpi", "KPI", 24), ("baseline", "baseline", 14), ("alternative_mean", "alternative", 14),
                            ("diff", "difference", 14), ("ci", "95% CI", 28), ("change", "change", 9), ("significant", "significant", 13)])
    print(f"\nresults written to {comparison.folder}/")
    return 0


def _unique(name: str, taken: dict) -> str:
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}-{number}"
    return candidate


def _kpi_list(text: str | None, *, default: Sequence[str]) -> list[str]:
    from arsim.measure.simulated import KPI_KEYS

    if not text:
        return list(default)
    kpis = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kpis if k not in KPI_KEYS]
    if unknown or not kpis:
        raise InputError(f"--kpis: unknown KPI(s) {unknown}; see the KPI table in README.md")
    return kpis


def _cmd_sweep(args: argparse.Namespace) -> int:
    from arsim.analysis.sweep import parse_param, sweep
    from arsim.present.charts import save_chart, sweep_chart

    scenario = _load(args)
    parameters: dict[str, list] = {}
    for text in args.param:
        path, values = parse_param(text)
        if path in parameters:
            raise InputError(f"--param {path}: given twice")
        parameters[path] = values
    kpis = _kpi_list(args.kpis, default=("dso", "net_cost", "query_sla_attainment"))
    result = sweep(scenario, parameters, replications=args.replications, seed=args.seed, jobs=args.jobs, progress=True,
                  folder=args.out, command=_command(args))
    folder = result.folder
    table = result.summary
    save_chart(sweep_chart(table, parameters=list(parameters), kpis=kpis), folder / "sweep.html")
    if args.json:
        print(json.dumps(result.to_json(kpis=kpis), allow_nan=False))
        return 0
    cells = len(table)
    print(f"{scenario.name}: {cells} cell{'s' if cells != 1 else ''} x {result.replications} replications, seed {result.seed} (mean and 95% CI)")
    columns = [(p, p, max(len(p) + 2, 10)) + (("g",) if table[p].dtype.kind == "f" else ()) for p in parameters]
    for key in kpis:
        table[f"{key} CI"] = [f"[{_format(a)}, {_format(b)}]" for a, b in zip(table[f"{key}_ci_low"], table[f"{key}_ci_high"])]
        columns += [(key, key, max(len(key) + 2, 12)), (f"{key} CI", "95% CI", 26)]
    _print_table(table, columns)
    print(f"results written to {folder}/ (summary.csv, replications.csv, sweep.html)")
    return 0


def _cmd_capacity(args: argparse.Namespace) -> int:
    from arsim.analysis.capacity import capacity
    from arsim.analysis.sweep import parse_values
    from arsim.present.charts import capacity_chart, save_chart

    scenario = _load(args)

    def scales(text: str | None, option: str) -> list[float] | None:
        return None if text is None else [_number(v, option) for v in parse_values(text, option=option)]

    teams = None
    if args.collectors is not None:
        teams = [_whole(v, "--collectors") for v in parse_values(args.collectors, option="--collectors")]
    study = capacity(scenario, contact_scales=scales(args.contact_scale, "--contact-scale"), email_scales=scales(args.email_scale, "--email-scale"),
                     call_scales=scales(args.call_scale, "--call-scale"), collectors=teams, sla_target=args.sla_target,
                     plan_scale=args.plan_scale, replications=args.replications, seed=args.seed, jobs=args.jobs, progress=True,
                     folder=args.out, command=_command(args))
    folder = study.folder
    table = study.levels
    save_chart(capacity_chart(table), folder / "capacity.html")
    answer = study.to_json()
    if args.json:
        print(json.dumps(answer, allow_nan=False))
        return 0
    scaled = {"contact": "email, call and letter", "email": "email", "call": "call"}[answer["scaled"]]
    print(f"{scenario.name}: {scaled} volume x scale, {study.replications} replications per level, "
          f"seed {study.seed}; within capacity = SLA attainment >= {args.sla_target:g} and end backlog clearable within the SLA")
    _print_table(table, [("contact_scale", "scale", 7, "g"), ("collectors", "team", 6), ("contacts", "contacts", 10), ("replies", "replies", 9),
                         ("offered_minutes_per_day", "offered/day", 13, ",.0f"), ("capacity_minutes_per_day", "capacity/day", 14, ",.0f"),
                         ("utilization", "util", 8, ".3f"), ("backlog_end", "backlog", 9, ".1f"), ("query_wait_days", "wait d", 8, ".2f"),
                         ("query_sla_attainment", "SLA", 7, ".3f"), ("dso", "DSO", 8, ".1f"), ("past_due_amount", "past due", 12),
                         ("net_cost", "net cost", 12), ("within_capacity", "within", 8)])
    saturation = answer["saturation_scale"]
    reference = answer["reference_collectors"]
    if saturation is None:
        print(f"saturation point ({_collectors(reference)}): none: the smallest scale is already over capacity")
    elif saturation >= table["contact_scale"].max():
        print(f"saturation point ({_collectors(reference)}): beyond the range: within capacity up to the largest scale, {saturation:g}")
    else:
        print(f"saturation point ({_collectors(reference)}): scale {saturation:g}")
    for key, label in (("best_dso", "DSO"), ("best_net_cost", "net cost")):
        best = answer[key]
        print(f"best scale for {label} ({_collectors(reference)}): {best['scale']:g} ({_format(best['mean'])}, 95% CI [{_format(best['ci_low'])}, "
              f"{_format(best['ci_high'])}]; vs scale {best['versus_scale']:g}: {_format(best['diff'])}, paired 95% CI "
              f"[{_format(best['diff_ci_low'])}, {_format(best['diff_ci_high'])}])")
    team = answer["smallest_team"]
    if teams is not None and len(teams) > 1:
        largest = table["contact_scale"].max()
        by_team = [f"{_collectors(int(size))}: " + ("none" if value is None else f"beyond {value:g}" if value >= largest else f"{value:g}")
                   for size, value in answer["saturation_by_collectors"].items()]
        print("saturation point by team size: " + "; ".join(by_team))
        print(f"smallest team within capacity at scale {team['contact_scale']:g}: " + (_collectors(team["collectors"]) if team["collectors"] is not None else "none in the range"))
    print(f"results written to {folder}/ (levels.csv, replications.csv, capacity.html)")
    return 0


def _collectors(count: int) -> str:
    return f"{count} collector{'s' if count != 1 else ''}"


def _number(value: object, option: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{option}: {value!r} is not a number")
    return float(value)


def _whole(value: object, option: str) -> int:
    number = _number(value, option)
    if not number.is_integer():
        raise InputError(f"{option}: {value!r} is not a whole number")
    return int(number)


def _cmd_validate(args: argparse.Namespace) -> int:
    scenario = _load(args)
    segments = scenario.portfolio.segments
    collectors = scenario.team.collectors
    print(f"{args.scenario}: valid ({len(segments)} segment{'s' if len(segments) != 1 else ''}, "
          f"{sum(s.customers for s in segments)} customers, {collectors} collector{'s' if collectors != 1 else ''}, policy {scenario.policy.name!r})")
    return 0


def _cmd_fields(args: argparse.Namespace) -> int:
    from arsim.scenario.reference import field_reference, field_reference_markdown

    if args.markdown:
        print(field_reference_markdown(), end="")
        return 0
    for row in field_reference():
        print(f"{row['path']}  [{row['default']}]  {row['description']}")
    return 0


def _read_ledger(args: argparse.Namespace):
    """The ledger named on the command line, with its mapping; dropped rows are reported on stderr."""
    from arsim.ledger.read import LedgerError, LedgerMapping, load_ledger, load_mapping

    mapping = load_mapping(args.mapping) if args.mapping else LedgerMapping()
    columns = dict(mapping.columns)
    for item in args.map:
        source, sep, canonical = item.partition("=")
        if not sep or not source.strip() or not canonical.strip():
            raise LedgerError(f"--map {item!r}: expected SOURCE=canonical, e.g. --map KUNNR=customer_id")
        columns[source.strip()] = canonical.strip()
    mapping = LedgerMapping(columns=columns, date_format=args.date_format or mapping.date_format)
    loaded = load_ledger(args.ledger, mapping=mapping, drop_invalid=args.drop_invalid)
    ledger, dropped = loaded.invoices, loaded.dropped
    if dropped:
        listed = ", ".join(f"{problem}: {count:,}" for problem, count in dropped.items())
        print(f"arsim: dropped {sum(dropped.values()):,} row problem(s) from {Path(args.ledger).name} ({listed})", file=sys.stderr)
    return ledger


def _add_ledger_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ledger", help="receivables export: CSV, CSV.gz or XLSX")
    parser.add_argument("--map", action="append", default=[], metavar="SOURCE=canonical", help="map a column, e.g. --map KUNNR=customer_id (repeatable)")
    parser.add_argument("--mapping", help="mapping YAML file {columns: {SOURCE: canonical}, date_format: ...}")
    parser.add_argument("--date-format", help="strptime format of every date column, e.g. %%d.%%m.%%Y (default: detected)")
    parser.add_argument("--drop-invalid", action="store_true", help="leave out rows with problems (counts on stderr) instead of failing")


def _cmd_kpis(args: argparse.Namespace) -> int:
    from arsim.measure.ledger_kpis import ledger_kpis

    ledger = _read_ledger(args)
    measured = ledger_kpis(ledger, as_of=args.as_of, period=args.period)
    frame = measured.series
    result = measured.to_json()
    for note in result["notes"]:
        print(f"arsim: note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps({"as_of": result["as_of"], "kpis": result["kpis"], "notes": result["notes"]}, allow_nan=False))
        return 0
    last = frame.iloc[-1]
    print(f"{Path(args.ledger).name}: KPIs as of {result['as_of']} over the {args.period} "
          f"{last['period_start']:%Y-%m-%d} .. {last['period_end']:%Y-%m-%d}")
    for key, value in result["kpis"].items():
        if key == "aging":
            print(f"{'aging':<24}" + "  ".join(f"{b}: {_format(v)}" for b, v in value.items()))
        else:
            print(f"{key:<24}{_format(value):>14}")
    print(f"{'bad_debt_ratio':<24}{_format(last['bad_debt_ratio']):>14}")
    series = frame[["period_end", "dso", "dso_countback", "cei", "pct_past_due", "share_paid_late", "avg_days_late_paid"]]
    print()
    print(f"{args.period}ly series (period ending):")
    print(f"{'period_end':<12}" + "".join(f"{c:>20}" for c in series.columns[1:]))
    for _, row in series.iterrows():
        print(f"{row['period_end']:%Y-%m-%d}  " + "".join(f"{_format(row[c]):>20}" for c in series.columns[1:]))
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from arsim.ledger.calibrate.fit import fit_ledger
    from arsim.ledger.calibrate.report import calibration_markdown
    from arsim.scenario.files import dump_yaml

    ledger = _read_ledger(args)
    segments: str | int = args.segments if args.segments == "auto" else _positive(args.segments)
    name = args.name or Path(args.output).stem
    calibration = fit_ledger(ledger, segments=segments, name=name, seed=args.seed)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Fitted by: arsim {' '.join(shlex.quote(a) for a in args.argv)}\n# See calibration.md next to this file.\n"
    output.write_text(header + dump_yaml(calibration.scenario), encoding="utf-8")
    report = output.parent / "calibration.md"
    report.write_text(calibration_markdown(calibration, source=Path(args.ledger).name), encoding="utf-8")
    for note in calibration.notes:
        print(f"arsim: note: {note}", file=sys.stderr)
    o, s = calibration.observed, calibration.simulated
    print(f"{output}: {len(calibration.scenario.portfolio.segments)} segment(s), "
          f"{sum(seg.customers for seg in calibration.scenario.portfolio.segments):,} customers; report {report}")
    print(f"{'statistic':<36}{'observed':>10}{'simulated':>11}")
    from arsim.ledger.calibrate.report import comparison_rows

    for label, observed, simulated in comparison_rows(o, s):
        print(f"{label:<36}{observed:>10}{simulated:>11}")
    return 0


def _add_run_options(
    parser: argparse.ArgumentParser, *, out: str, what: str, set_help: str = "override a field, e.g. team.collectors=4 (repeatable)",
    jobs_help: str = "worker processes (results do not depend on it)",
) -> None:
    """The options every simulating command shares: --seed, --set, --out, --json, --jobs."""
    parser.add_argument("--seed", type=_non_negative, help="seed (default: the scenario's)")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help=set_help)
    parser.add_argument("--out", help=f"results folder (default: {out})")
    parser.add_argument("--json", action="store_true", help=f"print one JSON object instead of {what}")
    parser.add_argument("--jobs", type=_positive, default=1, help=jobs_help)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="arsim", description="Simulate B2B receivables and collections policy.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="simulate a scenario and print its KPIs with 95% confidence intervals")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--policy", help="policy YAML file replacing the scenario's policy")
    run.add_argument("--replications", type=_replications, help="number of replications (default: the scenario's), or auto: add replications until --precision is met")
    run.add_argument("--precision", type=_precision, default=0.02, help="with --replications auto: target 95%% CI half-width as a share of |mean| (default 0.02)")
    run.add_argument("--precision-kpis", default="dso", metavar="KPI,KPI", help="with --replications auto: KPIs that must reach the precision (default dso)")
    run.add_argument("--max-replications", type=_positive, default=100, help="with --replications auto: stop here even if not precise (default 100)")
    _add_run_options(run, out="results/<scenario name>", what="the table")
    run.set_defaults(handler=_cmd_run)

    validate = commands.add_parser("validate", help="check a scenario file; runs nothing")
    validate.add_argument("scenario", help="scenario YAML file")
    validate.add_argument("--policy", help="policy YAML file replacing the scenario's policy")
    validate.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override a field (repeatable)")
    validate.set_defaults(handler=_cmd_validate)

    compare = commands.add_parser("compare", help="paired comparison of policies or scenarios against a baseline (common random numbers)")
    compare.add_argument("scenario", help="baseline scenario YAML file")
    compare.add_argument("alternatives", nargs="*", default=[], metavar="SCENARIO", help="alternative scenario files (run with the baseline's run settings)")
    compare.add_argument("--policy", dest="policies", action="append", default=[], metavar="FILE", help="an alternative policy YAML file (repeatable)")
    compare.add_argument("--variant", dest="variants", action="append", default=[], metavar="'NAME: PATH=VALUE; PATH=VALUE'", help="an alternative made of field changes to the baseline (repeatable)")
    compare.add_argument("--replications", type=_positive, help="paired replications (default: the scenario's)")
    compare.add_argument("--kpis", metavar="KPI,KPI", help="KPIs in the printed table (all are saved)")
    _add_run_options(compare, out="results/<scenario name>-compare", what="the tables", set_help="override a field of every scenario (repeatable)")
    compare.set_defaults(handler=_cmd_compare, policy=None)

    sweep = commands.add_parser("sweep", help="full factorial sweep of scenario fields, mean and 95% CI per cell")
    sweep.add_argument("scenario", help="scenario YAML file")
    sweep.add_argument("--param", action="append", default=[], required=True, metavar="PATH=V1,V2|START:STOP[:STEP]", help="a field and its values (repeatable; ranges include STOP)")
    sweep.add_argument("--policy", help="policy YAML file replacing the scenario's policy")
    sweep.add_argument("--replications", type=_positive, help="replications per cell (default: the scenario's)")
    sweep.add_argument("--kpis", metavar="KPI,KPI", help="KPIs in the printed table and chart (default dso,net_cost,query_sla_attainment; all are saved)")
    _add_run_options(sweep, out="results/<scenario name>-sweep", what="the table", jobs_help="worker processes for cells and replications (results do not depend on it)")
    sweep.set_defaults(handler=_cmd_sweep)

    cap = commands.add_parser("capacity", help="scale contact volume and team: follow-up work against collector capacity")
    cap.add_argument("scenario", help="scenario YAML file")
    cap.add_argument("--contact-scale", metavar="START:STOP:STEP|A,B", help="scale of email, call and letter volume (default 1)")
    cap.add_argument("--email-scale", metavar="START:STOP:STEP|A,B", help="scale of email volume only (one value pins it)")
    cap.add_argument("--call-scale", metavar="START:STOP:STEP|A,B", help="scale of call volume only (one value pins it)")
    cap.add_argument("--collectors", metavar="START:STOP|A,B", help="team sizes (default: the scenario's)")
    cap.add_argument("--sla-target", type=_share, default=0.8, help="share of queries that must be answered within team.query_sla_days (default 0.8)")
    cap.add_argument("--plan-scale", type=float, help="the plan whose smallest team is sought (default: the largest scale)")
    cap.add_argument("--policy", help="policy YAML file replacing the scenario's policy")
    cap.add_argument("--replications", type=_positive, help="replications per level (default: the scenario's)")
    _add_run_options(cap, out="results/<scenario name>-capacity", what="the table")
    cap.set_defaults(handler=_cmd_capacity)

    kpis = commands.add_parser("kpis", help="receivables KPIs of a ledger as of a date, and their monthly series")
    _add_ledger_arguments(kpis)
    kpis.add_argument("--as-of", help="date (YYYY-MM-DD) the KPIs are measured at (default: the latest date in the ledger)")
    kpis.add_argument("--period", choices=["month", "quarter"], default="month", help="length of the trailing period for DSO, CEI, ...")
    kpis.add_argument("--json", action="store_true", help='print {"as_of", "kpis", "notes"} as JSON')
    kpis.set_defaults(handler=_cmd_kpis)

    calibrate = commands.add_parser("calibrate", help="fit a scenario to a ledger; writes the scenario and calibration.md")
    _add_ledger_arguments(calibrate)
    calibrate.add_argument("-o", "--output", required=True, help="scenario YAML file to write (calibration.md goes next to it)")
    calibrate.add_argument("--segments", default="auto", help="auto (credit classes where present) or N behaviour groups")
    calibrate.add_argument("--name", help="scenario name (default: the output file's stem)")
    calibrate.add_argument("--seed", type=_non_negative, default=12345, help="seed of the fitting simulations and of the scenario")
    calibrate.set_defaults(handler=_cmd_calibrate)

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
