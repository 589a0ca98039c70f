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
    "encoding": "--encoding",
    "delimiter": "--delimiter",
    "decimal": "--decimal",
    "sheet": "--sheet",
}
"""Library argument -> flag of `arsim kpis` and `arsim calibrate`."""
FITTED_MARK = "# Fitted by: arsim"
"""The first line of every scenario `arsim calibrate` writes: only such a file may be written over."""
REPORT_NAME = "calibration.md"
REPORT_MARK = "# Calibration of "
"""The first line of every calibration.md `arsim calibrate` writes."""
MANIFEST_NAME = "calibration.json"
MANIFEST_KIND = "arsim calibrate manifest"
"""calibration.json next to the scenario: the command, the ledger (name, size, sha256, how it was read), the
versions and the seed, like a results folder's manifest.json; its "kind" marks it as arsim's own."""


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
    parser.add_argument("--encoding", help="text encoding of a CSV, e.g. utf-8, cp1252, latin-1 (default: UTF-8 with or without BOM, else cp1252)")
    parser.add_argument("--delimiter", type=_delimiter, help="CSV field separator: , ; tab | (default: detected)")
    parser.add_argument("--decimal", choices=[".", ","], help="decimal mark of amounts (default: detected; thousands separators are accepted)")
    parser.add_argument("--sheet", help="Excel sheet name or 0-based index (default: the first sheet with the needed columns)")


def _delimiter(text: str) -> str:
    """An argparse type for --delimiter: one character; 'tab' and '\\t' mean a tab."""
    if text.lower() in ("tab", "\\t", "\t"):
        return "\t"
    if len(text) != 1 or text in "\"\r\n":
        raise argparse.ArgumentTypeError(f"expected one character such as ';' or tab, got {text!r}")
    return text


def _read_ledger(args: argparse.Namespace):
    """The ledger named on the command line, with its mapping: how it was read and dropped rows go to stderr.

    A file without data rows (or with none left after --drop-invalid) is refused here, with its name, rather
    than later as a KPI or a fit of nothing.
    """
    from arsim.ledger.read import LedgerError, LedgerMapping, load_ledger, load_mapping

    mapping = load_mapping(args.mapping) if args.mapping else LedgerMapping()
    columns = dict(mapping.columns)
    for item in args.map:
        source, sep, canonical = item.partition("=")
        if not sep or not source.strip() or not canonical.strip():
            raise LedgerError(f"--map {item!r}: expected SOURCE=canonical, e.g. --map KUNNR=customer_id")
        columns[source.strip()] = canonical.strip()
    mapping = LedgerMapping(columns=columns, date_format=args.date_format or mapping.date_format)
    loaded = load_ledger(args.ledger, mapping=mapping, drop_invalid=args.drop_invalid, encoding=args.encoding,
                         delimiter=args.delimiter, decimal=args.decimal, sheet=args.sheet)
    name = Path(args.ledger).name
    if len(loaded.invoices) == 0:
        left = " left after --drop-invalid" if loaded.dropped else " (only a header line)"
        raise LedgerError(f"{name}: no data rows{left}")
    print(f"arsim: note: {name}: {loaded.read_as}", file=sys.stderr)
    if loaded.dropped:
        listed = ", ".join(f"{problem}: {count:,}" for problem, count in loaded.dropped.items())
        print(f"arsim: dropped {sum(loaded.dropped.values()):,} row problem(s) from {name} ({listed})", file=sys.stderr)
    return loaded


# ---------------------------------------------------------------------------------------------- kpis


def cmd_kpis(args: argparse.Namespace) -> int:
    """Measure a ledger's KPIs as of a date and print them with their series, period by period.

    The whole output is built before the first line is printed, so a failure never leaves half a table.
    """
    from arsim.measure.ledger_kpis import ledger_kpis

    ledger = _read_ledger(args).invoices
    measured = ledger_kpis(ledger, as_of=args.as_of, period=args.period)
    frame = measured.series
    result = measured.to_json()
    if args.json:
        lines = [json.dumps({"as_of": result["as_of"], "kpis": result["kpis"], "notes": result["notes"]}, allow_nan=False)]
    else:
        lines = _kpi_lines(Path(args.ledger).name, args.period, frame, result)
    for note in result["notes"]:
        print(f"arsim: note: {note}", file=sys.stderr)
    print("\n".join(lines))
    return 0


def _kpi_lines(name: str, period: str, frame, result: dict) -> list[str]:
    """The printed table: the latest period's KPIs, then the series (missing values as '-')."""
    last = frame.iloc[-1]
    lines = [f"{name}: KPIs as of {result['as_of']} over the {period} {last['period_start']:%Y-%m-%d} .. {last['period_end']:%Y-%m-%d}"]
    for key, value in result["kpis"].items():
        if key == "aging":
            lines.append(f"{'aging':<24}" + "  ".join(f"{b}: {format_number(v)}" for b, v in value.items()))
        else:
            lines.append(f"{key:<24}{format_number(value):>14}")
    columns = ["dso", "dso_countback", "cei", "pct_past_due", "share_paid_late", "avg_days_late_paid"]
    lines += ["", f"{period}ly series (period ending; '-' = not measured):",
              f"{'period_end':<12}" + "".join(f"{c:>20}" for c in columns)]
    ends = frame["period_end"].tolist()
    values = {c: frame[c].tolist() for c in columns}  # by column, so a None never becomes NaT in a mixed row
    for i, end in enumerate(ends):
        lines.append(f"{end:%Y-%m-%d}  " + "".join(f"{format_number(_number(values[c][i])):>20}" for c in columns))
    return lines


