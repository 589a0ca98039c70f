"""Tests of arsim.calibrate: the likelihood recovers known parameters, a fit reproduces the ledger it was
fitted to, and the CLI writes a scenario that `arsim run` accepts as it is.

The ledgers here are made by the simulator itself or by a few lines of numpy, so the true parameters are
known; nothing reads data from outside the repository.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import arsim
from arsim.cli.main import main
from arsim.ledger.calibrate.fit import _fit_lateness, _lognormal_mixture, fit_ledger
from arsim.ledger.calibrate.moments import simulated_invoices
from arsim.ledger.read import read_ledger
from arsim.scenario.files import load_scenario
from arsim.scenario.schema import validate_scenario


def two_state_ledger(*, customers: int, invoices: int, p_normal: float, p_strained: float, share: float,
                     spell_days: float, sigma: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Late flags from the model the likelihood assumes: one invoice a week per customer."""
    rng = np.random.default_rng(seed)
    rate_back = 1.0 / spell_days
    rate_in = share * rate_back / (1 - share)
    owner, days_late, due = [], [], []
    for customer in range(customers):
        u = rng.standard_normal()
        strained = rng.random() < share
        for k in range(invoices):
            if k:
                stay = share + (1 - share) * math.exp(-(rate_in + rate_back) * 7) if strained else share * (1 - math.exp(-(rate_in + rate_back) * 7))
                strained = rng.random() < stay
            base = p_strained if strained else p_normal
            p = 1 / (1 + math.exp(-(math.log(base / (1 - base)) + sigma * u)))
            owner.append(customer)
            days_late.append(5 if rng.random() < p else 0)
            due.append(np.datetime64("2024-01-01") + np.timedelta64(7 * k, "D"))
    return np.array(owner), np.array(days_late), np.array(due)


def test_the_lateness_likelihood_recovers_known_parameters():
    owner, days_late, due = two_state_ledger(customers=600, invoices=30, p_normal=0.15, p_strained=0.85, share=0.25,
                                             spell_days=60, sigma=0.8, seed=1)
    fit = _fit_lateness(owner, days_late, due)
    assert fit["late_share_normal"] == pytest.approx(0.15, abs=0.05)
    assert fit["late_share_strained"] == pytest.approx(0.85, abs=0.07)
    assert fit["strained_share"] == pytest.approx(0.25, abs=0.07)
    assert fit["strained_spell_days"] == pytest.approx(60, rel=0.35)
    assert fit["customer_lateness_sigma"] == pytest.approx(0.8, abs=0.3)


def test_the_lognormal_mixture_separates_two_clear_components():
    rng = np.random.default_rng(2)
    days = np.concatenate([np.exp(np.log(3) + 0.3 * rng.standard_normal(3000)), np.exp(np.log(40) + 0.4 * rng.standard_normal(1000))])
    low, high = _lognormal_mixture(days)
    assert low["median"] == pytest.approx(3, rel=0.1) and high["median"] == pytest.approx(40, rel=0.1)
    assert low["sigma"] == pytest.approx(0.3, abs=0.05) and high["sigma"] == pytest.approx(0.4, abs=0.05)


def small_world() -> arsim.Scenario:
    """A known world, dunning off, whose simulated invoices serve as the company's ledger.

    All customers are billed electronically: a paper delay drawn uniformly (the default 2-5 days) is fitted
    as one fixed delay, which shifts the fitted tail (see docs/ledgers.md, limitations).
    """
    return validate_scenario({
        "name": "truth",
        "calendar": {"start_date": "2024-01-01"},
        "portfolio": {"segments": [{
            "name": "all", "customers": 150, "invoices_per_month": 2.0, "terms_days": 30,
            "amount": {"dist": "lognormal", "median": 2000, "sigma": 0.8}, "customer_amount_sigma": 0.4,
            "default_probability_per_year": 0.0, "e_invoice_share": 1.0,
            "behaviour": {"late_share_normal": 0.2, "late_share_strained": 0.8, "strained_share": 0.2, "weekly_run_share": 0.5,
                          "deduction_probability": 0.0},
        }]},
        "invoicing": {"paper_error_rate": 0.0, "electronic_error_rate": 0.0},
        "policy": {"dunning": {"enabled": False}, "credit": {"limit_months_of_sales": None, "hold_days_past_due": None}},
        "run": {"warmup_days": 0, "horizon_days": 400, "seed": 3},
    })


@pytest.fixture(scope="module")
def company_ledger() -> pd.DataFrame:
    ledger = simulated_invoices(small_world())
    return ledger[ledger["invoice_date"] < pd.Timestamp("2024-12-01")].reset_index(drop=True)


@pytest.fixture(scope="module")
def calibration(company_ledger):
    return fit_ledger(company_ledger, smm_iterations=8, smm_invoices=15_000)


@pytest.mark.slow
def test_a_fit_recovers_what_the_ledger_shows_directly(calibration, company_ledger):
    scenario = calibration.scenario
    segment = scenario.portfolio.segments[0]
    assert scenario.calendar.business_weekdays == (0, 1, 2, 3, 4)
    assert segment.terms_days == 30
    assert segment.amount.median == pytest.approx(2000, rel=0.1)
    assert segment.amount.sigma == pytest.approx(0.8, abs=0.08)
    assert segment.invoices_per_month == pytest.approx(2.0, rel=0.15)
    assert scenario.policy.dunning.enabled is False


