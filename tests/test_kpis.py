"""KPI formulas against the published test vectors and hand-computed books."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from arsim.measure import formulas as kpis
from arsim.measure.balances import Movements, portfolio_kpis
from arsim.sim.rules import discount_annual_rate


def test_countback_vector():
    # AR 212,000; monthly sales (latest first) 100,000, 80,000, 70,000; 30-day months -> 73.71 days.
    assert kpis.dso_countback(212_000, [100_000, 80_000, 70_000], [30, 30, 30]) == pytest.approx(73.714, abs=0.005)


def test_cei_vector():
    # Quarter, N = 3: AR_beg 6,200; S 10,890; AR_end 6,340; AR_cur_end 3,590 -> 55.9%.
    assert kpis.cei(6_200, 10_890, 3, 6_340, 3_590) == pytest.approx(55.9, abs=0.05)


def test_discount_rate_vectors():
    assert discount_annual_rate(2, discount_days=10, terms_days=30) == pytest.approx(0.372, abs=0.0005)
    assert discount_annual_rate(2, discount_days=10, terms_days=30, effective=True) == pytest.approx(0.446, abs=0.0005)
    assert discount_annual_rate(0, discount_days=10, terms_days=30) == 0.0
    assert math.isinf(discount_annual_rate(1, discount_days=30, terms_days=30))


def test_period_formulas():
    assert kpis.dso(50_000, 150_000, 90) == pytest.approx(30.0)
    assert kpis.best_possible_dso(40_000, 150_000, 90) == pytest.approx(24.0)
    assert kpis.average_days_delinquent(30.0, 24.0) == pytest.approx(6.0)
    assert kpis.ar_turnover(1_200_000, 100_000, 140_000) == pytest.approx(10.0)
    assert kpis.average_collection_period(10.0) == pytest.approx(36.5)
    assert math.isnan(kpis.dso(1.0, 0.0, 30))


def test_countback_when_ar_exceeds_all_months_counts_them_all():
    assert kpis.dso_countback(500, [100, 100], [31, 30]) == 61


def _book() -> Movements:
    # Three invoices; day numbers. A: 100 on day 0 due 30, paid day 20. B: 200 on day 10 due 40, open.
    # C: 50 on day 5 due 15, 20 paid on day 25 (rest open, past due).
    invoices = pd.DataFrame({"invoice_id": [1, 2, 3], "customer_id": [1, 1, 2], "invoice_day": [0, 10, 5], "due_day": [30, 40, 15],
                             "amount": [100.0, 200.0, 50.0]})
    settlements = pd.DataFrame({"invoice_id": [1, 3], "day": [20, 25], "amount": [100.0, 20.0]})
    return Movements(invoices=invoices, settlements=settlements)


def test_open_balances_and_aging_at_a_boundary():
    book = _book()
    open_at_30 = book.open_at(30).set_index("invoice_id")["open_amount"].to_dict()
    assert open_at_30 == {2: 200.0, 3: 30.0}
    open_end = book.open_at(50)
    buckets = kpis.aging(open_end["open_amount"], 50 - open_end["due_day"])
    assert buckets == {"current": 0.0, "1-30": 200.0, "31-60": 30.0, "61-90": 0.0, "91+": 0.0}
    buckets = kpis.aging(book.open_at(35)["open_amount"], 35 - book.open_at(35)["due_day"])
    assert buckets["current"] == 200.0 and buckets["1-30"] == 30.0


def test_average_balance_is_the_mean_of_end_of_day_balances():
    book = _book()
    daily = []
    for day in range(0, 30):
        daily.append(book.open_at(day + 1)["open_amount"].sum())
    assert book.average_balance(0, 30) == pytest.approx(sum(daily) / 30)


def test_portfolio_kpis_on_a_hand_book():
    book = _book()
    result = portfolio_kpis(book, start=0, end=30, start_date=pd.Timestamp("2025-01-01"))
    # Sales 350 over 30 days; AR_end (boundary 30) = 230 of which current (due >= 30) = 200.
    assert result["sales"] == 350.0
    assert result["ar_end"] == pytest.approx(230.0)
    assert result["dso"] == pytest.approx(230 / 350 * 30)
    assert result["best_possible_dso"] == pytest.approx(200 / 350 * 30)
    assert result["pct_past_due"] == pytest.approx(30 / 230 * 100)
    # AR_beg 0; one 30-day period is N = 30 / 30.4375 months.
    n = 30 / (365.25 / 12)
    assert result["cei"] == pytest.approx((350 / n - 230) / (350 / n - 200) * 100)


def test_every_kpi_of_a_run_lies_in_its_possible_range():
    """possible_range (which bounds are refused against and intervals cut to) holds for real runs, levers on."""
    from pathlib import Path

    from arsim.experiment.replications import kpis_of_replication
    from arsim.measure.simulated import possible_range
    from arsim.scenario.files import load_scenario

    smb = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "smb.yaml")
    levers = smb.with_overrides({"policy.discount.percent": 2, "policy.penalty.interest_percent_per_month": 1.5, "policy.penalty.fee": 40,
                                 "policy.payment_plan.enabled": True, "run.horizon_days": 120})
    cold = smb.with_overrides({"run.warmup_days": 0, "run.horizon_days": 92})  # a growing book: CEI far above 100
    held = smb.with_overrides({"policy.credit.limit_months_of_sales": 0.2, "policy.credit.hold_days_past_due": 1, "run.horizon_days": 120})
    for scenario in (smb, levers, cold, held):
        kpis = kpis_of_replication((scenario, 0))
        outside = {k: v for k, v in kpis.items() if math.isfinite(v) and not possible_range(k)[0] <= v <= possible_range(k)[1]}
        assert outside == {}
