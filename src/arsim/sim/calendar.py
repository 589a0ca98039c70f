"""Time in the model: days as floats from the start date, the working week, and the collectors' shifts."""

from __future__ import annotations

import math
from collections.abc import Iterable

from arsim.scenario.schema import Team

INF = math.inf


DAYS_PER_MONTH = 365.25 / 12
"""Mean calendar days in a month (a Julian year over twelve), for monthly rates."""
MINUTES_PER_DAY = 1440.0


TIME_EPS = 1e-9



def days_forward(weekdays: Iterable[int]) -> list[int]:
    """For each calendar weekday (Monday 0), the days until the next of ``weekdays`` (0 when it is one).

    Simulation day ``d`` falls on calendar weekday ``(start_weekday + d) % 7``; a table indexed that way
    moves any day to its next business day (or payment-run day) in one lookup.
    """
    chosen = set(weekdays)
    return [next(k for k in range(7) if (w + k) % 7 in chosen) for w in range(7)]


def days_back(weekdays: Iterable[int]) -> list[int]:
    """For each calendar weekday, the days since the last of ``weekdays`` (0 when it is one)."""
    chosen = set(weekdays)
    return [next(k for k in range(7) if (w - k) % 7 in chosen) for w in range(7)]


def count_weekdays(weekdays: Iterable[int], *, start_weekday: int, start: int, end: int) -> int:
    """How many simulation days of [start, end) fall on one of ``weekdays`` (day 0 is ``start_weekday``)."""
    chosen = set(weekdays)
    return sum(1 for day in range(start, end) if (start_weekday + day) % 7 in chosen)


class ShiftCalendar:
    """When collectors work: a shift of fixed hours on each working weekday, in simulation days."""

    def __init__(self, team: Team, *, start_weekday: int) -> None:
        working = set(team.working_weekdays)
        self.works = [(start_weekday + d) % 7 in working for d in range(7)]  # indexed by day % 7
        self.continuous = team.hours_per_day >= 24 and len(working) == 7
        self.start = team.shift_start_hour / 24.0 if team.hours_per_day < 24 else 0.0
        self.length = team.hours_per_day / 24.0

    def shift_end(self, t: float) -> float | None:
        """End of the shift under way at time t, or None when t is off shift."""
        if self.continuous:
            return INF
        day = math.floor(t)
        begin = day + self.start
        if self.works[day % 7] and begin <= t < begin + self.length - TIME_EPS:
            return begin + self.length
        return None

    def next_start(self, t: float) -> float:
        """The first shift start at or after time t."""
        day = math.floor(t)
        for ahead in range(8):
            begin = day + ahead + self.start
            if self.works[(day + ahead) % 7] and begin >= t - TIME_EPS:
                return max(begin, t)
        raise ValueError("team has no working day")  # ruled out by scenario validation

    def minutes_between(self, start: float, end: float) -> float:
        """Collector-minutes one collector has on shift in [start, end)."""
        if self.continuous:
            return (end - start) * MINUTES_PER_DAY
        total = 0.0
        for day in range(math.floor(start), math.ceil(end)):
            if self.works[day % 7]:
                begin, finish = day + self.start, day + self.start + self.length
                total += max(0.0, min(finish, end) - max(begin, start))
        return total * MINUTES_PER_DAY
