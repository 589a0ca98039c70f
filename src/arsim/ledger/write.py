"""The simulator's own books: its invoices as a ledger a company would export, and writing that ledger."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from arsim.files import gzip_chunks, write_bytes
from arsim.scenario.schema import Scenario

LEDGER_COLUMNS: tuple[str, ...] = (
    "customer_id", "invoice_id", "item_type", "invoice_date", "due_date", "amount", "paid_date", "paid_amount",
    "discount", "short_paid", "credit_note_date", "credit_note_amount", "written_off_date", "written_off_amount",
    "open_amount", "disputed", "written_off", "segment", "channel",
)
"""The simulator's ledger columns, in file order (their meaning: `ledger_from_frames`)."""

SETTLEMENT_TYPES: tuple[str, ...] = ("Payment", "Credit note", "Write-off")
"""item_type of the rows that settle an invoice (one per money movement), after the invoice rows."""

_CHANNELS = ["paper", "electronic"]


def ledger_from_frames(frames: dict[str, pd.DataFrame], scenario: Scenario, *, settlements: bool = True) -> pd.DataFrame:
    """The simulated book as a ledger a company would export: every invoice, how it closed, and every settlement.

    Rows of two kinds, told apart by ``item_type`` (columns `LEDGER_COLUMNS`, amounts in cents, dates as dates):

    - one ``Invoice`` row per invoice, in issue order: customer_id, invoice_id, invoice_date, due_date, amount;
      how it closed: paid_date (the payment that settled it; blank when no payment did), paid_amount (cash
      received against it in total, penalties not included), discount (early-payment discount taken),
      short_paid (what a short payment left unpaid: the customer's deduction, or a discount it took after the
      window), credit_note_date and credit_note_amount (the last credit note's date, all credit notes' total:
      corrections and concessions), written_off_date and
      written_off_amount (bad debt), open_amount (still open when the simulation ended; 0 when closed);
      and disputed, written_off (bad debt), segment, channel.
    - one row per money movement, after the invoices, in date order: ``Payment`` (paid_date, paid_amount,
      discount, and short_paid when it was a short payment), ``Credit note`` (credit_note_date,
      credit_note_amount) or ``Write-off`` (written_off_date, written_off_amount, written_off True). Each
      carries the invoice_id, customer_id and due_date of the invoice it settles, and amount = minus what
      it settles (cash plus discount, the credit, the write-off), so the amounts of an invoice and its
      settlements add up to its open amount, and the amounts of all rows dated up to a day (invoice_date
      for invoices, the movement's date for settlements) to the receivables open after that day.

    Amounts are rounded to cents so that the settlements of a closed invoice add up to its amount exactly:
    each movement is the difference of the rounded running total settled. ``settlements=False`` leaves the
    settlement rows out (calibration reads only the invoice rows).
    """
    issued = frames["invoice_issued"]
    epoch = np.datetime64(pd.Timestamp(scenario.calendar.start_date).date(), "D")
    count = len(issued)
    position = pd.Index(issued["invoice_id"])
    amount_cents = np.rint(issued["amount"].to_numpy(dtype=float) * 100.0).astype(np.int64)
    moves = _movements(frames, position, amount_cents)
    row = moves["row"]

    def total(values: np.ndarray, where: np.ndarray) -> np.ndarray:
        return np.bincount(row[where], weights=values[where], minlength=count)

    def last_day(where: np.ndarray) -> np.ndarray:
        day = np.full(count, np.iinfo(np.int64).min)
        np.maximum.at(day, row[where], moves["day"][where])
        return day

    is_pay, is_credit, is_bad = moves["kind"] == 0, moves["kind"] == 1, moves["kind"] == 2
    paid_day = np.full(count, np.iinfo(np.int64).min)
    paid_day[row[is_pay & moves["closes"]]] = moves["day"][is_pay & moves["closes"]]
    credit_cents, bad_cents = total(moves["cents"], is_credit), total(moves["cents"], is_bad)
    open_cents = amount_cents - np.bincount(row, weights=moves["cents"], minlength=count).astype(np.int64)
    disputed = issued["invoice_id"].isin(frames["dispute_opened"]["invoice_id"]).to_numpy()
    invoices = pd.DataFrame({
        "customer_id": _numbered("C", issued["customer_id"], 6),
        "invoice_id": _numbered("I", issued["invoice_id"], 8),
        "item_type": pd.Categorical.from_codes(np.zeros(count, dtype=np.int8), categories=["Invoice", *SETTLEMENT_TYPES]),
        "invoice_date": _dates(epoch, issued["day"].to_numpy()),
        "due_date": _dates(epoch, issued["due_day"].to_numpy()),
        "amount": amount_cents / 100.0,
        "paid_date": _dates(epoch, paid_day),
        "paid_amount": _cents_or_blank(total(moves["cash_cents"], is_pay), any_of=np.bincount(row[is_pay], minlength=count) > 0),
        "discount": _cents_or_blank(total(moves["discount_cents"], is_pay)),
        "short_paid": _cents_or_blank(total(moves["short_cents"], is_pay)),
        "credit_note_date": _dates(epoch, last_day(is_credit)),
        "credit_note_amount": _cents_or_blank(credit_cents),
        "written_off_date": _dates(epoch, last_day(is_bad)),
        "written_off_amount": _cents_or_blank(bad_cents),
        "open_amount": np.maximum(open_cents, 0) / 100.0,
        "disputed": _flags(disputed),
        "written_off": _flags(bad_cents > 0),
        "segment": issued["segment"],
        "channel": pd.Categorical.from_codes(issued["electronic"].to_numpy().astype(np.int8), categories=_CHANNELS),
    })
    if not settlements:
        return invoices
    order = np.argsort(moves["day"], kind="stable")
    row, kind = row[order], moves["kind"][order]
    day = moves["day"][order]
    cents = moves["cents"][order]
    pay, credit, bad = kind == 0, kind == 1, kind == 2
    blank = np.iinfo(np.int64).min

    def money(values: np.ndarray, where: np.ndarray) -> np.ndarray:
        return np.where(where, values / 100.0, np.nan)

    rows = pd.DataFrame({
        "customer_id": invoices["customer_id"].array.take(row),  # taken as they are: no text converted again
        "invoice_id": invoices["invoice_id"].array.take(row),
        "item_type": pd.Categorical.from_codes((kind + 1).astype(np.int8), categories=["Invoice", *SETTLEMENT_TYPES]),
        "invoice_date": _dates(epoch, np.full(len(row), blank)),
        "due_date": invoices["due_date"].to_numpy()[row],
        "amount": -cents / 100.0,
        "paid_date": _dates(epoch, np.where(pay, day, blank)),
        "paid_amount": money(moves["cash_cents"][order], pay),
        "discount": money(moves["discount_cents"][order], pay & (moves["discount_cents"][order] != 0)),
        "short_paid": money(moves["short_cents"][order], pay & (moves["short_cents"][order] != 0)),
        "credit_note_date": _dates(epoch, np.where(credit, day, blank)),
        "credit_note_amount": money(cents, credit),
        "written_off_date": _dates(epoch, np.where(bad, day, blank)),
        "written_off_amount": money(cents, bad),
        "open_amount": np.nan,
        "disputed": _flags(np.zeros(len(row), dtype=bool), blank=np.ones(len(row), dtype=bool)),
        "written_off": _flags(bad, blank=~bad),
        "segment": pd.Categorical.from_codes(np.full(len(row), -1, dtype=np.int8), categories=invoices["segment"].cat.categories)
        if isinstance(invoices["segment"].dtype, pd.CategoricalDtype) else pd.Series([None] * len(row), dtype=object),
        "channel": pd.Categorical.from_codes(np.full(len(row), -1, dtype=np.int8), categories=_CHANNELS),
    })
    return pd.concat([invoices, rows], ignore_index=True)  # both in the order of LEDGER_COLUMNS


