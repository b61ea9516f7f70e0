"""Calendar activities: working-day instants from a reference instant given as input.

Never the wall clock: under time skipping (and in replay) workflow time is not today. The
answer is recorded in history, so a new calendar or override file never changes a replay; a
running workflow picks it up at its next computation.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from temporalio import activity

from domain.calendar import (
    DEFAULT_OVERRIDES_PATH,
    CalendarOverrides,
    WorkingCalendar,
    load_overrides,
)
from domain.clock import (
    COMPUTE_SCHEDULE_ACTIVITY,
    ClockRecord,
    ClockSchedule,
    compute_schedule,
)


class _RememberingCalendar(WorkingCalendar):
    """The calendar of one reading of the override file, remembering which days are
    working days: every schedule asks it of each day it counts, for the same few years."""

    def __init__(self, overrides: CalendarOverrides) -> None:
        super().__init__(overrides)
        self._days: dict[date, bool] = {}

    def is_working_day(self, day: date) -> bool:
        known = self._days.get(day)
        if known is None:
            if len(self._days) >= _DAYS:  # a bound: a schedule far in the future
                self._days.clear()
            known = self._days[day] = super().is_working_day(day)
        return known


_DAYS = 40 * 366


class CalendarActivities:
    """Register `CalendarActivities().compute_schedule` on the worker (a staff task's first
    schedule comes with the task: `TaskActivities.open_staff_task`).

    The override file is read again when it changes, so a newly announced year needs no
    restart. A broken file fails the activity (retried) rather than yield a wrong deadline.
    """

    def __init__(self, overrides_path: Path | None = None) -> None:
        self._path = overrides_path
        self._stamp: tuple[int, int] | None = None
        self._calendar: WorkingCalendar | None = None

    def calendar(self) -> WorkingCalendar:
        try:
            st = os.stat(self._path or DEFAULT_OVERRIDES_PATH)
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if self._calendar is None or stamp != self._stamp:
            self._calendar = _RememberingCalendar(load_overrides(self._path))
            self._stamp = stamp
        return self._calendar

    @activity.defn(name=COMPUTE_SCHEDULE_ACTIVITY)
    async def compute_schedule(self, record: ClockRecord) -> ClockSchedule:
        return compute_schedule(record, self.calendar())
