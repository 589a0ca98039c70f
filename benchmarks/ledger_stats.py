"""Print the payment statistics of a real ledger: the targets a simulator is calibrated against.

Usage (from the repository root; PYTHONPATH=src is only needed while arsim is not installed):

    python benchmarks/ledger_stats.py SAP_ITEMS.csv.gz --mapping sap
    python benchmarks/ledger_stats.py IBM_SAMPLE.csv --mapping ibm
    python benchmarks/ledger_stats.py my_export.csv --mapping my_mapping.yaml [--drop-invalid]

SAP_ITEMS.csv.gz is the public SAP FI-AR cleared-items export and IBM_SAMPLE.csv the IBM accounts-receivable
sample described in docs/domain.md, wherever you keep them.

`--mapping` takes one of the built-in presets below or a mapping YAML file (see arsim.ledger.load_mapping).
The SAP preset drops invalid rows by default: its export has 2,853 zero-amount rows (its amounts are
transformed and rounded), which arsim.ledger rejects; the dropped counts are printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arsim.ledger.read import LedgerError, LedgerMapping, load_mapping, read_ledger
from arsim.measure.lateness import payment_statistics


@dataclass(frozen=True)
class Preset:
    mapping: LedgerMapping
    drop_invalid: bool
    note: str


PRESETS: dict[str, Preset] = {
    "sap": Preset(
        mapping=LedgerMapping(
            columns={
                "KUNNR": "customer_id",
                "VALUE_EUR": "amount",
                "DUE_DATE": "due_date",
                "PAYMENT_DATE": "paid_date",
                "CTLPC": "segment",
                "TBSLT_LTEXT": "item_type",
                "MANSP": "disputed",  # dunning block: blank = none, any code = held
            },
            date_format=None,  # DUE_DATE is YYYY-MM-DD, PAYMENT_DATE is YYYYMMDD: detected per column
        ),
        drop_invalid=True,
        note="SAP FI-AR cleared items; 'disputed' is the dunning block MANSP (any code = held)",
    ),
    "ibm": Preset(
        mapping=LedgerMapping(
            columns={
                "customerID": "customer_id",
                "invoiceNumber": "invoice_id",
                "InvoiceDate": "invoice_date",
                "DueDate": "due_date",
                "InvoiceAmount": "amount",
                "SettledDate": "paid_date",
                "Disputed": "disputed",
                "PaperlessBill": "channel",
            },
            date_format="%m/%d/%Y",
        ),
        drop_invalid=False,
        note="IBM Watson Analytics AR sample (likely generated: weekends as common as weekdays)",
    ),
}

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="ledger file: CSV, CSV.gz or XLSX")
    parser.add_argument("--mapping", help="preset (sap, ibm) or a mapping YAML file; default: canonical names")
    parser.add_argument("--drop-invalid", action="store_true", help="drop rows with problems instead of failing")
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON instead of a table")
    args = parser.parse_args(argv)

    mapping: LedgerMapping | None = None
    drop_invalid = args.drop_invalid
    note = ""
    try:
        if args.mapping in PRESETS:
            preset = PRESETS[args.mapping]
            mapping, note = preset.mapping, preset.note
            drop_invalid = drop_invalid or preset.drop_invalid
        elif args.mapping is not None:
            mapping = load_mapping(args.mapping)
        started = time.perf_counter()
        ledger = read_ledger(args.path, mapping=mapping, drop_invalid=drop_invalid)
        read_seconds = time.perf_counter() - started
    except LedgerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    stats = payment_statistics(ledger)
    stats_seconds = time.perf_counter() - started

    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"ledger: {args.path}")
    if note:
        print(f"note:   {note}")
    dropped = ledger.attrs.get("dropped", {})
    dropped_text = ", ".join(f"{problem}: {count:,}" for problem, count in dropped.items()) or "none"
    print(f"rows:   {len(ledger):,} read in {read_seconds:.2f} s; dropped rows: {dropped_text}")
    print(f"statistics computed in {stats_seconds:.2f} s (paid invoices only)")
    print()
    for label, value in _rows(stats):
        print(f"  {label:<40} {value:>12}")
    return 0


def _rows(stats: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, formatted value) lines: shares as percent, days with one decimal, missing as n/a."""
    rows: list[tuple[str, str]] = []
    for key, value in stats.items():
        if isinstance(value, dict):
            rows.append((key, ""))
            is_share = key.startswith("customer_late_share")
            rows.extend((f"  {name}", _format(v, share=is_share)) for name, v in value.items())
        elif isinstance(value, list):
            rows.append((key, ""))
            rows.extend((f"  {day}", _format(v, share=True)) for day, v in zip(WEEKDAYS, value))
        else:
            is_share = key.startswith(("share_", "p_late_"))
            rows.append((key, _format(value, share=is_share)))
    return rows


def _format(value: Any, *, share: bool) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{100 * value:.1f}%" if share else f"{value:.1f}"


if __name__ == "__main__":
    sys.exit(main())