def _movements(frames: dict[str, pd.DataFrame], position: pd.Index, amount_cents: np.ndarray) -> dict[str, np.ndarray]:
    """Every money movement against an invoice, in cents: payments (kind 0), credit notes (1), bad debt (2).

    Each movement settles the difference of the rounded running total settled on its invoice, so the
    movements of a closed invoice add up to its amount in cents, whatever the float remainders.
    """
    pay, off = frames["payment"], frames["write_off"]
    settled = np.concatenate([(pay["collected"] + pay["discount"]).to_numpy(dtype=float), off["amount"].to_numpy(dtype=float)])
    row = position.get_indexer(np.concatenate([pay["invoice_id"].to_numpy(), off["invoice_id"].to_numpy()]))
    if (row < 0).any():
        raise ValueError("a payment or write-off names an invoice that was never issued")
    # Credit notes, whether they correct a wrong invoice or concede on a correct one, are credit notes in a ledger.
    kind = np.concatenate([np.zeros(len(pay), dtype=np.int64), np.where(off["kind"].astype(str).to_numpy() == "bad_debt", 2, 1)])
    day = np.concatenate([pay["day"].to_numpy(dtype=np.int64), off["day"].to_numpy(dtype=np.int64)])
    closes = np.concatenate([pay["closes"].to_numpy(dtype=bool), kind[len(pay):] == 2])
    # running totals per invoice, in the order the movements happened: by day, and within a day the movement
    # that closes the invoice last (a dispute resolved with a partial credit note, then the rest paid that day)
    by_invoice = np.lexsort((np.arange(len(row)), closes, day, row))
    r, amount = row[by_invoice], settled[by_invoice]
    first = np.ones(len(r), dtype=bool)
    first[1:] = r[1:] != r[:-1]
    running = np.cumsum(amount)
    start = np.repeat(running[first] - amount[first], np.diff(np.append(np.flatnonzero(first), len(r))))
    cumulative = np.rint((running - start) * 100.0).astype(np.int64)
    # the movement that closes an invoice settles the rest of its amount in cents (a payment that closes it,
    # bad debt, or a credit note for all that was open)
    invoice_amount = frames["invoice_issued"]["amount"].to_numpy(dtype=float)[r]
    credited_all = (kind[by_invoice] == 1) & np.isclose(running - start, invoice_amount, rtol=1e-9, atol=1e-6)
    cumulative = np.where(closes[by_invoice] | credited_all, amount_cents[r], np.minimum(cumulative, amount_cents[r]))
    previous = np.where(first, 0, np.roll(cumulative, 1))
    cents = np.empty(len(r), dtype=np.int64)
    cents[by_invoice] = cumulative - previous
    discount_cents = np.zeros(len(row), dtype=np.int64)
    discount_cents[: len(pay)] = np.rint(pay["discount"].to_numpy(dtype=float) * 100.0).astype(np.int64)
    short_cents = np.zeros(len(row), dtype=np.int64)
    short = np.isin(pay["kind"].astype(str).to_numpy(), ("short", "unearned_discount"))  # both leave a deduction unpaid
    short_cents[: len(pay)][short] = amount_cents[row[: len(pay)][short]] - cents[: len(pay)][short]
    return {"row": row, "kind": kind, "day": day, "closes": closes, "cents": cents,
            "cash_cents": cents - discount_cents, "discount_cents": discount_cents, "short_cents": short_cents}


