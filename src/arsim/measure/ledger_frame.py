"""The canonical ledger frame: its columns, and the one conversion every ledger goes through.

This module has one job: turn a table of cells (the text of a receivables export, or a pandas frame an
analyst built) into the canonical ledger frame with fixed column names and types, checking every row on
the way. `arsim.ledger.read` uses it after reading a file; the public ledger functions (`arsim.ledger_kpis`,
`arsim.calibrate`, `arsim.fit_ledger`) use it through `canonical_ledger` on the frame they are given, so a
frame and a file are converted and checked by the same code and refused for the same rows. It sits in
`arsim.measure`, below the readers, because the KPIs are defined on this frame.

The reading rules (blank words, date formats, decimal marks, flag and channel words) and the row checks
are described in `arsim.ledger.read`. A column that is already typed (datetime64 dates, numeric amounts,
boolean flags, as `read_ledger` returns them or as pandas parses them) is taken as it is and only checked;
a text column is converted by the rules. Amounts are limited to `MAX_AMOUNT` in absolute value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from arsim.errors import InputError
from arsim.measure.lateness import settlement_rows

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
_MAX_ROWS_LISTED = 5
MAX_COLUMNS_LISTED = 12
"""How many of a table's column names a missing-column message lists (the rest are counted)."""
MAX_NAME_LISTED = 40
"""How many characters of each column name such a message shows."""

MAX_AMOUNT = 1e13
"""Largest amount (in absolute value, any money column) a row may carry: ten trillion in the ledger's currency.

Above it, a row is refused as a typing or export error. The limit keeps every sum a ledger can produce finite
and exact to the cent in float64 (integers are exact up to 2**53, about 9.0e15, i.e. 9.0e13 in cents), so
KPIs never overflow to inf (an amount of 1e300 or two of 1.5e308 would) and never lose cents."""
REQUIRED_COLUMNS: tuple[str, ...] = ("customer_id", "amount", "due_date")
"""Columns a ledger frame must have (a file may instead give invoice_date and terms)."""
_BRAND = "arsim.canonical_ledger"


class LedgerError(InputError):
    """A ledger file cannot be read as it is: the one-line message names the file, column and rows."""

# ---------------------------------------------------------------------------------------------- converting


@dataclass(frozen=True)
class RowProblem:
    """Rows of one column that share one problem."""

    column: str
    key: str  # short name in Ledger.dropped, e.g. "unparseable due_date"
    singular: str  # e.g. "unparseable date"
    plural: str  # e.g. "unparseable dates"
    rows: np.ndarray  # 0-based positions
    example: str

    def describe(self, source_of: Mapping[str, str], others: list[RowProblem], *, row_labels: pd.Index | None = None) -> str:
        """One line without the file name: ``column 'amount': 2 zero amounts, first rows 4, 9 (e.g. '0')``.

        Rows are 1-based data rows of a file, or, with `row_labels` (a frame's index), the frame's index labels.
        """
        count = len(self.rows)
        source = source_of.get(self.column, self.column)
        column = f"'{self.column}'" + (f" (source '{source}')" if source != self.column else "")
        shown = self.rows[:_MAX_ROWS_LISTED]
        if row_labels is None:
            listed = ", ".join(str(row + 1) for row in shown)
            where = f"row {listed}" if count == 1 else f"first rows {listed}"
        else:
            listed = ", ".join(repr(row_labels[row]) if isinstance(row_labels[row], str) else str(row_labels[row]) for row in shown)
            where = f"index {listed}" if count == 1 else f"first at index {listed}"
        what = self.singular if count == 1 else self.plural
        text = f"column {column}: {count} {what}, {where} (e.g. {self.example})"
        if others:
            text += "; also " + ", ".join(f"{p.key} ({_rows(len(p.rows))})" for p in others)
        return text

    def message(self, file_name: str, source_of: Mapping[str, str], others: list[RowProblem]) -> str:
        return f"{file_name}: {self.describe(source_of, others)}"


@dataclass(frozen=True)
class Converted:
    """A ledger converted to the canonical frame, the row problems found (rows not yet left out) and the decimal mark used."""

    frame: pd.DataFrame
    problems: list[RowProblem]
    decimal: str


def convert_ledger(
    cells: pd.DataFrame,
    source_of: Mapping[str, str],
    *,
    date_format: str | None = None,
    decimal: str | None = None,
    dates_already: Mapping[str, pd.Series] | None = None,
    terms_days: int | None = None,
) -> Converted:
    """Convert a table of cells to the canonical frame, collecting every row-level problem.

    cells: one column per source column, as text (a file) or already typed (a pandas frame).
    source_of: canonical name -> column of `cells`; canonical columns without one are absent (all NA).
    dates_already: source column -> cells that are already dates (an Excel workbook's date cells).
    The other arguments are `arsim.ledger.read_ledger`'s.
    """
    builder = _LedgerBuilder(cells, dict(dates_already or {}), source_of, date_format, decimal)
    frame = builder.build(terms_days)
    return Converted(frame=frame, problems=builder.problems, decimal=builder.decimal)


