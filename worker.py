"""The onething worker: every workflow and every department's activities.

`python worker.py` (or `onething worker`) runs it against the configured Temporal.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.catalog import CatalogActivities
from activities.licensing import LicensingActivities
from activities.tasks import TaskActivities
from workflows.application import ApplicationWorkflow
from workflows.item import ItemWorkflow

WORKFLOWS: list[type] = [ApplicationWorkflow, ItemWorkflow]


def activities(engine: Engine) -> list[Any]:
    """Every activity, bound to the store it talks to."""
    catalog, licensing, task_inbox = (
        CatalogActivities(engine),
        LicensingActivities(engine),
        TaskActivities(engine),
    )
    return [
        catalog.pin_catalog,
        licensing.issue_license,
        task_inbox.open_task,
        task_inbox.close_task,
    ]


def build_worker(
    client: Client, task_queue: str, engine: Engine, *, max_concurrent_activities: int = 32
) -> Worker:
    """A worker for all workflows and activities; activities are sync (store I/O) in threads."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities(engine),
        activity_executor=ThreadPoolExecutor(max_workers=max_concurrent_activities),
        max_concurrent_activities=max_concurrent_activities,
    )


async def run_worker() -> None:
    from onething.runtime import open_runtime

    async with open_runtime() as runtime:
        worker = build_worker(runtime.client, runtime.settings.task_queue, runtime.engine)
        runtime.log.info("worker started", task_queue=runtime.settings.task_queue)
        await worker.run()


if __name__ == "__main__":
    asyncio.run(run_worker())
