"""`arsim kpis` and `arsim calibrate`: a real receivables export measured, or a scenario fitted to it.

`calibrate` checks where it will write (never over its own inputs, never over a file arsim did not write,
a folder it can write in) before it reads the ledger, because the fit takes minutes and must not end in a
refusal. The ledger reader and the fit (pandas, scipy) are imported inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from arsim.cli.common import format_number, non_negative, positive
from arsim.errors import InputError

LEDGER_FLAGS = {
    "mapping": "--mapping",
    "date_format": "--date-format",
    "drop_invalid": "--drop-invalid",
    "as_of": "--as-of",
    "period": "--period",
    "segments": "--segments",
    "name": "--name",
    "seed": "--seed",
}
"""Library argument -> flag of `arsim kpis` and `arsim calibrate`."""
FITTED_MARK = "# Fitted by: arsim"
"""The first line of every scenario `arsim calibrate` writes: only such a file may be written over."""
REPORT_NAME = "calibration.md"
REPORT_MARK = "# Calibration of "
"""The first line of every calibration.md `arsim calibrate` writes."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add kpis and calibrate to the command line."""
    kpis = commands.add_parser("kpis", help="receivables KPIs of a ledger as of a date, and their monthly series",
                               description="Receivables KPIs of a ledger as of a date, and their monthly (or quarterly) series.")
    _add_ledger_arguments(kpis)
    kpis.add_argument("--as-of", help="date (YYYY-MM-DD) the KPIs are measured at (default: the latest date in the ledger)")
    kpis.add_argument("--period", choices=["month", "quarter"], default="month", help="length of the trailing period for DSO, CEI, ...")
    kpis.add_argument("--json", action="store_true", help='print {"as_of", "kpis", "notes"} as JSON')
    kpis.set_defaults(handler=cmd_kpis, flags=LEDGER_FLAGS)

    calibrate = commands.add_parser("calibrate", help="fit a scenario to a ledger; writes the scenario and calibration.md",
                                    description="Fit a scenario to a ledger; writes the scenario YAML and calibration.md next to it.")
    _add_ledger_arguments(calibrate)
    calibrate.add_argument("-o", "--output", required=True,
                           help="scenario YAML file to write (calibration.md goes next to it); an existing file is replaced only "
                                "if arsim calibrate wrote it")
    calibrate.add_argument("--segments", type=segments, default="auto", help="auto (credit classes where present) or N >= 1 behaviour groups")
    calibrate.add_argument("--name", help="scenario name (default: the output file's stem)")
    calibrate.add_argument("--seed", type=non_negative, default=12345, help="seed of the fitting simulations and of the scenario")
    calibrate.set_defaults(handler=cmd_calibrate, flags=LEDGER_FLAGS)


def segments(text: str) -> int | str:
    """An argparse type for --segments: ``auto`` or a whole number >= 1, refused while parsing, not after reading the ledger."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return positive(text)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"expected auto or a whole number of at least 1 ({error})") from None


def _add_ledger_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ledger", help="receivables export: CSV, CSV.gz or XLSX")
    parser.add_argument("--map", action="append", default=[], metavar="SOURCE=canonical", help="map a column, e.g. --map KUNNR=customer_id (repeatable)")
    parser.add_argument("--mapping", help="mapping YAML file {columns: {SOURCE: canonical}, date_format: ...}")
    parser.add_argument("--date-format", help="strptime format of every date column, e.g. %d.%m.%Y (default: detected)")
    parser.add_argument("--drop-invalid", action="store_true", help="leave out rows with problems (counts on stderr) instead of failing")


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
    if loaded.dropped:
        listed = ", ".join(f"{problem}: {count:,}" for problem, count in loaded.dropped.items())
        print(f"arsim: dropped {sum(loaded.dropped.values()):,} row problem(s) from {Path(args.ledger).name} ({listed})", file=sys.stderr)
    return loaded.invoices


# ---------------------------------------------------------------------------------------------- kpis


def cmd_kpis(args: argparse.Namespace) -> int:
    """Measure a ledger's KPIs as of a date and print them with their series, period by period."""
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
            print(f"{'aging':<24}" + "  ".join(f"{b}: {format_number(v)}" for b, v in value.items()))
        else:
            print(f"{key:<24}{format_number(value):>14}")
    print(f"{'bad_debt_ratio':<24}{format_number(last['bad_debt_ratio']):>14}")
    series = frame[["period_end", "dso", "dso_countback", "cei", "pct_past_due", "share_paid_late", "avg_days_late_paid"]]
    print()
    print(f"{args.period}ly series (period ending):")
    print(f"{'period_end':<12}" + "".join(f"{c:>20}" for c in series.columns[1:]))
    for _, row in series.iterrows():
        print(f"{row['period_end']:%Y-%m-%d}  " + "".join(f"{format_number(row[c]):>20}" for c in series.columns[1:]))
    return 0