def _number(value) -> float | None:
    """A table cell as a float, or None for missing (None, NaN, NaT, pd.NA)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


# ---------------------------------------------------------------------------------------------- calibrate


def check_calibration_output(output: str | Path, *, inputs: list[str | Path]) -> tuple[Path, Path]:
    """The scenario file and the calibration.md next to it (calibration.json, MANIFEST_NAME, is checked too) that
    `arsim calibrate -o OUTPUT` will write, checked before the ledger is read: a fit takes minutes, and only then to refuse, or to destroy an
    input, is worse.

    Refused (one-line InputError naming -o): any of the three being one of ``inputs`` (the ledger, the mapping);
    an existing file that arsim calibrate did not write (its first line, or the manifest's "kind", says who
    wrote it); a folder in the way; no folder that exists or can be made, or one not writable. A missing
    folder is made, as `arsim run --out` does.
    """
    from arsim.files import check_can_create

    output = Path(output)
    report = output.parent / REPORT_NAME
    manifest = output.parent / MANIFEST_NAME
    if output.is_dir() or str(output).endswith(("/", os.sep)):
        raise InputError(f"-o {output}: is a folder; give the scenario YAML file to write")
    for path in inputs:
        for target, what in ((output, ""), (report, f"{REPORT_NAME} next to it "), (manifest, f"{MANIFEST_NAME} next to it ")):
            if _same_file(Path(path), target):
                raise InputError(f"-o {output}: {what}would overwrite the input file {path}; choose another output file")
    if output.exists() and not _starts_with(output, FITTED_MARK):
        raise InputError(f"-o {output}: exists and was not written by arsim calibrate (its first line is not "
                         f"'{FITTED_MARK} ...'); choose another file, or move it away")
    if report.is_dir() or (report.exists() and not _starts_with(report, REPORT_MARK)):
        raise InputError(f"-o {output}: {report} exists and was not written by arsim calibrate; choose another folder, or move it away")
    if manifest.is_dir() or (manifest.exists() and not _is_manifest(manifest)):
        raise InputError(f"-o {output}: {manifest} exists and was not written by arsim calibrate; choose another folder, or move it away")
    check_can_create(output, what=f"-o {output}")
    return output, report


def _is_manifest(path: Path) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("kind") == MANIFEST_KIND
    except (OSError, ValueError, AttributeError):
        return False


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
    """Fit a scenario to a ledger, write it with calibration.md and calibration.json, and print observed against
    simulated statistics.

    All three texts are built before the first is written, and each is written whole (temporary file and
    rename), the manifest last: a folder with calibration.json holds a complete calibration.
    """
    inputs = [args.ledger] + ([args.mapping] if args.mapping else [])
    output, report = check_calibration_output(args.output, inputs=inputs)
    manifest_path = output.parent / MANIFEST_NAME
    loaded = _read_ledger(args)
    ledger = loaded.invoices

    from arsim.files import json_text, write_text
    from arsim.ledger.calibrate.fit import calibration_bounds_summary, fit_ledger
    from arsim.ledger.calibrate.report import calibration_markdown, comparison_rows
    from arsim.scenario.files import dump_yaml

    calibration = fit_ledger(ledger, segments=args.segments, name=args.name or output.stem, seed=args.seed)
    command = " ".join(shlex.quote(a) for a in args.argv)
    header = f"{FITTED_MARK} {command}\n# See {REPORT_NAME} next to this file.\n"
    scenario_text = header + dump_yaml(calibration.scenario)
    report_text = calibration_markdown(calibration, source=Path(args.ledger).name)
    manifest_text = json_text(_calibration_manifest(args, loaded, calibration, command=command, output=output))
    write_text(output, scenario_text)
    write_text(report, report_text)
    write_text(manifest_path, manifest_text)
    for note in calibration.notes:
        print(f"arsim: note: {note}", file=sys.stderr)
    for line in calibration_bounds_summary(calibration.scenario):  # one line per parameter, however many segments
        print(f"arsim: warning: at a bound: {line}", file=sys.stderr)
    fitted = calibration.scenario.portfolio.segments
    print(f"{output}: {len(fitted)} segment(s), {sum(seg.customers for seg in fitted):,} customers; report {report}, manifest {manifest_path}")
    print(f"{'statistic':<36}{'observed':>10}{'simulated':>11}")
    for label, observed, simulated in comparison_rows(calibration.observed, calibration.simulated):
        print(f"{label:<36}{observed:>10}{simulated:>11}")
    return 0


def _calibration_manifest(args: argparse.Namespace, loaded, calibration, *, command: str, output: Path) -> dict:
    """calibration.json: what reproduces the fit (command, ledger identity and reading, seed, versions)."""
    import hashlib
    import platform

    import numpy as np
    import pandas as pd

    from arsim import __version__
    from arsim.ledger.calibrate.fit import calibration_bounds

    ledger_path = Path(args.ledger)
    digest = hashlib.sha256()
    with ledger_path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return {
        "kind": MANIFEST_KIND,
        "arsim_version": __version__,
        "command": f"arsim {command}",
        "scenario_file": output.name,
        "report_file": REPORT_NAME,
        "ledger": {"file": ledger_path.name, "bytes": ledger_path.stat().st_size, "sha256": digest.hexdigest(),
                   "read_as": loaded.read_as, "rows": len(loaded.invoices), "dropped": dict(loaded.dropped)},
        "mapping_file": Path(args.mapping).name if args.mapping else None,
        "segments": args.segments,
        "seed": args.seed,
        "notes": list(calibration.notes),
        "parameters_at_a_bound": calibration_bounds(calibration.scenario),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__},
    }
