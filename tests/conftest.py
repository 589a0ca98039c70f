"""Shared builders for small scenarios whose outcomes can be worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from arsim.scenario.schema import Scenario, validate_scenario


def deep_update(base: dict, changes: dict) -> dict:
    """A copy of ``base`` with nested ``changes`` applied."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = value
    return out


QUIET_CHANNEL = {"reach_probability": 1.0, "pay_probability": 0.0, "query_probability": 0.0, "promise_probability": 0.0, "dispute_probability": 0.0}


def one_invoice_world(**changes: Any) -> Scenario:
    """One customer, one invoice of 1,000 on day 0 (a Monday), net 30, paid exactly 10 days late.

    Everything random is switched off or made certain, so every event can be computed by hand.
    """
    data = {
        "name": "one-invoice",
        "calendar": {"start_date": "2025-01-06"},
        "portfolio": {"segments": [{
            "name": "solo", "customers": 1, "invoices_per_month": 0.001, "order_pattern": "regular",
            "amount": {"dist": "lognormal", "median": 1000, "sigma": 0}, "customer_amount_sigma": 0,
            "terms_days": 30, "default_probability_per_year": 0, "e_invoice_share": 1.0,
            "behaviour": {
                "late_share_normal": 1.0, "strained_share": 0.0, "customer_lateness_sigma": 0,
                "customer_lateness_days_effect": 0, "days_late_normal": {"dist": "lognormal", "median": 10, "sigma": 0},
                "weekly_run_share": 0, "discount_sensitive_share": 0, "penalty_backfire_share": 0, "deduction_probability": 0,
            },
            "contact_response": {
                "channels": {ch: QUIET_CHANNEL for ch in ("email", "call", "letter", "agency")},
                "reply_delay_days": {"dist": "fixed", "value": 0.25},
                "resume_days": {"dist": "fixed", "value": 2},
            },
        }]},
        "invoicing": {"paper_error_rate": 0, "electronic_error_rate": 0},
        "team": {"collectors": 1, "hours_per_day": 7, "shift_start_hour": 9,
                 "minutes": {"query": {"dist": "fixed", "value": 30}, "call": {"dist": "fixed", "value": 6}}},
        "policy": {"dunning": {"steps": [{"day": 1, "channel": "email"}], "min_days_between_contacts": 0},
                   "credit": {"limit_months_of_sales": None, "hold_days_past_due": None}},
        "run": {"horizon_days": 100, "warmup_days": 0, "seed": 7, "replications": 1},
    }
    return validate_scenario(deep_update(data, changes), source="test")


def small_world(**changes: Any) -> Scenario:
    """A few hundred customers over a year: big enough for every mechanism, small enough to run in a second."""
    data = {
        "name": "small",
        "portfolio": {"segments": [
            {"name": "steady", "customers": 150, "invoices_per_month": 1.2},
            {"name": "shaky", "customers": 80, "invoices_per_month": 1.0, "default_probability_per_year": 0.05,
             "behaviour": {"late_share_normal": 0.5, "strained_share": 0.3}},
        ]},
        "team": {"collectors": 1},
        "run": {"horizon_days": 240, "warmup_days": 60, "seed": 11, "replications": 2},
    }
    return validate_scenario(deep_update(data, changes), source="test")


@pytest.fixture
def tiny() -> Scenario:
    return small_world()