def _dates(epoch: np.datetime64, days: np.ndarray) -> np.ndarray:
    """Day numbers from the calendar's start as dates; the smallest int64 stands for blank (NaT)."""
    blank = days == np.iinfo(np.int64).min
    dates = (epoch + np.where(blank, 0, days).astype("timedelta64[D]")).astype("datetime64[s]")
    dates[blank] = np.datetime64("NaT")
    return dates


def _cents_or_blank(cents: np.ndarray, *, any_of: np.ndarray | None = None) -> np.ndarray:
    """Cents as currency; blank (NaN) where there is nothing (or where ``any_of`` is False)."""
    present = cents != 0 if any_of is None else any_of
    return np.where(present, np.rint(cents) / 100.0, np.nan)


def _flags(values: np.ndarray, *, blank: np.ndarray | None = None) -> pd.arrays.BooleanArray:
    """Flags as the reader types them (nullable booleans), blank (<NA>) where ``blank``."""
    return pd.arrays.BooleanArray(values.astype(bool), np.zeros(len(values), dtype=bool) if blank is None else blank.astype(bool))


def _numbered(prefix: str, numbers: pd.Series, width: int) -> pd.Series:
    """``prefix + str(number).zfill(width)`` for each number, as a string column.

    Whole numbers from 0 to 10**width - 1 are spelled with numpy digit arithmetic, as lines of one ASCII text
    that Python then splits; anything else takes pandas' string methods (the same text, slower).
    """
    values = numbers.to_numpy()
    if values.dtype.kind not in "iu" or not len(values) or values.min() < 0 or values.max() >= 10**width:
        return prefix + numbers.astype(str).str.zfill(width)
    lead = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    text = np.empty((len(values), len(lead) + width + 1), dtype=np.uint8)
    text[:, : len(lead)] = lead
    for place in range(width):  # a scalar divisor per place: numpy divides fast
        text[:, len(lead) + place] = values // 10 ** (width - 1 - place) % 10 + ord("0")
    text[:, -1] = ord("\n")
    spelled = text.tobytes().decode("ascii").split("\n")[:-1]
    return pd.Series(spelled, index=numbers.index, dtype=_string_dtype(numbers))


