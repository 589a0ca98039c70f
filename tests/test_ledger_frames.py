"""Ledgers given as pandas frames, and the row checks every ledger goes through (file or frame).

The public ledger functions convert and check a frame with the code that reads a file
(`arsim.measure.ledger_frame.convert_ledger`), so each bad row below is refused with the same problem
whether it comes as a CSV through `read_ledger`, as text cells (``pd.read_csv(dtype=str)``) or as pandas'
own parse (``pd.read_csv``).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import arsim
from arsim.cli.main import main
from arsim.errors import InputError
from arsim.ledger.read import LedgerError, load_ledger, read_ledger
from arsim.measure.ledger_frame import MAX_AMOUNT, canonical_ledger

HEADER = "customer_id,invoice_id,invoice_date,due_date,amount,paid_date,written_off,channel"
GOOD = [f"C{n % 4},I{n},2024-01-{n + 1:02d},2024-02-{n + 1:02d},{100 + n}.5,2024-02-{n + 3:02d},False,paper" for n in range(20)]


def write(tmp_path: Path, rows: list[str], name: str = "book.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_plain_pandas_frame_gives_the_kpis_of_the_file(tmp_path):
    path = write(tmp_path, GOOD)
    from_file = arsim.ledger_kpis(read_ledger(path), as_of="2024-02-29").to_json()
    assert arsim.ledger_kpis(pd.read_csv(path), as_of="2024-02-29").to_json() == from_file
    assert arsim.ledger_kpis(pd.read_csv(path, dtype=str), as_of="2024-02-29").to_json() == from_file
    indexed = pd.read_csv(path).set_index("invoice_id", drop=False)
    assert arsim.ledger_kpis(indexed, as_of="2024-02-29").to_json() == from_file


# (row replacing GOOD[5], column named, problem as read_ledger words it)
BAD_ROWS = [
    ("C1,I5,2024-01-06,2024-02-06,-40,2024-02-08,False,paper", "amount", "negative amount"),
    ("C1,I5,2024-01-06,2024-02-06,,2024-02-08,False,paper", "amount", "blank value"),
    ("C1,I5,2024-01-06,2024-02-06,abc,2024-02-08,False,paper", "amount", "non-numeric amount"),
    ("C1,I5,2024-01-06,2024-02-06,0,2024-02-08,False,paper", "amount", "zero amount"),
    ("C1,I5,2024-01-06,2024-02-06,1e300,2024-02-08,False,paper", "amount", "amount above 1e+13 in absolute value"),
    ("C1,I5,2024-01-06,2024-01-02,40,2024-02-08,False,paper", "due_date", "due date before the invoice date"),
    ("C1,I5,2024-01-06,2024-02-06,40,2024-01-02,False,paper", "paid_date", "payment before the invoice date"),
    (",I5,2024-01-06,2024-02-06,40,2024-02-08,False,paper", "customer_id", "blank value"),
    ("C1,I5,2024-01-06,2024-13-06,40,2024-02-08,False,paper", "due_date", "unparseable date"),
    ("C1,I4,2024-01-06,2024-02-06,40,2024-02-08,False,paper", "invoice_id", "repeated invoice id"),
    ("C1,I5,2024-01-06,2024-02-06,40,2024-02-08,maybe,paper", "written_off", "unrecognised value"),
    ("C1,I5,2024-01-06,2024-02-06,40,2024-02-08,False,pigeon", "channel", "unrecognised value"),
]


@pytest.mark.parametrize(("row", "column", "problem"), BAD_ROWS, ids=[f"{c}-{p}" for _, c, p in BAD_ROWS])
def test_a_bad_row_is_refused_alike_in_a_file_and_in_a_frame(tmp_path, row, column, problem):
    path = write(tmp_path, GOOD[:5] + [row] + GOOD[6:])
    with pytest.raises(LedgerError) as from_file:
        read_ledger(path)
    assert f"column '{column}': 1 {problem}, row 6" in str(from_file.value)
    for frame in (pd.read_csv(path, dtype=str, keep_default_na=False), pd.read_csv(path)):
        with pytest.raises(InputError) as from_frame:
            arsim.ledger_kpis(frame, as_of="2024-02-29")
        message = str(from_frame.value)
        assert from_frame.value.argument == "ledger" and message.startswith("ledger: "), message
        assert f"column '{column}': 1 {problem}, index 5" in message, message
        assert "\n" not in message
    with pytest.raises(InputError, match=re.escape(f"column '{column}'")):
        arsim.calibrate(pd.read_csv(path, dtype=str))  # refused before any fitting


@pytest.mark.parametrize("missing", ["customer_id", "amount", "due_date"])
def test_a_frame_without_a_required_column_names_it(tmp_path, missing):
    frame = pd.read_csv(write(tmp_path, GOOD)).drop(columns=[missing])
    with pytest.raises(InputError, match=rf"^ledger: missing required column\(s\) '{missing}'; the frame has columns"):
        arsim.ledger_kpis(frame)
    with pytest.raises(InputError, match=rf"^ledger: missing required column\(s\) '{missing}'"):
        arsim.fit_ledger(frame)


def test_a_path_or_another_object_is_refused_with_what_to_do(tmp_path):
    path = write(tmp_path, GOOD)
    for given in (str(path), path):
        with pytest.raises(InputError, match=r"^ledger: got the path .*arsim\.read_ledger\(path"):
            arsim.ledger_kpis(given)
        with pytest.raises(InputError, match=r"^ledger: got the path"):
            arsim.calibrate(given)
    with pytest.raises(InputError, match=r"^ledger: expected a pandas DataFrame .* got list"):
        arsim.ledger_kpis([1, 2])


@pytest.mark.parametrize(("arguments", "argument"), [
    ({"period": "year"}, "period"), ({"period": 0}, "period"), ({"period": True}, "period"), ({"period": 2.5}, "period"),
    ({"periods": 0}, "periods"), ({"periods": "3"}, "periods"), ({"min_paid_invoices": -1}, "min_paid_invoices"),
    ({"as_of": "someday"}, "as_of"),
])
def test_bad_arguments_are_input_errors_naming_them(tmp_path, arguments, argument):
    led = read_ledger(write(tmp_path, GOOD))
    with pytest.raises(InputError) as raised:
        arsim.ledger_kpis(led, **arguments)
    assert str(raised.value).startswith(f"{argument}: ")
    assert raised.value.argument in (argument, None)  # None: an argument with no command-line flag, named in the message


@pytest.mark.parametrize("segments", ["many", 0, -3, 2.5, True])
def test_bad_segments_are_input_errors_naming_them(tmp_path, segments):
    with pytest.raises(InputError, match="^segments: expected auto or a whole number"):
        arsim.calibrate(read_ledger(write(tmp_path, GOOD)), segments=segments)


def test_a_frame_read_ledger_made_is_not_converted_again_unless_changed(tmp_path):
    led = read_ledger(write(tmp_path, GOOD))
    assert canonical_ledger(led) is led  # taken as it is
    changed = led.copy()
    changed.loc[3, "amount"] = -5.0  # copy() keeps the mark; the fingerprint no longer matches
    with pytest.raises(InputError, match=r"^ledger: column 'amount': 1 negative amount, index 3"):
        arsim.ledger_kpis(changed)
    subset = led[led["customer_id"] != "C0"]
    assert canonical_ledger(subset) is not subset  # a filtered frame is checked again (and passes)


def test_due_date_before_invoice_date_is_a_bad_row_on_the_command_line(tmp_path, capsys):
    path = write(tmp_path, GOOD[:3] + ["C1,I3,2024-01-04,2024-01-01,40,2024-02-08,False,paper"] + GOOD[4:])
    assert main(["kpis", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["arsim: error: book.csv: column 'due_date': 1 due date before the invoice date, row 4 "
                   "(e.g. 'due 2024-01-01, invoiced 2024-01-04')"]
    loaded = load_ledger(path, drop_invalid=True)
    assert loaded.dropped == {"due_date before invoice_date": 1} and len(loaded.invoices) == len(GOOD) - 1


@pytest.mark.parametrize("amounts", [["1e300"], ["1.5e308", "1.5e308"], ["-2e13"], [f"{MAX_AMOUNT * 1.01:.0f}"]])
def test_amounts_beyond_the_limit_are_bad_rows_and_nothing_overflows(tmp_path, capsys, amounts):
    rows = list(GOOD)
    for position, amount in enumerate(amounts):
        rows[position] = f"C1,X{position},2024-01-06,2024-02-06,{amount},,False,paper"
    path = write(tmp_path, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow on the way
        assert main(["kpis", str(path)]) == 2
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert "column 'amount'" in line and "above 1e+13 in absolute value" in line, line
        loaded = load_ledger(path, drop_invalid=True)
    assert loaded.dropped["amount too large"] == len(amounts)
    assert np.isfinite(loaded.invoices["amount"].sum())


def test_an_optional_money_column_has_the_same_limit(tmp_path):
    path = tmp_path / "book.csv"
    path.write_text("customer_id,due_date,amount,paid_amount\nA,2024-02-01,100,1e300\nB,2024-02-02,10000000000000,\n", encoding="utf-8")
    with pytest.raises(LedgerError, match=r"column 'paid_amount': 1 amount above 1e\+13 in absolute value, row 1"):
        read_ledger(path)


def test_a_wrong_encoding_says_so_in_a_short_line(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    assert main(["kpis", str(path), "--encoding", "utf-16"]) == 2
    line = capsys.readouterr().err.strip()
    assert "encoding looks wrong" in line and "--encoding" in line and len(line) < 300, line
    assert "\n" not in line


def test_a_long_header_is_listed_briefly(tmp_path):
    path = tmp_path / "wide.csv"
    names = [f"column_number_{n}_with_a_rather_long_name_that_goes_on" for n in range(200)]
    path.write_text(",".join(names) + "\n" + ",".join("x" for _ in names) + "\n", encoding="utf-8")
    with pytest.raises(LedgerError) as raised:
        read_ledger(path)
    message = str(raised.value)
    assert "and 188 more" in message and len(message) < 900, message
    assert "encoding" not in message


def test_an_existing_path_that_is_not_a_file_is_named_as_such(capsys):
    assert main(["kpis", "/dev/null"]) == 2
    assert capsys.readouterr().err.strip() == ("arsim: error: /dev/null: not a regular file (a device, pipe or socket); "
                                               "give a CSV, CSV.gz or XLSX file")


def test_more_segments_than_the_customers_support_are_refused_before_fitting(tmp_path, capsys):
    rows = [f"C{n % 30},I{n},2024-01-{1 + n % 28:02d},2024-02-{1 + n % 28:02d},{100 + n},2024-02-{1 + n % 27:02d},False,paper"
            for n in range(120)]
    path = write(tmp_path, rows)
    out = tmp_path / "fit" / "cal.yaml"
    assert main(["calibrate", str(path), "-o", str(out), "--segments", "1000"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("arsim: note:")]
    assert err == ["arsim: error: --segments: 1,000 behaviour groups need at least 10 customers with paid invoices each; "
                   "the ledger has 30, so at most 3 (or auto)"]
    assert not out.exists()
    with pytest.raises(InputError, match="^segments: 4 behaviour groups"):
        arsim.calibrate(read_ledger(path), segments=4)


def test_many_segments_at_a_bound_make_one_warning_line_per_parameter():
    from arsim.ledger.calibrate.fit import calibration_bounds, calibration_bounds_summary

    scenario = arsim.load_scenario(arsim.shipped_scenario("smb.yaml"))
    data = scenario.model_dump()
    template = data["portfolio"]["segments"][0]
    template["behaviour"]["customer_lateness_sigma"] = 8.0
    data["portfolio"]["segments"] = [{**template, "name": f"behaviour_{n}"} for n in range(40)]
    from arsim.scenario.schema import validate_scenario

    many = validate_scenario(data, source="test")
    assert len(calibration_bounds(many)) >= 40
    summary = calibration_bounds_summary(many)
    pairs = {(line.split(": ")[1].split(" = ")[0], "lower" if "lower bound" in line else "upper") for line in calibration_bounds(many)}
    assert len(summary) == len(pairs)  # one line per parameter and side, not per segment
    assert any(line.startswith("customer_lateness_sigma is at its upper bound") and "in 40 of 40 segment(s)" in line
               and "and 37 more" in line for line in summary), summary
