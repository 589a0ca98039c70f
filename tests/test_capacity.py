"""Contact-capacity planning: offered work and the saturation point against the analytic figures, the trap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from arsim.analysis.capacity import (
    capacity,
    follow_up_workload,
    working_days,
)
from arsim.cli.main import main
from arsim.experiment.replications import run_replication
from arsim.experiment.statistics import paired_difference
from arsim.scenario.files import load_scenario
from arsim.scenario.schema import validate_scenario

ROOT = Path(__file__).resolve().parents[1]
QUIET = {"reach_probability": 1.0, "pay_probability": 0.0, "query_probability": 0.0, "promise_probability": 0.0, "dispute_probability": 0.0}
CUSTOMERS, INVOICES_PER_MONTH, QUERY_PROBABILITY, QUERY_MINUTES, HOURS = 300, 1.0, 1.0, 10.0, 4.0


def deterministic_world(**run):
    """Emails that raise queries with a fixed chance, answered in fixed minutes by one collector, seven days a week.

    Every customer orders exactly once a month on a regular schedule (no spread of order rates between
    customers), every invoice is open when its reminders go out (all customers pay 20 days late, nobody
    early), each email raises a query (reply rate 1) and nothing else (no calls, disputes or promises), a query
    takes exactly 10 minutes, and business and team days are all seven weekdays so the daily load is even. So
    the offered work per day is invoices per day x scale x reply rate x minutes per reply.
    """
    data = {
        "name": "deterministic",
        "calendar": {"start_date": "2025-01-06", "business_weekdays": [0, 1, 2, 3, 4, 5, 6]},
        "portfolio": {"segments": [{
            "name": "v", "customers": CUSTOMERS, "invoices_per_month": INVOICES_PER_MONTH, "order_pattern": "regular", "order_rate_cv": 0,
            "amount": {"dist": "lognormal", "median": 1000, "sigma": 0}, "customer_amount_sigma": 0,
            "terms_days": 30, "default_probability_per_year": 0, "e_invoice_share": 1.0,
            "behaviour": {"late_share_normal": 1.0, "late_share_strained": 1.0, "strained_share": 0.0, "customer_lateness_sigma": 0,
                          "customer_lateness_days_effect": 0, "days_late_normal": {"dist": "lognormal", "median": 20, "sigma": 0},
                          "weekly_run_share": 0, "discount_sensitive_share": 0, "penalty_backfire_share": 0, "deduction_probability": 0},
            "contact_response": {"channels": {"email": {**QUIET, "query_probability": QUERY_PROBABILITY}, "call": QUIET, "letter": QUIET, "agency": QUIET},
                                 "reply_delay_days": {"dist": "fixed", "value": 0.25}, "resume_days": {"dist": "fixed", "value": 1}},
        }]},
        "invoicing": {"paper_error_rate": 0, "electronic_error_rate": 0},
        "team": {"collectors": 1, "hours_per_day": HOURS, "working_weekdays": [0, 1, 2, 3, 4, 5, 6],
                 "minutes": {"query": {"dist": "fixed", "value": QUERY_MINUTES}}},
        "policy": {"dunning": {"steps": [{"day": -5, "channel": "email"}], "min_days_between_contacts": 0, "repeat_gap_days": 1},
                   "credit": {"limit_months_of_sales": None, "hold_days_past_due": None}},
        "run": {"horizon_days": 240, "warmup_days": 60, "seed": 3, "replications": 2, **run},
    }
    return validate_scenario(data, source="test")


def analytic_minutes_per_day(scale: float) -> float:
    """contacts per day x reply rate x minutes per reply."""
    invoices_per_day = CUSTOMERS * INVOICES_PER_MONTH * 12 / 365
    return invoices_per_day * scale * QUERY_PROBABILITY * QUERY_MINUTES


def test_offered_work_matches_the_arithmetic():
    whole = run_replication(deterministic_world().with_overrides({"policy.dunning.volume": {"email": 2.0}}), 0, measure=follow_up_workload)
    assert whole.extras["offered_minutes_per_day"] == pytest.approx(analytic_minutes_per_day(2.0), rel=0.005)
    assert whole.extras["replies"] == whole.kpis["queries_opened"]  # only queries in this world
    # Scale 1.5 sends the repeat to a random half of the invoices: the arithmetic holds on average.
    half = run_replication(deterministic_world().with_overrides({"policy.dunning.volume": {"email": 1.5}}), 0, measure=follow_up_workload)
    assert half.extras["offered_minutes_per_day"] == pytest.approx(analytic_minutes_per_day(1.5), rel=0.03)
    assert working_days(deterministic_world(), start=60, end=300) == 240


@pytest.mark.slow
def test_saturation_point_is_where_offered_work_meets_capacity(tmp_path):
    capacity_minutes = 1 * HOURS * 60
    analytic = capacity_minutes / analytic_minutes_per_day(1.0)  # 2.43: contacts x reply rate x minutes = capacity
    scales = [round(1.9 + 0.1 * i, 1) for i in range(11)]
    study = capacity(deterministic_world(), contact_scales=scales, jobs=2, folder=tmp_path / "cap")
    table = study.levels
    saturation = study.saturation_scale
    assert saturation is not None
    assert abs(saturation - analytic) / analytic <= 0.10
    below = table[table["contact_scale"] <= saturation]
    above = table[table["contact_scale"] >= analytic * 1.1]
    assert below["within_capacity"].all() and not above["within_capacity"].any()
    assert (above["backlog_end"] > 10 * below["backlog_end"].max() + 10).all()  # past capacity the backlog grows
    # The capacity trap: past saturation each query holds its payment longer, so DSO rises with more contacts.
    at_saturation = table.loc[table["contact_scale"] == saturation, "dso"].item()
    assert table.loc[table["contact_scale"] == scales[-1], "dso"].item() > at_saturation + 5
    assert study.best_dso["scale"] <= saturation
    written = json.loads((tmp_path / "cap" / "manifest.json").read_text())
    assert written["capacity"]["saturation_scale"] == saturation and written["replications"] == 2


def test_smallest_team_for_a_plan():
    study = capacity(deterministic_world(horizon_days=150, replications=1), contact_scales=[2.0, 4.0], collectors=[1, 2, 3], save=False)
    # Scale 4 offers ~395 minutes a day: one collector (240) cannot carry it, two (480) can.
    assert study.smallest_team == {"contact_scale": 4.0, "collectors": 2}
    assert study.saturation_by_collectors == {1: 2.0, 2: None, 3: None}  # two or three collectors never saturate up to scale 4
    data = study.to_json()
    assert set(data) >= {"levels", "saturation_scale", "best_dso_scale", "best_net_cost_scale", "smallest_team"}
    assert len(data["levels"]) == 6
    assert set(data["levels"][0]) >= {"contact_scale", "collectors", "offered_minutes_per_day", "capacity_minutes_per_day", "utilization",
                                      "backlog_end", "query_wait_days", "query_sla_attainment", "dso", "past_due_amount", "net_cost"}


@pytest.mark.slow
def test_shipped_baseline_shows_the_trap_only_when_replies_wait_behind_calls(tmp_path):
    """The shipped worklist serves queries before calls, so overload backs up outbound calls, not the replies.

    With two collectors the baseline is past capacity at three times the contacts. Under the shipped
    task_type worklist, queries still jump the queue (their wait stays under a day), the extra work goes into
    calls left undone, and neither DSO nor past-due receivables get significantly worse; under a first-come-
    first-served worklist the replies wait behind the calls, hold their payments, and DSO and past-due
    receivables rise with more contacts: the study names the capacity trap (docs/whatif.md has the figures).
    """
    base = load_scenario(ROOT / "scenarios/baseline.yaml").with_overrides({"team.collectors": 2, "run.replications": 3})
    shipped = capacity(base, contact_scales=[1.0, 3.0], jobs=2, folder=tmp_path / "shipped").levels
    fifo = capacity(base.with_overrides({"policy.worklist_rule": "fifo"}), contact_scales=[1.0, 3.0], jobs=2, folder=tmp_path / "fifo").levels
    assert shipped["offered_load"].iloc[1] > 1.0 and fifo["offered_load"].iloc[1] > 1.0

    def paired(folder, key):
        rows = pd.read_csv(tmp_path / folder / "replications.csv")
        return paired_difference(rows.loc[rows["contact_scale"] == 1.0, key].tolist(), rows.loc[rows["contact_scale"] == 3.0, key].tolist())

    assert shipped["query_wait_days"].max() < 1.0
    assert not shipped["capacity_trap"].any() and fifo["capacity_trap"].iloc[1]
    assert shipped["undone_call"].iloc[1] > shipped["undone_call"].iloc[0] + 1000  # where the extra work went
    assert paired("fifo", "query_wait_days")["diff"] > 5.0
    assert paired("fifo", "dso")["diff"] > 0
    assert paired("fifo", "past_due_amount")["diff"] > 0


def _run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_capacity_cli_json(tmp_path, capsys):
    args = ["capacity", str(ROOT / "scenarios/smb.yaml"), "--contact-scale", "1:2:1", "--collectors", "1:2", "--replications", "1",
            "--set", "run.horizon_days=60", "--set", "run.warmup_days=30", "--out", str(tmp_path / "c"), "--json"]
    code, out, _ = _run(args, capsys)
    assert code == 0
    data = json.loads(out)
    assert [(lv["contact_scale"], lv["collectors"]) for lv in data["levels"]] == [(1.0, 1), (2.0, 1), (1.0, 2), (2.0, 2)]
    assert data["levels"][2]["capacity_minutes_per_day"] == 2 * 4 * 60
    assert isinstance(data["best_dso_scale"], float) and isinstance(data["best_net_cost_scale"], float)
    assert (tmp_path / "c" / "levels.csv").exists() and (tmp_path / "c" / "capacity.html").exists()


@pytest.mark.parametrize("extra, expected", [
    (["--contact-scale", "3:1:0.5"], "empty range"),
    (["--contact-scale", "a:2"], "'a' is not a number"),
    (["--contact-scale", "1:2:0.5:1"], "bad range"),
    (["--contact-scale", "1,x"], "'x' is not a number"),
    (["--contact-scale", "1:6"], "above the maximum"),
    (["--collectors", "1.5"], "not a whole number"),
    (["--contact-scale", "1:2", "--call-scale", "1,2"], "only one of"),
    (["--plan-scale", "7"], "not one of the scales"),
    (["--set", "team.colectors=2"], "team.colectors: unknown field"),
])
def test_capacity_bad_input_is_one_line_exit_2(tmp_path, capsys, extra, expected):
    code, out, err = _run(["capacity", str(ROOT / "scenarios/smb.yaml"), "--out", str(tmp_path / "x"), *extra], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arsim: error: ") and expected in lines[0]
    assert not (tmp_path / "x").exists()


def test_paired_difference_arithmetic():
    result = paired_difference([1.0, 2.0, 3.0, 4.0], [2.0, 3.5, 4.0, 5.5])
    assert result["diff"] == pytest.approx(1.25)
    half = 3.182446305284263 * np.std([1, 1.5, 1, 1.5], ddof=1) / 2
    assert result["ci_low"] == pytest.approx(1.25 - half) and result["ci_high"] == pytest.approx(1.25 + half)
    assert result["significant"] and result["relative_change"] == pytest.approx(1.25 / 2.5)