def _string_dtype(like: pd.Series):
    """The dtype pandas gives ``"text" + series.astype(str)`` (pandas' default string dtype, or object)."""
    return ("C" + like.iloc[:1].astype(str)).dtype


LEDGER_FILE = "invoices.csv.gz"
"""The simulator's ledger in a results folder: one row per invoice, readable by `read_ledger` without a mapping."""

LEDGER_GZIP_LEVEL = 1
"""gzip level of the ledger; chosen by measurement (see `write_ledger`)."""

_DATE_COLUMNS = ("invoice_date", "due_date", "paid_date", "credit_note_date", "written_off_date")


def write_ledger(ledger: pd.DataFrame, folder: str | Path) -> Path:
    """Write the simulated ledger into a folder, dates as YYYY-MM-DD, whole (see `arsim.files`).

    The file is the CSV that pandas' ``to_csv(index=False)`` writes (the same bytes: a test checks it),
    gzip-compressed at level 1 with no timestamp, so equal ledgers give equal files. It stays a CSV, gzipped,
    under the same name: `read_ledger` and ``arsim kpis`` read it without a mapping (they recognise gzip by
    content), and a spreadsheet opens it once unpacked. The text is built with numpy rather than ``to_csv``,
    and compressed at level 1 rather than 6 (in a second thread, while the next rows are turned into text),
    because of what each costs on the enterprise ledger (218,205 invoices, 20.5 MB of CSV), measured with
    ``python benchmarks/speed.py --ledger --repeats 5`` (best of 5, seconds, on the 2-core reference machine):

    =====================================  =======
    building the CSV text                  seconds
    =====================================  =======
    pandas: strftime + to_csv (before)     1.19
    per-column strings + csv.writer        0.84
    per-column strings + str.join          0.44
    numpy byte matrix (chosen)             0.19
    =====================================  =======

    ======================  =======  ====  =================
    compression             seconds  MB    read_ledger, s
    ======================  =======  ====  =================
    none (plain .csv)       0.01     20.5  2.00
    gzip level 1 (chosen)   0.11     4.1   2.29
    gzip level 3            0.18     3.5
    gzip level 6 (before)   0.42     3.0   2.27
    gzip level 9            1.56     2.9
    ======================  =======  ====  =================

    Text and compression together, as written here: 0.21 s (0.30 one after the other), against 1.6 s
    before. Plain CSV would save another 0.1 s but make every results folder five times larger and change
    the file's name; reading back is dominated by parsing, whatever the compression.

    Those figures are of the ledger with invoice rows only. The complete ledger (`ledger_from_frames`: how
    each invoice closed, and a row per settlement) has 218,704 invoice rows and 215,912 settlement rows,
    41.1 MB of CSV (9.0 MB gzipped, against 4.2). Built and written the same way (best of 4, seconds, one
    script measuring both versions one after the other on the 2-core machine while busy):

    ============================  ===========  ===========  =====  ============
    ledger                        frame built  text + gzip  total  load average
    ============================  ===========  ===========  =====  ============
    invoice rows only (before)    0.16         0.56         0.73   4-5
    complete (now)                0.53         2.25         2.78   4-5
    invoice rows only (before)    0.53-0.66    1.23-1.49    1.76-2.26  10-14
    complete (now)                1.73         4.20         5.93   10-14
    ============================  ===========  ===========  =====  ============

    Twice the rows and twice the bytes cost three to four times as much: the text costs more per byte,
    mostly the two identifier columns (a third of the text time; pandas' string columns are converted to
    Python strings block by block) and the blank cells of the sparse columns, which still take their
    column's width in the byte matrix. Float columns are spelled only as wide as their largest number, so
    the mostly blank amount columns (discount, credit note, write-off) stay narrow.
    """
    frame = ledger.copy(deep=False)
    for column in _DATE_COLUMNS:  # YYYY-MM-DD: days at midnight, which to_csv writes so (with a time zone, text)
        if column in frame:
            dates = frame[column].dt
            frame[column] = dates.strftime("%Y-%m-%d") if dates.tz is not None else dates.normalize()
    compressed = gzip_chunks(csv_chunks(frame), level=LEDGER_GZIP_LEVEL)
    return write_bytes(Path(folder) / LEDGER_FILE, compressed)


