"""Reading a company's receivables export into one canonical ledger frame.

This module has one job: turn an invoice-level accounts-receivable export (CSV, gzipped CSV or Excel) into
one pandas frame with fixed column names and types, so calibration and validation code never has to know
which ERP wrote the file. It also computes the payment-behaviour statistics that a simulator is checked
against (`payment_statistics`), because those statistics are defined on exactly this frame.

The canonical frame (`CANONICAL_COLUMNS`, in this order):

============  ======================  ===================================================================
column        dtype                   meaning
============  ======================  ===================================================================
customer_id   string                  required
invoice_id    string                  "row-<n>" (1-based data row) when the file has none or it is blank
invoice_date  datetime64[us]          NaT when the file has none
due_date      datetime64[us]          required, or invoice_date + terms_days
amount        float64                 required; > 0 except on credit rows (see below)
paid_date     datetime64[us]          NaT means the invoice is open
disputed      boolean (nullable)      see "Flags" below
written_off   boolean (nullable)
channel       string                  "paper", "electronic" or <NA>
segment       string                  e.g. a credit class; <NA> when absent
item_type     string                  e.g. "Invoice", "Credit memo"; <NA> when absent
paid_amount   float64                 cash received (NaN: none given); see "How an invoice closed"
discount      float64                 early-payment discount taken
short_paid    float64                 what a short payment left unpaid
credit_note_date    datetime64[us]    a credit note's date
credit_note_amount  float64           its amount
written_off_date    datetime64[us]    a write-off's date
written_off_amount  float64           its amount
open_amount   float64                 still open when the ledger was written
============  ======================  ===================================================================

Optional columns that the file lacks are still in the frame, all <NA>/NaT/NaN. Columns that are neither
canonical nor mapped are ignored. The simulator's own ``invoices.csv.gz`` uses the canonical names with
ISO dates and reads back with no mapping.

How an invoice closed. Rows whose item_type is Payment, Credit note or Write-off (any case; see
`arsim.measure.lateness.settlement_rows`) are settlement rows: each names the invoice it settles by its
invoice_id (so they may repeat an invoice's id), is dated by paid_date, credit_note_date or
written_off_date, and has amount = minus what it settles (the only rows besides credits that may be
negative). The simulator writes one per money movement after its invoice rows; `arsim.ledger_kpis`
settles an invoice by its settlement rows where it has any, else by its own columns.

Reading rules, chosen so that nothing is guessed silently:

- Every cell is read as text and converted here, so a customer id like ``0379`` keeps its zero.
  Blank means empty, or one of NA, N/A, NaN, NaT, NULL, None (any case). Surrounding spaces are stripped.
- CSV: plain or gzip (recognised by content, not name). Encoding: ``encoding`` if given, else UTF-8 (with or
  without BOM), else cp1252 (Windows exports), else latin-1. Delimiter: ``delimiter`` if given, else
  csv.Sniffer's choice among ``,`` ``;`` tab ``|``, kept only if it splits the header and the first rows
  consistently. Quoted fields follow the CSV rules (``"Müller, Söhne"``). A column name that appears twice
  in the header is an error naming it (either could be the one meant). Excel: ``.xlsx``/``.xlsm``, the
  ``sheet`` given (name or 0-based index), else the first sheet whose header has the customer and amount
  columns; cells that are already dates are taken as they are. `Ledger.read_as` says what was used, e.g.
  ``read as cp1252, ';'-separated, decimal comma``.
- Amounts: ``decimal`` (``.`` or ``,``) if given, else a decimal comma when some amount shows one
  (``250,00``, ``1.234,56``, ``1 234,5``), else a decimal point. Thousands separators (``.`` or ``,``
  whichever is not the decimal mark, space, no-break space, ``'``) are accepted in groups of three only.
- Dates: with ``date_format`` every date column uses it. Without it, each column gets the first of
  ``%Y-%m-%d``, ``%Y-%m-%d %H:%M:%S``, ``%Y%m%d``, ``%m/%d/%Y``, ``%d/%m/%Y``, ``%d.%m.%Y`` that parses all
  its non-blank values. So a column where every value fits both month-first and day-first is read
  month-first; a single day above 12 in the first position makes it day-first. Times of day are dropped.
- Amounts must be numbers and non-zero. They must be positive, except on rows whose item_type contains
  "credit" (any case), which may be negative: credit memos are often exported with a minus sign. Item
  types that are neither invoices nor credits (payment differences, down-payment requests, ...) are read
  like invoices; `payment_statistics` ignores them.
- Flags: ``disputed`` and ``written_off`` accept Yes/No, Y/N, true/false, T/F, 1/0 and X (SAP's tick).
  ``disputed`` also takes any other non-blank value as True and blank as False, because real exports
  mark holds with codes (SAP's dunning block MANSP: blank = none, 1-8/A/G/H = a block reason).
  ``written_off`` is strict: blank is <NA> and an unknown word is an error.
- Channel: Paper/post/postal/letter/print -> "paper"; Electronic/e-invoice/email/EDI/paperless/portal/
  PDF/online/digital/XML/Peppol -> "electronic"; blank -> <NA>; anything else is an error.
- Exact duplicate rows are kept: a file without invoice ids cannot tell a repeated line from two equal
  invoices (the SAP sample has ~1% of them). When the file has invoice ids, a repeated id is an error.

Bad input raises `LedgerError` with a one-line message naming the file, the column, how many rows are
affected and the first (at most 5) 1-based data row numbers, e.g.
``ledger.csv: column 'due_date': 3 unparseable dates, first rows 4, 9, 17 (e.g. '2018-13-01')``.
Row-level problems: blank required values, unparseable dates, non-numeric, zero or (non-credit)
negative amounts, paid_date before invoice_date, a date more than `FAR_OUTSIDE_YEARS` (5) years outside the
middle 80% of the ledger's dates (a typing error such as 2099), a repeated invoice_id, unrecognised flag or channel
words. With ``drop_invalid=True`` those rows are left out instead and `load_ledger`'s ``dropped`` says how
many rows had each problem (a row with two problems counts under both). File-level problems (missing
required columns, a column named twice, a mapping that names unknown columns, an unreadable file, a bad
``date_format``, ``encoding``, ``delimiter``, ``decimal`` or ``sheet``) always raise; those about an
argument carry it (`InputError.argument`) so the command line names its flag. A file with a header and
no rows reads as an empty frame (the commands refuse it).

A mapping renames source columns to canonical ones; `load_mapping` reads it from YAML::

    columns:            # SOURCE column: canonical column
      customerID: customer_id
      InvoiceDate: invoice_date
    date_format: "%m/%d/%Y"   # optional; omit to detect per column
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arsim.errors import InputError
from arsim.measure.lateness import settlement_rows
from arsim.scenario.yaml_text import parse_yaml

CANONICAL_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "invoice_id",
    "invoice_date",
    "due_date",
    "amount",
    "paid_date",
    "disputed",
    "written_off",
    "channel",
    "segment",
    "item_type",
    "paid_amount",
    "discount",
    "short_paid",
    "credit_note_date",
    "credit_note_amount",
    "written_off_date",
    "written_off_amount",
    "open_amount",
)
"""The columns of a ledger frame, in order."""

DATE_COLUMNS: tuple[str, ...] = ("invoice_date", "due_date", "paid_date", "credit_note_date", "written_off_date")

MONEY_COLUMNS: tuple[str, ...] = (
    "paid_amount", "discount", "short_paid", "credit_note_amount", "written_off_amount", "open_amount",
)
"""Optional amounts besides ``amount``: blank means none; when given, a number of at least zero."""

DATE_FORMATS_TRIED: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y%m%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
)
"""Formats tried, in this order, on a date column when no date_format is given."""

# pandas' own format parsing is lenient (it reads '2018019' with %Y%m%d), so each candidate format must
# first match the shape of every value.
_DATE_SHAPES: dict[str, str] = {
    "%Y-%m-%d": r"\d{4}-\d{1,2}-\d{1,2}",
    "%Y-%m-%d %H:%M:%S": r"\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}:\d{2}(\.\d+)?",
    "%Y%m%d": r"\d{8}",
    "%m/%d/%Y": r"\d{1,2}/\d{1,2}/\d{4}",
    "%d/%m/%Y": r"\d{1,2}/\d{1,2}/\d{4}",
    "%d.%m.%Y": r"\d{1,2}\.\d{1,2}\.\d{4}",
}
# pandas wants "ISO8601" to accept both ' ' and 'T' between date and time.
_PANDAS_FORMAT = {"%Y-%m-%d %H:%M:%S": "ISO8601"}

_BLANK_WORDS = frozenset({"", "na", "n/a", "nan", "nat", "null", "none"})
_TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "x"})
_FALSE_WORDS = frozenset({"no", "n", "false", "f", "0"})
_PAPER_WORDS = frozenset({"paper", "post", "postal", "letter", "print", "printed"})
_ELECTRONIC_WORDS = frozenset(
    {
        "electronic",
        "e-invoice",
        "einvoice",
        "e-invoicing",
        "einvoicing",
        "email",
        "e-mail",
        "edi",
        "paperless",
        "portal",
        "pdf",
        "online",
        "digital",
        "xml",
        "peppol",
    }
)
FAR_OUTSIDE_YEARS = 5
"""A date more than this many years outside the middle 80% of a ledger's dates is reported as a typing error."""
_EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})
_MAX_ROWS_LISTED = 5


