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

The conversion and the row checks live in `arsim.measure.ledger_frame` (`convert_ledger`), which the public
ledger functions also run on a pandas frame they are given, so a file and a frame are checked alike.

Bad input raises `LedgerError` with a one-line message naming the file, the column, how many rows are
affected and the first (at most 5) 1-based data row numbers, e.g.
``ledger.csv: column 'due_date': 3 unparseable dates, first rows 4, 9, 17 (e.g. '2018-13-01')``.
Row-level problems: blank required values, unparseable dates, non-numeric, zero or (non-credit)
negative amounts, amounts above `MAX_AMOUNT` (1e13) in absolute value in any money column, paid_date or
due_date before invoice_date, a date more than `FAR_OUTSIDE_YEARS` (5) years outside the
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
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from arsim.errors import InputError
from arsim.measure.ledger_frame import CANONICAL_COLUMNS as CANONICAL_COLUMNS
from arsim.measure.ledger_frame import DATE_COLUMNS as DATE_COLUMNS
from arsim.measure.ledger_frame import DATE_FORMATS_TRIED as DATE_FORMATS_TRIED
from arsim.measure.ledger_frame import FAR_OUTSIDE_YEARS as FAR_OUTSIDE_YEARS
from arsim.measure.ledger_frame import MAX_AMOUNT as MAX_AMOUNT
from arsim.measure.ledger_frame import MONEY_COLUMNS as MONEY_COLUMNS
from arsim.measure.ledger_frame import LedgerError, cell_text, convert_ledger, listed_columns, mark_canonical
from arsim.scenario.yaml_text import parse_yaml

_EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})




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
    header = _header_text(list(text.columns), dialect)
    source_of = _resolve_columns(path.name, list(text.columns), mapping, header=header)

    can_derive_due = terms_days is not None and "invoice_date" in source_of
    required = ["customer_id", "amount"] + ([] if can_derive_due else ["due_date"])
    missing = [name for name in required if name not in source_of]
    if missing:
        hint = " (or give invoice_date and terms_days)" if "due_date" in missing else ""
        raise LedgerError(
            f"{path.name}: missing required column(s) {_quoted(missing)}{hint}; "
            f"{header}"
        )

    converted = convert_ledger(text, source_of, date_format=date_format, decimal=decimal, dates_already=excel_dates,
                               terms_days=terms_days)
    ledger = converted.frame
    dialect = _Dialect(encoding=dialect.encoding, delimiter=dialect.delimiter, decimal=converted.decimal, sheet=dialect.sheet)
    problems = converted.problems
    if problems and not drop_invalid:
        raise LedgerError(problems[0].message(path.name, source_of, others=problems[1:]))
    dropped: dict[str, int] = {}
    if problems:
        bad_rows = np.zeros(len(ledger), dtype=bool)
        for problem in problems:
            bad_rows[problem.rows] = True
            dropped[problem.key] = dropped.get(problem.key, 0) + len(problem.rows)
        ledger = ledger.loc[~bad_rows].reset_index(drop=True)
    mark_canonical(ledger)
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
        if path.exists():
            raise LedgerError(f"{path}: not a regular file (a device, pipe or socket); give a CSV, CSV.gz or XLSX file")
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
    names = _unique_names(path.name, [cell_text(v).strip() for v in raw.iloc[0]])
    cells = raw.iloc[1:].reset_index(drop=True)
    cells.columns = names
    text = pd.DataFrame({name: [cell_text(v) for v in cells[name]] for name in names}, dtype=str)
    dates: dict[str, pd.Series] = {}
    for name in names:
        is_date = cells[name].map(lambda v: isinstance(v, dt.date))
        if is_date.any():
            dates[name] = pd.to_datetime(cells[name].where(is_date), errors="coerce").astype("datetime64[us]")
    return text, dates, chosen


def _header_text(columns: list[str], dialect: _Dialect) -> str:
    """How an error about missing columns shows the header: its names as `listed_columns` lists them, or, when the
    header reads as noise, that the encoding looks wrong.

    Noise is what a wrong encoding makes of a header: replacement characters, control or unassigned code points,
    and CJK ideographs or Hangul syllables (UTF-8 bytes read as UTF-16 pair up into them: 'cu' -> '畣'). A header
    that is mostly noise is not listed, since hundreds of such characters tell the user nothing.
    """
    names = [str(name) for name in columns]
    joined = "".join(names)
    noise = sum(1 for char in joined if _is_noise(char))
    if dialect.sheet is None and joined and noise >= 0.3 * len(joined):
        return (f"the header does not read as text in {dialect.encoding} (e.g. {joined[:12]!r}): the encoding looks wrong; "
                f"give the right --encoding, or none to detect it")
    return f"the file has columns: {listed_columns(names)}"




def _is_noise(char: str) -> bool:
    if char == "\ufffd" or unicodedata.category(char) in ("Cc", "Cf", "Co", "Cn", "Cs"):
        return True
    return "\u3400" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af"


def _resolve_columns(file_name: str, file_columns: list[str], mapping: dict[str, str], *, header: str) -> dict[str, str]:
    """canonical name -> source column, after checking the mapping against the file."""
    _check_mapping_targets(file_name, mapping)
    unknown_sources = [source for source in mapping if source not in file_columns]
    if unknown_sources:
        raise LedgerError(
            f"{file_name}: mapping names column(s) {_quoted(unknown_sources)} that the file does not have; "
            f"{header}"
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



def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


# ---------------------------------------------------------------------------------------------- statistics


