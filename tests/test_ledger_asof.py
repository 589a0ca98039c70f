"""As-of conventions of ledger KPIs at the edges (docs/domain.md, docs/ledgers.md): hand-built ledgers.

As of D an invoice is open if issued on or before D and not closed by the end of D; days past due are
D - due date, so an invoice due on D is current; the buckets current (<= 0), 1-30, 31-60, 61-90 and 91+
include both ends.
"""

from __future__ import annotations

import pandas as pd
import pytest

from arsim.errors import InputError
from arsim.measure.ledger_kpis import ledger_kpis

AS_OF = pd.Timestamp("2024-06-30")


def book(rows: list[tuple]) -> pd.DataFrame:
    """A canonical ledger from (invoice_date, due_date, amount, paid_date) tuples, one customer."""
    frame = pd.DataFrame(rows, columns=["invoice_date", "due_date", "amount", "paid_date"])
    for column in ("invoice_date", "due_date", "paid_date"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
    frame["customer_id"] = "A"
    frame["invoice_id"] = [f"I{n}" for n in range(len(frame))]
    return frame


def aging_of(days_past_due: int) -> dict[str, float]:
    """The aging of one open invoice of 100 that is ``days_past_due`` days past due as of AS_OF.

    A second invoice, paid on AS_OF, makes the ledger reach AS_OF (an as-of after the ledger is refused).
    """
    due = AS_OF - pd.Timedelta(days=days_past_due)
    measured = ledger_kpis(book([("2024-01-02", due, 100.0, None), ("2024-01-02", "2024-02-01", 5.0, AS_OF)]), as_of=AS_OF)
    return measured.to_json()["kpis"]["aging"]


@pytest.mark.parametrize(("days_past_due", "bucket"), [
    (-1, "current"), (0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"),
    (61, "61-90"), (90, "61-90"), (91, "91+"),
])
def test_bucket_edges_include_both_ends(days_past_due, bucket):
    """Due on D is current; exactly 30 days past due is still 1-30 (it was 31-60 when D + 1 was used)."""
    buckets = aging_of(days_past_due)
    assert buckets[bucket] == 100.0
    assert sum(value for value in buckets.values()) == 100.0


def test_due_on_the_as_of_day_is_current_and_not_past_due():
    last = ledger_kpis(book([("2024-06-01", "2024-06-30", 100.0, None)]), as_of=AS_OF).latest
    assert last["ar_current_end"] == 100.0 and last["pct_past_due"] == 0.0 and last["add"] == 0.0


def test_open_means_issued_by_d_and_not_closed_by_the_end_of_d():
    measured = ledger_kpis(book([
        ("2024-06-30", "2024-07-30", 1.0, None),          # issued on D: open
        ("2024-07-01", "2024-07-31", 2.0, None),          # issued after D: not yet in AR
        ("2024-06-01", "2024-06-30", 4.0, "2024-06-30"),  # paid on D: closed by the end of D
        ("2024-06-01", "2024-06-30", 8.0, "2024-07-01"),  # paid the day after: open as of D
    ]), as_of=AS_OF)
    assert measured.latest["ar_end"] == 9.0


def test_as_of_is_a_date_inside_the_ledger():
    ledger = book([("2024-01-02", "2024-02-01", 100.0, "2024-02-10"), ("2024-06-02", "2024-07-01", 100.0, None)])
    for bad in ("2013-13-45", "yesterday", "30/06/2024"):
        with pytest.raises(InputError, match="expected a date as YYYY-MM-DD") as caught:
            ledger_kpis(ledger, as_of=bad)
        assert caught.value.argument == "as_of"
    with pytest.raises(InputError, match="before the ledger's first date 2024-01-02"):
        ledger_kpis(ledger, as_of="2023-12-31")
    with pytest.raises(InputError, match="after the ledger"):
        ledger_kpis(ledger, as_of="2024-08-01")
    with pytest.raises(InputError, match="after today"):
        ledger_kpis(ledger, as_of="2024-07-31", today=pd.Timestamp("2024-07-15").date())
    # A simulated ledger may run past today: then only its own range applies.
    assert ledger_kpis(ledger, as_of="2024-07-31", today=pd.Timestamp("2024-06-15").date()).to_json()["as_of"] == "2024-07-31"
    assert ledger_kpis(ledger, as_of="2024-07-31").to_json()["as_of"] == "2024-07-31"  # to the end of the last month


def test_months_with_too_few_paid_invoices_are_not_measured():
    """One late payment in a month is not "100% late": the month is marked and its payment KPIs are null."""
    rows = [("2024-01-02", "2024-01-31", 10.0, "2024-01-31")] * 12 + [("2024-01-02", "2024-02-01", 10.0, "2024-02-20")]
    measured = ledger_kpis(book(rows), as_of="2024-02-29")
    series = measured.series
    assert series["measured"].tolist() == [True, True][: len(series) - 1] + [False]
    assert pd.isna(series.iloc[-1]["share_paid_late"]) and series.iloc[-1]["paid_invoices"] == 1
    assert any("not measured" in note for note in measured.notes)
    assert ledger_kpis(book(rows), as_of="2024-02-29", min_paid_invoices=1).latest["share_paid_late"] == 1.0


def test_a_date_typed_far_outside_the_ledger_is_reported_by_row(tmp_path):
    from arsim.ledger.read import LedgerError, load_ledger

    path = tmp_path / "typo.csv"
    lines = [f"A,I{n},2018-0{1 + n % 6}-01,2018-0{1 + n % 6}-28,100,2018-0{1 + n % 6}-27" for n in range(9)]
    lines.append("A,I9,2018-03-01,2018-03-31,100,2099-03-30")
    path.write_text("customer_id,invoice_id,invoice_date,due_date,amount,paid_date\n" + "\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LedgerError, match=r"typo.csv: column 'paid_date': 1 date more than 5 years outside .* row 10 \(e.g. '2099-03-30'\)"):
        load_ledger(path)
    loaded = load_ledger(path, drop_invalid=True)
    assert len(loaded.invoices) == 9 and loaded.dropped == {"paid_date far outside the ledger": 1}
