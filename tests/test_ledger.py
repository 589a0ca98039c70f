"""Tests of arsim.ledger: reading exports into the canonical frame, and the payment statistics.

Every fixture is small and hand-made (tests/fixtures/ledgers or strings written to tmp_path), so each
expected value below can be checked by reading the fixture.
"""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from arsim.ledger.read import (
    CANONICAL_COLUMNS,
    MONEY_COLUMNS,
    LedgerError,
    LedgerMapping,
    load_ledger,
    load_mapping,
    read_ledger,
)
from arsim.measure.lateness import payment_statistics

FIXTURES = Path(__file__).parent / "fixtures" / "ledgers"
NA = pd.NA
NaT = pd.NaT


def write(tmp_path: Path, text: str, name: str = "ledger.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def dates(*values: str | None) -> pd.Series:
    return pd.Series([NaT if v is None else pd.Timestamp(v) for v in values], dtype="datetime64[us]")


def strings(*values: str | None) -> pd.Series:
    return pd.Series([NA if v is None else v for v in values], dtype="string")


def flags(*values: bool | None) -> pd.Series:
    return pd.Series([NA if v is None else v for v in values], dtype="boolean")


def expected_frame(**columns: pd.Series) -> pd.DataFrame:
    """A canonical frame: the given columns, every other canonical column all-missing."""
    n_rows = len(next(iter(columns.values())))
    empty = {
        "invoice_id": strings(*[f"row-{n}" for n in range(1, n_rows + 1)]),
        "invoice_date": dates(*[None] * n_rows),
        "paid_date": dates(*[None] * n_rows),
        "disputed": flags(*[None] * n_rows),
        "written_off": flags(*[None] * n_rows),
        "channel": strings(*[None] * n_rows),
        "segment": strings(*[None] * n_rows),
        "item_type": strings(*[None] * n_rows),
        "credit_note_date": dates(*[None] * n_rows),
        "written_off_date": dates(*[None] * n_rows),
        **{name: pd.Series([np.nan] * n_rows, dtype="float64") for name in MONEY_COLUMNS},
    }
    return pd.DataFrame({name: columns.get(name, empty.get(name)) for name in CANONICAL_COLUMNS})


def error_message(path: Path, **options) -> str:
    with pytest.raises(LedgerError) as raised:
        read_ledger(path, **options)
    message = str(raised.value)
    assert "\n" not in message, "a LedgerError message must be one line"
    assert message.startswith(f"{path.name}: "), "a LedgerError message must name the file"
    return message


# ---------------------------------------------------------------------------------------------- reading


SIMULATOR_EXPECTED = expected_frame(
    customer_id=strings("C001", "C001", "C002", "C003"),
    invoice_id=strings("INV-1", "INV-2", "INV-3", "INV-4"),
    invoice_date=dates("2024-01-02", "2024-01-15", "2024-01-20", "2024-02-01"),
    due_date=dates("2024-02-01", "2024-02-14", "2024-02-19", "2024-03-02"),
    amount=pd.Series([1200.5, 80.0, 15000.0, 99.99]),
    paid_date=dates("2024-02-01", None, "2024-03-30", None),
    disputed=flags(False, False, True, False),
    written_off=flags(False, False, False, True),
    segment=strings("prompt", "prompt", "slow", "at-risk"),
)


def test_simulator_export_reads_back_with_no_mapping():
    loaded = load_ledger(FIXTURES / "simulator_invoices.csv")
    pd.testing.assert_frame_equal(loaded.invoices, SIMULATOR_EXPECTED)
    assert loaded.dropped == {}


def test_gzip_is_recognised_by_content(tmp_path):
    for name in ("invoices.csv.gz", "invoices.csv"):  # a gzip file with a misleading name reads too
        target = tmp_path / name
        with open(FIXTURES / "simulator_invoices.csv", "rb") as source, gzip.open(target, "wb") as packed:
            shutil.copyfileobj(source, packed)
        pd.testing.assert_frame_equal(read_ledger(target), SIMULATOR_EXPECTED)


ERP_EXPECTED = expected_frame(
    customer_id=strings("0042", "0042", "0107"),
    invoice_id=strings("9001", "9002", "9003"),
    invoice_date=dates("2024-01-31", "2024-02-15", "2024-02-05"),
    due_date=dates("2024-03-01", "2024-03-16", "2024-03-06"),
    amount=pd.Series([250.0, -40.0, 1999.99]),
    paid_date=dates("2024-03-04", "2024-03-18", None),
    disputed=flags(False, False, True),  # blank block code = not held, 'H' = held
    channel=strings("paper", "electronic", "electronic"),
    segment=strings("A", "A", "C"),
    item_type=strings("Invoice", "Credit memo", "Invoice"),
)


def test_mapping_file_semicolons_and_day_first_dates():
    mapping = load_mapping(FIXTURES / "erp_mapping.yaml")
    assert mapping.date_format == "%d.%m.%Y"
    assert mapping.columns["Kunde"] == "customer_id"
    ledger = read_ledger(FIXTURES / "erp_export.csv", mapping=mapping)
    pd.testing.assert_frame_equal(ledger, ERP_EXPECTED)


def test_mapping_as_plain_dict_with_detected_dates():
    mapping = load_mapping(FIXTURES / "erp_mapping.yaml")
    ledger = read_ledger(FIXTURES / "erp_export.csv", mapping=dict(mapping.columns))
    pd.testing.assert_frame_equal(ledger, ERP_EXPECTED)


def test_date_format_argument_overrides_the_mappings(tmp_path):
    path = write(tmp_path, "K,D,V\n1,03/01/2024,5\n")
    mapping = LedgerMapping(columns={"K": "customer_id", "D": "due_date", "V": "amount"}, date_format="%m/%d/%Y")
    assert read_ledger(path, mapping=mapping).loc[0, "due_date"] == pd.Timestamp("2024-03-01")
    assert read_ledger(path, mapping=mapping, date_format="%d/%m/%Y").loc[0, "due_date"] == pd.Timestamp("2024-01-03")


def test_mapping_to_unknown_canonical_name(tmp_path):
    path = write(tmp_path, "K,due_date,amount\n1,2024-01-01,5\n")
    assert error_message(path, mapping={"K": "customer"}) == (
        "ledger.csv: mapping targets 'customer' are not canonical columns; use: " + ", ".join(CANONICAL_COLUMNS)
    )


def test_load_mapping_rejects_unknown_canonical_name(tmp_path):
    path = write(tmp_path, "columns:\n  KUNNR: customer\n", name="bad.yaml")
    with pytest.raises(LedgerError, match=r"bad\.yaml: mapping targets 'customer' are not canonical"):
        load_mapping(path)


def test_load_mapping_rejects_unknown_keys(tmp_path):
    path = write(tmp_path, "columns: {}\ndateformat: '%Y'\n", name="bad.yaml")
    with pytest.raises(LedgerError, match="unknown key"):
        load_mapping(path)


@pytest.mark.parametrize(
    ("due_dates", "expected"),
    [
        (["2024-03-01", "2024-12-31"], ["2024-03-01", "2024-12-31"]),
        (["20240301", "20241231"], ["2024-03-01", "2024-12-31"]),
        (["3/1/2024", "12/31/2024"], ["2024-03-01", "2024-12-31"]),  # month first: 31 cannot be a month
        (["01/03/2024", "31/12/2024"], ["2024-03-01", "2024-12-31"]),  # day first: 31 cannot be a month
        (["01.03.2024", "31.12.2024"], ["2024-03-01", "2024-12-31"]),
        (["03/01/2024", "04/02/2024"], ["2024-03-01", "2024-04-02"]),  # ambiguous: month first
        (["2024-03-01 00:00:00", "2024-12-31T17:45:00"], ["2024-03-01", "2024-12-31"]),  # time dropped
    ],
)
def test_date_formats_are_detected_per_column(tmp_path, due_dates, expected):
    rows = "".join(f"C1,{due},10\n" for due in due_dates)
    ledger = read_ledger(write(tmp_path, "customer_id,due_date,amount\n" + rows))
    pd.testing.assert_series_equal(ledger["due_date"], dates(*expected), check_names=False)


def test_each_date_column_gets_its_own_format(tmp_path):
    # As in the SAP export: ISO due dates, compact payment dates.
    path = write(tmp_path, "customer_id,due_date,paid_date,amount\nC1,2018-01-10,20180109,5\n")
    ledger = read_ledger(path)
    assert ledger.loc[0, "due_date"] == pd.Timestamp("2018-01-10")
    assert ledger.loc[0, "paid_date"] == pd.Timestamp("2018-01-09")


def test_explicit_date_format_overrides_detection(tmp_path):
    path = write(tmp_path, "customer_id,due_date,amount\nC1,03/01/2024,10\n")
    ledger = read_ledger(path, date_format="%d/%m/%Y")
    assert ledger.loc[0, "due_date"] == pd.Timestamp("2024-01-03")


def test_excel_with_date_cells_and_text_cells(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Customer", "Invoice", "Due", "Amount", "Paid", "Blocked", "Via"])
    sheet.append(["0042", 1001, dt.date(2024, 3, 1), 12.5, dt.datetime(2024, 3, 4), False, "Paper"])
    sheet.append(["0042", 1002, "03/15/2024", 7, None, True, "email"])
    path = tmp_path / "ledger.xlsx"
    workbook.save(path)
    mapping = {
        "Customer": "customer_id",
        "Invoice": "invoice_id",
        "Due": "due_date",
        "Amount": "amount",
        "Paid": "paid_date",
        "Blocked": "disputed",
        "Via": "channel",
    }
    expected = expected_frame(
        customer_id=strings("0042", "0042"),
        invoice_id=strings("1001", "1002"),
        due_date=dates("2024-03-01", "2024-03-15"),
        amount=pd.Series([12.5, 7.0]),
        paid_date=dates("2024-03-04", None),
        disputed=flags(False, True),
        channel=strings("paper", "electronic"),
    )
    pd.testing.assert_frame_equal(read_ledger(path, mapping=mapping), expected)


def test_due_date_from_invoice_date_and_terms(tmp_path):
    path = write(tmp_path, "customer_id,invoice_date,due_date,amount\nC1,2024-01-31,,10\nC1,2024-02-01,2024-02-10,10\n")
    ledger = read_ledger(path, terms_days=30)
    pd.testing.assert_series_equal(ledger["due_date"], dates("2024-03-01", "2024-02-10"), check_names=False)
    no_due_column = write(tmp_path, "customer_id,invoice_date,amount\nC1,2024-01-31,10\n", name="nodue.csv")
    assert read_ledger(no_due_column, terms_days=14).loc[0, "due_date"] == pd.Timestamp("2024-02-14")


def test_flag_and_channel_words(tmp_path):
    path = write(
        tmp_path,
        "customer_id,due_date,amount,disputed,written_off,channel\n"
        "C1,2024-01-01,1,Yes,y,Electronic\n"
        "C1,2024-01-01,1,no,N,e-invoice\n"
        "C1,2024-01-01,1,TRUE,1,POST\n"
        "C1,2024-01-01,1,0,false,\n"
        "C1,2024-01-01,1,7,,paper\n"
        "C1,2024-01-01,1,,0,EDI\n",
    )
    ledger = read_ledger(path)
    pd.testing.assert_series_equal(ledger["disputed"], flags(True, False, True, False, True, False), check_names=False)
    pd.testing.assert_series_equal(ledger["written_off"], flags(True, False, True, False, None, False), check_names=False)
    pd.testing.assert_series_equal(
        ledger["channel"],
        strings("electronic", "electronic", "paper", None, "paper", "electronic"),
        check_names=False,
    )


def test_unmapped_columns_are_ignored_and_ids_keep_leading_zeros(tmp_path):
    path = write(tmp_path, "customer_id,country,due_date,amount\n007,SE,2024-01-01,3\n")
    ledger = read_ledger(path)
    assert list(ledger.columns) == list(CANONICAL_COLUMNS)
    assert ledger.loc[0, "customer_id"] == "007"
    assert ledger.loc[0, "invoice_id"] == "row-1"


def test_header_only_file_gives_empty_canonical_frame(tmp_path):
    ledger = read_ledger(write(tmp_path, "customer_id,due_date,amount\n"))
    assert len(ledger) == 0
    assert list(ledger.columns) == list(CANONICAL_COLUMNS)


def test_exact_duplicate_rows_without_ids_are_kept(tmp_path):
    path = write(tmp_path, "customer_id,due_date,amount\nC1,2024-01-01,5\nC1,2024-01-01,5\n")
    assert read_ledger(path)["invoice_id"].tolist() == ["row-1", "row-2"]


def test_credit_rows_may_be_negative(tmp_path):
    path = write(tmp_path, "customer_id,due_date,amount,item_type\nC1,2024-01-01,-5,Credit memo\nC1,2024-01-01,5,Invoice\n")
    assert read_ledger(path)["amount"].tolist() == [-5.0, 5.0]


# ---------------------------------------------------------------------------------------------- errors


def ledger_with_bad_rows(bad_rows: dict[int, str], n_rows: int = 20) -> str:
    """A canonical CSV whose due_date is replaced by bad_rows[n] on 1-based data row n."""
    lines = ["customer_id,invoice_id,due_date,amount"]
    for row in range(1, n_rows + 1):
        lines.append(f"C1,I{row},{bad_rows.get(row, '2018-01-31')},10")
    return "\n".join(lines) + "\n"


def test_unparseable_dates_message_exact(tmp_path):
    path = write(tmp_path, ledger_with_bad_rows({4: "2018-13-01", 9: "2018-02-30", 17: "yesterday"}))
    assert error_message(path) == (
        "ledger.csv: column 'due_date': 3 unparseable dates, first rows 4, 9, 17 (e.g. '2018-13-01')"
    )


def test_message_lists_at_most_five_rows(tmp_path):
    path = write(tmp_path, ledger_with_bad_rows({row: "2018-13-01" for row in (2, 3, 5, 7, 11, 13, 19)}))
    assert error_message(path) == (
        "ledger.csv: column 'due_date': 7 unparseable dates, first rows 2, 3, 5, 7, 11 (e.g. '2018-13-01')"
    )


def test_missing_required_column_lists_file_columns(tmp_path):
    path = write(tmp_path, "customer_id,due,amount\nC1,2024-01-01,5\n")
    assert error_message(path) == (
        "ledger.csv: missing required column(s) 'due_date' (or give invoice_date and terms_days); "
        "the file has columns: customer_id, due, amount"
    )


def test_missing_columns_raise_even_with_drop_invalid(tmp_path):
    path = write(tmp_path, "customer,due_date,amount\nC1,2024-01-01,5\n")
    with pytest.raises(LedgerError, match="missing required column.*'customer_id'"):
        read_ledger(path, drop_invalid=True)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0", "ledger.csv: column 'amount': 1 zero amount, row 2 (e.g. '0')"),
        ("-12.5", "ledger.csv: column 'amount': 1 negative amount, row 2 (e.g. '-12.5')"),
        ("12,5,0", "ledger.csv: column 'amount': 1 non-numeric amount, row 2 (e.g. '12,5,0')"),
        ("1.2.3", "ledger.csv: column 'amount': 1 non-numeric amount, row 2 (e.g. '1.2.3')"),
        ("", "ledger.csv: column 'amount': 1 blank value, row 2 (e.g. '')"),
    ],
)
def test_bad_amounts(tmp_path, amount, expected):
    path = write(tmp_path, f"customer_id;due_date;amount\nC1;2024-01-01;5\nC1;2024-01-01;{amount}\n")
    assert error_message(path) == expected


