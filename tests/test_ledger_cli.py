"""Every ledger failure of `arsim kpis` and `arsim calibrate` ends in one stderr line and exit 2, nothing written.

Each case runs through `arsim.cli.main.main` and asserts: exit code 2, a single stderr line that names the
file, flag or row, no stdout, and (for calibrate) no file in the output folder.
"""

from __future__ import annotations

import json

import pytest

from arsim.cli.main import main

ROWS = [
    f"C{n % 4},I{n},2024-0{1 + n % 6}-0{1 + n % 9},2024-0{2 + n % 6}-1{n % 9},{100 + n}.50,2024-0{2 + n % 6}-2{n % 9}"
    for n in range(30)
]
HEADER = "customer_id,invoice_id,invoice_date,due_date,amount,paid_date"


@pytest.fixture
def ledger(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(HEADER + "\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def one_line_error(capsys, code: int, *names: str) -> str:
    captured = capsys.readouterr()
    assert code == 2, captured.err
    lines = [line for line in captured.err.splitlines() if not line.startswith("arsim: note:")]
    assert len(lines) == 1 and lines[0].startswith("arsim: error: "), captured.err
    assert captured.out == ""
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("command", ["kpis", "calibrate"])
def test_header_only_file(tmp_path, capsys, command):
    path = tmp_path / "empty.csv"
    path.write_text(HEADER + "\n", encoding="utf-8")
    out = tmp_path / "out" / "fit.yaml"
    extra = ["-o", str(out)] if command == "calibrate" else []
    one_line_error(capsys, main([command, str(path), *extra]), "empty.csv", "no data rows")
    assert not out.parent.exists()


@pytest.mark.parametrize("as_of", ["2013-13-45", "yesterday", "2023-12-31", "2024-09-01", "2099-01-31"])
def test_bad_or_outside_as_of(ledger, capsys, as_of):
    line = one_line_error(capsys, main(["kpis", str(ledger), "--as-of", as_of]), "--as-of")
    assert "Traceback" not in line


def test_as_of_inside_the_ledger_prints_the_whole_table(ledger, capsys):
    assert main(["kpis", str(ledger), "--as-of", "2024-05-31"]) == 0
    captured = capsys.readouterr()
    assert "monthly series" in captured.out and "2024-05-31" in captured.out
    assert "arsim: note: export.csv: read as UTF-8, ','-separated, decimal point" in captured.err


def test_bad_date_format(ledger, capsys):
    one_line_error(capsys, main(["kpis", str(ledger), "--date-format", "%Q%Q"]), "--date-format", "%Q%Q")


@pytest.mark.parametrize("value", ["0", "abc"])
def test_bad_segments(ledger, tmp_path, capsys, value):
    out = tmp_path / "fit.yaml"
    one_line_error(capsys, main(["calibrate", str(ledger), "--segments", value, "-o", str(out)]), "--segments")
    assert not out.exists()


def test_output_onto_a_directory_or_under_a_file(ledger, tmp_path, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    one_line_error(capsys, main(["calibrate", str(ledger), "-o", str(folder)]), "-o", "is a folder")
    one_line_error(capsys, main(["calibrate", str(ledger), "-o", str(ledger / "fit.yaml")]), "-o", "is a file, not a folder")
    assert list(folder.iterdir()) == []


def test_output_never_overwrites_an_input(ledger, capsys):
    before = ledger.read_bytes()
    one_line_error(capsys, main(["calibrate", str(ledger), "-o", str(ledger)]), "-o", "input file")
    assert ledger.read_bytes() == before


def test_a_foreign_manifest_is_not_replaced(ledger, tmp_path, capsys):
    (tmp_path / "calibration.json").write_text('{"mine": true}\n')
    one_line_error(capsys, main(["calibrate", str(ledger), "-o", str(tmp_path / "fit.yaml")]), "calibration.json")
    assert (tmp_path / "calibration.json").read_text() == '{"mine": true}\n'
    assert not (tmp_path / "fit.yaml").exists()


@pytest.mark.parametrize("command", ["kpis", "calibrate"])
def test_a_directory_as_the_ledger(tmp_path, capsys, command):
    folder = tmp_path / "exports"
    folder.mkdir()
    extra = ["-o", str(tmp_path / "fit.yaml")] if command == "calibrate" else []
    one_line_error(capsys, main([command, str(folder), *extra]), "exports", "is a directory")


def test_two_amount_columns_are_refused(tmp_path, capsys):
    path = tmp_path / "two.csv"
    path.write_text("customer_id,due_date,amount,amount\nA,2024-01-31,10,12\n", encoding="utf-8")
    one_line_error(capsys, main(["kpis", str(path)]), "two.csv", "'amount' appears more than once")


def test_bad_reading_flags(ledger, capsys):
    one_line_error(capsys, main(["kpis", str(ledger), "--encoding", "klingon"]), "--encoding", "klingon")
    one_line_error(capsys, main(["kpis", str(ledger), "--delimiter", ";;"]), "--delimiter")
    one_line_error(capsys, main(["kpis", str(ledger), "--decimal", "x"]), "--decimal")
    one_line_error(capsys, main(["kpis", str(ledger), "--sheet", "Data"]), "--sheet", "not an Excel workbook")


def test_calibrate_writes_scenario_report_and_manifest_whole(ledger, tmp_path, capsys):
    out = tmp_path / "fit" / "company.yaml"
    assert main(["calibrate", str(ledger), "-o", str(out), "--seed", "3"]) == 0, capsys.readouterr().err
    manifest = json.loads((out.parent / "calibration.json").read_text())
    assert manifest["kind"] == "arsim calibrate manifest" and manifest["seed"] == 3
    assert manifest["ledger"]["file"] == "export.csv" and manifest["ledger"]["rows"] == 30
    assert len(manifest["ledger"]["sha256"]) == 64 and manifest["scenario_file"] == "company.yaml"
    assert sorted(p.name for p in out.parent.iterdir()) == ["calibration.json", "calibration.md", "company.yaml"]
    assert "## Parameters at a bound" in (out.parent / "calibration.md").read_text()
    assert isinstance(manifest["parameters_at_a_bound"], list)
    # Run again onto its own output: allowed, and still three whole files.
    assert main(["calibrate", str(ledger), "-o", str(out), "--seed", "3"]) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["calibration.json", "calibration.md", "company.yaml"]