def test_the_fitted_scenario_reproduces_the_ledger(calibration):
    observed, simulated = calibration.observed, calibration.simulated
    assert simulated["share_late"] == pytest.approx(observed["share_late"], abs=0.04)
    assert simulated["share_on_due"] == pytest.approx(observed["share_on_due"], abs=0.04)
    assert simulated["share_cleared_with_other_same_day"] == pytest.approx(observed["share_cleared_with_other_same_day"], abs=0.06)
    assert simulated["p_late_given_prev_late"] == pytest.approx(observed["p_late_given_prev_late"], abs=0.08)
    assert simulated["days_late_quantiles"]["p90"] == pytest.approx(observed["days_late_quantiles"]["p90"], abs=4)
    assert calibration.simulated_dso == pytest.approx(calibration.observed_dso, rel=0.15)


@pytest.mark.slow
def test_same_seed_same_fit(company_ledger):
    first = fit_ledger(company_ledger, smm_iterations=1, smm_invoices=5_000)
    again = fit_ledger(company_ledger, smm_iterations=1, smm_invoices=5_000)
    assert again.scenario == first.scenario
    assert fit_ledger(company_ledger, smm_iterations=1, smm_invoices=5_000, seed=99).scenario != first.scenario


@pytest.mark.slow
def test_segments_by_behaviour(company_ledger):
    fitted = arsim.calibrate(company_ledger, segments=2, smm_iterations=2)
    assert [s.name for s in fitted.portfolio.segments] == ["behaviour_1", "behaviour_2"]
    first, second = (s.behaviour for s in fitted.portfolio.segments)
    assert first.late_share_normal < second.late_share_normal or first.late_share_strained < second.late_share_strained


@pytest.mark.slow
def test_cli_calibrate_then_run(tmp_path, company_ledger, capsys):
    path = tmp_path / "export.csv"
    frame = company_ledger.head(1500).copy()
    for column in ("invoice_date", "due_date", "paid_date", "credit_note_date", "written_off_date"):  # every date column
        frame[column] = frame[column].dt.strftime("%d.%m.%Y")
    frame.rename(columns={"customer_id": "Kunde", "amount": "Betrag"}).to_csv(path, index=False)
    out = tmp_path / "fitted" / "company.yaml"
    code = main(["calibrate", str(path), "--map", "Kunde=customer_id", "--map", "Betrag=amount", "--date-format", "%d.%m.%Y",
                 "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "share_late" in printed and "calibration.md" in printed
    report = (out.parent / "calibration.md").read_text()
    assert "Observed vs simulated" in report and "dunning is off" in report
    scenario = load_scenario(out)
    assert scenario.name == "company"
    assert main(["run", str(out), "--replications", "1", "--out", str(tmp_path / "run"), "--set", "run.horizon_days=60"]) == 0
    assert (tmp_path / "run" / "invoices.csv.gz").exists()
    # The simulator's ledger reads back without a mapping.
    assert len(read_ledger(tmp_path / "run" / "invoices.csv.gz")) > 0


def test_cli_calibrate_reports_a_missing_column(tmp_path, capsys):
    path = tmp_path / "export.csv"
    path.write_text("customer_id,amount\nA,10\n", encoding="utf-8")
    assert main(["calibrate", str(path), "-o", str(tmp_path / "s.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "export.csv" in err and "due_date" in err


def test_statement_terms_put_due_dates_at_month_end_and_pay_a_statement_at_once():
    world = small_world().with_overrides({"portfolio.segments.all.statement_terms_share": 1.0, "run.horizon_days": 120})
    ledger = simulated_invoices(world)
    assert (ledger["due_date"] + pd.Timedelta(days=1)).dt.day.eq(1).all()  # every due date is a month's last day
    paid = ledger.dropna(subset=["paid_date"])
    per_statement = paid.groupby(["customer_id", "due_date"])["paid_date"].nunique()
    assert (per_statement == 1).all() and (paid.groupby(["customer_id", "due_date"]).size() > 1).any()
    # Without statement terms due dates are invoice date + 30 as before.
    plain = simulated_invoices(small_world().with_overrides({"run.horizon_days": 120}))
    assert ((plain["due_date"] - plain["invoice_date"]).dt.days == 30).all()


def test_parameters_at_a_bound_are_flagged_with_what_they_mean():
    from arsim.ledger.calibrate.fit import calibration_bounds

    world = small_world()
    assert calibration_bounds(world) == []
    data = world.model_dump(mode="json")
    data["portfolio"]["segments"][0]["behaviour"]["customer_lateness_sigma"] = 8.0
    data["portfolio"]["segments"][0]["behaviour"]["customer_lateness_days_effect"] = 0.05
    flagged = calibration_bounds(validate_scenario(data, source="test"))
    assert len(flagged) == 2
    assert flagged[0].startswith("segment all: customer_lateness_sigma = 8 is at its upper bound (0.05..8): ")
    assert "customer_lateness_days_effect = 0.05 is at its lower bound" in flagged[1]


def test_a_fits_numerical_warnings_become_one_note_and_other_warnings_pass(monkeypatch):
    """Overflow and optimiser warnings on small segments are summarised; a library's deprecation is not hidden."""
    import warnings

    from arsim.ledger.calibrate import fit

    class Done:
        def __init__(self) -> None:
            self.notes: list[str] = []

    def noisy(ledger, **options):
        warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=2)
        warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=2)
        warnings.warn("this option goes away", DeprecationWarning, stacklevel=2)
        return Done()

    monkeypatch.setattr(fit, "_fit", noisy)
    monkeypatch.setattr(fit, "canonical_ledger", lambda ledger: ledger)
    with pytest.warns(DeprecationWarning, match="this option goes away"):
        done = fit_ledger(pd.DataFrame(), segments=1)
    assert done.notes == ["2 numerical warning(s) during the fit were not shown (first: RuntimeWarning: overflow encountered in exp)"]