def test_paid_before_invoiced(tmp_path):
    path = write(
        tmp_path,
        "customer_id,invoice_date,due_date,amount,paid_date\n"
        "C1,2024-01-01,2024-01-31,5,2024-01-15\n"
        "C1,2024-02-01,2024-03-02,5,2024-01-20\n",
    )
    assert error_message(path) == (
        "ledger.csv: column 'paid_date': 1 payment before the invoice date, row 2 "
        "(e.g. 'paid 2024-01-20, invoiced 2024-02-01')"
    )


def test_duplicate_invoice_id(tmp_path):
    path = write(tmp_path, "customer_id,invoice_id,due_date,amount\nC1,A,2024-01-01,5\nC2,B,2024-01-01,5\nC1,A,2024-01-01,5\n")
    assert error_message(path) == "ledger.csv: column 'invoice_id': 1 repeated invoice id, row 3 (e.g. 'A')"


def test_settlement_rows_repeat_their_invoices_id_and_carry_minus_what_they_settle(tmp_path):
    text = ("customer_id,invoice_id,item_type,due_date,amount,paid_date,paid_amount,discount,credit_note_date,credit_note_amount\n"
            "C1,A,Invoice,2024-01-31,100.00,,,,,\n"
            "C1,A,Payment,2024-01-31,-60.00,2024-01-20,58.80,1.20,,\n"
            "C1,A,Credit note,2024-01-31,-40.00,,,,2024-02-03,40.00\n")
    ledger = read_ledger(write(tmp_path, text))
    assert ledger["invoice_id"].tolist() == ["A"] * 3 and ledger["amount"].tolist() == [100.0, -60.0, -40.0]
    assert ledger["paid_amount"].tolist()[1] == 58.8 and ledger["discount"].tolist()[1] == 1.2
    assert ledger["credit_note_date"].iloc[2] == pd.Timestamp("2024-02-03") and ledger["credit_note_amount"].iloc[2] == 40.0
    assert ledger["paid_amount"].isna().tolist() == [True, False, True]
    twice = write(tmp_path, text + "C1,A,Invoice,2024-01-31,100.00,,,,,\n")  # invoice rows still name an id once
    assert error_message(twice) == "ledger.csv: column 'invoice_id': 1 repeated invoice id, row 4 (e.g. 'A')"
    negative = write(tmp_path, text.replace("58.80", "-58.80"))
    assert error_message(negative) == "ledger.csv: column 'paid_amount': 1 negative amount, row 2 (e.g. '-58.80')"
    words = write(tmp_path, text.replace("40.00\n", "forty\n"))
    assert error_message(words) == "ledger.csv: column 'credit_note_amount': 1 non-numeric amount, row 3 (e.g. 'forty')"