def canonical_ledger(ledger: Any, *, argument: str = "ledger") -> pd.DataFrame:
    """The canonical frame of a ledger given to a public function, checked as `read_ledger` checks a file.

    `ledger` is a pandas DataFrame in the ledger's column layout (canonical column names; the required ones are
    `REQUIRED_COLUMNS`; other columns are ignored, absent optional ones are NA), typed or text (dates as
    'YYYY-MM-DD' strings, amounts as numbers or text). It goes through `convert_ledger`, the conversion of a
    file; any bad row raises `InputError` on `argument` naming the column, the first bad index labels and the
    problem. A path is refused: a file needs its mapping, encoding, ... so it is read with
    `arsim.read_ledger(path, mapping=...)` first.

    A frame that `read_ledger` or this function returned, unchanged since, is returned as it is: its
    fingerprint (`DataFrame.attrs`) matches, so a 200,000-row ledger is not converted twice. A frame that was
    changed afterwards (an amount, a row added or removed) no longer matches and is checked again.
    """
    if isinstance(ledger, (str, PathLike)):
        raise InputError(f"got the path {str(ledger)!r}; read the file first with arsim.read_ledger(path, mapping=...) "
                         f"and pass the frame it returns", argument=argument)
    if not isinstance(ledger, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame of invoices (columns {', '.join(REQUIRED_COLUMNS)}, ...), "
                         f"got {type(ledger).__name__}", argument=argument)
    if ledger.attrs.get(_BRAND) is not None and ledger.attrs.get(_BRAND) == _fingerprint(ledger):
        return ledger
    names = [str(name) for name in ledger.columns]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise InputError(f"missing required column(s) {', '.join(repr(name) for name in missing)}; the frame has "
                         f"columns {listed_columns(names, quoted=True)} (rename them, e.g. frame.rename(columns={{'Kunde': 'customer_id'}}))",
                         argument=argument)
    repeated = sorted({name for position, name in enumerate(names) if name in names[:position]})
    if repeated:
        raise InputError(f"column(s) {', '.join(map(repr, repeated))} appear more than once", argument=argument)
    cells = ledger.reset_index(drop=True)
    cells.columns = names
    converted = convert_ledger(cells, {name: name for name in CANONICAL_COLUMNS if name in names})
    if converted.problems:
        first, *others = converted.problems
        raise InputError(first.describe({}, others, row_labels=ledger.index), argument=argument)
    return mark_canonical(converted.frame)


def listed_columns(names: list[str], *, quoted: bool = False) -> str:
    """Column names as a missing-column message lists them: the first `MAX_COLUMNS_LISTED`, each cut to
    `MAX_NAME_LISTED` characters (quoted with ``quoted``), then how many more there are; "(none)" for none."""
    shown = [name if len(name) <= MAX_NAME_LISTED else name[:MAX_NAME_LISTED - 1] + "…" for name in names[:MAX_COLUMNS_LISTED]]
    more = f" and {len(names) - MAX_COLUMNS_LISTED} more" if len(names) > MAX_COLUMNS_LISTED else ""
    if quoted:
        shown = [f"'{name}'" for name in shown]
    return f"{', '.join(shown) or '(none)'}{more}"


