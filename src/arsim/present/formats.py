"""How numbers read in charts, report pages and workbooks: each KPI's unit, and money in the scenario's currency.

One table of units serves all three outputs, so a DSO reads "41.2 days" on the page, has one decimal in
Excel and a "days" axis in a chart; money follows ``money.currency`` of the scenario that was run.
"""

from __future__ import annotations

import math
from typing import Any

CURRENCY_SYMBOLS: dict[str, str] = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$"}
"""Symbols of common currencies; other ISO codes are written as the code itself (``CHF 1,200``)."""

DAYS = {"dso", "dso_countback", "best_possible_dso", "add", "avg_collection_period", "avg_days_late_paid", "dispute_cycle_days",
        "query_wait_days"}
PERCENT = {"cei", "pct_past_due"}  # already in percent (0..100)
SHARES = {"bad_debt_ratio", "share_paid_late", "query_sla_attainment", "collector_utilization", "promises_kept_share",
          "discount_uptake", "contacts_delivered_share", "offered_load", "within_capacity", "goal_shortfall", "probability"}
MONEY_WORDS = ("amount", "cost", "income", "margin", "sales", "collected", "ar_end", "average_ar", "aging_")

KPI_LABELS: dict[str, str] = {
    "goal_shortfall": "total goal shortfall", "probability": "probability met",
    "dso": "DSO", "dso_countback": "DSO (count-back)", "best_possible_dso": "best possible DSO", "add": "ADD (average days delinquent)",
    "cei": "CEI (%)", "pct_past_due": "past due (% of AR)", "past_due_amount": "past-due receivables", "ar_turnover": "AR turnover",
    "bad_debt_amount": "bad debt", "net_cost": "net cost of the receivables", "query_wait_days": "query wait",
    "query_sla_attainment": "queries answered within the SLA", "collector_utilization": "collector utilisation",
    "backlog_tasks_end": "backlog at the end (tasks)", "discount_cost": "discounts granted", "financing_cost": "financing cost",
    "collector_cost": "collector cost", "contact_cost": "contact cost", "lost_margin": "margin lost on refused orders",
    "penalty_income": "late-fee income", "contacts_email": "emails sent", "contacts_call": "calls made",
}
"""Plain-language names of the KPIs a finance reader meets first; others keep their key."""


def unit_of(kpi: str) -> str:
    """The unit of a KPI: "days", "percent" (0..100), "share" (0..1), "money" or "count"."""
    if kpi in DAYS or kpi.endswith("_days"):
        return "days"
    if kpi in PERCENT:
        return "percent"
    if kpi in SHARES or kpi.endswith("_share"):
        return "share"
    if any(word in kpi for word in MONEY_WORDS) and not kpi.startswith(("contacts_", "queries_", "disputes_")):
        return "money"
    return "count"


def label_of(kpi: str) -> str:
    """The KPI's plain-language name (its key when it has none)."""
    return KPI_LABELS.get(kpi, kpi.replace("_", " "))


def currency_prefix(currency: str) -> str:
    """What goes before an amount: the symbol of a common currency, else the ISO code and a space."""
    return CURRENCY_SYMBOLS.get(currency, f"{currency} ")


def currency_of(manifest: dict[str, Any] | None, default: str = "EUR") -> str:
    """The currency of the scenario a results folder ran (``money.currency``), from its manifest."""
    try:
        return str(manifest["scenario"]["money"]["currency"])  # type: ignore[index]
    except (KeyError, TypeError):
        return default


def format_value(value: Any, kpi: str, *, currency: str) -> str:
    """One number for a page, in its KPI's unit: ``€1,234,567``, ``41.2``, ``87.5%``, ``1,234``; "–" for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    unit = unit_of(kpi)
    value = float(value)
    if unit == "money":
        sign = "-" if value < 0 else ""
        return f"{sign}{currency_prefix(currency)}{abs(value):,.0f}"
    if unit == "days":
        return f"{value:,.1f}"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "share":
        return f"{100 * value:.1f}%"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def format_difference(value: Any, kpi: str, *, currency: str) -> str:
    """A difference with its sign (``+1.2``, ``-€30,000``); shares as percentage points."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = format_value(abs(float(value)), kpi, currency=currency)
    if unit_of(kpi) == "share":
        text = f"{100 * abs(float(value)):.1f} pp"
    if not any(ch in "123456789" for ch in text):  # rounds to zero: no sign that suggests a direction
        return "±" + text
    return ("+" if value > 0 else "-") + text


def excel_format(kpi: str, *, currency: str) -> str:
    """The Excel number format a finance user expects for a KPI: currency with thousands separators, negatives in red
    and in parentheses; days with one decimal; shares as percentages."""
    unit = unit_of(kpi)
    if unit == "money":
        symbol = CURRENCY_SYMBOLS.get(currency)
        amount = f'"{symbol}"#,##0' if symbol else f'#,##0 "{currency}"'
        return f"{amount};[Red]({amount})"
    if unit == "days":
        return "#,##0.0"
    if unit == "percent":
        return '0.0"%"'
    if unit == "share":
        return "0.0%"
    return "#,##0.##"


def d3_format(kpi: str, *, currency: str) -> str:
    """The d3 format string a chart's axis and tooltip use for a KPI (money without decimals, shares as %)."""
    unit = unit_of(kpi)
    return {"money": ",.0f", "days": ",.1f", "percent": ".1f", "share": ".1%"}.get(unit, ",.4~g")


def axis_title(kpi: str, *, currency: str) -> str:
    """A chart axis title with the unit: ``DSO (days)``, ``net cost of the receivables (EUR)``."""
    unit = unit_of(kpi)
    suffix = {"money": f" ({currency})", "days": " (days)"}.get(unit, "")
    return label_of(kpi) + suffix
