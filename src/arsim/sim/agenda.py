"""The day agenda: one SimPy event a day runs that day's invoice wake-ups and whole-day calls.

Most of the model's events fall on whole days (payment runs, dunning steps, write-off days). Keeping them
in per-day lists that one daily SimPy event walks costs a fraction of a SimPy event each; anything at a time
within a day (collectors' work, replies), or on a day whose list has already run, becomes a SimPy timeout.
An invoice is woken only if its ``wake_at`` still says that day: an entry left behind when the invoice's
next wake-up moved is skipped (cancel by checking state, never by removing entries).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any, cast

import simpy
from simpy.events import Timeout


class DayAgenda:
    """Per-day lists of invoice wake-ups and calls, run by one SimPy timeout a day, in a fixed order.

    ``wake(invoice, day)`` handles an invoice whose wake-up is due; ``steps(day)`` then sends the dunning
    steps the wake-ups found due, in an order of its own, and returns how many it looked at; ``orders(day)``
    handles the day's orders and returns how many it processed. Counters: ``events`` (model events processed one by one: calls,
    wake-ups, orders, timed callbacks) and ``simpy_events`` (SimPy timeouts, the daily ticks included).
    """

    def __init__(self, env: simpy.Environment, *, total_days: int, wake: Callable[[Any, int], None], steps: Callable[[int], int],
                 orders: Callable[[int], int]) -> None:
        self.env = env
        self.total_days = total_days
        self.wake_invoice = wake
        self.send_steps = steps
        self.run_orders = orders
        # A day's lists are dropped once the day has run (replaced by empty ones); nothing is scheduled on or after total_days.
        self.wakes: list[list[Any]] = [[] for _ in range(total_days)]
        self.calls: list[list[tuple[Callable[[Any], None], Any]]] = [[] for _ in range(total_days)]
        self.day_closed = -1  # the last day whose lists have run
        self.events = 0
        self.simpy_events = 0

    def start(self) -> None:
        """Schedule day 0's tick; each day's tick schedules the next."""
        Timeout(self.env, 0, 0).callbacks.append(self._tick)

    def at(self, when: float, callback: Callable[[Any], None], value: Any) -> None:
        """Call ``callback(value)`` at simulation time ``when`` (never in the past; never at or after the end).

        Most events fall on whole days (payments, dunning steps, write-offs). Those go into the day agenda,
        which one SimPy event a day runs, at a fraction of a SimPy event's cost each. Events at other times
        (collectors' work, replies) are SimPy timeouts.
        """
        if when >= self.total_days:
            return  # the run ends first
        now = self.env.now
        if when < now:
            when = now
        day = int(when)
        if day == when and day > self.day_closed:
            self.calls[day].append((callback, value))
        else:
            Timeout(self.env, when - now, (callback, value)).callbacks.append(self._fire)

    def _fire(self, event: simpy.Event) -> None:
        self.events += 1
        self.simpy_events += 1
        callback, value = cast(tuple[Callable[[Any], None], Any], event.value)
        callback(value)

    def _tick(self, event: simpy.Event) -> None:
        """Run one day's agenda: calls and invoice wake-ups, the dunning steps they found due, then the day's
        orders, then whatever those added.

        Handlers may add to today's lists while they run (a same-day follow-up runs today), so each list is
        walked by index until nothing is left. Payments come before orders, as cash is applied before the
        day's orders are checked against credit.
        """
        day = cast(int, event.value)
        calls, wakes = self.calls[day], self.wakes[day]
        called = woken = 0
        orders_done = False
        orders = 0
        wake = self.wake_invoice
        while True:
            while called < len(calls):
                callback, value = calls[called]
                called += 1
                callback(value)
            if woken < len(wakes):
                for inv in islice(wakes, woken, None):  # a list iterator also yields what is appended meanwhile
                    if inv.wake_at == day and not inv.closed:  # otherwise a stale wake-up: the invoice moved on
                        wake(inv, day)
                woken = len(wakes)
                continue
            if called < len(calls):
                continue
            if self.send_steps(day):
                continue  # sending may have added calls or wake-ups for today
            if orders_done:
                break
            orders = self.run_orders(day)
            orders_done = True
        self.events += called + woken + orders
        self.calls[day] = []
        self.wakes[day] = []
        self.day_closed = day
        self.simpy_events += 1
        if day + 1 < self.total_days:
            Timeout(self.env, 1, day + 1).callbacks.append(self._tick)
