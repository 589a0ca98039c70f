"""`arsim report`: the report page and workbook of a results folder; and `--report`, the same for a command's own run.

The report builders (in `arsim.present.report`) import altair and openpyxl, so they are imported inside the
handlers and `report_extra`, never when the parser is built.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPORT_FLAGS = {"folder": "RESULTS_DIR", "result": "RESULTS_DIR"}
"""Library argument -> what `arsim report` calls it (the results folder is the only thing it is given)."""

REPORT_HELP = "also write report.html (one page, opens offline) and report.xlsx into the results folder"
"""The help text of --report, the same on every command that has it."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add report to the command line."""
    report = commands.add_parser("report", help="write report.html and report.xlsx for a results folder",
                                 description="Write report.html (one self-contained page that opens offline: the question, the answer, "
                                             "the KPI table with 95% CIs and the charts) and report.xlsx (the tables, in finance number "
                                             "formats) into a results folder written by run, compare, sweep, capacity, optimize or feasibility.")
    report.add_argument("results", metavar="RESULTS_DIR", help="a results folder (it has a manifest.json)")
    report.add_argument("--images", action="store_true", help="also save every chart as PNG and SVG in RESULTS_DIR/charts/ (no browser needed)")
    report.set_defaults(handler=cmd_report, flags=REPORT_FLAGS)


def add_report_option(parser: argparse.ArgumentParser) -> None:
    """The --report flag of a command whose results folder a report can be made of."""
    parser.add_argument("--report", action="store_true", help=REPORT_HELP)


def report_extra(args: argparse.Namespace, result: Any) -> Callable[[Path], Any] | None:
    """With --report, what writes the report into the results folder while it is staged (so it appears with the
    rest of the folder, whole, or not at all); None without it."""
    if not getattr(args, "report", False):
        return None
    from arsim.present.report import write_report

    return lambda staging: write_report(result, staging)


def cmd_report(args: argparse.Namespace) -> int:
    """Read a results folder back, and write its report page and workbook (and chart images with --images) into it."""
    from arsim.present.report import write_report

    written = write_report(args.results, images=args.images)
    folder = Path(args.results)
    print(f"report written to {folder}/ ({', '.join(str(p.relative_to(folder)) for p in written[:2])}"
          + (f" and {len(written) - 2} chart images in charts/" if len(written) > 2 else "") + ")")
    return 0