def test_unknown_mapping_source_column(tmp_path):
    path = write(tmp_path, "KUNNR,DUE,VAL\nC1,2024-01-01,5\n")
    message = error_message(path, mapping={"KUNNR": "customer_id", "DUE_DATE": "due_date", "VAL": "amount"})
    assert message == (
        "ledger.csv: mapping names column(s) 'DUE_DATE' that the file does not have; "
        "the file has columns: KUNNR, DUE, VAL"
    )


def test_column_in_file_and_mapped_is_an_error(tmp_path):
    path = write(tmp_path, "customer_id,cust,due_date,amount\nC1,C2,2024-01-01,5\n")
    assert "also mapped from 'cust'" in error_message(path, mapping={"cust": "customer_id"})


def test_unrecognised_words(tmp_path):
    path = write(tmp_path, "customer_id,due_date,amount,written_off,channel\nC1,2024-01-01,5,maybe,fax\n")
    assert error_message(path) == (
        "ledger.csv: column 'written_off': 1 unrecognised value, row 1 (e.g. 'maybe'); "
        "also unrecognised channel (1 row)"
    )


def test_error_names_the_source_column_of_a_mapped_file(tmp_path):
    path = write(tmp_path, "K,D,V\nC1,2024-01-01,5\nC1,2024-01-01,abc\n")
    message = error_message(path, mapping={"K": "customer_id", "D": "due_date", "V": "amount"})
    assert message == "ledger.csv: column 'amount' (source 'V'): 1 non-numeric amount, row 2 (e.g. 'abc')"