# ---------------------------------------------------------------------------------------------- CSV with numpy


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame.to_csv(index=False).encode()``, byte for byte (see `csv_chunks`)."""
    return b"".join(csv_chunks(frame))


def csv_chunks(frame: pd.DataFrame, *, rows: int = 32_768) -> Iterator[bytes]:
    """``frame.to_csv(index=False).encode()``, byte for byte, in pieces: the header, then blocks of rows.

    Each block's columns become fixed-width byte arrays (shorter values padded with NUL bytes); the columns,
    commas and newlines are laid side by side in one matrix, one row per line, and dropping the padding
    leaves the CSV text. A block holding what this does not spell (text with a NUL byte, numbers in a text
    column) takes ``to_csv`` itself, which spells such values one by one; the whole frame takes it when a
    column is of another kind, or is a date column with times of day, whose format to_csv decides for the
    whole column.
    """
    if not len(frame.columns) or not len(frame) or not all(_spelled_here(frame[column]) for column in frame.columns):
        yield frame.to_csv(index=False).encode("utf-8")
        return
    yield _csv_line([str(name) for name in frame.columns])
    for first in range(0, len(frame), rows):
        block = frame.iloc[first:first + rows]
        fields = [_field_bytes(block[column]) for column in block.columns]
        if any(field is None for field in fields):
            yield block.to_csv(index=False, header=False).encode("utf-8")
            continue
        width = sum(field.dtype.itemsize for field in fields) + len(fields)
        matrix = np.zeros((len(block), width), dtype=np.uint8)
        at = 0
        for number, field in enumerate(fields):
            size = field.dtype.itemsize
            if size:
                matrix[:, at:at + size] = field.view(np.uint8).reshape(len(block), size)
            matrix[:, at + size] = ord("\n") if number == len(fields) - 1 else ord(",")
            at += size + 1
        flat = matrix.ravel()
        yield flat[flat != 0].tobytes()


def _spelled_here(column: pd.Series) -> bool:
    """Whether `_field_bytes` knows the column's kind: text, categories of text, booleans, numbers, and dates
    at midnight (which to_csv writes as YYYY-MM-DD)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.api.types.infer_dtype(dtype.categories, skipna=False) == "string"
    if isinstance(dtype, (pd.StringDtype, pd.BooleanDtype)):
        return True
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biufMO":
        return False
    if dtype.kind == "M":
        values = column.to_numpy()
        return bool((np.isnat(values) | (values.astype("datetime64[D]") == values)).all())
    return True


def _csv_line(values: list[str]) -> bytes:
    """One CSV line as pandas writes it (Python's csv module, minimal quoting, newline ending)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode("utf-8")


_SPECIAL = np.zeros(256, dtype=bool)
_SPECIAL[list(b',"\r\n')] = True  # the bytes that make the csv module quote a value


def _text_bytes(values: list[str], *, quote: bool = True) -> np.ndarray | None:
    """Values as fixed-width UTF-8 byte strings, quoted as the csv module quotes them; None when one holds a NUL.

    The values are joined with NUL bytes and encoded in one go, then cut apart with numpy, which is many
    times faster than converting each Python string.
    """
    joined = "\0".join(values)
    if joined.count("\0") != max(len(values) - 1, 0):
        return None  # a NUL inside a value: it would be taken for padding
    data = np.frombuffer((joined + "\0").encode("utf-8"), dtype=np.uint8)
    ends = np.flatnonzero(data == 0)
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts
    special = _SPECIAL[data] if quote else None
    if special is not None and special.any():  # quote as the csv module does (few values need it: a comma...)
        quoted = list(values)
        for row in np.unique(np.searchsorted(ends, np.flatnonzero(special))).tolist():
            quoted[row] = _csv_line([values[row]])[:-1].decode("utf-8")
        return _text_bytes(quoted, quote=False)
    width = max(int(lengths.max()), 1)
    if (lengths == width).all():  # all of one length, as identifiers are: cut the separators off
        return data.reshape(len(values), width + 1)[:, :width].copy().view(f"S{width}").ravel()
    offsets = np.arange(width)
    inside = offsets[None, :] < lengths[:, None]
    table = np.zeros((len(values), width), dtype=np.uint8)
    table[inside] = data[(starts[:, None] + offsets[None, :])[inside]]
    return table.view(f"S{width}").ravel()


def _field_bytes(column: pd.Series) -> np.ndarray | None:
    """A column as fixed-width byte strings, each what ``to_csv`` writes for it; None for a kind not handled."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        names = _text_bytes([str(name) for name in dtype.categories])
        if names is None:
            return None
        table = np.concatenate([names, np.array([b""], dtype=names.dtype)])
        return table[column.cat.codes.to_numpy()]  # code -1 (missing) takes the empty string at the end
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return np.array([b"False", b"True"])[column.to_numpy().astype(np.intp)]
    if isinstance(dtype, pd.BooleanDtype):  # nullable: <NA> is blank
        return np.array([b"False", b"True", b""])[column.to_numpy(dtype=np.intp, na_value=2)]
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _float_bytes(column.to_numpy())
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return column.to_numpy().astype("S")
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return _date_bytes(column.to_numpy().astype("datetime64[D]"))  # midnights (see `_spelled_here`)
    if isinstance(dtype, pd.StringDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "O"):
        values = column.to_numpy(dtype=object, na_value="")
        if not isinstance(dtype, pd.StringDtype) and pd.api.types.infer_dtype(values, skipna=False) != "string":
            return None  # numbers or other objects in a text column: to_csv knows how it spells them
        if len(set(values[:1000].tolist())) <= 64:  # few distinct values (a channel, a type): spell each once
            codes, distinct = pd.factorize(values)
            table = _text_bytes(distinct.tolist())
            return None if table is None else table[codes]
        return _text_bytes(values.tolist())
    return None


