"""The joint limit of a bundle (Art. 42 (2); workflow code, for ApplicationWorkflow):
items handled jointly are decided within 45 working days of acceptance."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.calendar import CalendarActivities
    from domain.clock import ClockEvent, ClockRecord, ClockSchedule
    from domain.extension import JOINT_DAYS
    from workflows import search_attributes as sa
    from workflows.application_record import FINISHED, ApplicationRecord
    from workflows.clock import LegalClock
    from workflows.common import run_activity


class JointLimit(ApplicationRecord):
    async def _count_joint_limit(self) -> None:
        """Art. 42 (2): items of a bundle handled jointly are decided within 45 working days
        of acceptance, whatever each item's own limits say; escalated when overdue, the work
        goes on. (Before the revision, no joint limit was counted.)"""
        if not self.revised or len(self.snapshot.bundle.members) < 2:
            return
        self._joint_clock = LegalClock(
            "joint",
            JOINT_DAYS,
            department="window",
            subject=self.submission.application_id,
            on_escalation=self._joint_limit_overdue,
            never_earlier=True,
            first_schedule=self._joint_schedule,
        )
        await self._joint_clock.run_until(lambda: self._items_decided() or self._stop is not None)

    @staticmethod
    async def _joint_schedule(record: ClockRecord) -> ClockSchedule:
        """The calendar, local like the other central systems: it shares the workflow task
        that starts the items (one billable action for its markers)."""
        return await run_activity(
            CalendarActivities.compute_schedule, record, summary="joint: working-day schedule"
        )

    def _items_decided(self) -> bool:
        return all(r.license is not None or r.status in FINISHED for r in self._items.values())

    async def _joint_limit_overdue(self, event: ClockEvent) -> None:
        level = event.level.value if event.level else ""
        self._record(f"escalated stage {event.stage}", detail=f"joint limit overdue → {level}")
        workflow.upsert_search_attributes([sa.ESCALATED.value_set(True)])