def test_drop_invalid_counts_each_problem(tmp_path):
    path = write(
        tmp_path,
        "customer_id,invoice_id,invoice_date,due_date,amount,paid_date\n"
        "C1,1,2024-01-01,2024-01-31,5,2024-01-31\n"  # good
        "C1,2,2024-01-01,2024-13-31,5,\n"  # bad due date
        "C1,3,2024-01-01,2024-01-31,0,\n"  # zero amount
        "C1,4,2024-01-01,2024-01-31,-1,2023-12-01\n"  # negative and paid before invoiced
        ",5,2024-01-01,2024-01-31,5,\n"  # no customer
        "C2,1,2024-01-01,2024-01-31,5,\n"  # repeats id 1
        "C2,6,2024-01-01,2024-01-31,5,\n",  # good
    )
    loaded = load_ledger(path, drop_invalid=True)
    ledger = loaded.invoices
    assert ledger["invoice_id"].tolist() == ["1", "6"]
    assert ledger.index.tolist() == [0, 1]
    assert loaded.dropped == {
        "blank customer_id": 1,
        "unparseable due_date": 1,
        "zero amount": 1,
        "negative amount": 1,
        "paid_date before invoice_date": 1,
        "duplicate invoice_id": 1,
    }


# ---------------------------------------------------------------------------------------------- statistics


