"""Exports read as ERPs write them: delimiter, decimal mark and thousands separators, encoding, quoting and
Excel sheets, detected or given, all reading to the same canonical frame.

The fixtures in tests/fixtures/ledgers/dialect_* are made up and hold the same four invoices:
- dialect_comma_utf8.csv: UTF-8, ',' separated, every field quoted, amounts like 1,234.56;
- dialect_semicolon_cp1252.csv: cp1252, ';' separated, amounts like 1.234,56;
- dialect_tab_utf8_bom.csv: UTF-8 with a BOM, tab separated, amounts like 1 234,56;
- dialect_pipe_latin1.csv: latin-1, '|' separated, amounts like 1234.56;
- dialect_sheet.xlsx: the data on the second sheet, 'Posten' (the first is a note).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from arsim.cli.main import main
from arsim.ledger.read import LedgerError, load_ledger, read_ledger

FIXTURES = Path(__file__).parent / "fixtures" / "ledgers"
MAPPING = {"Kunde": "customer_id", "Beleg": "invoice_id", "Belegdatum": "invoice_date", "Faellig": "due_date",
           "Betrag": "amount", "Ausgleich": "paid_date"}
DIALECTS = {
    "dialect_comma_utf8.csv": "read as UTF-8, ','-separated, decimal point",
    "dialect_semicolon_cp1252.csv": "read as cp1252, ';'-separated, decimal comma",
    "dialect_tab_utf8_bom.csv": "read as UTF-8 with BOM, tab-separated, decimal comma",
    "dialect_pipe_latin1.csv": "read as cp1252, '|'-separated, decimal point",
    "dialect_sheet.xlsx": "read sheet 'Posten', decimal point",
}


def canonical() -> pd.DataFrame:
    frame = pd.DataFrame({
        "customer_id": pd.array(["Müller, Söhne & Co", "0042", "Ærø ApS", "0042"], dtype="string"),
        "invoice_id": pd.array(["R-1", "R-2", "R-3", "R-4"], dtype="string"),
        "invoice_date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-01", "2024-02-15"]).astype("datetime64[us]"),
        "due_date": pd.to_datetime(["2024-02-04", "2024-02-19", "2024-03-02", "2024-03-16"]).astype("datetime64[us]"),
        "amount": [1234.56, 250.0, 1234567.5, 99.9],
        "paid_date": pd.to_datetime(["2024-02-10", None, "2024-03-01", "2024-03-30"]).astype("datetime64[us]"),
    })
    return frame


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_each_dialect_reads_to_the_same_canonical_frame(name):
    loaded = load_ledger(FIXTURES / name, mapping=MAPPING)
    pd.testing.assert_frame_equal(loaded.invoices[list(canonical().columns)], canonical())
    # latin-1 text without cp1252-only bytes decodes identically as cp1252, which is what is tried first
    assert loaded.read_as == DIALECTS[name]


@pytest.mark.parametrize(("name", "options"), [
    ("dialect_comma_utf8.csv", {"delimiter": ",", "decimal": ".", "encoding": "utf-8"}),
    ("dialect_semicolon_cp1252.csv", {"delimiter": ";", "decimal": ",", "encoding": "cp1252"}),
    ("dialect_tab_utf8_bom.csv", {"delimiter": "\t", "decimal": ",", "encoding": "utf-8-sig"}),
    ("dialect_pipe_latin1.csv", {"delimiter": "|", "decimal": ".", "encoding": "latin-1"}),
    ("dialect_sheet.xlsx", {"sheet": "Posten"}),
    ("dialect_sheet.xlsx", {"sheet": 1}),
])
def test_given_options_read_the_same(name, options):
    frame = read_ledger(FIXTURES / name, mapping=MAPPING, **options)
    pd.testing.assert_frame_equal(frame[list(canonical().columns)], canonical())


def test_wrong_options_are_one_line_errors():
    with pytest.raises(LedgerError, match="no sheet 'Daten'; the workbook has 'Info', 'Posten'") as caught:
        read_ledger(FIXTURES / "dialect_sheet.xlsx", mapping=MAPPING, sheet="Daten")
    assert caught.value.argument == "sheet"
    with pytest.raises(LedgerError, match="no sheet 5"):
        read_ledger(FIXTURES / "dialect_sheet.xlsx", mapping=MAPPING, sheet=5)
    with pytest.raises(LedgerError, match="not utf-8 text") as caught:
        read_ledger(FIXTURES / "dialect_semicolon_cp1252.csv", mapping=MAPPING, encoding="utf-8")
    assert caught.value.argument == "encoding"
    # The first sheet has no header of the mapping: named explicitly, it reports the missing columns.
    with pytest.raises(LedgerError, match="mapping names column"):
        read_ledger(FIXTURES / "dialect_sheet.xlsx", mapping=MAPPING, sheet=0)


@pytest.mark.parametrize(("text", "decimal", "expected"), [
    ("1.234,56", ",", 1234.56), ("1,234.56", ".", 1234.56), ("1 234,56", ",", 1234.56), ("250,00", ",", 250.0),
    ("1234.5", ".", 1234.5), ("1.234.567,89", ",", 1234567.89), ("1,234,567", ".", 1234567.0), ("-12,5", ",", -12.5),
])
def test_amount_notations(tmp_path, text, decimal, expected):
    path = tmp_path / "amounts.csv"
    item = "Credit memo" if text.startswith("-") else "Invoice"
    path.write_text(f'customer_id;due_date;amount;item_type\nA;2024-01-31;"{text}";{item}\nA;2024-01-31;"5";Invoice\n', encoding="utf-8")
    loaded = load_ledger(path)
    assert loaded.invoices["amount"].iloc[0] == pytest.approx(expected)
    assert loaded.read_as.endswith("decimal comma" if decimal == "," else "decimal point")


def test_the_cli_says_in_one_note_how_the_file_was_read(capsys):
    flags = [f"--map={source}={target}" for source, target in MAPPING.items()]
    assert main(["kpis", str(FIXTURES / "dialect_semicolon_cp1252.csv"), *flags, "--as-of", "2024-02-29", "--json"]) == 0
    err = capsys.readouterr().err
    assert "arsim: note: dialect_semicolon_cp1252.csv: read as cp1252, ';'-separated, decimal comma" in err.splitlines()
    assert main(["kpis", str(FIXTURES / "dialect_sheet.xlsx"), *flags, "--sheet", "Posten", "--as-of", "2024-02-29", "--json"]) == 0
    assert "arsim: note: dialect_sheet.xlsx: read sheet 'Posten', decimal point" in capsys.readouterr().err.splitlines()


def test_the_python_example_in_docs_ledgers_runs(monkeypatch, capsys):
    """docs/ledgers.md's read_ledger example (a dict mapping and a mapping-file path) runs as written."""
    root = Path(__file__).parent.parent
    text = (root / "docs" / "ledgers.md").read_text(encoding="utf-8")
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(root)
    exec(compile(example, "docs/ledgers.md", "exec"), {})
    assert "Müller, Söhne & Co" in capsys.readouterr().out
