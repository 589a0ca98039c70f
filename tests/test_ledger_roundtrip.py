"""A run's own ledger, read back by `arsim kpis`, gives the run's own monthly KPIs.

The run and its ledger are measured by the same formulas (`arsim.measure`), so where the definitions
coincide (all the KPIs compared here) the figures must be the same; the only differences allowed are the
ledger's rounding of amounts to cents (a relative error of about 1e-8 on balances of millions) and the six
significant digits of monthly.csv. The world is small but has every way an invoice closes: in full, early
with a discount, short payments, credit notes (partial, and closing a short-paid invoice), instalments,
bad debt, and still open.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from arsim.cli.main import main
from arsim.ledger.read import read_ledger
from arsim.ledger.write import LEDGER_COLUMNS

ROOT = Path(__file__).resolve().parents[1]

WORLD = [
    "--set", "portfolio.segments.prompt.customers=160", "--set", "portfolio.segments.slow.customers=140",
    "--set", "portfolio.segments.at_risk.customers=120", "--set", "portfolio.segments.strategic.customers=50",
    "--set", "run.horizon_days=200", "--set", "run.warmup_days=100",
    "--set", "policy.discount.percent=2", "--set", "policy.write_off_days_past_due=60",
    "--set", "policy.payment_plan.enabled=true",
    *[arg for segment in ("prompt", "slow", "at_risk", "strategic")
      for arg in ("--set", f"portfolio.segments.{segment}.relationship.plan_acceptance_probability=1")],
    "--set", "policy.payment_plan.min_days_past_due=10", "--set", "policy.payment_plan.interval_days=10",
]

RELATIVE = 1e-5  # monthly.csv's six significant digits (the ledger's cents alone differ by about 1e-8)
COMPARED = ("dso", "best_possible_dso", "cei", "pct_past_due", "add", "dso_countback", "share_paid_late", "avg_days_late_paid")
BUCKETS = ("current", "1-30", "31-60", "61-90", "91+")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("roundtrip")
    assert main(["run", str(ROOT / "scenarios/baseline.yaml"), *WORLD, "--replications", "1", "--out", str(folder)]) == 0
    return folder


def test_the_ledger_shows_every_way_an_invoice_closes(run_folder):
    assert list(pd.read_csv(run_folder / "invoices.csv.gz", nrows=0).columns) == list(LEDGER_COLUMNS)
    ledger = read_ledger(run_folder / "invoices.csv.gz")
    invoices = ledger[ledger["item_type"] == "Invoice"]
    rows = ledger[ledger["item_type"] != "Invoice"]
    assert set(rows["item_type"]) == {"Payment", "Credit note", "Write-off"}
    assert (invoices["discount"] > 0).any() and (invoices["short_paid"] > 0).any()
    assert rows.groupby("invoice_id").size().max() >= 3  # instalments: several payments of one invoice
    assert (invoices["open_amount"] > 0).any() and (invoices["written_off_amount"] > 0).any()
    credited = invoices["credit_note_amount"].notna()
    assert (credited & invoices["paid_date"].notna()).any()  # a partial credit note, the rest paid
    assert (credited & invoices["paid_date"].isna() & (invoices["open_amount"] == 0)).any()  # closed by a credit note
    # how each invoice closed, on its own row, agrees with its settlement rows
    by_invoice = rows.groupby("invoice_id")
    for column in ("paid_amount", "discount", "credit_note_amount", "written_off_amount"):
        summed = by_invoice[column].sum(min_count=1).reindex(invoices["invoice_id"]).to_numpy()
        assert pd.Series(summed).fillna(0).round(2).tolist() == invoices[column].fillna(0).round(2).tolist(), column
    closing = rows[rows["item_type"] == "Payment"].groupby("invoice_id")["paid_date"].max()
    paid = invoices[invoices["paid_date"].notna()]
    assert (closing.reindex(paid["invoice_id"]).to_numpy() == paid["paid_date"].to_numpy()).all()
    assert (invoices["open_amount"] >= 0).all() and (invoices.loc[invoices["paid_date"].notna(), "open_amount"] == 0).all()


def test_kpis_of_the_runs_own_ledger_are_the_runs_monthly_kpis(run_folder, capsys):
    monthly = pd.read_csv(run_folder / "monthly.csv")
    whole = monthly[monthly["days"] == monthly["month"].map(lambda m: pd.Period(m).days_in_month)]
    assert len(whole) >= 4
    for _, month in whole.iloc[[0, 1, len(whole) // 2, -1]].iterrows():
        as_of = pd.Period(month["month"]).end_time.strftime("%Y-%m-%d")
        capsys.readouterr()
        assert main(["kpis", str(run_folder / "invoices.csv.gz"), "--as-of", as_of, "--period", "month", "--json"]) == 0
        reported = json.loads(capsys.readouterr().out)
        assert reported["as_of"] == as_of
        kpis = reported["kpis"]
        for key in COMPARED:
            assert kpis[key] == pytest.approx(month[key], rel=RELATIVE), (as_of, key)
        for bucket in BUCKETS:
            assert kpis["aging"][bucket] == pytest.approx(month[f"aging_{bucket}"], rel=RELATIVE, abs=0.05), (as_of, bucket)
        assert kpis["pct_past_due"] > 0 and kpis["aging"]["31-60"] > 0  # a month with something to get wrong