def test_payment_statistics_hand_computed():
    """payment_behaviour.csv: customer A pays invoices 0, +5, +3, -2, +40 days after due (A2 and A3 on one
    day, A6 still open); B pays -1, 0, +10, plus a credit memo that must not count as an invoice.
    Sorted days late: -2, -1, 0, 0, 3, 5, 10, 40."""
    stats = payment_statistics(read_ledger(FIXTURES / "payment_behaviour.csv"))
    assert stats["n_invoices"] == 8
    assert stats["share_late"] == pytest.approx(4 / 8)
    assert stats["share_on_due"] == pytest.approx(2 / 8)
    assert stats["share_late_over_30"] == pytest.approx(1 / 8)
    # linear interpolation at position 7q of the sorted values
    assert stats["days_late_quantiles"] == pytest.approx(
        {"p10": -1.3, "p25": -0.25, "p50": 1.5, "p75": 6.25, "p90": 19.0, "p95": 29.5, "p99": 37.9}
    )
    assert stats["mean_days_late"] == pytest.approx((3 + 5 + 10 + 40) / 8)
    # pairs in due-date order: A on->late, late->late, late->on, on->late; B on->on, on->late
    assert stats["p_late_given_prev_late"] == pytest.approx(1 / 2)
    assert stats["p_late_given_prev_on_time"] == pytest.approx(3 / 4)
    assert stats["share_cleared_with_other_same_day"] == pytest.approx(2 / 8)  # A2 and A3
    # paid on Mon (A1, A2, A3), Tue (A4), Thu (A5, B1), Sat (B2), Sun (B3)
    assert stats["weekday_share_of_payments"] == pytest.approx([3 / 8, 1 / 8, 0, 2 / 8, 0, 1 / 8, 1 / 8])
    # only A has 5 paid invoices; it paid 3 of them late
    assert stats["customer_late_share_quantiles"] == pytest.approx({k: 0.6 for k in ("p10", "p25", "p50", "p75", "p90")})
    assert stats["share_late_disputed"] == pytest.approx(1.0)  # A5, B3
    assert stats["share_late_undisputed"] == pytest.approx(2 / 6)
    assert stats["share_late_paper"] == pytest.approx(3 / 5)
    assert stats["share_late_electronic"] == pytest.approx(1 / 3)
    assert stats["mean_days_to_pay"] == pytest.approx(30 + (-2 - 1 + 0 + 0 + 3 + 5 + 10 + 40) / 8)


