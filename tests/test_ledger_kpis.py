"""KPIs of hand-built ledgers (arsim.measure.ledger_kpis), including the test vectors of docs/domain.md built as ledgers.

Every expected value is worked out by hand in the test's docstring or comments.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import arsim
from arsim.cli.main import main
from arsim.measure.ledger_kpis import default_as_of, ledger_kpis


def ledger(rows: list[tuple]) -> pd.DataFrame:
    """A canonical ledger from (customer, invoice_date, due_date, amount, paid_date) tuples."""
    frame = pd.DataFrame(rows, columns=["customer_id", "invoice_date", "due_date", "amount", "paid_date"])
    for column in ("invoice_date", "due_date", "paid_date"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
    frame["invoice_id"] = [f"I{n}" for n in range(len(frame))]
    return frame


def test_countback_vector_as_a_ledger():
    """docs/domain.md: AR_end 212,000; monthly sales (latest first) 100k, 80k, 70k on 30-day months -> 73.71 days.

    As of 2024-03-30 with period=30 the months are 03-01..03-30, 01-31..02-29 and 01-01..01-30. January's
    70,000 is two invoices, one of 38,000 paid in February: AR_end = 250,000 - 38,000 = 212,000.
    Countback: 212,000 - 100,000 - 80,000 = 32,000 -> 30 + 30 + 32/70 x 30 = 73.714.
    """
    book = ledger([
        ("A", "2024-01-05", "2024-04-30", 38_000, "2024-02-10"),
        ("A", "2024-01-06", "2024-04-30", 32_000, None),
        ("B", "2024-02-10", "2024-04-30", 80_000, None),
        ("C", "2024-03-10", "2024-04-30", 100_000, None),
    ])
    frame = ledger_kpis(book, as_of="2024-03-30", period=30).series
    last = frame.iloc[-1]
    assert last["ar_end"] == pytest.approx(212_000)
    assert last["sales"] == pytest.approx(100_000)
    assert last["dso_countback"] == pytest.approx(73.714, abs=0.005)
    assert last["dso"] == pytest.approx(212_000 / 100_000 * 30)


def test_cei_vector_as_a_ledger():
    """docs/domain.md: quarter, N = 3, AR_beg 6,200, S 10,890, AR_end 6,340, AR_cur_end 3,590 -> CEI 55.9%.

    Quarter 2023-04-01..2023-06-30. Open at its start: 6,200 (paid in May). Sales in it: 3,590 due after the
    quarter (current at its end), 2,750 due in May and still open (past due), 4,550 paid in June.
    AR_end = 3,590 + 2,750 = 6,340. CEI = (6,200 + 3,630 - 6,340) / (6,200 + 3,630 - 3,590) = 55.93%.
    """
    book = ledger([
        ("A", "2023-03-01", "2023-03-31", 6_200, "2023-05-15"),
        ("B", "2023-06-10", "2023-07-10", 3_590, None),
        ("C", "2023-04-10", "2023-05-10", 2_750, None),
        ("D", "2023-05-20", "2023-06-19", 4_550, "2023-06-19"),
    ])
    last = ledger_kpis(book, as_of="2023-06-30", period="quarter", min_paid_invoices=1).latest
    assert (last["ar_beg"], last["sales"], last["ar_end"], last["ar_current_end"]) == (6_200, 10_890, 6_340, 3_590)
    assert last["cei"] == pytest.approx(55.93, abs=0.01)
    assert last["days"] == 91
    assert last["dso"] == pytest.approx(6_340 / 10_890 * 91)
    assert last["best_possible_dso"] == pytest.approx(3_590 / 10_890 * 91)
    assert last["add"] == pytest.approx((6_340 - 3_590) / 10_890 * 91)
    assert last["pct_past_due"] == pytest.approx(2_750 / 6_340 * 100)
    # 2,750 due 2023-05-10 is 51 days past due at the end of 2023-06-30; 3,590 is current.
    assert last["aging_current"] == 3_590 and last["aging_31-60"] == 2_750 and last["aging_1-30"] == 0
    # Turnover annualises the quarter's sales: 10,890 x 365 / 91 / ((6,200 + 6,340) / 2).
    assert last["ar_turnover"] == pytest.approx(10_890 * 365 / 91 / 6_270)
    assert last["avg_collection_period"] == pytest.approx(365 / last["ar_turnover"])
    # Paid in the quarter: 6,200 on 05-15 (45 days late) and 4,550 on its due date.
    assert last["share_paid_late"] == 0.5 and last["avg_days_late_paid"] == 22.5


def test_month_period_is_the_trailing_month_and_the_series_goes_back():
    book = ledger([
        ("A", "2024-01-10", "2024-02-09", 100, "2024-02-12"),
        ("A", "2024-02-10", "2024-03-11", 100, "2024-03-11"),
        ("A", "2024-03-10", "2024-04-09", 100, None),
    ])
    # January starts before the ledger's first date (01-10), so the series is February and March only.
    frame = ledger_kpis(book, as_of="2024-03-31", min_paid_invoices=1).series
    assert list(frame["period_start"].dt.strftime("%Y-%m-%d")) == ["2024-02-01", "2024-03-01"]
    assert list(frame["days"]) == [29, 31]
    assert list(frame["sales"]) == [100, 100]
    assert list(frame["ar_beg"]) == [100, 100] and list(frame["ar_end"]) == [100, 100]
    assert frame["share_paid_late"].tolist() == [1.0, 0.0]  # paid 3 days late in Feb, on time in March
    everything = ledger_kpis(book, as_of="2024-03-31", periods=3, min_paid_invoices=1).series
    assert everything.iloc[0]["period_start"] == pd.Timestamp("2024-01-01")
    assert pd.isna(everything.iloc[0]["share_paid_late"])  # nothing paid in January


def test_default_as_of_is_the_end_of_the_last_complete_month_of_invoicing():
    book = ledger([("A", "2024-01-10", "2024-02-09", 100, "2024-02-20"), ("A", "2024-02-10", "2024-03-11", 100, "2024-04-20")])
    measured = ledger_kpis(book)
    assert measured.to_json()["as_of"] == "2024-01-31"  # February's invoicing is not complete; April's payment moves nothing
    # A paid date typed as 2099 is refused as a bad row by ledger_kpis (as by read_ledger); the default alone ignores it.
    book.loc[1, "paid_date"] = pd.Timestamp("2099-02-20")
    assert default_as_of(book)[0] == pd.Timestamp("2024-01-31")
    assert any("last complete month of invoice dates" in note for note in measured.notes)
    alone = ledger([("A", "2024-01-10", "2024-02-09", 100, "2024-02-20")])
    assert ledger_kpis(alone).to_json()["as_of"] == "2024-01-10"  # no complete month: its latest invoice date


def test_without_invoice_dates_balance_kpis_are_null_with_a_reason():
    book = ledger([("A", None, "2024-02-09", 100, "2024-02-12"), ("A", None, "2024-02-19", 100, "2024-02-19")])
    result = ledger_kpis(book, as_of="2024-02-29", min_paid_invoices=1).to_json()
    kpis = result["kpis"]
    for key in ("dso", "dso_countback", "best_possible_dso", "add", "cei", "pct_past_due", "ar_turnover", "avg_collection_period"):
        assert kpis[key] is None, key
    assert set(kpis["aging"].values()) == {None}
    assert kpis["share_paid_late"] == 0.5 and kpis["avg_days_late_paid"] == 1.5
    assert any("no invoice dates" in note for note in result["notes"])
    assert any("write-offs" in note for note in result["notes"])


def test_bad_debt_ratio_uses_dated_write_offs():
    book = ledger([("A", "2024-03-01", "2024-03-05", 1_000, None), ("B", "2024-03-02", "2024-03-04", 250, "2024-03-20")])
    book["written_off"] = pd.array([False, True], dtype="boolean")
    last = ledger_kpis(book, as_of="2024-03-31").latest
    assert last["bad_debt_ratio"] == pytest.approx(250 / 1_250)
    assert last["ar_end"] == 1_000  # the write-off took B out of AR
    assert last["paid_invoices"] == 0  # a write-off is not a payment


def test_credit_memos_are_left_out_with_a_note():
    book = ledger([("A", "2024-03-01", "2024-03-31", 1_000, None), ("A", "2024-03-02", "2024-03-31", -200, None)])
    book["item_type"] = pd.array(["Invoice", "Credit memo"], dtype="string")
    measured = ledger_kpis(book, as_of="2024-03-31")
    assert measured.latest["sales"] == 1_000
    assert any("not invoices" in note for note in measured.notes)


def test_public_api_and_cli_json(tmp_path, capsys):
    path = tmp_path / "book.csv"
    path.write_text(
        "Kunde,Datum,Faellig,Betrag,Bezahlt\n"
        "A,2023-03-01,2023-03-31,6200,2023-05-15\n"
        "B,2023-06-10,2023-07-10,3590,\n"
        "C,2023-04-10,2023-05-10,2750,\n"
        "D,2023-05-20,2023-06-19,4550,2023-06-19\n",
        encoding="utf-8",
    )
    flags = ["--map", "Kunde=customer_id", "--map", "Datum=invoice_date", "--map", "Faellig=due_date",
             "--map", "Betrag=amount", "--map", "Bezahlt=paid_date"]
    assert main(["kpis", str(path), *flags, "--as-of", "2023-06-30", "--period", "quarter", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"as_of", "kpis", "notes"} and out["as_of"] == "2023-06-30"
    assert set(out["kpis"]) == {"dso", "dso_countback", "best_possible_dso", "add", "cei", "pct_past_due", "ar_turnover",
                                "avg_collection_period", "share_paid_late", "avg_days_late_paid", "bad_debt_ratio", "aging"}
    assert out["kpis"]["bad_debt_ratio"] is None  # no write-offs marked: null, not left out
    assert set(out["kpis"]["aging"]) == {"current", "1-30", "31-60", "61-90", "91+"}
    assert out["kpis"]["cei"] == pytest.approx(55.93, abs=0.01)
    frame = arsim.ledger_kpis(arsim.read_ledger(path, mapping={"Kunde": "customer_id", "Datum": "invoice_date", "Faellig": "due_date",
                                                              "Betrag": "amount", "Bezahlt": "paid_date"}), as_of="2023-06-30", period="quarter").latest
    assert frame["cei"] == pytest.approx(out["kpis"]["cei"])


def test_cli_reports_bad_rows_in_one_line_and_drops_them_on_request(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(
        "customer_id,invoice_date,due_date,amount,paid_date\n"
        "A,2024-01-01,2024-01-31,100,2024-02-01\n"
        "A,2024-01-02,2024-13-01,100,\n"
        "B,2024-01-03,2024-02-02,0,\n",
        encoding="utf-8",
    )
    assert main(["kpis", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "bad.csv" in err and "due_date" in err and "row 2" in err
    assert main(["kpis", str(path), "--json", "--drop-invalid"]) == 0
    captured = capsys.readouterr()
    assert "dropped 2 row problem(s)" in captured.err and "zero amount: 1" in captured.err
    assert json.loads(captured.out)["kpis"]["share_paid_late"] is None  # one paid invoice is too few to measure
    assert main(["kpis", str(path), "--map", "nonsense"]) == 2
    assert "--map 'nonsense'" in capsys.readouterr().err


def _open_by_day(book: pd.DataFrame, days: list[str]) -> list[float]:
    """AR open at the end of each day (ar_end of a one-day period ending on it)."""
    return [float(ledger_kpis(book, as_of=day, period=1, periods=1).latest["ar_end"]) for day in days]


def test_settlement_rows_close_an_invoice_by_their_own_dates_and_amounts():
    """Settlement rows (item_type Payment, Credit note, Write-off, naming the invoice) settle it on their dates.

    I0 (1,000): paid 300 on 02-10 and 700 on 03-10 (instalments). I1 (500): short-paid 400 on 02-05, credit
    note 100 on 02-20. I2 (800): written off on 03-31. Open: 01-31 2,300; 02-05 1,900; 02-10 1,600;
    02-20 1,500; 03-10 800; 03-31 0. Bad debt in March 800 of no sales in March. The settlement rows are not
    "left out" rows.
    """
    rows = [
        ("A", "I0", "Invoice", "2024-01-10", "2024-02-09", 1_000.0, None, None, None),
        ("B", "I1", "Invoice", "2024-01-15", "2024-02-14", 500.0, None, None, None),
        ("C", "I2", "Invoice", "2024-01-20", "2024-02-19", 800.0, None, None, None),
        ("A", "I0", "Payment", None, "2024-02-09", -300.0, "2024-02-10", None, None),
        ("A", "I0", "Payment", None, "2024-02-09", -700.0, "2024-03-10", None, None),
        ("B", "I1", "Payment", None, "2024-02-14", -400.0, "2024-02-05", None, None),
        ("B", "I1", "Credit note", None, "2024-02-14", -100.0, None, "2024-02-20", None),
        ("C", "I2", "Write-off", None, "2024-02-19", -800.0, None, None, "2024-03-31"),
    ]
    book = pd.DataFrame(rows, columns=["customer_id", "invoice_id", "item_type", "invoice_date", "due_date", "amount",
                                       "paid_date", "credit_note_date", "written_off_date"])
    for column in ("invoice_date", "due_date", "paid_date", "credit_note_date", "written_off_date"):
        book[column] = pd.to_datetime(book[column]).astype("datetime64[us]")
    book["written_off"] = pd.array([False, False, True, None, None, None, None, True], dtype="boolean")
    days = ["2024-01-31", "2024-02-05", "2024-02-10", "2024-02-20", "2024-03-10", "2024-03-31"]
    assert _open_by_day(book, days) == pytest.approx([2_300, 1_900, 1_600, 1_500, 800, 0])
    march = ledger_kpis(book, as_of="2024-03-31", period="month", periods=1)
    assert not any("left out" in note for note in march.notes)
    assert march.latest["aging_31-60"] == 0 and march.latest["ar_end"] == 0
    february = ledger_kpis(book, as_of="2024-02-29", period="month", periods=1).latest
    assert february["ar_end"] == pytest.approx(1_500)  # I0's 700 (past due 20 days), I2's 800 (10 days)
    assert february["aging_1-30"] == pytest.approx(1_500) and february["pct_past_due"] == pytest.approx(100)
    # an export that writes its settlements with a plus sign is settled alike
    positive = book.assign(amount=book["amount"].abs())
    assert _open_by_day(positive, days) == pytest.approx([2_300, 1_900, 1_600, 1_500, 800, 0])
    # a settlement row naming no invoice of the ledger is left out, with a note
    stray = pd.concat([book, book.iloc[[3]].assign(invoice_id="I9")], ignore_index=True)
    assert any("1 of them settlement rows that name no invoice" in note for note in ledger_kpis(stray, as_of="2024-03-31").notes)


def test_invoice_level_columns_settle_credit_notes_and_write_offs_on_their_dates():
    """Without settlement rows an invoice's own columns are used: I0 (1,000) gets a credit note of 200 on
    02-20 and the rest paid on 03-05; I1 (600) is written off on 03-15 (written_off_amount blank: all of it).
    Open: 02-19 1,600; 02-20 1,400; 03-05 600; 03-15 0."""
    book = ledger([
        ("A", "2024-01-10", "2024-02-09", 1_000, "2024-03-05"),
        ("B", "2024-01-15", "2024-02-14", 600, None),
    ])
    book["credit_note_date"] = pd.to_datetime(pd.Series(["2024-02-20", None])).astype("datetime64[us]")
    book["credit_note_amount"] = [200.0, None]
    book["written_off_date"] = pd.to_datetime(pd.Series([None, "2024-03-15"])).astype("datetime64[us]")
    book["written_off"] = pd.array([False, True], dtype="boolean")
    assert _open_by_day(book, ["2024-02-19", "2024-02-20", "2024-03-05", "2024-03-15"]) == pytest.approx([1_600, 1_400, 600, 0])
    assert ledger_kpis(book, as_of="2024-03-31", period="month", periods=1).latest["bad_debt_ratio"] is None  # no sales in March


@pytest.mark.parametrize("written_off", ["True", ""])
def test_json_carries_every_kpi_the_text_shows(tmp_path, capsys, written_off):
    """The --json kpis object and the text table list the same KPIs in the same order, with or without write-offs
    (a KPI the ledger cannot support is null, never absent), and together with the amounts they cover every
    column of the series: a KPI added to the series must be added to both."""
    from arsim.measure.formulas import AGING_BUCKETS
    from arsim.measure.ledger_kpis import LEDGER_KPI_KEYS

    path = tmp_path / "book.csv"
    rows = ["customer_id,invoice_id,invoice_date,due_date,amount,paid_date,written_off"]
    rows += [f"C{n % 3},I{n},2024-03-{n + 1:02d},2024-04-{n + 1:02d},{100 + n},2024-04-{n + 5:02d},False" for n in range(12)]
    rows.append(f"C9,W1,2024-04-02,2024-04-20,50,2024-04-25,{written_off}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["kpis", str(path), "--as-of", "2024-04-30", "--json"]) == 0
    kpis = json.loads(capsys.readouterr().out)["kpis"]
    assert main(["kpis", str(path), "--as-of", "2024-04-30"]) == 0
    table = capsys.readouterr().out.split("\n\n")[0].splitlines()[1:]
    assert [line.split()[0] for line in table] == list(kpis)
    assert (kpis["bad_debt_ratio"] is None) == (written_off == "")
    amounts = {"sales", "ar_beg", "ar_end", "ar_current_end", "paid_invoices"}
    assert set(kpis) - {"aging"} | {f"aging_{b}" for b in kpis["aging"]} | amounts == set(LEDGER_KPI_KEYS)
    assert list(kpis["aging"]) == list(AGING_BUCKETS)