def mark_canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Mark a frame that `convert_ledger` produced without problems, so `canonical_ledger` takes it as it is."""
    frame.attrs[_BRAND] = _fingerprint(frame)
    return frame


def _fingerprint(frame: pd.DataFrame) -> int | None:
    """A hash of a canonical frame's values (None if it has not the canonical columns), cheap next to converting it.

    pandas' own row hashing: about 0.2 s for 200,000 rows, against about 1.3 s to convert and check them again.
    """
    if tuple(frame.columns) != CANONICAL_COLUMNS:
        return None
    hashed = pd.util.hash_pandas_object(frame, index=True)
    return int(hashed.sum()) ^ len(frame)


class _LedgerBuilder:
    """Converts the columns one by one, collecting row-level problems instead of stopping at the first."""

    def __init__(
        self,
        cells: pd.DataFrame,
        dates_already: Mapping[str, pd.Series],
        source_of: Mapping[str, str],
        date_format: str | None,
        decimal: str | None = None,
    ) -> None:
        self.decimal = decimal or "."
        self.cells = cells
        self.dates_already = dates_already
        self.source_of = source_of
        self.date_format = date_format
        self.given_decimal = decimal
        self.problems: list[RowProblem] = []
        self.n_rows = len(cells)
        self._text: dict[str, pd.Series] = {}

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
        self._check_after_invoiced(columns["paid_date"], columns["invoice_date"], "paid_date", "paid",
                                   "payment before the invoice date", "payments before the invoice date")
        self._check_after_invoiced(columns["due_date"], columns["invoice_date"], "due_date", "due",
                                   "due date before the invoice date", "due dates before the invoice date")
        self._check_dates_in_range({name: columns[name] for name in DATE_COLUMNS})
        self._check_unique_ids(columns["invoice_id"], settles=settlement_rows(columns["item_type"]))
        ledger = pd.DataFrame({name: columns[name] for name in CANONICAL_COLUMNS})
        return ledger.reset_index(drop=True)

    # -- helpers

    def _raw(self, name: str) -> pd.Series | None:
        """The source column for canonical `name` as given (text or typed), or None if there is none."""
        source = self.source_of.get(name)
        return None if source is None else self.cells[source]

    def _cells(self, name: str) -> pd.Series | None:
        """Stripped text of the source column for canonical `name`, or None if there is none (missing values: '')."""
        raw = self._raw(name)
        if raw is None:
            return None
        if name not in self._text:
            self._text[name] = _as_text(raw).str.strip()
        return self._text[name]

    def _report(self, column: str, key: str, singular: str, plural: str, bad: pd.Series,
                shown: pd.Series | str | Callable[[int], str]) -> None:
        """Record the rows marked in `bad`. `shown` is what the example shows: a column of text, the name of the
        column whose cells it shows, or a function of the row (built only when a row is bad: typed columns have
        no text to hand, and formatting every row of a large ledger for one example costs seconds)."""
        rows = np.flatnonzero(np.asarray(bad, dtype=bool))
        if len(rows):
            if isinstance(shown, str):
                shown = self._cells(shown)
            example = repr(shown(int(rows[0])) if callable(shown) else str(shown.iloc[rows[0]]))
            self.problems.append(RowProblem(column, key, singular, plural, rows, example))

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
        raw = self._raw(name)
        if raw is None:
            return pd.Series(pd.NaT, index=range(self.n_rows), dtype="datetime64[us]")
        if pd.api.types.is_datetime64_any_dtype(raw.dtype):  # typed: taken as it is, times of day dropped
            if getattr(raw.dt, "tz", None) is not None:
                raw = raw.dt.tz_localize(None)
            return raw.astype("datetime64[us]").dt.normalize()
        already = self.dates_already.get(self.source_of[name])
        if already is None and raw.dtype == object:
            already = _date_cells(raw)
        cells = self._cells(name)
        dates, bad = _parse_dates(cells, already, self.date_format)
        self._report(name, f"unparseable {name}", "unparseable date", "unparseable dates", bad, cells)
        return dates

    def _due_dates(self, due: pd.Series, invoiced: pd.Series, terms_days: int | None) -> pd.Series:
        """Fill due dates from terms where the file has none, then report the ones still missing."""
        raw = self._raw("due_date")
        if raw is None:
            blank = pd.Series(True, index=due.index)
        elif pd.api.types.is_datetime64_any_dtype(raw.dtype):
            blank = due.isna()
        else:
            blank = _is_blank(self._cells("due_date"))
        if terms_days is not None:
            derived = invoiced + pd.Timedelta(days=terms_days)
            due = due.mask(blank, derived)
        still_missing = blank & due.isna()
        shown = "due_date" if raw is not None else pd.Series("", index=due.index)
        self._report("due_date", "blank due_date", "blank value", "blank values", still_missing, shown)
        return due

    def _numbers(self, name: str) -> tuple[pd.Series, pd.Series, pd.Series]:
        """(numbers, blank, not_number) of a money column: typed numbers as they are, text by the decimal rules."""
        raw = self._raw(name)
        if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
            numbers = raw.astype("float64").reset_index(drop=True)
            blank = numbers.isna()
            return numbers, blank, ~blank & ~np.isfinite(numbers.fillna(0.0))
        cells = self._cells(name)
        blank = _is_blank(cells)
        if name == "amount":
            self.decimal = self.given_decimal or _detect_decimal(cells[~blank])
        numbers = pd.Series(np.nan, index=cells.index, dtype="float64")
        if not blank.all():  # optional columns are mostly blank: only the values are parsed
            numbers[~blank] = _parse_amounts(cells[~blank], self.decimal)
        not_number = ~blank & (numbers.isna() | ~np.isfinite(numbers.fillna(0.0)))
        return numbers, blank, not_number

    def _amounts(self) -> pd.Series:
        numbers, blank, not_number = self._numbers("amount")
        shown = "amount"
        self._report("amount", "blank amount", "blank value", "blank values", blank, shown)
        self._report("amount", "non-numeric amount", "non-numeric amount", "non-numeric amounts", not_number, shown)
        self._report_too_large("amount", numbers, shown)
        return numbers.where(~not_number)

    def _optional_amounts(self, name: str) -> pd.Series:
        """An optional money column: blank is NaN (none); otherwise a number of at least zero."""
        if self._raw(name) is None:
            return pd.Series(np.nan, index=range(self.n_rows), dtype="float64")
        numbers, blank, not_number = self._numbers(name)
        shown = name
        negative = ~blank & ~not_number & (numbers < 0)
        self._report(name, f"non-numeric {name}", "non-numeric amount", "non-numeric amounts", not_number, shown)
        self._report(name, f"negative {name}", "negative amount", "negative amounts", negative, shown)
        self._report_too_large(name, numbers, shown)
        return numbers.where(~not_number)

    def _report_too_large(self, name: str, numbers: pd.Series, shown: str) -> None:
        too_large = (numbers.abs() > MAX_AMOUNT) & np.isfinite(numbers)
        self._report(name, f"{name} too large", f"amount above {MAX_AMOUNT:.0e} in absolute value",
                     f"amounts above {MAX_AMOUNT:.0e} in absolute value", too_large.fillna(False), shown)

    def _check_amount_signs(self, amounts: pd.Series, item_types: pd.Series) -> None:
        """Zero is never an amount; negative only on credit rows (item_type containing 'credit') and on rows that
        settle an invoice (payments, credit notes, write-offs: `SETTLEMENT_ITEM_TYPES`)."""
        is_credit = item_types.str.contains("credit", case=False, regex=False).fillna(False).astype(bool)
        is_credit |= settlement_rows(item_types)
        shown = "amount"
        zero = amounts == 0
        negative = (amounts < 0) & ~is_credit
        self._report("amount", "zero amount", "zero amount", "zero amounts", zero, shown)
        self._report("amount", "negative amount", "negative amount", "negative amounts", negative, shown)

    def _flags(self, name: str, *, lenient: bool) -> pd.Series:
        raw = self._raw(name)
        if raw is None:
            return self._absent("boolean")
        if pd.api.types.is_bool_dtype(raw.dtype):  # typed (bool or nullable boolean): taken as it is
            flags = raw.astype("boolean").reset_index(drop=True)
            return flags.fillna(False) if lenient else flags
        cells = self._cells(name)
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

    def _check_after_invoiced(self, later: pd.Series, invoiced: pd.Series, column: str, word: str, singular: str, plural: str) -> None:
        """A date that must not come before the invoice date (a payment, a due date) is a bad row when it does:
        either date is mistyped, and KPIs would count the invoice as paid or past due before it existed."""
        early = (later < invoiced).fillna(False)

        def shown(row: int) -> str:
            return f"{word} {later.iloc[row]:%Y-%m-%d}, invoiced {invoiced.iloc[row]:%Y-%m-%d}"

        self._report(column, f"{column} before invoice_date", singular, plural, early, shown)

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

            def shown(row: int, column: pd.Series = column) -> str:
                return f"{column.iloc[row]:%Y-%m-%d}"

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


def _as_text(column: pd.Series) -> pd.Series:
    """The cells of a column as the text a CSV export would have had ('' for missing), index 0..n-1.

    Text columns (a file's) stay as they are; typed values become text: whole floats without '.0' (so an id
    read as 611365.0 stays '611365'), dates as YYYY-MM-DD, missing values (None, NaN, NaT, NA) as ''.
    """
    column = column.reset_index(drop=True)
    if isinstance(column.dtype, pd.StringDtype):
        return column.fillna("")
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=False) == "string":
        return column  # a file's cells: text already
    return column.map(cell_text).astype(str)


def cell_text(value: Any) -> str:
    """A cell as the text a CSV export would have had: '' for missing, whole floats without '.0', dates ISO."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(float(value))
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.isoformat(sep=" ")
    return str(value)


def _date_cells(column: pd.Series) -> pd.Series | None:
    """Cells of an object column that are already dates (datetime, date, Timestamp), as dates; None if there are none."""
    column = column.reset_index(drop=True)
    is_date = column.map(lambda v: isinstance(v, (dt.date, np.datetime64)) and not pd.isna(v))
    if not is_date.any():
        return None
    return pd.to_datetime(column.where(is_date), errors="coerce").astype("datetime64[us]")