def test_persistence_follows_due_date_order_not_file_order():
    ledger = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A"],
            "due_date": pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01"]),
            "paid_date": pd.to_datetime(["2024-03-05", "2024-01-01", "2024-02-09"]),
        }
    )
    stats = payment_statistics(ledger)  # in due order: on time, late, late
    assert stats["p_late_given_prev_on_time"] == 1.0
    assert stats["p_late_given_prev_late"] == 1.0


def test_missing_inputs_give_none_not_numbers():
    ledger = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "due_date": pd.to_datetime(["2024-01-01", "2024-01-01"]),
            "paid_date": pd.to_datetime(["2024-01-02", "2024-01-01"]),
        }
    )
    stats = payment_statistics(ledger)
    assert stats["share_late"] == 0.5
    for key in (
        "share_late_disputed",
        "share_late_undisputed",
        "share_late_paper",
        "share_late_electronic",
        "mean_days_to_pay",
        "customer_late_share_quantiles",  # no customer has 5 invoices
        "p_late_given_prev_late",  # no customer has 2 invoices
        "p_late_given_prev_on_time",
    ):
        assert stats[key] is None, key


def test_no_paid_invoices_gives_none_everywhere():
    stats = payment_statistics(read_ledger(FIXTURES / "simulator_invoices.csv").iloc[[1, 3]])
    assert stats["n_invoices"] == 0
    assert all(value is None for key, value in stats.items() if key != "n_invoices")


def test_payment_statistics_on_150k_rows():
    # Its speed is measured by benchmarks/ledger_stats.py, never asserted here (a busy machine is not a bug).
    rng = np.random.default_rng(7)
    n_rows = 150_000
    due = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 300, n_rows), unit="D")
    ledger = pd.DataFrame(
        {
            "customer_id": pd.array(rng.integers(0, 20_000, n_rows).astype(str), dtype="string"),
            "due_date": due,
            "paid_date": due + pd.to_timedelta(rng.integers(-10, 40, n_rows), unit="D"),
            "disputed": pd.array(rng.random(n_rows) < 0.02, dtype="boolean"),
            "item_type": pd.array(["Invoice"] * n_rows, dtype="string"),
        }
    )
    stats = payment_statistics(ledger)
    assert stats["n_invoices"] == n_rows
