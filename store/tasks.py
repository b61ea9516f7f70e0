"""The staff task inbox: every human step of an application is a task here.

A task may be taken by one member of staff of its role (and department or hall); while
taken, only its taker decides on it. A supervisor releases it or reassigns it to another
member of staff: the row keeps the last handover (by whom, when, from whom; to whom is
`taken_by`), `staff_task_events` every take, release and reassignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Column, DateTime, Engine, bindparam, func, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
    # The last release or reassignment: the supervisor, when, and the taker before.
    handed_over_by: str | None = Field(default=None, max_length=64)
    handed_over_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    handed_over_from: str | None = Field(default=None, max_length=64)


TaskAction = Literal["taken", "released", "reassigned"]


class StaffTaskEvent(SQLModel, table=True):
    """One change of hands of a task: taken, released or reassigned (append only)."""

    __tablename__ = "staff_task_events"

    id: int | None = Field(default=None, primary_key=True)
    task_id: str = Field(index=True, max_length=200)
    action: str = Field(max_length=16)
    actor: str = Field(max_length=64)  # the staff ID who did it
    from_staff: str | None = Field(default=None, max_length=64)
    to_staff: str | None = Field(default=None, max_length=64)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class TaskNotTakeable(ValueError):
    """The task is closed, unknown, or someone else has taken it."""


class TaskTaken(ValueError):
    """Someone else has the task: only they decide on it."""

    def __init__(self, taker: str) -> None:
        super().__init__(f"task: taken by {taker}")
        self.taker = taker


def _record(
    s: Any, task: StaffTask, action: TaskAction, actor: str, to: str | None, at: datetime
) -> None:
    s.add(
        StaffTaskEvent(
            task_id=task.task_id,
            action=action,
            actor=actor,
            from_staff=task.taken_by if action != "taken" else None,
            to_staff=to,
            at=at,
        )
    )


def open_task(engine: Engine, task: StaffTask) -> StaffTask:
    """Open the task once; a retried call returns the task as it stands."""
    with session(engine) as s:
        # One statement where the store has it: no read first, and two opening the task at
        # once make one task, not an error for the second.
        insert = _INSERT_IF_ABSENT.get(engine.dialect.name)
        if insert is not None and s.execute(insert, task.model_dump()).rowcount == 1:  # type: ignore[attr-defined]
            return task
        existing = s.get(StaffTask, task.task_id)
        if existing is not None:
            return existing
        s.add(task)
    return task


# Built once, the values bound per call: SQLAlchemy compiles and caches it once.
_INSERT_IF_ABSENT: dict[str, Any] = {
    name: insert(StaffTask.__table__).on_conflict_do_nothing()  # type: ignore[attr-defined]
    for name, insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
}


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
            _record(s, task, "taken", staff_id, staff_id, at)
            task.taken_by, task.taken_at = staff_id, at
            s.add(task)
        return task


def get_task(engine: Engine, task_id: str) -> StaffTask | None:
    with session(engine) as s:
        return s.get(StaffTask, task_id)


def hand_over(engine: Engine, task_id: str, *, to: str | None, by: str, at: datetime) -> StaffTask:
    """A supervisor releases the open task (`to` None) or reassigns it to `to`.
    Reassigning to its taker changes nothing; releasing an untaken task neither."""
    with session(engine) as s:
        task = s.get(StaffTask, task_id, with_for_update=True)
        if task is None:
            raise TaskNotTakeable(f"task_id: no task {task_id!r}")
        if task.status != "open":
            raise TaskNotTakeable(f"task_id: {task_id!r} is {task.status}")
        if task.taken_by == to:
            return task
        _record(s, task, "reassigned" if to else "released", by, to, at)
        task.handed_over_from, task.handed_over_by, task.handed_over_at = task.taken_by, by, at
        task.taken_by, task.taken_at = to, at if to else None
        s.add(task)
        return task


def hold_for_decision(
    engine: Engine, *, workflow_id: str, role: str, staff_id: str, at: datetime
) -> StaffTask | None:
    """Before `staff_id` decides on the item workflow's open task of `role`: TaskTaken if
    someone else has it; otherwise it is theirs (taken now if nobody had it), so no one
    takes it while the decision is on its way. None when no such task is open."""
    with session(engine) as s:
        task = s.exec(
            select(StaffTask)
            .where(
                col(StaffTask.workflow_id) == workflow_id,
                col(StaffTask.role) == role,
                col(StaffTask.status) == "open",
            )
            .order_by(col(StaffTask.created_at).desc())
            .limit(1)
            .with_for_update()
        ).first()
        if task is None:
            return None
        if task.taken_by not in (None, staff_id):
            raise TaskTaken(task.taken_by)
        if task.taken_by is None:
            _record(s, task, "taken", staff_id, staff_id, at)
            task.taken_by, task.taken_at = staff_id, at
            s.add(task)
        return task


def takers_of_open_tasks(engine: Engine, workflow_id: str) -> list[str]:
    """Who has taken the item workflow's open tasks (of any role): the staff IDs."""
    with session(engine) as s:
        rows = s.exec(
            select(StaffTask.taken_by).where(
                col(StaffTask.workflow_id) == workflow_id,
                col(StaffTask.status) == "open",
                col(StaffTask.taken_by).is_not(None),
            )
        )
        return [taker for taker in rows if taker is not None]


