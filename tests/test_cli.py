"""The command line: exit codes, one-line errors, the JSON contract, reproducibility across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arsim.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--set", "portfolio.segments.prompt.customers=40", "--set", "portfolio.segments.slow.customers=30",
         "--set", "run.horizon_days=90", "--set", "run.warmup_days=30"]
REQUIRED_KEYS = (
    "dso", "dso_countback", "best_possible_dso", "add", "cei", "pct_past_due", "past_due_amount", "ar_turnover",
    "avg_collection_period", "bad_debt_ratio", "avg_days_late_paid", "share_paid_late", "dispute_cycle_days",
    "query_wait_days", "query_sla_attainment", "collector_utilization", "backlog_tasks_end", "contacts_email",
    "contacts_call", "contacts_letter", "promises_kept_share", "discount_cost", "penalty_income", "financing_cost",
    "collector_cost", "contact_cost", "bad_debt_amount", "lost_margin", "net_cost",
)


def _run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_json_contract(tmp_path, capsys):
    code, out, err = _run_cli(["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "3", "--seed", "5", "--json", "--out", str(tmp_path / "r")], capsys)
    assert code == 0
    data = json.loads(out)  # exactly one JSON object on stdout
    assert data["scenario"] == "smb" and data["seed"] == 5 and data["replications"] == 3
    for key in REQUIRED_KEYS:
        entry = data["kpis"][key]
        assert set(entry) == {"mean", "ci_low", "ci_high", "values"}
        assert len(entry["values"]) == 3
    dso = data["kpis"]["dso"]
    assert dso["ci_low"] <= dso["mean"] <= dso["ci_high"]
    folder = tmp_path / "r"
    for name in ("manifest.json", "kpis.csv", "replications.csv", "monthly.csv", "invoices.csv.gz"):
        assert (folder / name).exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["replications"] == 3 and "streams" in manifest
    assert not list(folder.glob(".*.tmp"))


def test_run_prints_a_table(tmp_path, capsys):
    code, out, _ = _run_cli(["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "2", "--out", str(tmp_path)], capsys)
    assert code == 0
    assert "dso" in out and "95% CI" in out


def test_jobs_do_not_change_results(tmp_path, capsys):
    args = ["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "3", "--json"]
    _, one, _ = _run_cli(args + ["--jobs", "1", "--out", str(tmp_path / "a")], capsys)
    _, two, _ = _run_cli(args + ["--jobs", "2", "--out", str(tmp_path / "b")], capsys)
    assert json.loads(one) == json.loads(two)


def test_a_fresh_process_gives_the_same_numbers(tmp_path, capsys):
    args = ["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "2", "--json"]
    _, here, _ = _run_cli(args + ["--out", str(tmp_path / "a")], capsys)
    env = dict(os.environ, PYTHONHASHSEED="123")
    fresh = subprocess.run([sys.executable, "-m", "arsim.cli", *args, "--out", str(tmp_path / "b")], capture_output=True, text=True, env=env, check=True)
    assert json.loads(here) == json.loads(fresh.stdout)
    other = subprocess.run([sys.executable, "-m", "arsim.cli", *args, "--seed", "999", "--out", str(tmp_path / "c")], capture_output=True, text=True, check=True)
    assert json.loads(other.stdout)["kpis"]["dso"] != json.loads(here)["kpis"]["dso"]


def test_validate(capsys):
    code, out, _ = _run_cli(["validate", str(ROOT / "scenarios/baseline.yaml")], capsys)
    assert code == 0 and "valid" in out


@pytest.mark.parametrize(
    "content, extra, expected",
    [
        ("team:\n  colectors: 3\n", [], "bad.yaml: team.colectors: unknown field"),
        ("portfolio:\n  segments:\n    - name: a\n      behaviour:\n        late_share_normal: 1.3\n", [],
         "bad.yaml: portfolio.segments.0.behaviour.late_share_normal: Input should be less than or equal to 1"),
        ("team: [\n", [], "bad.yaml: line 2: invalid YAML"),
        ("name: ok\n", ["--set", "team.colectors=4"], "--set: team.colectors: unknown field"),
        ("name: ok\n", ["--set", "team.collectors"], "expected path.to.field=value"),
        ("name: ok\n", ["--replications", "0"], "must be at least 1"),
        ("name: ok\n", ["--policy", "nowhere.yaml"], "nowhere.yaml: file not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, content, extra, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    out_dir = tmp_path / "out"
    code, out, err = _run_cli(["run", str(path), "--out", str(out_dir), *extra], capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arsim: error: ")
    assert expected in lines[0]
    assert not out_dir.exists()  # nothing written for bad input


def test_bad_input_from_the_console_script_has_no_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("run:\n  seed: -1\n")
    done = subprocess.run([sys.executable, "-m", "arsim.cli", "validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "run.seed" in done.stderr


def test_a_failed_rewrite_keeps_the_previous_results(tmp_path, capsys, monkeypatch):
    args = ["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "2", "--out", str(tmp_path)]
    assert _run_cli(args, capsys)[0] == 0
    before = (tmp_path / "kpis.csv").read_text()
    import pandas as pd

    def broken(self, *a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError):
        main(args + ["--seed", "77"])
    assert (tmp_path / "kpis.csv").read_text() == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_written_ledger_reads_back_without_a_mapping(tmp_path, capsys):
    import pandas as pd

    from arsim.ledger.read import read_ledger

    assert _run_cli(["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "1", "--out", str(tmp_path)], capsys)[0] == 0
    ledger = read_ledger(tmp_path / "invoices.csv.gz")
    raw = pd.read_csv(tmp_path / "invoices.csv.gz", dtype=str, keep_default_na=False)
    assert len(ledger) == len(raw) > 0
    assert ledger["invoice_id"].tolist() == raw["invoice_id"].tolist()
    assert ledger["amount"].tolist() == raw["amount"].astype(float).tolist()
    assert ledger["paid_date"].isna().sum() == (raw["paid_date"] == "").sum()
    assert set(ledger["channel"].dropna()) <= {"paper", "electronic"} and ledger["channel"].notna().all()
    assert (ledger.loc[ledger["paid_date"].notna(), "paid_date"] >= ledger.loc[ledger["paid_date"].notna(), "invoice_date"]).all()
