"""Receivables KPIs of a real ledger, with the same formulas that measure a simulated book.

This module has one job: turn a canonical ledger frame (`arsim.ledger.read_ledger`) into the KPIs of
docs/domain.md (KPI definitions) as of a date, plus the same KPIs for each earlier period (a monthly or quarterly
series). It converts dates to day numbers and invoices to `arsim.measure.balances.Movements` (see `_movements`:
settlement rows where the ledger has them, as the simulator's own ledger does; else a credit note, a
write-off and the rest paid on paid_date, from the invoice's own columns), then calls the formulas of
`arsim.measure`, so a ledger and a simulation are never measured by two different pieces of code: the
simulator's ledger read back gives the run's own monthly KPIs.

As of. ``as_of`` is a day D (default: the end of the last complete month of invoicing, `default_as_of`).
An invoice is open if issued on or before D and not closed by the end of D; days past due = D - due
date, so an invoice due on D is current; aging buckets current (<= 0), 1-30, 31-60, 61-90, 91+ include
both ends. Balances are taken after D's movements, but days past due count from D, not from the day after.

Periods. A period ends on a day (inclusive) and is the trailing calendar month or quarter before it:
``period="month"`` with ``as_of=2018-06-15`` is 2018-05-16 .. 2018-06-15 (31 days); at a month end it is the
calendar month. An integer period is that many days (``period=30`` gives 30-day months, as in textbook
examples). Balances are taken after every movement dated on or before the period's last day. DSO, best
possible DSO, ADD and CEI use the period's sales S and its days D; CEI uses N = 1 (month), 3 (quarter) or
D / 30.4375 (days), as a run's calendar months do (`arsim.measure.balances.months_in`). Countback DSO walks
back trailing periods of one month (or of the given days) from the period's end, over at most 12 of them,
as a run's months do (`arsim.measure.balances.trailing_month_bounds`). AR turnover annualises S (S x 365 / D).

What a KPI needs, and what happens without it:

- Balances (DSO, countback, best possible DSO, ADD, CEI, % past due, aging, turnover, collection period)
  need invoice dates: without them nobody knows when an invoice entered AR. Those KPIs are then None
  and a note says why; nothing is estimated.
- share_paid_late and avg_days_late_paid need only due and paid dates: over invoices paid (in full) in
  the period, the share paid after the due date and the mean of max(days late, 0). This is not ADD.
- bad_debt_ratio needs write-offs with dates: Write-off settlement rows, written_off_date, or else the
  paid_date of a row marked written_off (read as its write-off date). A written-off row without a date stays
  in AR (its write-off day is unknown) and the ratio is None, with a note.

Rows whose item_type is neither blank nor "invoice" (credit memos, payment differences) are left out of
the KPIs, as in `arsim.ledger.payment_statistics`, except settlement rows that name an invoice of the
ledger; a note says how many were left out.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from arsim.errors import InputError
from arsim.measure.balances import COUNTBACK_MONTHS, Movements, portfolio_kpis
from arsim.measure.formulas import AGING_BUCKETS
from arsim.measure.lateness import invoice_rows, late_payment_figures, settlement_rows
from arsim.measure.ledger_frame import canonical_ledger
from arsim.sim.calendar import DAYS_PER_MONTH

LEDGER_KPI_KEYS: tuple[str, ...] = (
    "dso", "dso_countback", "best_possible_dso", "add", "cei", "pct_past_due", "ar_turnover",
    "avg_collection_period", "share_paid_late", "avg_days_late_paid", "bad_debt_ratio",
    "sales", "ar_beg", "ar_end", "ar_current_end", "paid_invoices",
    *(f"aging_{name}" for name in AGING_BUCKETS),
)
"""Columns of `ledger_kpis` besides period_start, period_end and days."""

HEADLINE_KPIS: tuple[str, ...] = (
    "dso", "dso_countback", "best_possible_dso", "add", "cei", "pct_past_due", "ar_turnover",
    "avg_collection_period", "share_paid_late", "avg_days_late_paid", "bad_debt_ratio",
)
"""The KPIs of ``arsim kpis`` (text and ``--json`` alike, with ``aging``), in order: every key of
`LEDGER_KPI_KEYS` that is a ratio or a number of days. The rest (sales, AR balances, paid invoices) are amounts
and counts the KPIs are made of, and stay in the series."""

BALANCE_KEYS: tuple[str, ...] = (
    "dso", "dso_countback", "best_possible_dso", "add", "cei", "pct_past_due", "ar_turnover",
    "avg_collection_period", "sales", "ar_beg", "ar_end", "ar_current_end", *(f"aging_{name}" for name in AGING_BUCKETS),
)
MIN_PAID_INVOICES = 10
"""A period with fewer paid invoices has share_paid_late and avg_days_late_paid None (``measured`` False)."""
COUNTBACK_PERIODS = COUNTBACK_MONTHS
"""Countback DSO looks back over at most this many trailing months (or periods of the given days)."""


@dataclass(frozen=True)
class LedgerKPIs:
    """Receivables KPIs of a ledger: one row per period ending at ``as_of`` and before it (latest last).

    ``series`` columns: period_start, period_end, days, then `LEDGER_KPI_KEYS`, then ``measured`` (False
    where too few invoices were paid to measure the payment KPIs). ``notes`` says why a KPI is None
    (missing columns, undated write-offs, ...) and how the default as-of date was chosen.
    """

    as_of: pd.Timestamp
    period: str | int
    series: pd.DataFrame
    notes: tuple[str, ...]

    @property
    def latest(self) -> pd.Series:
        """The row of the period ending at ``as_of``."""
        return self.series.iloc[-1]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object of `arsim kpis`: the latest period's KPIs (None for missing) and the notes.

        The kpis keys are `HEADLINE_KPIS` then ``aging``, always all of them: a KPI the ledger cannot support is
        None (JSON null), never left out. The text table of ``arsim kpis`` prints this same object.
        """
        last = self.latest
        kpis: dict[str, Any] = {key: _clean(last[key]) for key in HEADLINE_KPIS}
        kpis["aging"] = {name: _clean(last[f"aging_{name}"]) for name in AGING_BUCKETS}
        return {"as_of": pd.Timestamp(last["period_end"]).strftime("%Y-%m-%d"), "kpis": kpis, "notes": list(self.notes)}


