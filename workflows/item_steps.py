"""One human step of an item (workflow code, for ItemWorkflow): a task in the department's
inbox, its legal clock (reminding and escalating), a decision or a stop order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.tasks import CloseTask, OpenStaffTask, OpenTask, TaskActivities
    from domain import notices, staff_words
    from domain.application import ItemStatus, StaffTaskRef
    from domain.clock import ClockEvent, ClockRecord, ClockSchedule, ClockSnapshot
    from domain.people import Role
    from workflows import search_attributes as sa
    from workflows.clock import LegalClock
    from workflows.common import notify, run_activity
    from workflows.item_record import ItemRecord


class StaffSteps(ItemRecord):
    async def _staff_step(
        self,
        kind: str,
        role: Role,
        days: int,
        status: ItemStatus,
        decided: Callable[[], bool],
    ) -> bool:
        """Open the task, count its limit (reminding and escalating), wait for the decision or
        a stop order, close the task. True when decided."""
        self._go_on_waiting()
        task = StaffTaskRef(
            task_id=f"{workflow.info().workflow_id}/{kind}",
            kind=kind,
            role=role,
            department=self.item.department,
        )

        async def open_task_with_its_schedule(record: ClockRecord) -> ClockSchedule:
            schedule = await run_activity(
                TaskActivities.open_staff_task,
                OpenStaffTask(task=self._open_task_request(task), clock=record),
                summary=f"open {kind} task at {self.item.department}",
            )
            self._task, self._status = task, status  # decisions are taken once it is open
            return schedule

        self._clock = LegalClock(
            kind,
            days,
            department=self.item.department,
            subject=f"{self.case.application_id}/{self.item.code}",
            on_warning=self._remind,
            on_escalation=self._escalated,
            on_change=self._clock_changed,
            first_schedule=open_task_with_its_schedule,
            never_earlier=self.case.revised,  # a due instant once shown never moves earlier
            anchored_refresh=self.case.at_department,
            lapse_when_done=self.case.lighter,  # the item may end with this decision
        )
        workflow.set_current_details(
            f"{self.item.name}: 等待{self.item.department_name}{notices.step_name(kind)}"
        )
        await self._clock.run_until(lambda: decided() or self._stop is not None)
        self._task = None
        stopped = await self._handle_stop()
        await run_activity(
            TaskActivities.close_task,
            CloseTask(
                task_id=task.task_id,
                outcome=stopped or self._last_outcome(),
                closed_by=self._last_actor(),
                closed_at=workflow.now(),
            ),
            summary=f"close {kind} task",
        )
        return stopped is None

    def _go_on_waiting(self) -> None:
        """The item waits for someone again: the last step's timer, left to lapse in case
        the item ended with its decision, is cancelled now (it could still fire)."""
        if self._clock is not None:
            self._clock.drop_leftover_timer()

    def _open_task_request(self, task: StaffTaskRef) -> OpenTask:
        return OpenTask(
            task_id=task.task_id,
            application_id=self.case.application_id,
            workflow_id=workflow.info().workflow_id,
            item_code=self.item.code,
            kind=task.kind,
            department=task.department,
            role=task.role.value,
            hall=self.case.hall,
            due_at=None,  # the activity sets it from the schedule it computes
            opened_at=workflow.now(),
        )

    async def _clock_changed(self, snap: ClockSnapshot) -> None:
        """The running clock's state and due instant, for operators' queries in the Web UI."""
        if self.case.revised:
            await self.limits.tell_when_scheduled(snap)
        if snap.stopped_at is not None:
            return  # the next step (or the close) says what comes next; an upsert costs
        clock: list[SearchAttributeUpdate[Any]] = [sa.CLOCK_STATE.value_set(snap.state.value)]
        if snap.due_at is not None:
            clock.append(sa.DUE_AT.value_set(snap.due_at))
        workflow.upsert_search_attributes(clock)
        workflow.set_current_details(f"{self.item.name}: {staff_words.clock_words(snap)}")

    async def _remind(self, event: ClockEvent) -> None:
        assert self._task is not None
        await notify(
            self.case.application_id,
            f"{self._task.role.value}:{self.item.department}",
            "warning",
            notices.staff_warning(self.item.name, self._task.kind, event.due_at),
            key=f"{self._task.kind}-warning-{event.total_days}",
        )
        due = event.due_at
        detail = notices.due_detail(due) if self.case.revised else f"due {due.isoformat()}"
        self._record(f"{self._task.kind} warning", detail=detail)
