"""KPI objectives and KPI bounds (constraints and goals), absolute or relative to the baseline policy.

A bound is written ``KPI<=VALUE`` or ``KPI>=VALUE``, and how VALUE is read depends on how it is spelled:

- unsigned, ``dso<=35`` or ``collector_utilization<=0.85``: an absolute level of the KPI;
- signed, ``dso<=-10`` or ``contacts_total>=+500``: a change from the baseline policy, in the KPI's unit;
- with a percent sign, ``past_due_amount<=-25%`` or ``contacts_total>=+100%``: a change from the baseline
  policy, as a percentage of the baseline's value.

The baseline is the scenario's own policy on the same replications (common random numbers), so a relative
bound is checked against the baseline of the same replications: on a mean it compares with the baseline's
mean, and replication by replication with that replication's baseline value.

Besides every KPI of a run, `DERIVED_KPIS` adds sums such as ``contacts_total``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from arsim.errors import InputError
from arsim.measure.simulated import KPI_KEYS, possible_range

DERIVED_KPIS: dict[str, tuple[str, ...]] = {
    "contacts_total": ("contacts_email", "contacts_call", "contacts_letter", "contacts_agency"),
}
"""KPIs that are sums of run KPIs, available to objectives, constraints and goals."""

MAXIMISED_KPIS: frozenset[str] = frozenset({
    "cei", "query_sla_attainment", "promises_kept_share", "collected", "sales", "penalty_income", "ar_turnover", "discount_uptake",
})
"""KPIs where more is better: an objective on one of them is maximised unless written ``KPI:min``."""

Direction = Literal["minimize", "maximize"]


def known_kpis() -> tuple[str, ...]:
    """Every KPI an objective or bound may name."""
    return (*KPI_KEYS, *DERIVED_KPIS)


def with_derived(kpis: Mapping[str, float]) -> dict[str, float]:
    """A replication's KPIs with the derived ones added."""
    out = dict(kpis)
    for name, parts in DERIVED_KPIS.items():
        out[name] = float(sum(kpis.get(part, 0.0) for part in parts))
    return out


def check_kpi(name: str, *, argument: str) -> str:
    """The KPI name, or an InputError naming the argument."""
    if name not in known_kpis():
        raise InputError(f"unknown KPI {name!r}; see the KPI table in README.md (also {', '.join(DERIVED_KPIS)})", argument=argument)
    return name


@dataclass(frozen=True)
class Objective:
    """A KPI to minimise or maximise (its mean over the trial's replications)."""

    kpi: str
    direction: Direction

    @property
    def text(self) -> str:
        """The objective as written on the command line."""
        return f"{self.kpi}:{'max' if self.direction == 'maximize' else 'min'}"

    def better(self, a: float, b: float) -> bool:
        """True when value a is strictly better than b."""
        return a > b if self.direction == "maximize" else a < b


def parse_objective(text: str | Objective) -> Objective:
    """``dso`` (its natural direction), ``cei:max`` or ``net_cost:min``."""
    if isinstance(text, Objective):
        return text
    name, _, way = str(text).strip().partition(":")
    check_kpi(name.strip(), argument="objectives")
    way = way.strip().lower()
    if way not in ("", "min", "max"):
        raise InputError(f"{text!r}: write KPI, KPI:min or KPI:max", argument="objectives")
    direction: Direction = "maximize" if way == "max" or (not way and name.strip() in MAXIMISED_KPIS) else "minimize"
    return Objective(name.strip(), direction)


_BOUND = re.compile(r"^\s*(?P<kpi>.+?)\s*(?P<op><=|>=)\s*(?P<sign>[+-]?)\s*(?P<number>(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)\s*(?P<percent>%?)\s*$")