def events_of(engine: Engine, task_id: str) -> list[StaffTaskEvent]:
    """The task's changes of hands, oldest first."""
    with session(engine) as s:
        return list(
            s.exec(
                select(StaffTaskEvent)
                .where(col(StaffTaskEvent.task_id) == task_id)
                .order_by(col(StaffTaskEvent.id))
            )
        )


def close_task(
    engine: Engine, task_id: str, *, outcome: str, closed_by: str, closed_at: datetime
) -> bool:
    """Close the task if it is open: whether this call closed it (not when it was closed
    before, a retry, or is unknown). One conditional update: no read first."""
    values = {"id": task_id, "to": outcome, "by": closed_by, "at": closed_at}
    with session(engine) as s:
        return bool(s.execute(_CLOSE, values).rowcount == 1)  # type: ignore[attr-defined]


def _close() -> Any:
    table = StaffTask.__table__  # type: ignore[attr-defined]
    return (
        update(table)
        .where(table.c.task_id == bindparam("id"), table.c.status != "closed")
        .values(
            status="closed",
            outcome=bindparam("to"),
            closed_by=bindparam("by"),
            closed_at=bindparam("at", type_=table.c.closed_at.type),
        )
    )


_CLOSE = _close()  # built once, its values bound per call: compiled once


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


@dataclass(frozen=True)
class InboxFilter:
    """Which tasks a page of the inbox shows; None means any."""

    status: Literal["open", "closed", "all"] = "open"
    department: str | None = None
    role: str | None = None
    hall: str | None = None
    kind: str | None = None
    application_id: str | None = None


def inbox_page(
    engine: Engine, where: InboxFilter, *, limit: int, offset: int
) -> tuple[list[StaffTask], int]:
    """One page of the inbox, soonest due first (undated last), and the total."""
    conditions: list[Any] = []
    if where.status != "all":
        conditions.append(col(StaffTask.status) == where.status)
    for column, value in (
        (StaffTask.department, where.department),
        (StaffTask.role, where.role),
        (StaffTask.hall, where.hall),
        (StaffTask.kind, where.kind),
        (StaffTask.application_id, where.application_id),
    ):
        if value is not None:
            conditions.append(col(column) == value)
    with session(engine) as s:
        total = s.exec(select(func.count()).select_from(StaffTask).where(*conditions)).one()
        rows = s.exec(
            select(StaffTask)
            .where(*conditions)
            .order_by(
                # Dated first on every store (SQLite and PostgreSQL differ on NULLs).
                col(StaffTask.due_at).is_(None),
                col(StaffTask.due_at),
                col(StaffTask.created_at),
                col(StaffTask.task_id),
            )
            .offset(offset)
            .limit(limit)
        ).all()
    return list(rows), int(total)
