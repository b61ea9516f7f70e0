"""After an operator terminates an application: its open staff tasks leave the inbox.

No workflow code runs on termination, so nothing else would ever close them; the HTTP
API and the command line call this right after `OnethingClient.terminate`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import col, select

from store import tasks as tasks_store
from store.db import session
from store.tasks import StaffTask

OUTCOME = "terminated"


def close_open_tasks(
    engine: Engine, application_id: str, *, by: str, at: datetime | None = None
) -> list[str]:
    """Close every open task of the application as `terminated` by `by`; their IDs."""
    query = select(StaffTask.task_id).where(
        col(StaffTask.application_id) == application_id, col(StaffTask.status) == "open"
    )
    with session(engine) as s:
        task_ids = list(s.exec(query))
    when = at or datetime.now(UTC)
    for task_id in task_ids:
        tasks_store.close_task(engine, task_id, outcome=OUTCOME, closed_by=by, closed_at=when)
    return task_ids