def ledger_kpis(
    ledger: pd.DataFrame, *, as_of: str | dt.date | None = None, period: str | int = "month", periods: int | None = None,
    min_paid_invoices: int = MIN_PAID_INVOICES, today: dt.date | None = None,
) -> LedgerKPIs:
    """KPIs of a ledger for the period ending at `as_of` and each earlier period (one row each, latest last).

    as_of: last day of the latest period (YYYY-MM-DD or a date); default the end of the last complete month
        of invoicing (see `default_as_of`). Refused (InputError on ``as_of``) when it is not a date, after
        ``today`` (default: the clock's date; not for a ledger whose own dates run past today, i.e. a
        simulated one), before the ledger's first date or after the end of the month of its latest date.
    period: "month", "quarter" or a whole number of days (see the module docstring).
    periods: how many periods to report; default every whole period that starts on or after the ledger's
        first date (at least one).
    min_paid_invoices: a period with fewer paid invoices is not measured for share_paid_late and
        avg_days_late_paid (None, column ``measured`` False): one late payment is not "100% late".
    Returns a `LedgerKPIs` whose notes say why a KPI is None (missing columns, undated write-offs, ...).

    `ledger` is the frame `arsim.read_ledger` returns, or any pandas frame in its column layout: it is
    converted and checked as a file is (`arsim.measure.ledger_frame.canonical_ledger`), and a bad row or
    argument raises `InputError` naming the argument.
    """
    ledger = canonical_ledger(ledger)
    _check_period(period)
    if periods is not None and (isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 1):
        raise InputError(f"periods: expected a whole number of at least 1 or None, got {periods!r}")  # no flag: Python only
    if isinstance(min_paid_invoices, bool) or not isinstance(min_paid_invoices, (int, np.integer)) or min_paid_invoices < 0:
        raise InputError(f"min_paid_invoices: expected a whole number of at least 0, got {min_paid_invoices!r}")
    invoices, settlements, notes = _invoice_rows(ledger)
    epoch = _first_date(invoices, settlements)
    if as_of is None:
        as_of_ts, reason = default_as_of(invoices)
        notes.append(f"as of {as_of_ts:%Y-%m-%d}: {reason} (give --as-of / as_of to choose)")
    else:
        as_of_ts = _parse_as_of(as_of)
    _check_as_of(as_of_ts, first=epoch, last=_latest_date(invoices, settlements), today=today)
    ends = _period_ends(as_of_ts, period=period, first=epoch, count=periods)
    has_invoice_dates = invoices["invoice_date"].notna().any() if len(invoices) else False
    if not has_invoice_dates:
        notes.append("no invoice dates: sales per period and AR balances are unknown, so DSO, countback DSO, best "
                     "possible DSO, ADD, CEI, % past due, aging, AR turnover and collection period are null")
    elif invoices["invoice_date"].isna().any():
        missing = int(invoices["invoice_date"].isna().sum())
        notes.append(f"{missing:,} invoice(s) without an invoice date are left out of sales and AR balances")
    movements, write_offs, undated = _movements(invoices, settlements, epoch)
    if undated:
        notes.append(f"{undated:,} written-off invoice(s) have no write-off date: they stay in AR and bad_debt_ratio is null")
    marked = bool(invoices["written_off"].fillna(False).astype(bool).any()) or len(write_offs) > 0
    if not marked:
        notes.append("no write-offs are marked (written_off column absent or never true): bad_debt_ratio is null")

    rows = []
    for end_ts in ends:
        start_ts = _period_start(end_ts, period)
        start = (start_ts - epoch).days
        end = (end_ts - epoch).days + 1  # boundary after the last day's movements
        row: dict[str, Any] = {"period_start": start_ts, "period_end": end_ts, "days": end - start}
        if has_invoice_dates:
            row.update(_balance_kpis(movements, start=start, end=end, end_ts=end_ts, epoch=epoch, period=period))
        else:
            row.update({key: None for key in BALANCE_KEYS})
        row.update(_payment_kpis(invoices, start_ts=start_ts, end_ts=end_ts, min_paid_invoices=min_paid_invoices))
        if marked and not undated and has_invoice_dates and row["sales"]:
            in_period = write_offs[(write_offs["day"] >= start) & (write_offs["day"] < end)]
            row["bad_debt_ratio"] = float(in_period["amount"].sum()) / row["sales"]
        else:
            row["bad_debt_ratio"] = None
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["period_start", "period_end", "days", *LEDGER_KPI_KEYS, "measured"])
    unmeasured = int((~frame["measured"]).sum())
    if unmeasured:
        notes.append(f"{unmeasured} period(s) with fewer than {min_paid_invoices} paid invoices are not measured: "
                     f"share_paid_late and avg_days_late_paid are null there (column 'measured' False)")
    return LedgerKPIs(as_of=as_of_ts, period=period, series=frame, notes=tuple(notes))


# ---------------------------------------------------------------------------------------------- pieces


def _clean(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


_SETTLEMENT_DATES = ("paid_date", "credit_note_date", "written_off_date")


def _invoice_rows(ledger: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The invoice rows, the settlement rows that name one of them, and notes on the rows left out."""
    notes: list[str] = []
    for column in ("invoice_id", "invoice_date", *_SETTLEMENT_DATES, "written_off", "item_type",
                   "credit_note_amount", "written_off_amount"):
        if column not in ledger.columns:
            absent = {"written_off": pd.NA, "invoice_id": None, "item_type": None}
            ledger = ledger.assign(**{column: absent.get(column, pd.NaT if column.endswith("_date") else np.nan)})
    is_invoice = invoice_rows(ledger)
    settles = settlement_rows(ledger["item_type"])
    invoices = ledger.loc[is_invoice].reset_index(drop=True)
    named = ledger["invoice_id"].isin(invoices["invoice_id"].dropna()) & ledger["invoice_id"].notna()
    settlements = ledger.loc[settles & named].reset_index(drop=True)
    others = int((~is_invoice & ~(settles & named)).sum())
    if others:
        notes.append(f"{others:,} row(s) that are not invoices (credit memos, payment differences, ...) are left out"
                     + (f", {int((settles & ~named).sum()):,} of them settlement rows that name no invoice of the ledger"
                        if (settles & ~named).any() else ""))
    return invoices, settlements, notes


def _dates_of(*frames: pd.DataFrame) -> pd.Series:
    return pd.concat([frame[c] for frame in frames for c in ("invoice_date", "due_date", *_SETTLEMENT_DATES) if c in frame.columns]).dropna()


def _first_date(invoices: pd.DataFrame, settlements: pd.DataFrame) -> pd.Timestamp:
    dates = _dates_of(invoices, settlements)
    if dates.empty:
        raise InputError("the ledger has no dated invoice to measure")
    return pd.Timestamp(dates.min()).normalize()


def _latest_date(invoices: pd.DataFrame, settlements: pd.DataFrame) -> pd.Timestamp:
    return pd.Timestamp(_dates_of(invoices, settlements).max()).normalize()


def _check_period(period: Any) -> None:
    """'month', 'quarter' or a whole number of days of at least 1; anything else is an InputError on ``period``."""
    if period in ("month", "quarter") and isinstance(period, str):
        return
    if isinstance(period, (int, np.integer)) and not isinstance(period, bool) and period >= 1:
        return
    raise InputError(f"expected 'month', 'quarter' or a whole number of days of at least 1, got {period!r}", argument="period")


def _period_start(end: pd.Timestamp, period: str | int) -> pd.Timestamp:
    """First day of the trailing period that ends on `end` (inclusive); ``period`` as `_check_period` let it pass."""
    _check_period(period)
    # Counting back from the day after the end keeps month ends on calendar months (06-30 -> 04-01..06-30).
    if period == "month":
        return end + pd.Timedelta(days=1) - pd.DateOffset(months=1)
    if period == "quarter":
        return end + pd.Timedelta(days=1) - pd.DateOffset(months=3)
    return end - pd.Timedelta(days=int(period) - 1)


def _period_ends(as_of: pd.Timestamp, *, period: str | int, first: pd.Timestamp, count: int | None) -> list[pd.Timestamp]:
    """Ends of the reported periods, earliest first; the latest ends at as_of."""
    ends = [as_of]
    while count is None or len(ends) < count:
        previous = _period_start(ends[-1], period) - pd.Timedelta(days=1)
        if count is None and _period_start(previous, period) < first:
            break
        ends.append(previous)
    return ends[::-1]


def _movements(invoices: pd.DataFrame, settlements: pd.DataFrame, epoch: pd.Timestamp) -> tuple[Movements, pd.DataFrame, int]:
    """Dated invoices as movements, and the dated write-offs (for the bad-debt ratio); how many write-offs are undated.

    An invoice with settlement rows (payments, credit notes, write-offs naming it, as the simulator writes
    them) is settled by exactly those rows, each on its own date by the size of its amount (the simulator writes
    minus what a row settles; exports write payments with either sign). Any other invoice is
    settled from its own columns: a dated credit note by credit_note_amount, a dated write-off by
    written_off_amount (all that is left when blank), and what remains on paid_date. A row marked
    written_off without a written_off_date is written off on its paid_date (exports without a write-off
    date); without either it stays open and is counted as undated.
    """
    dated = invoices[invoices["invoice_date"].notna()].reset_index(drop=True)
    ids = pd.Series(np.arange(len(dated)))
    invoice_day = (dated["invoice_date"] - epoch).dt.days
    due_day = (dated["due_date"] - epoch).dt.days
    amount = dated["amount"].astype(float)
    frame = pd.DataFrame({"invoice_id": ids, "customer_id": dated["customer_id"].astype(str), "invoice_day": invoice_day,
                          "due_day": due_day, "amount": amount})
    # invoices settled by their own settlement rows
    position = pd.Index(dated["invoice_id"]).get_indexer(settlements["invoice_id"]) if len(settlements) else np.zeros(0, dtype=np.intp)
    has_rows = np.zeros(len(dated), dtype=bool)
    has_rows[position[position >= 0]] = True
    when = settlements["paid_date"].fillna(settlements["credit_note_date"]).fillna(settlements["written_off_date"])
    usable = (position >= 0) & when.notna().to_numpy()
    from_rows = pd.DataFrame({"invoice_id": position[usable], "day": (when[usable] - epoch).dt.days.to_numpy(),
                              "amount": settlements["amount"].astype(float).abs().to_numpy()[usable]})
    is_write_off = (settlements["item_type"].astype("string").str.strip().str.lower() == "write-off").to_numpy() & usable
    row_write_offs = pd.DataFrame({"day": (when[is_write_off] - epoch).dt.days.to_numpy(),
                                   "amount": settlements["amount"].astype(float).abs().to_numpy()[is_write_off]})
    # invoices settled from their own columns
    own = ~has_rows
    credit_on = dated["credit_note_date"].notna() & own
    credited = dated["credit_note_amount"].fillna(0.0).where(credit_on, 0.0).clip(upper=amount)
    written = dated["written_off"].fillna(False).astype(bool)
    off_on = (dated["written_off_date"].notna() & own).to_numpy()
    written_amount = dated["written_off_amount"].fillna(amount - credited).where(off_on, 0.0).clip(upper=amount - credited)
    paid_on = (dated["paid_date"].notna() & own).to_numpy()
    rest = (amount - credited - written_amount).to_numpy()
    write_on_paid = paid_on & written.to_numpy() & ~off_on  # an export's write-off dated by its paid_date
    parts = [
        from_rows,
        pd.DataFrame({"invoice_id": ids[credit_on], "day": (dated["credit_note_date"][credit_on] - epoch).dt.days, "amount": credited[credit_on]}),
        pd.DataFrame({"invoice_id": ids[off_on], "day": (dated["written_off_date"][off_on] - epoch).dt.days, "amount": written_amount[off_on]}),
        pd.DataFrame({"invoice_id": ids[paid_on], "day": (dated["paid_date"][paid_on] - epoch).dt.days, "amount": rest[paid_on]}),
    ]
    settled = pd.concat([part for part in parts if len(part)], ignore_index=True) if any(len(part) for part in parts) else from_rows
    settled = settled[settled["amount"] != 0].reset_index(drop=True)
    write_offs = pd.concat([
        row_write_offs,
        pd.DataFrame({"day": (dated["written_off_date"][off_on] - epoch).dt.days.to_numpy(), "amount": written_amount[off_on].to_numpy()}),
        pd.DataFrame({"day": (dated["paid_date"][write_on_paid] - epoch).dt.days.to_numpy(), "amount": rest[write_on_paid]}),
    ], ignore_index=True)
    everywhere = invoices["written_off"].fillna(False).astype(bool)
    undated_rows = everywhere & invoices["paid_date"].isna() & invoices["written_off_date"].isna()
    undated_rows &= ~invoices["invoice_id"].isin(settlements["invoice_id"]) if len(settlements) else True
    return Movements(invoices=frame, settlements=settled), write_offs, int(undated_rows.sum())


def _balance_kpis(movements: Movements, *, start: int, end: int, end_ts: pd.Timestamp, epoch: pd.Timestamp, period: str | int) -> dict[str, Any]:
    days = end - start
    months = {"month": 1.0, "quarter": 3.0}.get(period, days / DAYS_PER_MONTH) if isinstance(period, str) else days / DAYS_PER_MONTH
    step: str | int = period if isinstance(period, int) else "month"
    back_sales, back_days = [], []
    back_end = end_ts
    for _ in range(COUNTBACK_PERIODS):
        back_start = _period_start(back_end, step)
        a, b = (back_start - epoch).days, (back_end - epoch).days + 1
        back_sales.append(movements.sales(a, b))
        back_days.append(b - a)
        if a <= 0:
            break
        back_end = back_start - pd.Timedelta(days=1)
    result = portfolio_kpis(movements, start=start, end=end, start_date=epoch, months=months, countback=(back_sales, back_days))
    return {key: result[key] for key in (
        "dso", "dso_countback", "best_possible_dso", "add", "cei", "pct_past_due", "ar_turnover", "avg_collection_period",
        "sales", "ar_beg", "ar_end", "ar_current_end", *(f"aging_{name}" for name in AGING_BUCKETS),
    )}


def _payment_kpis(invoices: pd.DataFrame, *, start_ts: pd.Timestamp, end_ts: pd.Timestamp, min_paid_invoices: int) -> dict[str, Any]:
    written = invoices["written_off"].fillna(False).astype(bool)
    paid = invoices[invoices["paid_date"].between(start_ts, end_ts) & invoices["due_date"].notna() & ~written]
    late_days = (paid["paid_date"] - paid["due_date"]).dt.days.to_numpy(dtype=float)
    if late_days.size == 0 or late_days.size < min_paid_invoices:
        return {"share_paid_late": None, "avg_days_late_paid": None, "paid_invoices": int(late_days.size), "measured": False}
    share_late, mean_days_late = late_payment_figures(late_days)
    return {"share_paid_late": share_late, "avg_days_late_paid": mean_days_late, "paid_invoices": int(late_days.size), "measured": True}


def default_as_of(ledger: pd.DataFrame) -> tuple[pd.Timestamp, str]:
    """The default as-of date and why: the end of the last complete month of invoicing.

    Invoice dates are used where the ledger has them, else due dates. Paid dates never move it: one
    payment typed as 2099 must not turn a 2018 ledger into eighty years of empty months. The month of the
    latest date counts as complete only when that date is its last day, because a ledger exported mid-month
    would otherwise show a month of half the sales.
    """
    column = "invoice_date" if "invoice_date" in ledger.columns and ledger["invoice_date"].notna().any() else "due_date"
    dates = ledger[column].dropna() if column in ledger.columns else pd.Series(dtype="datetime64[us]")
    if dates.empty:
        raise InputError("the ledger has no invoice or due dates to measure as of", argument="as_of")
    latest = pd.Timestamp(dates.max()).normalize()
    month_end = latest + pd.offsets.MonthEnd(0)
    as_of = latest if latest == month_end else latest - pd.offsets.MonthEnd(1)
    what = "invoice dates" if column == "invoice_date" else "due dates (no invoice dates)"
    if as_of < pd.Timestamp(dates.min()).normalize():  # not one complete month: measure at the latest date instead
        return latest, f"the latest of the {what}: the ledger has no complete month"
    return as_of, f"the end of the last complete month of {what}, which end on {latest:%Y-%m-%d}"


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_as_of(as_of: str | dt.date) -> pd.Timestamp:
    """A calendar date given as YYYY-MM-DD or a date object; words such as 'yesterday' are refused, not guessed."""
    if isinstance(as_of, (dt.date, pd.Timestamp)):
        stamp = pd.Timestamp(as_of)
        if pd.isna(stamp):
            raise InputError("expected a date, got NaT", argument="as_of")
        return stamp.normalize()
    text = str(as_of).strip()
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError
        return pd.Timestamp(dt.date.fromisoformat(text))
    except ValueError:
        raise InputError(f"expected a date as YYYY-MM-DD, got {text!r}", argument="as_of") from None


def _check_as_of(as_of: pd.Timestamp, *, first: pd.Timestamp, last: pd.Timestamp, today: dt.date | None) -> None:
    """Refuse an as-of date outside the ledger, before any KPI is measured (not half-way through printing)."""
    today_ts = pd.Timestamp(today or dt.date.today())
    # A ledger whose own dates run past today is a simulated one (a scenario's calendar may lie ahead):
    # there "after today" means nothing, and only the ledger's own range applies.
    if as_of > today_ts and last <= today_ts:
        raise InputError(f"{as_of:%Y-%m-%d} is after today ({today_ts:%Y-%m-%d})", argument="as_of")
    if as_of < first:
        raise InputError(f"{as_of:%Y-%m-%d} is before the ledger's first date {first:%Y-%m-%d}", argument="as_of")
    allowed = last + pd.offsets.MonthEnd(0)
    if as_of > allowed:
        raise InputError(f"{as_of:%Y-%m-%d} is after the ledger: its latest date is {last:%Y-%m-%d} "
                         f"(an as-of date may be at most {allowed:%Y-%m-%d})", argument="as_of")
