"""The simulator's own books: its invoices as a ledger a company would export, and writing that ledger."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from arsim.files import gzip_chunks, write_bytes
from arsim.measure.simulated import paid_days
from arsim.scenario.schema import Scenario


def ledger_from_frames(frames: dict[str, pd.DataFrame], scenario: Scenario) -> pd.DataFrame:
    """The simulated invoices as a ledger a company would export (dates as calendar dates)."""
    issued = frames["invoice_issued"]
    epoch = pd.Timestamp(scenario.calendar.start_date)
    paid = paid_days(frames).reindex(issued["invoice_id"]).to_numpy()
    disputed = set(frames["dispute_opened"]["invoice_id"].tolist())
    off = frames["write_off"]
    written = set(off.loc[off["kind"] == "bad_debt", "invoice_id"].tolist())
    ids = issued["invoice_id"]
    return pd.DataFrame({
        "customer_id": _numbered("C", issued["customer_id"], 6),
        "invoice_id": _numbered("I", ids, 8),
        "invoice_date": epoch + pd.to_timedelta(issued["day"], unit="D"),
        "due_date": epoch + pd.to_timedelta(issued["due_day"], unit="D"),
        "amount": issued["amount"].round(2),
        "paid_date": epoch + pd.to_timedelta(paid, unit="D"),
        "disputed": ids.isin(disputed),
        "written_off": ids.isin(written),
        "segment": issued["segment"],
        "channel": _labels(issued["electronic"].to_numpy(), ("paper", "electronic"), issued.index),
        "item_type": "Invoice",
    })


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


def _labels(flags: np.ndarray, names: tuple[str, str], index: pd.Index) -> pd.Series:
    """``np.where(flags, names[1], names[0])`` as a column, built from two string objects."""
    labels = np.array(names, dtype=object)[flags.astype(np.intp)]
    return pd.Series(labels, index=index, dtype=pd.Series(np.array(names)).dtype)


LEDGER_FILE = "invoices.csv.gz"
"""The simulator's ledger in a results folder: one row per invoice, readable by `read_ledger` without a mapping."""

LEDGER_GZIP_LEVEL = 1
"""gzip level of the ledger; chosen by measurement (see `write_ledger`)."""

_DATE_COLUMNS = ("invoice_date", "due_date", "paid_date")


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
    if isinstance(dtype, pd.StringDtype):
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
    width = 24  # numpy spells any float64 in at most 24 characters
    with np.errstate(invalid="ignore", over="ignore"):
        cents = np.rint(values * 100.0)
        fast = np.isfinite(values) & (np.abs(values) < 1e12) & (cents / 100.0 == values)
    text = np.zeros((len(values), width), dtype=np.uint8)
    if fast.any():
        count = np.abs(cents[fast]).astype(np.int64)
        whole, fraction = count // 100, count % 100
        block = np.zeros((len(count), 17), dtype=np.uint8)
        block[:, 0] = np.where(np.signbit(values[fast]), ord("-"), 0)
        for place in range(13):  # the whole part's places, the highest first; zeros before the first digit: padding
            power = 10 ** (12 - place)
            digit = whole // power % 10 + ord("0")  # a scalar divisor: numpy divides fast
            block[:, 1 + place] = digit if power == 1 else np.where(whole < power, 0, digit)
        block[:, 14] = ord(".")
        block[:, 15] = fraction // 10 + ord("0")
        block[:, 16] = np.where(fraction % 10 != 0, fraction % 10 + ord("0"), 0)
        text[fast, :17] = block
    slow = ~fast
    if slow.any():
        spelled = np.array([b"" if text == "nan" else text.encode("ascii") for text in values[slow].astype(str).tolist()], dtype="S")
        text[slow, : spelled.dtype.itemsize] = spelled.view(np.uint8).reshape(-1, spelled.dtype.itemsize)
    return text.view(f"S{width}").ravel()
