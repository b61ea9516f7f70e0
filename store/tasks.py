"""The staff task inbox: every human step of an application is a task here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Field, SQLModel, col, select

from store.db import session


class StaffTask(SQLModel, table=True):
    __tablename__ = "staff_tasks"

    task_id: str = Field(primary_key=True, max_length=200)
    application_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(max_length=200)
    item_code: str | None = Field(default=None, max_length=64)
    kind: str = Field(max_length=32)  # review, supplement, inspection, ...
    department: str | None = Field(default=None, index=True, max_length=64)
    role: str = Field(max_length=32)
    hall: str | None = Field(default=None, max_length=64)
    due_at: datetime | None = None
    status: str = Field(default="open", index=True, max_length=16)
    outcome: str | None = Field(default=None, max_length=64)
    closed_by: str | None = Field(default=None, max_length=64)
    created_at: datetime
    closed_at: datetime | None = None
    taken_by: str | None = Field(default=None, index=True, max_length=64)  # a staff ID
    taken_at: datetime | None = None


class TaskNotTakeable(ValueError):
    """The task is closed, unknown, or someone else has taken it."""


def open_task(engine: Engine, task: StaffTask) -> StaffTask:
    """Open the task once; a retried call returns the task as it stands."""
    with session(engine) as s:
        existing = s.get(StaffTask, task.task_id)
        if existing is not None:
            return existing
        s.add(task)
    return task


def take_task(engine: Engine, task_id: str, *, staff_id: str, at: datetime) -> StaffTask:
    """A member of staff takes an open task; taking one's own task again changes nothing."""
    with session(engine) as s:
        task = s.get(StaffTask, task_id, with_for_update=True)
        if task is None:
            raise TaskNotTakeable(f"task_id: no task {task_id!r}")
        if task.status != "open":
            raise TaskNotTakeable(f"task_id: {task_id!r} is {task.status}")
        if task.taken_by not in (None, staff_id):
            raise TaskNotTakeable(f"task_id: {task_id!r} is taken by {task.taken_by}")
        if task.taken_by is None:
            task.taken_by, task.taken_at = staff_id, at
            s.add(task)
        return task


def close_task(
    engine: Engine, task_id: str, *, outcome: str, closed_by: str, closed_at: datetime
) -> StaffTask | None:
    with session(engine) as s:
        task = s.get(StaffTask, task_id)
        if task is None or task.status == "closed":
            return task
        task.status, task.outcome = "closed", outcome
        task.closed_by, task.closed_at = closed_by, closed_at
        s.add(task)
        return task


def update_due(engine: Engine, task_id: str, due_at: datetime | None) -> None:
    with session(engine) as s:
        task = s.get(StaffTask, task_id)
        if task is not None:
            task.due_at = due_at
            s.add(task)


def open_tasks(
    engine: Engine, *, department: str | None = None, role: str | None = None
) -> list[StaffTask]:
    query = select(StaffTask).where(StaffTask.status == "open")
    if department is not None:
        query = query.where(StaffTask.department == department)
    if role is not None:
        query = query.where(StaffTask.role == role)
    with session(engine) as s:
        soonest_first = (col(StaffTask.due_at).asc().nulls_last(), col(StaffTask.created_at))
        return list(s.exec(query.order_by(*soonest_first)))
