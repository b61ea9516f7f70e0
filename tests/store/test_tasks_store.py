"""Opening and closing staff tasks on the real store (SQLite and PostgreSQL), as the
`open_staff_task` and `close_task` activities do: once each however often retried or raced,
in one transaction each."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities.calendar import CalendarActivities
from activities.tasks import CloseTask, OpenStaffTask, OpenTask, TaskActivities
from domain.clock import ClockRecord, compute_schedule
from store import tasks
from tests.support.store import transactions

AT = datetime(2026, 11, 27, 1, 30, tzinfo=UTC)  # a Friday, 09:30 in Beijing


def task(task_id: str, due_at: datetime | None = None) -> tasks.StaffTask:
    return tasks.StaffTask(
        task_id=task_id,
        application_id="A-tasks",
        workflow_id="application-A-tasks/item-food-business-license",
        item_code="food-business-license",
        kind="review",
        department="market",
        role="reviewer",
        due_at=due_at,
        created_at=AT,
    )


def utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive instants; they were written in UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def test_a_task_opens_once(store_engine: Engine) -> None:
    task_id = f"open-{uuid.uuid4().hex[:8]}"
    first = tasks.open_task(store_engine, task(task_id, AT + timedelta(days=3)))
    assert first.status == "open"
    # Retried with another due instant: the task as it stands, unchanged.
    again = tasks.open_task(store_engine, task(task_id, AT + timedelta(days=9)))
    assert utc(again.due_at) == AT + timedelta(days=3)
    stored = tasks.get_task(store_engine, task_id)
    assert stored is not None and utc(stored.due_at) == AT + timedelta(days=3)
    assert (stored.status, stored.kind, stored.department) == ("open", "review", "market")


def test_a_task_opened_at_once_by_several_is_one_task(store_engine: Engine) -> None:
    task_id = f"race-{uuid.uuid4().hex[:8]}"
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_it() -> None:
        start.wait()
        try:
            tasks.open_task(store_engine, task(task_id))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [
        t.task_id
        for t in tasks.inbox_page(
            store_engine,
            tasks.InboxFilter(status="all", application_id="A-tasks"),
            limit=1000,
            offset=0,
        )[0]
    ].count(task_id) == 1


def test_a_task_closes_once(store_engine: Engine) -> None:
    task_id = f"close-{uuid.uuid4().hex[:8]}"
    tasks.open_task(store_engine, task(task_id))
    tasks.take_task(store_engine, task_id, staff_id="rev-1", at=AT)
    closed_at = AT + timedelta(days=1)
    assert tasks.close_task(
        store_engine, task_id, outcome="approve", closed_by="rev-1", closed_at=closed_at
    )
    # A retry, or another closing later: the first close stands.
    assert not tasks.close_task(
        store_engine, task_id, outcome="cancelled", closed_by="ops", closed_at=closed_at
    )
    stored = tasks.get_task(store_engine, task_id)
    assert stored is not None
    assert (stored.status, stored.outcome, stored.closed_by) == ("closed", "approve", "rev-1")
    assert utc(stored.closed_at) == closed_at and stored.taken_by == "rev-1"
    assert not tasks.close_task(
        store_engine, "no-such-task", outcome="x", closed_by="y", closed_at=closed_at
    )


def test_the_activities_open_and_close_in_one_transaction_each(store_engine: Engine) -> None:
    calendar = CalendarActivities()
    activities, env = TaskActivities(store_engine, calendar), ActivityEnvironment()
    application_id = f"A{uuid.uuid4().hex[:8]}"
    workflow_id = f"application-{application_id}/item-food-business-license"
    clock = ClockRecord(limit="review", budget_days=10, started_at=AT)
    request = OpenStaffTask(
        task=OpenTask(
            task_id=f"{workflow_id}/review",
            application_id=application_id,
            workflow_id=workflow_id,
            item_code="food-business-license",
            kind="review",
            department="market",
            role="reviewer",
            hall=None,
            due_at=None,
            opened_at=AT,
        ),
        clock=clock,
    )
    with transactions(store_engine) as begun:
        schedule = env.run(activities.open_staff_task, request)
    assert begun == [1]
    assert schedule == compute_schedule(clock, calendar.calendar())
    stored = tasks.get_task(store_engine, request.task.task_id)
    assert stored is not None and utc(stored.due_at) == schedule.due_at
    assert env.run(activities.open_staff_task, request) == schedule  # retried: the same

    close = CloseTask(
        task_id=request.task.task_id, outcome="approve", closed_by="rev-1", closed_at=AT
    )
    with transactions(store_engine) as begun:
        env.run(activities.close_task, close)
        env.run(activities.close_task, close)  # retried
    assert begun == [2]
    stored = tasks.get_task(store_engine, request.task.task_id)
    assert stored is not None and (stored.status, stored.outcome) == ("closed", "approve")
