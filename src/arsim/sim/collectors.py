"""The collectors: a team working a shared prioritised worklist within their shifts.

A task not finished at the end of a shift is resumed at the start of the next (preemptive-resume), so no
collector works more minutes than the calendar gives, and unfinished work rolls over as backlog.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from arsim.sim import records as rec
from arsim.sim.calendar import MINUTES_PER_DAY, TIME_EPS, ShiftCalendar


class Task:
    """A piece of collector work in the worklist: what, for which invoice, how many minutes are left, what to do when done."""

    __slots__ = ("task_id", "kind", "rank", "invoice", "created", "started", "remaining_minutes", "on_done", "payload")
    task_id: int
    kind: str
    rank: int
    invoice: Any
    created: float
    started: float | None
    remaining_minutes: float
    on_done: Callable[[Task, float], None]
    payload: Any


class CollectorTeam:
    """Collectors working a shared prioritised worklist within their shifts (preemptive-resume at shift end).

    With a rule whose priorities change while tasks wait (amount still open, payment history), the task
    taken is the best by its priority at that moment: each waiting task is keyed again once a day, and the
    top task again when it is taken.
    """

    def __init__(self, model: Any, *, collectors: int, calendar: ShiftCalendar, key: Callable[[Task], tuple], changing: bool = False) -> None:
        self.model = model
        self.calendar = calendar
        self.key = key  # task -> sort key, from what is known at the moment it is called
        self.changing = changing  # keys change while tasks wait: evaluate them again when a task is taken
        self.keyed_day = -1  # with changing keys, the day all waiting tasks were last keyed again
        self.idle: list[int] = list(range(collectors - 1, -1, -1))  # a stack: collector 0 is taken first
        self.worklist: list[tuple] = []
        self.sequence = 0
        self.shift_wake_pending = False
        self.work_sink = model.recorder.sink(rec.Work)
        self.done_sink = model.recorder.sink(rec.TaskDone)

    def add(self, task: Task) -> None:
        self.sequence += 1
        heapq.heappush(self.worklist, (self.key(task), self.sequence, task))
        if self.idle:
            self._dispatch()

    def _dispatch(self) -> None:
        if self.shift_wake_pending or not self.worklist:
            return  # off shift (the next shift start will dispatch), or nothing to do
        now = self.model.env.now
        end = self.calendar.shift_end(now)
        if end is None:
            self.shift_wake_pending = True
            self.model.at(self.calendar.next_start(now), self._shift_started, None)
            return
        if self.changing:
            self._key_again(now)
        while self.idle and self.worklist:
            task = self._take() if self.changing else heapq.heappop(self.worklist)[2]
            if task.invoice.closed:
                self.done_sink.append((now, task.task_id, False))  # rec.TaskDone
                continue
            self._work(self.idle.pop(), task, now, end)

    def _key_again(self, now: float) -> None:
        """Once a day, key every waiting task again, so a task whose priority rose while it waited moves up."""
        day = int(now)
        if day > self.keyed_day:
            self.keyed_day = day
            self.worklist = [(self.key(task), sequence, task) for _, sequence, task in self.worklist]
            heapq.heapify(self.worklist)

    def _take(self) -> Task:
        """The task with the best key as of now: a task whose key got worse since it was keyed goes back in line."""
        worklist = self.worklist
        while True:
            key, sequence, task = heapq.heappop(worklist)
            current = self.key(task)
            if current <= key or not worklist or current <= worklist[0][0]:
                return task
            heapq.heappush(worklist, (current, sequence, task))

    def _shift_started(self, value: Any) -> None:
        self.shift_wake_pending = False
        self._dispatch()

    def _work(self, collector: int, task: Task, now: float, end: float) -> None:
        if task.started is None:
            task.started = now
        finish = now + task.remaining_minutes / MINUTES_PER_DAY
        if finish <= end:
            self.model.at(finish, self._finished, (collector, task, now))
        else:
            self.model.at(end, self._paused, (collector, task, now))

    def _finished(self, value: Any) -> None:
        collector, task, started = value
        now = self.model.env.now
        self.work_sink.append((collector, task.task_id, task.kind, started, now))  # rec.Work
        self.done_sink.append((now, task.task_id, True))  # rec.TaskDone
        self.idle.append(collector)
        task.on_done(task, now)
        self._dispatch()

    def _paused(self, value: Any) -> None:
        collector, task, started = value
        now = self.model.env.now
        self.work_sink.append((collector, task.task_id, task.kind, started, now))  # rec.Work
        task.remaining_minutes = max(0.0, task.remaining_minutes - (now - started) * MINUTES_PER_DAY)
        self.model.at(self.calendar.next_start(now), self._resumed, (collector, task))

    def _resumed(self, value: Any) -> None:
        collector, task = value
        now = self.model.env.now
        end = self.calendar.shift_end(now)
        if end is None:  # a zero-length gap between shifts rounds oddly: wait for the true start
            self.model.at(self.calendar.next_start(now + TIME_EPS), self._resumed, (collector, task))
            return
        self._work(collector, task, now, end)
