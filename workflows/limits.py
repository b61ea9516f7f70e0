"""The limits of one item under procedure revision 2026-12 (workflow code, for ItemWorkflow).

Beside the running step's limit (review, inspection, re-inspection: `LegalClock`s the item
opens per step) runs the item's statutory limit, from the item's start to the decision; it
warns the head of the department and escalates on its own while the work goes on. Both
pause together (the applicant's correction; excluded time, Art. 45) and are extended
together (Art. 42: once, by the head of the department). Notices that say a new due
instant wait until the clock has computed it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.calendar import CalendarActivities
    from domain import notices
    from domain.application import ItemCase, ItemStatus, LimitExtension
    from domain.clock import (
        ClockEvent,
        ClockRecord,
        ClockSchedule,
        ClockSnapshot,
        DueMoveCause,
        DueMoved,
    )
    from domain.excluded_time import EXCLUDED_TIME_DECIDERS, ExcludedTimeEnd, ExcludedTimeStart
    from domain.extension import check_extension
    from domain.people import Role, Staff
    from workflows.clock import LegalClock
    from workflows.common import notify, run_activity


class Recorder(Protocol):
    def __call__(
        self, action: str, *, actor: str = "system", role: str = "system", detail: str | None = None
    ) -> None: ...


# A notice that waits for its clock's new schedule: (kind, key, text given the due instant).
PendingNotice = tuple[str, str, Callable[[datetime | None], str]]


class ItemLimits:
    """The statutory limit, pauses, the one extension and excluded time of one item."""

    def __init__(
        self,
        case: ItemCase,
        *,
        record: Recorder,
        on_escalation: Callable[[ClockEvent], Awaitable[None]],
        step: Callable[[], LegalClock | None] = lambda: None,
    ) -> None:
        self.case = case
        self._step = step  # the running step's limit, whose timer may serve the statutory one
        self.item = case.item
        self._record = record
        self._on_escalation = on_escalation
        self.statutory: LegalClock | None = None
        self._statutory_run: asyncio.Task[ClockSnapshot] | None = None
        self.decided = False
        self.excluded: ExcludedTimeStart | None = None
        self._excluded_count = 0
        self._extension_count = 0
        self._to_tell: dict[str, list[PendingNotice]] = {}

    # -- the statutory limit ----------------------------------------------------------------

    def start_statutory(self) -> None:
        """Count the item's statutory days from now (the item's start) to the decision, less
        the paused time (the applicant's correction, excluded time)."""
        clock = LegalClock(
            notices.STATUTORY_LIMIT,
            self.item.statutory_days,
            department=self.item.department,
            subject=f"{self.case.application_id}/{self.item.code}",
            on_warning=self._statutory_warning,
            on_escalation=self._on_escalation,
            on_change=self.tell_when_scheduled,
            first_schedule=self._first_schedule,
            never_earlier=True,
            on_due_moved_later=self._due_moved_later,
            lean_on=self._step if self.case.fewer_events else None,
            anchored_refresh=self.case.at_department,
        )
        clock.start()
        self.statutory = clock
        self._statutory_run = asyncio.create_task(clock.run_until(lambda: self.decided))

    async def stop_statutory(self) -> None:
        """The decision is taken (or the item ended before it): the statutory limit stops."""
        self.decided = True
        if self._statutory_run is not None:
            await self._statutory_run

    @staticmethod
    async def _first_schedule(record: ClockRecord) -> ClockSchedule:
        """The calendar activity, local where the central systems are: started beside the
        first step's task, it shares that workflow task's marker (one billable action)."""
        return await run_activity(
            CalendarActivities.compute_schedule, record, summary="statutory: working-day schedule"
        )

    def statutory_snapshot(self) -> ClockSnapshot | None:
        clock = self.statutory
        return clock.snapshot() if clock is not None and clock.record is not None else None

    async def _statutory_warning(self, event: ClockEvent) -> None:
        await notify(
            self.case.application_id,
            f"{Role.DEPARTMENT_HEAD.value}:{self.item.department}",
            "warning",
            notices.statutory_warning(self.item.name, event.due_at),
            key=f"statutory-warning-{event.total_days}",
        )
        self._record("statutory warning", detail=notices.due_detail(event.due_at))

    async def _due_moved_later(self, move: DueMoved) -> None:
        """The decision's due instant moved later because the calendar did (a year's holidays
        published): the applicant is told. An extension's or a resumption's own notice
        gives the new instant already."""
        if move.cause is not DueMoveCause.CALENDAR:
            return
        await notify(
            self.case.application_id,
            "applicant",
            "deadline_moved",
            notices.deadline_moved_later(
                f"事项: {self.item.name}", move.previous_due_at, move.due_at
            ),
            key=f"statutory-moved-{move.due_at.isoformat()}",
        )

    # -- what pauses and extensions act on --------------------------------------------------

    def running(self, step: LegalClock | None) -> list[LegalClock]:
        """The running step's limit (None: no step open) and the statutory one until the
        decision."""
        clocks = [step] if step is not None else []
        if self.statutory is not None and not self.decided:
            clocks.append(self.statutory)
        return clocks

    def pause(self, step: LegalClock | None, reason: str) -> None:
        for clock in self.running(step):
            if clock.record is not None and not clock.record.paused:
                clock.pause(reason)

    def resume(self, step: LegalClock | None) -> None:
        for clock in self.running(step):
            if clock.record is not None and clock.record.paused:
                clock.resume()

    # -- extension (Art. 42) -------------------------------------------------------------

    def validate_extension(self, step: LegalClock, extension: LimitExtension) -> None:
        clocks = self.running(step)
        limits = [(c.limit, len(c.record.extensions) if c.record else 0) for c in clocks]
        check_extension(extension, item=self.item, limits=limits)
        for clock in clocks:
            clock.validate_extend(extension.days, extension.reason)

    def extend(self, step: LegalClock, extension: LimitExtension) -> None:
        """Extend the step's limit and the statutory one; the applicant is told why, with
        the new due instant of the decision."""
        by = extension.decided_by
        clocks = self.running(step)
        for clock in clocks:
            clock.extend(extension.days, extension.reason, by=by.staff_id)
            self._record(
                f"{clock.limit} extended by {extension.days} working days",
                actor=by.staff_id,
                role=by.role.value,
                detail=extension.reason,
            )
        name, days, reason = self.item.name, extension.days, extension.reason
        self._extension_count += 1
        self._tell_later(
            clocks[-1].limit,  # the statutory limit until the decision
            "extension",
            f"extension-{self._extension_count}",
            lambda due: notices.extension_notice(name, days, reason, due),
        )

    # -- excluded time (Art. 45) ---------------------------------------------------------

    def check_decider(self, staff: Staff) -> None:
        if not self.case.revised:
            raise ValueError(
                "status: this application runs under the procedure before revision 2026-12, "
                "which has no excluded time"
            )
        if staff.role not in EXCLUDED_TIME_DECIDERS:
            raise ValueError(
                "decided_by.role: excluded time is decided by a reviewer or the head of the "
                f"item's department, not by a {staff.role.value}"
            )
        if staff.department != self.item.department:
            raise ValueError(
                f"decided_by.department: only department {self.item.department!r} decides on "
                f"{self.item.code}"
            )

    def validate_exclude(
        self, start: ExcludedTimeStart, status: ItemStatus, *, step_open: bool
    ) -> None:
        """`step_open`: a staff step is open and nothing is issued yet."""
        self.check_decider(start.decided_by)
        if self.excluded is not None:
            raise ValueError(
                f"status: excluded time ({self.excluded.kind.label}) is running already; end it "
                "with its result first"
            )
        if status is ItemStatus.CORRECTION_REQUESTED:
            raise ValueError("status: the limit is paused for the applicant's correction")
        if not step_open or self.decided:
            raise ValueError(
                "status: excluded time pauses a running review or an inspection before the "
                f"decision (the item is {status.value})"
            )

    def validate_end_excluded(self, end: ExcludedTimeEnd) -> None:
        self.check_decider(end.decided_by)
        if self.excluded is None:
            raise ValueError("status: no excluded time is running for this item")

    def check_not_excluded(self) -> None:
        if self.excluded is not None:
            raise ValueError(
                f"status: excluded time ({self.excluded.kind.label}) is running; end it with "
                "its result first"
            )

    def exclude(self, step: LegalClock, start: ExcludedTimeStart) -> None:
        """Pause the running limits; the applicant is told what is done and how long."""
        self.excluded = start
        self._excluded_count += 1
        what = start.kind.label
        self.pause(step, f"不计入时限({what}): {start.reason}")
        by = start.decided_by
        self._record(
            "excluded time started",
            actor=by.staff_id,
            role=by.role.value,
            detail=f"{what}, 预计{start.expected_days}个工作日: {start.reason}",
        )
        name = self.item.name
        self._tell_later(
            step.limit,
            "excluded_time",
            f"excluded-time-{self._excluded_count}",
            lambda _due: notices.excluded_time_notice(
                name, what, start.expected_days, start.reason
            ),
        )

    def end_excluded(self, step: LegalClock | None, end: ExcludedTimeEnd) -> None:
        """Resume the limits; the applicant is told the result and the new due instant."""
        start = self.excluded
        assert start is not None
        self.excluded = None
        clocks = self.running(step)
        self.resume(step)
        what = start.kind.label
        by = end.decided_by
        self._record(
            "excluded time ended",
            actor=by.staff_id,
            role=by.role.value,
            detail=f"{what}: {end.result}",
        )
        if not clocks:
            return
        name = self.item.name
        self._tell_later(
            clocks[-1].limit,  # the statutory limit until the decision
            "excluded_time_ended",
            f"excluded-time-{self._excluded_count}-ended",
            lambda due: notices.excluded_time_ended(name, what, end.result, due),
        )

    # -- notices that wait for a new schedule -----------------------------------------------

    def _tell_later(
        self, limit: str, kind: str, key: str, text: Callable[[datetime | None], str]
    ) -> None:
        self._to_tell.setdefault(limit, []).append((kind, key, text))

    async def tell_when_scheduled(self, snap: ClockSnapshot) -> None:
        """An `on_change` of the item's clocks: the notices waiting for this clock's new
        schedule go to the applicant with its due instant (none while it is paused)."""
        if snap.record_version != snap.schedule_version or snap.limit not in self._to_tell:
            return
        due = None if snap.paused else snap.due_at
        for kind, key, text in self._to_tell.pop(snap.limit):
            await notify(self.case.application_id, "applicant", kind, text(due), key=key)