@dataclass(frozen=True)
class Bound:
    """``kpi <= value`` or ``kpi >= value``, the value absolute, a change, or a percentage change (see the module)."""

    kpi: str
    op: Literal["<=", ">="]
    value: float
    mode: Literal["absolute", "change", "percent"]
    text: str

    @property
    def relative(self) -> bool:
        """True when the bound depends on the baseline."""
        return self.mode != "absolute"

    def threshold(self, baseline: float) -> float:
        """The absolute level the KPI must stay below (<=) or reach (>=), given the baseline's value."""
        if self.mode == "absolute":
            return self.value
        if self.mode == "change":
            return baseline + self.value
        return baseline + abs(baseline) * self.value / 100.0

    def violation(self, value: float, baseline: float) -> float:
        """How far the value is on the wrong side of the threshold (<= 0: met); NaN when the KPI is undefined."""
        if not math.isfinite(value) or (self.relative and not math.isfinite(baseline)):
            return math.nan
        limit = self.threshold(baseline)
        return value - limit if self.op == "<=" else limit - value

    def met(self, value: float, baseline: float) -> bool:
        """True when the value meets the bound (an undefined KPI does not)."""
        gap = self.violation(value, baseline)
        return math.isfinite(gap) and gap <= 1e-12 * max(1.0, abs(self.threshold(baseline)))

    def scale(self, baseline: float) -> float:
        """The size against which a shortfall is measured: the baseline's value (or the threshold, or 1)."""
        for size in (abs(baseline) if math.isfinite(baseline) else 0.0, abs(self.threshold(baseline)) if math.isfinite(baseline) else abs(self.value)):
            if size > 0:
                return size
        return 1.0

    def shortfall(self, value: float, baseline: float) -> float:
        """The violation as a share of `scale` (0 when met, 1 when undefined), so bounds on different KPIs add up."""
        gap = self.violation(value, baseline)
        if not math.isfinite(gap):
            return 1.0
        return max(0.0, gap) / self.scale(baseline)

    def describe(self, baseline: float) -> str:
        """The bound in plain words with its threshold, e.g. ``dso <= 30.5 (baseline 40.5 - 10)``."""
        limit = self.threshold(baseline)
        if self.mode == "absolute":
            return f"{self.kpi} {self.op} {_short(limit)}"
        change = f"{self.value:+g}%" if self.mode == "percent" else f"{self.value:+g}"
        return f"{self.kpi} {self.op} {_short(limit)} (baseline {_short(baseline)} {change})"


def _short(value: float) -> str:
    """A number for a sentence: whole money amounts with separators, four significant digits otherwise."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def parse_bound(text: str | Bound, *, argument: str = "constraints") -> Bound:
    """A bound from its text (see the module docstring); InputError naming the argument if malformed."""
    if isinstance(text, Bound):
        return text
    match = _BOUND.match(str(text))
    if match is None:
        raise InputError(f"{text!r}: expected KPI<=VALUE or KPI>=VALUE, such as dso<=35, dso<=-10 or past_due_amount<=-25%", argument=argument)
    kpi = check_kpi(match["kpi"], argument=argument)
    number = float(match["number"]) * (-1.0 if match["sign"] == "-" else 1.0)
    if match["percent"]:
        mode = "percent"
    elif match["sign"]:
        mode = "change"
    else:
        mode = "absolute"
    _check_possible(kpi, match["op"], number, mode, text=str(text).strip(), argument=argument)
    return Bound(kpi, match["op"], number, mode, str(text).strip())  # type: ignore[arg-type]


def _check_possible(kpi: str, op: str, number: float, mode: str, *, text: str, argument: str) -> None:
    """Refuse a bound no policy can meet whatever the baseline (`possible_range`): a share above 1, a fall of
    more than 100% in a KPI that cannot be negative. Such a bound is a typo (0.95 meant, or 95 for a percent
    KPI); searching for hours to report it missed would waste the user's time."""
    low, high = possible_range(kpi)
    what = f"{kpi} is between {low:g} and {high:g}" if math.isfinite(low) and math.isfinite(high) else (
        f"{kpi} is at most {high:g}" if math.isfinite(high) else f"{kpi} is at least {low:g}")
    if mode == "absolute" and ((op == ">=" and number > high) or (op == "<=" and number < low)):
        raise InputError(f"{text!r} can never be met: {what}", argument=argument)
    if mode == "percent" and op == "<=" and number < -100.0 and low >= 0.0:
        raise InputError(f"{text!r} can never be met: {kpi} cannot be negative, so it cannot fall by more than 100%", argument=argument)


def parse_bounds(texts: Iterable[str | Bound], *, argument: str) -> tuple[Bound, ...]:
    """Several bounds; the same text twice is refused (a typo more often than intent)."""
    bounds = tuple(parse_bound(t, argument=argument) for t in texts)
    texts_seen = [b.text for b in bounds]
    twice = sorted({t for t in texts_seen if texts_seen.count(t) > 1})
    if twice:
        raise InputError(f"{twice[0]!r} is given twice", argument=argument)
    return bounds


def mean_of(values: Sequence[float]) -> float:
    """The mean of the finite values (NaN when there is none): a KPI that is undefined in a replication
    (no query raised, so no query wait) is left out, as `paired_difference` leaves it out of a pair."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan
