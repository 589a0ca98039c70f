"""report.xlsx: the report's tables as a workbook a finance user can sort, filter and reuse.

The first sheet says what was asked and answered, then one sheet per table of the report. Every number is a
number (never text), formatted in its KPI's unit: money in the scenario's currency with thousands separators
and negatives in red brackets, days with one decimal, shares as percentages. Headers are bold and frozen,
with a filter, so the sheets read like the ones finance builds by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from arsim.files import atomic_write
from arsim.present.formats import excel_format, unit_of
from arsim.present.report import Report, Sheet

MAX_SHEET_NAME = 31
"""Excel's limit on a sheet name."""


def _cell_value(value):
    """A value openpyxl writes as a number, text, boolean, or an empty cell (NaN)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number_format(sheet: Sheet, column: str, row_kpi: str | None, *, currency: str, whole: bool) -> str:
    if column in sheet.formats:
        return sheet.formats[column]
    kpi = row_kpi if row_kpi is not None and column not in (sheet.kpi_column, "label") else column
    if unit_of(kpi) == "count":
        return "#,##0" if whole else "#,##0.00"
    return excel_format(kpi, currency=currency)


def _add_sheet(book: Workbook, sheet: Sheet, *, currency: str) -> None:
    ws = book.create_sheet(sheet.name[:MAX_SHEET_NAME])
    frame = sheet.frame.reset_index(drop=True)
    columns = [str(c) for c in frame.columns]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    numeric = {c: frame[c].dtype.kind in "iuf" for c in frame.columns}
    whole = {c: numeric[c] and all(math.isnan(v) or float(v).is_integer() for v in frame[c].astype(float)) for c in frame.columns}
    for values in frame.itertuples(index=False):
        ws.append([_cell_value(v) for v in values])
        row_kpi = str(getattr(values, sheet.kpi_column)) if sheet.kpi_column else None
        for column, cell in zip(frame.columns, ws[ws.max_row]):
            if numeric[column] and not isinstance(cell.value, bool):
                cell.number_format = _number_format(sheet, str(column), row_kpi, currency=currency, whole=whole[column])
    for index, column in enumerate(columns, start=1):
        sample = [len(column)] + [len(str(v)) for v in frame.iloc[:200, index - 1].tolist()]
        ws.column_dimensions[get_column_letter(index)].width = min(40, max(10, max(sample) + 2))
    ws.freeze_panes = "B2" if sheet.kpi_column else "A2"
    if len(frame):
        ws.auto_filter.ref = ws.dimensions


def build_workbook(report: Report) -> Workbook:
    """The report as an openpyxl workbook: an About sheet, then each of the report's tables."""
    book = Workbook()
    about = book.active
    about.title = "About"
    about.append([report.title])
    about["A1"].font = Font(bold=True, size=14)
    for label, text in [("question", report.question), ("answer", report.headline), ("currency", report.currency), *report.details]:
        about.append([label, text])
    for note in report.notes:
        about.append(["note", note])
    about.column_dimensions["A"].width = 16
    about.column_dimensions["B"].width = 120
    for row in about.iter_rows(min_row=2):
        row[0].font = Font(bold=True)
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    for sheet in report.sheets:
        _add_sheet(book, sheet, currency=report.currency)
    return book


def write_workbook(report: Report, path: str | Path) -> Path:
    """Write report.xlsx whole (through a temporary sibling, see `arsim.files`)."""
    book = build_workbook(report)
    return atomic_write(path, book.save)