def _date_bytes(values: np.ndarray) -> np.ndarray | None:
    """Day-precision datetimes as YYYY-MM-DD (NaT as empty), by looking each day up in a table."""
    missing = np.isnat(values)
    days = values.astype(np.int64)
    if missing.all():
        return np.zeros(len(values), dtype="S1")
    first, last = days[~missing].min(), days[~missing].max()
    if first < np.datetime64("1000-01-01", "D").astype(np.int64) or last > np.datetime64("9999-12-31", "D").astype(np.int64):
        return None  # strftime spells years outside 1000-9999 differently
    table = np.datetime_as_string(np.arange(first, last + 1).astype("datetime64[D]"), unit="D").astype("S10")
    table = np.concatenate([table, np.array([b""], dtype="S10")])
    return table[np.where(missing, len(table) - 1, days - first)]


def _float_bytes(values: np.ndarray) -> np.ndarray:
    """Floats as ``to_csv`` writes them (numpy's shortest repr, NaN as empty).

    Amounts in whole cents below 10**12 (all of a ledger's, as a rule) are spelled from their cents with
    digit arithmetic: the shortest repr of such a number is its cents with a trailing zero of the fraction
    dropped (2275.5, 518.63, 12.0, 0.05), since any shorter decimal is at least a cent away while doubles
    there are less than 0.001 apart. The digits are right-aligned behind NUL bytes, which `csv_chunks`
    drops with the rest of the padding. The other numbers take numpy's own conversion.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        cents = np.rint(values * 100.0)
        fast = np.isfinite(values) & (np.abs(values) < 1e12) & (cents / 100.0 == values)
    slow = ~fast & ~np.isnan(values)  # NaN is blank: all-NUL padding
    block = np.zeros((int(fast.sum()), 0), dtype=np.uint8)
    if len(block):
        count = np.abs(cents[fast]).astype(np.int64)
        whole, fraction = count // 100, count % 100
        places = len(str(int(whole.max())))  # only as many places as the largest number has: a narrow column
        negative = np.signbit(values[fast])
        sign = 1 if negative.any() else 0
        block = np.zeros((len(count), sign + places + 3), dtype=np.uint8)
        if sign:
            block[:, 0] = np.where(negative, ord("-"), 0)
        for place in range(places):  # the whole part's places, the highest first; zeros before the first digit: padding
            power = 10 ** (places - 1 - place)
            digit = whole // power % 10 + ord("0")  # a scalar divisor: numpy divides fast
            block[:, sign + place] = digit if power == 1 else np.where(whole < power, 0, digit)
        block[:, -3] = ord(".")
        block[:, -2] = fraction // 10 + ord("0")
        block[:, -1] = np.where(fraction % 10 != 0, fraction % 10 + ord("0"), 0)
    if not slow.any() and len(block) == len(values):
        text, width = block, block.shape[1]
    else:
        width = max(block.shape[1], 24 if slow.any() else 1)  # numpy spells any float64 in at most 24 characters
        text = np.zeros((len(values), width), dtype=np.uint8)
        text[fast, : block.shape[1]] = block
    if slow.any():
        spelled = np.array([text.encode("ascii") for text in values[slow].astype(str).tolist()], dtype="S")
        text[slow, : spelled.dtype.itemsize] = spelled.view(np.uint8).reshape(-1, spelled.dtype.itemsize)
    return text.view(f"S{width}").ravel()
