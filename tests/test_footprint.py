"""Memory footprint: the expected book size from the scenario, and the refusal of a book too big to hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from arsim.errors import InputError
from arsim.scenario.files import load_scenario
from arsim.scenario.schema import Scenario, validate_scenario
from arsim.sim import footprint
from arsim.sim.behaviour import draw_book
from arsim.sim.footprint import (
    BYTES_PER_COLLECTOR,
    BYTES_PER_INVOICE,
    FIXED_BYTES,
    RESPONSE_BYTES_PER_SLOT,
    available_memory_bytes,
    check_fits_in_memory,
    estimated_invoices,
    estimated_peak_bytes,
    response_slots,
    strained_switch_columns,
)
from arsim.sim.model import cadences

ROOT = Path(__file__).resolve().parents[1]
GB = 1_000_000_000


def _drawn_invoices(scenario) -> int:
    return int(draw_book(scenario, replication=0, response_slots=()).orders.customer.size)


def _big(**changes) -> Scenario:
    """50,000 customers ordering 17.5 times a month for 48 months (1461 days): exactly 42 million invoices."""
    segment = {"name": "all", "customers": 50_000, "invoices_per_month": 17.5, "default_probability_per_year": 0}
    return validate_scenario({"name": "big", "portfolio": {"segments": [segment]}, "run": {"warmup_days": 0, "horizon_days": 1461}, **changes}, source="test")


@pytest.mark.parametrize("name", ["baseline", "smb", "enterprise"])
def test_the_estimate_is_within_a_fifth_of_the_drawn_book(name):
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    drawn = _drawn_invoices(scenario)
    assert estimated_invoices(scenario) == pytest.approx(drawn, rel=0.2)


def test_customers_who_default_stop_ordering_in_the_estimate():
    # Six in ten customers default within a year: over 1000 days they order for about 60% of the time. With default
    # unrelated to strain and lateness, the hazard is constant and the same for all, and the estimate exact.
    neutral = {"strained_hazard_multiplier": 1.0, "lateness_hazard_effect": 0.0}
    risky = validate_scenario({
        "portfolio": {"segments": [{"name": "a", "customers": 3000, "default_probability_per_year": 0.6, "risk": neutral}]},
        "run": {"warmup_days": 0, "horizon_days": 1000},
    })
    assert estimated_invoices(risky) == pytest.approx(_drawn_invoices(risky), rel=0.05)
    # Hazards that differ between customers (a riskier class, lateness) leave more customers ordering for longer.
    classes = {**neutral, "classes": [{"share": 0.5, "hazard_multiplier": 0.2}, {"share": 0.5, "hazard_multiplier": 1.8}]}
    mixed = risky.with_overrides({"portfolio.segments.a.risk": classes})
    assert estimated_invoices(mixed) == pytest.approx(_drawn_invoices(mixed), rel=0.05)
    assert estimated_invoices(mixed) > estimated_invoices(risky)


def test_regular_orders_are_estimated_like_random_ones():
    regular = validate_scenario({"portfolio": {"segments": [{"name": "a", "customers": 500, "order_pattern": "regular", "invoices_per_month": 2}]}})
    assert estimated_invoices(regular) == pytest.approx(_drawn_invoices(regular), rel=0.2)


def test_the_estimate_is_customers_times_rate_times_months():
    assert estimated_invoices(_big()) == 42_000_000
    two = validate_scenario({"portfolio": {"segments": [
        {"name": "a", "customers": 100, "invoices_per_month": 2, "default_probability_per_year": 0},
        {"name": "b", "customers": 300, "invoices_per_month": 0.5, "default_probability_per_year": 0},
    ]}, "run": {"warmup_days": 461, "horizon_days": 1000}})
    assert estimated_invoices(two) == (100 * 2 + 300 * 0.5) * 48


@pytest.mark.parametrize("policy, slots", [(None, 8), ("more-calls", 11)])
def test_response_slots_are_those_the_simulator_draws(policy, slots):
    path = ROOT / "scenarios" / "policies" / f"{policy}.yaml" if policy else None
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml", policy=path)
    simulated = {planned.slot for plan in cadences(scenario) for planned in plan} | {0, 1}
    assert response_slots(scenario) == len(simulated) == slots


def test_peak_bytes_are_fixed_plus_per_invoice_per_process():
    big = _big()
    per_invoice = BYTES_PER_INVOICE + RESPONSE_BYTES_PER_SLOT * 8
    team = BYTES_PER_COLLECTOR * big.team.collectors
    assert estimated_peak_bytes(big) == FIXED_BYTES + 42_000_000 * per_invoice + team
    # Two workers each hold a replication; the pool's parent process adds its interpreter.
    assert estimated_peak_bytes(big, workers=2) == 3 * FIXED_BYTES + 2 * (42_000_000 * per_invoice + team)


def test_very_short_strained_spells_make_the_draw_the_peak():
    quick = {"strained_share": 0.5, "strained_spell_days": 2}
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml").with_overrides(
        {f"portfolio.segments.{name}.behaviour.{field}": value for name in ("prompt", "slow", "at_risk", "strategic") for field, value in quick.items()})
    assert strained_switch_columns(scenario) == 341  # 2 x 545 x 0.5 / 2 = 272.5 switches, + 4 sqrt + 2
    assert estimated_peak_bytes(scenario) == FIXED_BYTES + estimated_invoices(scenario) * (200 + 9 * 341) + BYTES_PER_COLLECTOR * 3


def test_a_book_too_big_for_memory_is_refused_in_one_line():
    with pytest.raises(InputError) as error:
        check_fits_in_memory(_big(), available_bytes=24 * GB)
    assert str(error.value) == "scenario 'big': about 42,000,000 invoices would need about 107 GB of memory; this machine has 24 GB available"
    with pytest.raises(InputError) as error:
        check_fits_in_memory(_big(), available_bytes=int(5.5 * GB), workers=2)
    assert str(error.value) == (
        "scenario 'big': about 42,000,000 invoices would need about 215 GB of memory (2 replications at once); this machine has 5.5 GB available")


def test_an_absurd_team_is_refused_like_an_absurd_book():
    """Each collector takes memory too (the stack of idle collectors): a billion of them must be refused up front."""
    smb = load_scenario(ROOT / "scenarios" / "smb.yaml")
    huge = smb.with_overrides({"team.collectors": 1_000_000_000})
    assert estimated_peak_bytes(huge) - estimated_peak_bytes(smb) == BYTES_PER_COLLECTOR * (1_000_000_000 - smb.team.collectors)
    with pytest.raises(InputError) as error:
        check_fits_in_memory(huge, available_bytes=24 * GB)
    assert "and 1,000,000,000 collectors would need about 40 GB of memory" in str(error.value)
    check_fits_in_memory(smb.with_overrides({"team.collectors": 1_000}), available_bytes=1 * GB)


def test_a_book_that_fits_passes():
    baseline = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    check_fits_in_memory(baseline, available_bytes=1 * GB)
    check_fits_in_memory(_big(), available_bytes=108 * GB)
    with pytest.raises(InputError):
        check_fits_in_memory(baseline, available_bytes=100_000_000)


def test_available_memory_comes_from_meminfo_or_sysconf(monkeypatch, tmp_path):
    assert available_memory_bytes() > 0
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\n")
    monkeypatch.setattr(footprint, "Path", lambda path: meminfo)
    assert available_memory_bytes() == 20_000_000 * 1024
    monkeypatch.setattr(footprint, "Path", lambda path: tmp_path / "missing")
    monkeypatch.setattr(footprint.os, "sysconf", {"SC_AVPHYS_PAGES": 1000, "SC_PAGE_SIZE": 4096}.__getitem__)
    assert available_memory_bytes() == 4_096_000


def test_nothing_is_checked_when_the_memory_is_unknown(monkeypatch, tmp_path):
    monkeypatch.setattr(footprint, "Path", lambda path: tmp_path / "missing")
    monkeypatch.setattr(footprint.os, "sysconf", _no_sysconf)
    assert available_memory_bytes() is None
    check_fits_in_memory(_big())


def _no_sysconf(name: str) -> int:
    raise ValueError(f"unknown configuration name {name}")


@pytest.mark.slow
def test_the_estimate_is_above_the_real_peak_of_a_large_book():
    """The refusal is only as good as the estimate: a book it lets through must fit. A fresh process simulates the
    enterprise book (as a worker would, experiment layer imported) and its peak resident memory stays below the
    estimate, whichever engine runs (the compiled one needs more)."""
    code = ("import resource, sys; import arsim.experiment.replications; "
            "from arsim.scenario.files import load_scenario; from arsim.sim.model import simulate; "
            "simulate(load_scenario(sys.argv[1])); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)")
    path = ROOT / "scenarios" / "enterprise.yaml"
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    peak = int(done.stdout.split()[-1])
    assert peak < estimated_peak_bytes(load_scenario(path)), (peak, estimated_peak_bytes(load_scenario(path)))