class LedgerError(InputError):
    """A ledger file cannot be read as it is: the one-line message names the file, column and rows."""


@dataclass(frozen=True)
class LedgerMapping:
    """How one company's export maps onto the canonical columns.

    `columns` maps SOURCE column name -> canonical name; `date_format` is a strptime format used for every
    date column, or None to detect the format per column.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    date_format: str | None = None


def load_mapping(path: str | Path) -> LedgerMapping:
    """Read a mapping YAML file ``{columns: {SOURCE: canonical}, date_format: "%m/%d/%Y"}``.

    Mistakes that would otherwise surface later as a confusing missing-column error (unknown canonical
    names, two sources for one column, unknown top-level keys) are reported here.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LedgerError(f"{path.name}: cannot read mapping: {_one_line(error)}") from error
    try:
        content = parse_yaml(text, source=f"{path.name}: mapping")
    except InputError as error:
        raise LedgerError(str(error)) from None
    if not isinstance(content, dict):
        raise LedgerError(f"{path.name}: a mapping file must be a YAML mapping with a 'columns' key")
    unknown_keys = sorted(set(content) - {"columns", "date_format"})
    if unknown_keys:
        raise LedgerError(f"{path.name}: unknown key(s) {_quoted(unknown_keys)}; allowed: columns, date_format")
    columns = content.get("columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items()):
        raise LedgerError(f"{path.name}: 'columns' must map source column names to canonical names (text)")
    date_format = content.get("date_format")
    if date_format is not None and not isinstance(date_format, str):
        raise LedgerError(f"{path.name}: 'date_format' must be text such as '%m/%d/%Y'")
    _check_mapping_targets(path.name, columns)
    return LedgerMapping(columns=dict(columns), date_format=date_format)


@dataclass(frozen=True)
class Ledger:
    """A receivables export read into the canonical frame, with the rows left out and why."""

    source: Path
    invoices: pd.DataFrame
    dropped: dict[str, int]  # problem -> rows left out (empty unless drop_invalid)
    read_as: str = ""  # how the file was read, e.g. "read as cp1252, ';'-separated, decimal comma"


def read_ledger(
    path: str | Path,
    *,
    mapping: Mapping[str, str] | LedgerMapping | str | Path | None = None,
    date_format: str | None = None,
    drop_invalid: bool = False,
    terms_days: int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read one receivables export into the canonical frame (see the module docstring for all rules).

    mapping: SOURCE column -> canonical column, a `LedgerMapping` (whose date_format is used unless
        `date_format` is given), or the path of a mapping YAML file. Columns already named canonically need
        no entry.
    date_format: strptime format for all date columns; None detects one per column.
    drop_invalid: leave out rows with row-level problems instead of raising (`load_ledger` says how many).
    terms_days: payment terms; where due_date is absent or blank it becomes invoice_date + terms_days.
    encoding, delimiter, decimal: how a CSV is written (e.g. "cp1252", ";", ","); None detects each.
    sheet: Excel sheet name or 0-based index; None takes the first sheet with the needed columns.
    """
    return load_ledger(path, mapping=mapping, date_format=date_format, drop_invalid=drop_invalid, terms_days=terms_days,
                       encoding=encoding, delimiter=delimiter, decimal=decimal, sheet=sheet).invoices


def load_ledger(
    path: str | Path,
    *,
    mapping: Mapping[str, str] | LedgerMapping | str | Path | None = None,
    date_format: str | None = None,
    drop_invalid: bool = False,
    terms_days: int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    sheet: str | int | None = None,
) -> Ledger:
    """`read_ledger`, returning a `Ledger` that also counts the rows left out under ``drop_invalid``
    and says how the file was read (``read_as``)."""
    path = Path(path)
    if isinstance(mapping, (str, Path)):
        mapping = load_mapping(mapping)
    if isinstance(mapping, LedgerMapping):
        date_format = date_format if date_format is not None else mapping.date_format
        mapping = mapping.columns
    mapping = dict(mapping or {})
    _check_date_format(date_format)
    if decimal is not None and decimal not in (".", ","):
        raise LedgerError(f"expected '.' or ',', got {decimal!r}", argument="decimal")
    source_for = {canonical: source for source, canonical in mapping.items()}
    wanted = [source_for.get(name, name) for name in ("customer_id", "amount")]
    text, excel_dates, dialect = _read_raw(path, encoding=encoding, delimiter=delimiter, sheet=sheet, wanted=wanted)
    source_of = _resolve_columns(path.name, list(text.columns), mapping)

    can_derive_due = terms_days is not None and "invoice_date" in source_of
    required = ["customer_id", "amount"] + ([] if can_derive_due else ["due_date"])
    missing = [name for name in required if name not in source_of]
    if missing:
        hint = " (or give invoice_date and terms_days)" if "due_date" in missing else ""
        raise LedgerError(
            f"{path.name}: missing required column(s) {_quoted(missing)}{hint}; "
            f"the file has columns: {', '.join(map(str, text.columns)) or '(none)'}"
        )

    builder = _LedgerBuilder(path.name, text, excel_dates, source_of, date_format, decimal)
    ledger = builder.build(terms_days)
    dialect = _Dialect(encoding=dialect.encoding, delimiter=dialect.delimiter, decimal=builder.decimal, sheet=dialect.sheet)
    problems = builder.problems
    if problems and not drop_invalid:
        raise LedgerError(problems[0].message(path.name, source_of, others=problems[1:]))
    dropped: dict[str, int] = {}
    if problems:
        bad_rows = np.zeros(len(ledger), dtype=bool)
        for problem in problems:
            bad_rows[problem.rows] = True
            dropped[problem.key] = dropped.get(problem.key, 0) + len(problem.rows)
        ledger = ledger.loc[~bad_rows].reset_index(drop=True)
    return Ledger(source=path, invoices=ledger, dropped=dropped, read_as=dialect.describe())


def _check_date_format(date_format: str | None) -> None:
    """A strptime format must parse a date it printed itself, so '%Q%Q' is refused before any cell is read."""
    if date_format is None:
        return
    sample = dt.datetime(2024, 11, 23)
    try:
        parsed = pd.to_datetime(pd.Series([sample.strftime(date_format)]), format=date_format, errors="coerce").iloc[0]
    except (ValueError, TypeError) as error:
        raise LedgerError(f"{date_format!r} is not a date format ({_one_line(error)}); e.g. %d.%m.%Y",
                          argument="date_format") from None
    if pd.isna(parsed) or "%" not in date_format or parsed.year != 2024:
        raise LedgerError(f"{date_format!r} is not a date format with day, month and year; e.g. %d.%m.%Y",
                          argument="date_format")


# ---------------------------------------------------------------------------------------------- reading files


@dataclass(frozen=True)
class _Dialect:
    """How a file was read, given or detected: said in one note line (`Ledger.read_as`)."""

    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    sheet: str | None = None  # Excel only

    def describe(self) -> str:
        separator = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}.get(self.delimiter, repr(self.delimiter))
        decimal = "decimal comma" if self.decimal == "," else "decimal point"
        if self.sheet is not None:
            return f"read sheet '{self.sheet}', {decimal}"
        return f"read as {self.encoding}, {separator}-separated, {decimal}"


def _read_raw(path: Path, *, encoding: str | None, delimiter: str | None, sheet: str | int | None,
              wanted: list[str]) -> tuple[pd.DataFrame, dict[str, pd.Series], _Dialect]:
    """The file as a frame of text cells, the Excel cells that were already dates (by column), and how it was read."""
    if path.is_dir():
        raise LedgerError(f"{path.name}: is a directory, not a ledger file ({path})")
    if not path.is_file():
        raise LedgerError(f"{path.name}: no such file ({path})")
    if path.suffix.lower() in _EXCEL_SUFFIXES:
        text, dates, sheet_name = _read_excel(path, sheet=sheet, wanted=wanted)
        return text, dates, _Dialect(sheet=sheet_name)
    if path.suffix.lower() == ".xls":
        raise LedgerError(f"{path.name}: old .xls files are not supported; save it as .xlsx or CSV")
    if sheet is not None:
        raise LedgerError(f"{path.name}: sheet {sheet!r} given, but the file is not an Excel workbook", argument="sheet")
    frame, dialect = _read_csv(path, encoding=encoding, delimiter=delimiter)
    return frame, {}, dialect


def _decode(path: Path, raw: bytes, encoding: str | None) -> tuple[str, str]:
    """The text and the name of its encoding: given, else UTF-8 (with or without BOM), else cp1252.

    cp1252 is tried second because a byte sequence that is not UTF-8 is, in practice, a Windows export;
    latin-1 (which decodes anything) is the last resort for the five bytes cp1252 leaves undefined.
    """
    if encoding is not None:
        try:
            return raw.decode(encoding), encoding
        except LookupError:
            raise LedgerError(f"unknown encoding {encoding!r}; e.g. utf-8, cp1252, latin-1", argument="encoding") from None
        except UnicodeDecodeError as error:
            raise LedgerError(f"{path.name}: not {encoding} text ({_one_line(error)})", argument="encoding") from error
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "UTF-8 with BOM"
    for name, label in (("utf-8", "UTF-8"), ("cp1252", "cp1252"), ("latin-1", "latin-1")):
        try:
            return raw.decode(name), label
        except UnicodeDecodeError:
            continue
    raise LedgerError(f"{path.name}: cannot decode the text; give --encoding")  # unreachable: latin-1 decodes all bytes


_DELIMITERS = ",;\t|"


def _sniff_delimiter(text: str) -> str:
    """csv.Sniffer's delimiter among , ; tab |, checked against the header and first rows.

    The sniffer can be fooled by decimal commas in a ';' file, so its answer is kept only if it splits the
    header into more than one column and most sampled rows into as many fields as the header; otherwise the
    candidate that does so best wins.
    """
    lines = text.splitlines()[:50]
    sample = "\n".join(lines)

    def fit(candidate: str) -> tuple[int, int]:
        rows = list(csv.reader(lines, delimiter=candidate))
        if not rows or len(rows[0]) < 2:
            return (0, 0)
        width = len(rows[0])
        return (sum(len(row) == width for row in rows[1:] if row), width)

    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    scores = {candidate: fit(candidate) for candidate in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda c: scores[c])
    if sniffed in scores and scores[sniffed][1] >= 2 and scores[sniffed][0] >= scores[best][0]:
        return sniffed
    return best


def _read_csv(path: Path, *, encoding: str | None, delimiter: str | None) -> tuple[pd.DataFrame, _Dialect]:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as error:
        raise LedgerError(f"{path.name}: cannot read: {_one_line(error)}") from error
    text, encoding_name = _decode(path, raw, encoding)
    if not text.strip():
        raise LedgerError(f"{path.name}: the file is empty (no header line)")
    if delimiter is not None and (len(delimiter) != 1 or delimiter in "\"\r\n"):
        raise LedgerError(f"expected one character such as ';' or tab, got {delimiter!r}", argument="delimiter")
    separator = delimiter or _sniff_delimiter(text)
    try:
        cells = pd.read_csv(io.StringIO(text), sep=separator, header=None, dtype=str, keep_default_na=False,
                            na_filter=False, quotechar='"', skip_blank_lines=True)
    except pd.errors.EmptyDataError as error:
        raise LedgerError(f"{path.name}: the file is empty (no header line)") from error
    except pd.errors.ParserError as error:
        raise LedgerError(f"{path.name}: cannot parse as CSV ({_one_line(error)}); give --delimiter") from error
    names = [str(name).strip() for name in cells.iloc[0]]
    frame = cells.iloc[1:].reset_index(drop=True)
    frame.columns = _unique_names(path.name, names)
    return frame, _Dialect(encoding=encoding_name, delimiter=separator)


def _unique_names(file_name: str, names: list[str]) -> list[str]:
    """The header as it is; a name given twice is refused, since either column could be the one meant."""
    repeated = [name for position, name in enumerate(names) if name and name in names[:position]]
    if repeated:
        raise LedgerError(f"{file_name}: column {_quoted(sorted(set(repeated)))} appears more than once in the header; "
                          f"rename or remove the extra one")
    return names


def _read_excel(path: Path, *, sheet: str | int | None, wanted: list[str]) -> tuple[pd.DataFrame, dict[str, pd.Series], str]:
    """One sheet as text; date cells are also kept as dates so no format has to be guessed for them.

    Without ``sheet`` the first sheet whose header has every wanted column (customer, amount, due date) is
    read, else the first sheet, which then reports the missing columns.
    """
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=object, engine="openpyxl")
    except ImportError as error:
        raise LedgerError(f"{path.name}: reading Excel needs the 'openpyxl' package") from error
    except Exception as error:  # openpyxl raises many types for a damaged file; all mean "cannot read"
        raise LedgerError(f"{path.name}: cannot read as Excel: {_one_line(error)}") from error
    titles = list(sheets)
    if sheet is None:
        chosen = next((title for title in titles if not sheets[title].empty
                       and set(wanted) <= {str(v).strip() for v in sheets[title].iloc[0]}), titles[0])
    elif isinstance(sheet, int) or str(sheet).strip().isdigit():
        index = int(sheet)
        if not 0 <= index < len(titles):
            raise LedgerError(f"{path.name}: no sheet {index} (sheets, from 0: {_quoted(titles)})", argument="sheet")
        chosen = titles[index]
    elif str(sheet) in sheets:
        chosen = str(sheet)
    else:
        raise LedgerError(f"{path.name}: no sheet {str(sheet)!r}; the workbook has {_quoted(titles)}", argument="sheet")
    raw = sheets[chosen]
    if raw.empty:
        raise LedgerError(f"{path.name}: sheet '{chosen}' is empty (no header line)")
    names = _unique_names(path.name, [_cell_text(v).strip() for v in raw.iloc[0]])
    cells = raw.iloc[1:].reset_index(drop=True)
    cells.columns = names
    text = pd.DataFrame({name: [_cell_text(v) for v in cells[name]] for name in names}, dtype=str)
    dates: dict[str, pd.Series] = {}
    for name in names:
        is_date = cells[name].map(lambda v: isinstance(v, dt.date))
        if is_date.any():
            dates[name] = pd.to_datetime(cells[name].where(is_date), errors="coerce").astype("datetime64[us]")
    return text, dates, chosen


def _cell_text(value: Any) -> str:
    """An Excel cell as the text a CSV export would have had."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 611365.0 -> '611365', so ids stay ids
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _resolve_columns(file_name: str, file_columns: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """canonical name -> source column, after checking the mapping against the file."""
    _check_mapping_targets(file_name, mapping)
    unknown_sources = [source for source in mapping if source not in file_columns]
    if unknown_sources:
        raise LedgerError(
            f"{file_name}: mapping names column(s) {_quoted(unknown_sources)} that the file does not have; "
            f"the file has columns: {', '.join(file_columns) or '(none)'}"
        )
    source_of = {canonical: source for source, canonical in mapping.items()}
    for name in CANONICAL_COLUMNS:
        if name in file_columns and name not in mapping:
            if name in source_of and source_of[name] != name:
                raise LedgerError(
                    f"{file_name}: column '{name}' is in the file and also mapped from '{source_of[name]}'; "
                    f"map only one of them"
                )
            source_of[name] = name
    return source_of


def _check_mapping_targets(file_name: str, mapping: Mapping[str, str]) -> None:
    unknown_targets = sorted({target for target in mapping.values() if target not in CANONICAL_COLUMNS})
    if unknown_targets:
        raise LedgerError(
            f"{file_name}: mapping targets {_quoted(unknown_targets)} are not canonical columns; "
            f"use: {', '.join(CANONICAL_COLUMNS)}"
        )
    targets = list(mapping.values())
    repeated = sorted({target for target in targets if targets.count(target) > 1})
    if repeated:
        raise LedgerError(f"{file_name}: mapping gives more than one source for {_quoted(repeated)}")


# ---------------------------------------------------------------------------------------------- converting


@dataclass(frozen=True)
class _Problem:
    """Rows of one column that share one problem."""

    column: str
    key: str  # short name in Ledger.dropped, e.g. "unparseable due_date"
    singular: str  # e.g. "unparseable date"
    plural: str  # e.g. "unparseable dates"
    rows: np.ndarray  # 0-based positions
    example: str

    def message(self, file_name: str, source_of: Mapping[str, str], others: list[_Problem]) -> str:
        count = len(self.rows)
        source = source_of.get(self.column, self.column)
        column = f"'{self.column}'" + (f" (source '{source}')" if source != self.column else "")
        listed = ", ".join(str(row + 1) for row in self.rows[:_MAX_ROWS_LISTED])
        where = f"row {listed}" if count == 1 else f"first rows {listed}"
        what = self.singular if count == 1 else self.plural
        text = f"{file_name}: column {column}: {count} {what}, {where} (e.g. {self.example})"
        if others:
            text += "; also " + ", ".join(f"{p.key} ({_rows(len(p.rows))})" for p in others)
        return text


class _LedgerBuilder:
    """Converts the text columns one by one, collecting row-level problems instead of stopping at the first."""

    def __init__(
        self,
        file_name: str,
        text: pd.DataFrame,
        excel_dates: Mapping[str, pd.Series],
        source_of: Mapping[str, str],
        date_format: str | None,
        decimal: str | None = None,
    ) -> None:
        self.file_name = file_name
        self.decimal = decimal or "."
        self.text = text
        self.excel_dates = excel_dates
        self.source_of = source_of
        self.date_format = date_format
        self.given_decimal = decimal
        self.problems: list[_Problem] = []
        self.n_rows = len(text)

    def build(self, terms_days: int | None) -> pd.DataFrame:
        columns: dict[str, pd.Series] = {}
        columns["customer_id"] = self._required_text("customer_id")
        columns["invoice_id"] = self._invoice_ids()
        for name in DATE_COLUMNS:
            columns[name] = self._dates(name)
        columns["due_date"] = self._due_dates(columns["due_date"], columns["invoice_date"], terms_days)
        columns["amount"] = self._amounts()
        for name in MONEY_COLUMNS:
            columns[name] = self._optional_amounts(name)
        columns["disputed"] = self._flags("disputed", lenient=True)
        columns["written_off"] = self._flags("written_off", lenient=False)
        columns["channel"] = self._channels()
        columns["segment"] = self._optional_text("segment")
        columns["item_type"] = self._optional_text("item_type")
        self._check_amount_signs(columns["amount"], columns["item_type"])
        self._check_paid_after_invoiced(columns["paid_date"], columns["invoice_date"])
        self._check_dates_in_range({name: columns[name] for name in DATE_COLUMNS})
        self._check_unique_ids(columns["invoice_id"], settles=settlement_rows(columns["item_type"]))
        ledger = pd.DataFrame({name: columns[name] for name in CANONICAL_COLUMNS})
        return ledger.reset_index(drop=True)

    # -- helpers

    def _cells(self, name: str) -> pd.Series | None:
        """Stripped text of the source column for canonical `name`, or None if the file has none."""
        source = self.source_of.get(name)
        if source is None:
            return None
        return self.text[source].astype(str).str.strip()

    def _report(self, column: str, key: str, singular: str, plural: str, bad: pd.Series, shown: pd.Series) -> None:
        rows = np.flatnonzero(bad.to_numpy(dtype=bool))
        if len(rows):
            example = repr(str(shown.iloc[rows[0]]))
            self.problems.append(_Problem(column, key, singular, plural, rows, example))

    def _absent(self, dtype: str) -> pd.Series:
        return pd.Series(pd.array([pd.NA] * self.n_rows, dtype=dtype))

    # -- columns

    def _required_text(self, name: str) -> pd.Series:
        cells = self._cells(name)
        blank = _is_blank(cells)
        self._report(name, f"blank {name}", "blank value", "blank values", blank, cells)
        return cells.mask(blank).astype("string")

    def _optional_text(self, name: str) -> pd.Series:
        cells = self._cells(name)
        if cells is None:
            return self._absent("string")
        return cells.mask(_is_blank(cells)).astype("string")

    def _invoice_ids(self) -> pd.Series:
        generated = pd.Series([f"row-{n}" for n in range(1, self.n_rows + 1)], dtype="string")
        cells = self._cells("invoice_id")
        if cells is None:
            return generated
        return cells.astype("string").mask(_is_blank(cells), generated)

    def _dates(self, name: str) -> pd.Series:
        cells = self._cells(name)
        if cells is None:
            return pd.Series(pd.NaT, index=range(self.n_rows), dtype="datetime64[us]")
        already = self.excel_dates.get(self.source_of[name])
        dates, bad = _parse_dates(cells, already, self.date_format)
        self._report(name, f"unparseable {name}", "unparseable date", "unparseable dates", bad, cells)
        return dates

    def _due_dates(self, due: pd.Series, invoiced: pd.Series, terms_days: int | None) -> pd.Series:
        """Fill due dates from terms where the file has none, then report the ones still missing."""
        cells = self._cells("due_date")
        blank = _is_blank(cells) if cells is not None else pd.Series(True, index=due.index)
        if terms_days is not None:
            derived = invoiced + pd.Timedelta(days=terms_days)
            due = due.mask(blank, derived)
        still_missing = blank & due.isna()
        shown = cells if cells is not None else pd.Series("", index=due.index)
        self._report("due_date", "blank due_date", "blank value", "blank values", still_missing, shown)
        return due

    def _amounts(self) -> pd.Series:
        cells = self._cells("amount")
        blank = _is_blank(cells)
        self.decimal = self.given_decimal or _detect_decimal(cells[~blank])
        numbers = _parse_amounts(cells.mask(blank, ""), self.decimal).mask(blank)
        not_number = ~blank & ~np.isfinite(numbers.fillna(0.0))
        not_number |= ~blank & numbers.isna()
        self._report("amount", "blank amount", "blank value", "blank values", blank, cells)
        self._report("amount", "non-numeric amount", "non-numeric amount", "non-numeric amounts", not_number, cells)
        return numbers.where(~not_number)

    def _optional_amounts(self, name: str) -> pd.Series:
        """An optional money column: blank is NaN (none); otherwise a number of at least zero."""
        cells = self._cells(name)
        if cells is None:
            return pd.Series(np.nan, index=range(self.n_rows), dtype="float64")
        blank = _is_blank(cells)
        numbers = pd.Series(np.nan, index=cells.index, dtype="float64")
        if not blank.all():  # these columns are mostly blank: only the values are parsed
            numbers[~blank] = _parse_amounts(cells[~blank], self.decimal)
        not_number = ~blank & (numbers.isna() | ~np.isfinite(numbers.fillna(0.0)))
        negative = ~blank & ~not_number & (numbers < 0)
        self._report(name, f"non-numeric {name}", "non-numeric amount", "non-numeric amounts", not_number, cells)
        self._report(name, f"negative {name}", "negative amount", "negative amounts", negative, cells)
        return numbers.where(~not_number)

    def _check_amount_signs(self, amounts: pd.Series, item_types: pd.Series) -> None:
        """Zero is never an amount; negative only on credit rows (item_type containing 'credit') and on rows that
        settle an invoice (payments, credit notes, write-offs: `SETTLEMENT_ITEM_TYPES`)."""
        is_credit = item_types.str.contains("credit", case=False, regex=False).fillna(False).astype(bool)
        is_credit |= settlement_rows(item_types)
        cells = self._cells("amount")
        zero = amounts == 0
        negative = (amounts < 0) & ~is_credit
        self._report("amount", "zero amount", "zero amount", "zero amounts", zero, cells)
        self._report("amount", "negative amount", "negative amount", "negative amounts", negative, cells)

    def _flags(self, name: str, *, lenient: bool) -> pd.Series:
        cells = self._cells(name)
        if cells is None:
            return self._absent("boolean")
        words = cells.str.lower()
        blank = _is_blank(cells)
        is_true = words.isin(_TRUE_WORDS)
        is_false = words.isin(_FALSE_WORDS)
        unknown = ~blank & ~is_true & ~is_false
        flags = pd.Series(pd.array([pd.NA] * self.n_rows, dtype="boolean"), index=cells.index)
        flags[is_true] = True
        flags[is_false] = False
        if lenient:
            flags[unknown] = True  # a hold or dispute code: any code means "held"
            flags[blank] = False
        else:
            self._report(name, f"unrecognised {name}", "unrecognised value", "unrecognised values", unknown, cells)
        return flags

    def _channels(self) -> pd.Series:
        cells = self._cells("channel")
        if cells is None:
            return self._absent("string")
        words = cells.str.lower()
        blank = _is_blank(cells)
        channel = pd.Series(pd.array([pd.NA] * self.n_rows, dtype="string"), index=cells.index)
        channel[words.isin(_PAPER_WORDS)] = "paper"
        channel[words.isin(_ELECTRONIC_WORDS)] = "electronic"
        unknown = ~blank & channel.isna()
        self._report("channel", "unrecognised channel", "unrecognised value", "unrecognised values", unknown, cells)
        return channel

    def _check_paid_after_invoiced(self, paid: pd.Series, invoiced: pd.Series) -> None:
        early = (paid < invoiced).fillna(False)
        shown = "paid " + paid.dt.strftime("%Y-%m-%d") + ", invoiced " + invoiced.dt.strftime("%Y-%m-%d")
        singular, plural = "payment before the invoice date", "payments before the invoice date"
        self._report("paid_date", "paid_date before invoice_date", singular, plural, early, shown)

    def _check_dates_in_range(self, dates: Mapping[str, pd.Series]) -> None:
        """A date years away from the bulk of the ledger's dates is a typing error (2099 for 2019), reported by row.

        Left in, one paid date of 2099 would stretch every period series to 2099. The bulk is the span of the
        middle 80% of all the ledger's dates, so a few such dates cannot widen it; old open invoices and
        far due dates within `FAR_OUTSIDE_YEARS` of it are kept.
        """
        every = pd.concat([column.dropna() for column in dates.values()])
        if every.empty:
            return
        values = every.to_numpy(dtype="datetime64[D]").astype(np.int64)
        low, high = np.quantile(values, [0.1, 0.9], method="nearest")
        margin = int(FAR_OUTSIDE_YEARS * 365.25)
        for name, column in dates.items():
            days = column.to_numpy(dtype="datetime64[D]")
            valid = ~np.isnat(days)
            numbers = np.where(valid, days.astype("datetime64[D]").astype(np.int64), low)
            far = pd.Series(valid & ((numbers < low - margin) | (numbers > high + margin)), index=column.index)
            shown = column.dt.strftime("%Y-%m-%d")
            lo, hi = (np.datetime64(int(low), "D"), np.datetime64(int(high), "D"))
            self._report(name, f"{name} far outside the ledger", f"date more than {FAR_OUTSIDE_YEARS} years outside the "
                         f"ledger's dates ({lo}..{hi})", f"dates more than {FAR_OUTSIDE_YEARS} years outside the ledger's "
                         f"dates ({lo}..{hi})", far, shown)

    def _check_unique_ids(self, ids: pd.Series, *, settles: pd.Series) -> None:
        """A repeated id is reported on its second and later rows; the first is kept by drop_invalid.

        Rows that settle an invoice (payments, credit notes, write-offs) carry the id of the invoice they
        settle, so they may repeat it; among the other rows an id appears once.
        """
        repeated = pd.Series(False, index=ids.index)
        repeated[~settles] = ids[~settles].duplicated(keep="first")
        self._report("invoice_id", "duplicate invoice_id", "repeated invoice id", "repeated invoice ids", repeated, ids)


_DECIMAL_COMMA_HINT = re.compile(r"[+-]?[\d .'\u00a0\u202f]*,(\d{1,2}|\d{4,})")


def _detect_decimal(cells: pd.Series) -> str:
    """',' when an amount shows a decimal comma, else '.'.

    A comma is a decimal comma when it is the last separator and is followed by other than exactly three
    digits (``250,00``, ``1.234,56``, ``1 234,5``), or follows a dot (``1.234,567``). ``1,234`` alone stays
    a thousands separator: exports write cents, so a decimal comma shows up in some row.
    """
    values = cells.str.replace(" ", "", regex=False)
    comma_last = values.str.fullmatch(_DECIMAL_COMMA_HINT) | values.str.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+,\d+")
    return "," if bool(comma_last.any()) else "."


def _parse_amounts(cells: pd.Series, decimal: str) -> pd.Series:
    """Numbers from amount text with the given decimal mark; thousands separators (dot, comma, space, ')
    are accepted only in groups of three, so '1,2,3' is not a number."""
    other = "," if decimal == "." else "."
    dec = re.escape(decimal)
    seps = "[ ,'\u00a0\u202f]" if decimal == "." else "[ .'\u00a0\u202f]"
    grouped = rf"[+-]?\d{{1,3}}(?:{seps}\d{{3}})+(?:{dec}\d+)?"
    plain = rf"[+-]?\d*(?:{dec}\d+)?|[+-]?\d+{dec}?"
    stripped = cells.str.strip()
    shaped = stripped.str.fullmatch(grouped) | stripped.str.fullmatch(plain)
    normal = stripped.str.replace(r"[ '\u00a0\u202f]", "", regex=True).str.replace(other, "", regex=False)
    if decimal == ",":
        normal = normal.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(normal.where(shaped), errors="coerce")
    if decimal == ".":  # plain numbers pandas reads (1e3, .5) as before
        numbers = numbers.fillna(pd.to_numeric(stripped.where(~shaped), errors="coerce"))
    return numbers.astype("float64")


def _is_blank(cells: pd.Series) -> pd.Series:
    return cells.str.lower().isin(_BLANK_WORDS)


def _parse_dates(
    cells: pd.Series, already: pd.Series | None, date_format: str | None
) -> tuple[pd.Series, pd.Series]:
    """(dates, bad): dates at day resolution, bad marks non-blank cells that did not parse.

    Cells in `already` (Excel date cells) are taken as they are. The rest use `date_format`, or the first
    of DATE_FORMATS_TRIED that parses all of them; if none does, the one that parses most, so the
    report lists the values that fit no format rather than every value.
    """
    blank = _is_blank(cells)
    to_parse = ~blank
    if already is not None:
        to_parse &= already.isna()
    values = cells[to_parse]
    if date_format is not None:
        parsed = pd.to_datetime(values, format=date_format, errors="coerce")
    else:
        parsed = _parse_with_best_format(values)
    dates = pd.Series(pd.NaT, index=cells.index, dtype="datetime64[us]")
    dates[to_parse] = parsed.astype("datetime64[us]").dt.normalize()
    if already is not None:
        dates = dates.fillna(already.dt.normalize())
    bad = to_parse & dates.isna()
    return dates, bad


def _parse_with_best_format(values: pd.Series) -> pd.Series:
    best = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    if values.empty:
        return best
    for fmt in DATE_FORMATS_TRIED:
        fits_shape = values.str.fullmatch(_DATE_SHAPES[fmt])
        if not fits_shape.any():
            continue
        parsed = pd.to_datetime(values.where(fits_shape), format=_PANDAS_FORMAT.get(fmt, fmt), errors="coerce")
        if parsed.notna().all():
            return parsed
        if parsed.notna().sum() > best.notna().sum():
            best = parsed
    return best


def _rows(count: int) -> str:
    return "1 row" if count == 1 else f"{count} rows"


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


# ---------------------------------------------------------------------------------------------- statistics


