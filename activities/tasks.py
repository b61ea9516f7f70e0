"""Activities of the staff task inbox."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from activities.calendar import CalendarActivities
from activities.store_errors import store_errors
from domain.clock import ClockRecord, ClockSchedule, compute_schedule
from store import tasks


class OpenTask(BaseModel):
    task_id: str
    application_id: str
    workflow_id: str
    item_code: str | None
    kind: str
    department: str | None
    role: str
    hall: str | None
    due_at: datetime | None
    opened_at: datetime


class OpenStaffTask(BaseModel):
    """Open a task whose due instant is its clock's: one activity computes both."""

    task: OpenTask
    clock: ClockRecord


class CloseTask(BaseModel):
    task_id: str
    outcome: str
    closed_by: str
    closed_at: datetime


class TaskActivities:
    def __init__(self, engine: Engine, calendar: CalendarActivities | None = None) -> None:
        self._engine = engine
        self._calendar = calendar or CalendarActivities()

    @activity.defn(name="open_staff_task")
    @store_errors
    def open_staff_task(self, request: OpenStaffTask) -> ClockSchedule:
        """The task's first clock schedule, and the task opened with that due instant."""
        schedule = compute_schedule(request.clock, self._calendar.calendar())
        self._open_task(request.task, schedule.due_at)
        return schedule

    def _open_task(self, request: OpenTask, due_at: datetime | None) -> None:
        tasks.open_task(
            self._engine,
            tasks.StaffTask(
                task_id=request.task_id,
                application_id=request.application_id,
                workflow_id=request.workflow_id,
                item_code=request.item_code,
                kind=request.kind,
                department=request.department,
                role=request.role,
                hall=request.hall,
                due_at=due_at,
                created_at=request.opened_at,
            ),
        )

    @activity.defn(name="close_task")
    @store_errors
    def close_task(self, request: CloseTask) -> None:
        tasks.close_task(
            self._engine,
            request.task_id,
            outcome=request.outcome,
            closed_by=request.closed_by,
            closed_at=request.closed_at,
        )