# ---------------------------------------------------------------------------------------------- calibrate


def check_calibration_output(output: str | Path, *, inputs: list[str | Path]) -> tuple[Path, Path]:
    """The scenario file and the calibration.md next to it that `arsim calibrate -o OUTPUT` will write, checked
    before the ledger is read: a fit takes minutes, and only then to refuse, or to destroy an input, is worse.

    Refused (one-line InputError naming -o): either file being one of ``inputs`` (the ledger, the mapping);
    an existing file that arsim calibrate did not write (its first line says who wrote it); a folder in
    the way; no folder that exists or can be made, or one not writable.
    """
    output = Path(output)
    report = output.parent / REPORT_NAME
    if output.is_dir():
        raise InputError(f"-o {output}: is a folder; give the scenario YAML file to write")
    for path in inputs:
        for target, what in ((output, ""), (report, f"{REPORT_NAME} next to it ")):
            if _same_file(Path(path), target):
                raise InputError(f"-o {output}: {what}would overwrite the input file {path}; choose another output file")
    if output.exists() and not _starts_with(output, FITTED_MARK):
        raise InputError(f"-o {output}: exists and was not written by arsim calibrate (its first line is not "
                         f"'{FITTED_MARK} ...'); choose another file, or move it away")
    if report.is_dir() or (report.exists() and not _starts_with(report, REPORT_MARK)):
        raise InputError(f"-o {output}: {report} exists and was not written by arsim calibrate; choose another folder, or move it away")
    folder = Path(os.path.abspath(output.parent))
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"-o {output}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"-o {output}: {existing} is not writable")
    return output, report


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # hard links, bind mounts
    except OSError:
        return False


def _starts_with(path: Path, mark: str) -> bool:
    if not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8", errors="replace") as stream:
            return stream.readline().startswith(mark)
    except OSError:
        return False


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit a scenario to a ledger, write it with calibration.md, and print observed against simulated statistics."""
    output, report = check_calibration_output(args.output, inputs=[args.ledger] + ([args.mapping] if args.mapping else []))
    ledger = _read_ledger(args)

    from arsim.files import write_text
    from arsim.ledger.calibrate.fit import fit_ledger
    from arsim.ledger.calibrate.report import calibration_markdown, comparison_rows
    from arsim.scenario.files import dump_yaml

    calibration = fit_ledger(ledger, segments=args.segments, name=args.name or output.stem, seed=args.seed)
    header = f"{FITTED_MARK} {' '.join(shlex.quote(a) for a in args.argv)}\n# See {REPORT_NAME} next to this file.\n"
    write_text(output, header + dump_yaml(calibration.scenario))
    write_text(report, calibration_markdown(calibration, source=Path(args.ledger).name))
    for note in calibration.notes:
        print(f"arsim: note: {note}", file=sys.stderr)
    fitted = calibration.scenario.portfolio.segments
    print(f"{output}: {len(fitted)} segment(s), {sum(seg.customers for seg in fitted):,} customers; report {report}")
    print(f"{'statistic':<36}{'observed':>10}{'simulated':>11}")
    for label, observed, simulated in comparison_rows(calibration.observed, calibration.simulated):
        print(f"{label:<36}{observed:>10}{simulated:>11}")
    return 0

