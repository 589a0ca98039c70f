"""Paired comparisons and sweeps: CRN makes intervals narrower, workers never change numbers, bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from arsim.analysis.compare import compare
from arsim.analysis.sweep import sweep
from arsim.cli.main import main
from arsim.experiment.replications import run_replications
from arsim.experiment.statistics import independent_difference
from conftest import small_world

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--set", "portfolio.segments.prompt.customers=40", "--set", "portfolio.segments.slow.customers=30",
         "--set", "run.horizon_days=90", "--set", "run.warmup_days=30"]


def _run(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def paired_and_independent_widths(keys=("dso", "past_due_amount", "financing_cost", "net_cost"), replications: int = 6):
    """95% CI widths of the effect of a 2% discount: paired (common random numbers) and from independent runs.

    Independent runs put the alternative on other replications (other customers and orders), same count.
    Returns the comparison table and {kpi: (paired width, independent width)}.
    """
    baseline = small_world(run={"horizon_days": 180, "warmup_days": 60, "seed": 11, "replications": replications})
    # Unearned discounts are accepted here: chasing them loses a few customers at random, a real effect whose own
    # variance no pairing can remove (it would measure the churn, not what common random numbers do).
    discount = baseline.with_overrides({"policy.discount.percent": 2.0, "policy.discount.unearned": "accept"})
    comparison = compare(baseline, {"discount": discount}, save=False)
    table = comparison.of("discount")
    base_rows = pd.DataFrame([r.kpis for r in run_replications(baseline, range(replications))])
    other_rows = pd.DataFrame([r.kpis for r in run_replications(discount, range(replications, 2 * replications))])
    widths = {}
    for key in keys:
        _, low, high = independent_difference(base_rows[key].tolist(), other_rows[key].tolist())
        widths[key] = (table.loc[key, "ci_high"] - table.loc[key, "ci_low"], high - low)
    return comparison, widths


def test_paired_interval_is_narrower_than_independent_runs():
    comparison, widths = paired_and_independent_widths()
    table = comparison.of("discount")
    for key, (paired_width, independent_width) in widths.items():
        assert paired_width < 0.5 * independent_width, key
    assert table.loc["dso", "significant"] and table.loc["dso", "diff"] < 0  # a 2% discount speeds payment
    assert table.loc["discount_cost", "baseline"] == 0 and table.loc["discount_cost", "alternative_mean"] > 0
    assert comparison.replications == 6


def test_an_identical_alternative_differs_by_exactly_zero():
    baseline = small_world(run={"horizon_days": 90, "warmup_days": 30, "seed": 2, "replications": 3})
    table = compare(baseline, [baseline.policy], save=False).table
    assert (table["diff"].fillna(0) == 0).all() and not table["significant"].any()


def test_compare_cli_json_contract(tmp_path, capsys):
    policy = tmp_path / "calls.yaml"
    policy.write_text("name: calls\ndunning:\n  volume: {call: 2.0}\n")
    discount = tmp_path / "disc.yaml"
    discount.write_text("name: disc\ndiscount: {percent: 1.0, days: 10}\n")
    args = ["compare", str(ROOT / "scenarios/smb.yaml"), "--policy", str(policy), "--policy", str(discount), *SMALL,
            "--replications", "3", "--out", str(tmp_path / "c"), "--json"]
    code, out, _ = _run(args, capsys)
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"baseline", "replications", "seed", "alternatives"}
    assert data["baseline"] == "smb" and data["replications"] == 3
    assert [a["name"] for a in data["alternatives"]] == ["calls", "disc"]
    for alternative in data["alternatives"]:
        assert set(alternative) == {"name", "kpis"}
        for entry in alternative["kpis"].values():
            assert set(entry) == {"baseline", "alternative", "diff", "ci_low", "ci_high", "significant"}
    calls = data["alternatives"][0]["kpis"]["contacts_call"]
    assert calls["diff"] > 0 and calls["alternative"] == pytest.approx(calls["baseline"] + calls["diff"])
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["replications"] == 3 and [a["name"] for a in manifest["alternatives"]] == ["calls", "disc"]
    assert manifest["command"].startswith("arsim compare")
    code, out, _ = _run(args[:-1], capsys)  # the table
    assert code == 0 and "calls vs smb" in out and "significant" in out


def test_sweep_is_identical_for_any_number_of_workers(tmp_path, capsys):
    args = ["sweep", str(ROOT / "scenarios/smb.yaml"), "--param", "team.collectors=1,2", "--param", "policy.discount.percent=0:2:2",
            *SMALL, "--replications", "2"]
    assert _run(args + ["--jobs", "1", "--out", str(tmp_path / "a")], capsys)[0] == 0
    assert _run(args + ["--jobs", "2", "--out", str(tmp_path / "b")], capsys)[0] == 0
    for name in ("summary.csv", "replications.csv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    tidy = pd.read_csv(tmp_path / "a" / "replications.csv")
    assert len(tidy) == 4 * 2  # one row per cell x replication
    assert sorted(set(zip(tidy["team.collectors"], tidy["policy.discount.percent"]))) == [(1, 0), (1, 2), (2, 0), (2, 2)]
    summary = pd.read_csv(tmp_path / "a" / "summary.csv")
    assert len(summary) == 4 and {"dso", "dso_ci_low", "dso_ci_high", "n"} <= set(summary.columns)
    assert (tmp_path / "a" / "sweep.html").exists() and (tmp_path / "a" / "manifest.json").exists()


def test_sweep_cells_share_common_random_numbers():
    scenario = small_world(run={"horizon_days": 90, "warmup_days": 30, "seed": 4, "replications": 2})
    table = sweep(scenario, {"team.hours_per_day": [7, 8]}, save=False).summary
    # Team hours change no customer draw: the same replications see the same sales in every cell.
    assert table["sales"].nunique() == 1




def test_run_auto_replications_cli(tmp_path, capsys):
    args = ["run", str(ROOT / "scenarios/smb.yaml"), *SMALL, "--replications", "auto", "--precision", "0.1",
            "--max-replications", "8", "--out", str(tmp_path / "r"), "--json"]
    code, out, err = _run(args, capsys)
    assert code == 0
    data = json.loads(out)
    assert 5 <= data["replications"] <= 8
    assert "replications" in err and ("reached the precision" in err or "not reached" in err)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["auto_replications"]["replications"] == data["replications"]
    code, _, err = _run(["run", str(ROOT / "scenarios/smb.yaml"), "--replications", "auto", "--precision", "2", "--out", str(tmp_path / "s")], capsys)
    assert code == 2 and "must lie between 0 and 1" in err
