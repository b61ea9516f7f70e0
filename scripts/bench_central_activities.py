"""What the central activities of one application cost the worker: each activity a 开办便利店
application runs as a local activity, called directly (no Temporal server), on a fresh
SQLite store in a temporary folder.

Prints, per activity, CPU and wall milliseconds per call and the store transactions each
call opens (ORM sessions begun, commits on the connection).

    .venv/bin/python scripts/bench_central_activities.py                  # 300 applications
    .venv/bin/python scripts/bench_central_activities.py -n 1000
    .venv/bin/python scripts/bench_central_activities.py --database-url postgresql+psycopg://...
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from store_bench import Counter, main  # beside this script
from temporalio.testing import ActivityEnvironment

from activities.calendar import CalendarActivities
from activities.case_numbers import CaseNumberActivities, NumberCase
from activities.catalog import CatalogActivities, PinCatalog, current_catalog
from activities.credit import CreditActivities
from activities.tasks import CloseTask, OpenStaffTask, OpenTask, TaskActivities
from domain.clock import ClockRecord
from domain.credit import credit_subject
from onething.keys import SubjectKeys
from store.db import init_db, make_engine

BUNDLE = "open-convenience-store"  # 开办便利店
HALL = "yicheng-center"
AT = datetime(2026, 11, 27, 1, 30, tzinfo=UTC)


def run(n: int, url: str) -> None:
    engine = make_engine(url)
    init_db(engine)
    catalog = current_catalog(engine)  # loads the seed catalog into the store
    bundle = catalog.bundles[BUNDLE]
    reviewed = [m.item for m in bundle.members][:2]  # two staff steps, as the item workflows
    prefix = f"C{uuid.uuid4().hex[:6]}"
    region = f"{uuid.uuid4().int % 10**6:06d}"  # a region of this run alone

    def at(i: int) -> datetime:
        return AT + timedelta(minutes=i)

    def clock(i: int) -> ClockRecord:
        return ClockRecord(limit="promised", budget_days=bundle.promised_days, started_at=at(i))

    def task(i: int, item: str) -> OpenTask:
        return OpenTask(
            task_id=f"application-{prefix}{i:05d}/item-{item}/review",
            application_id=f"{prefix}{i:05d}",
            workflow_id=f"application-{prefix}{i:05d}/item-{item}",
            item_code=item,
            kind="review",
            department=catalog.items[item].department,
            role="reviewer",
            hall=None,
            due_at=None,
            opened_at=at(i),
        )

    calendar = CalendarActivities()
    pin, credit = CatalogActivities(engine), CreditActivities(engine, SubjectKeys.generate("b"))
    numbers, tasks = CaseNumberActivities(engine), TaskActivities(engine, calendar)
    calls: list[tuple[str, Callable[..., Any], Callable[[int], list[Any]]]] = [
        (
            "pin_catalog",
            pin.pin_catalog,
            lambda i: [PinCatalog(target=BUNDLE, version=None, hall=HALL)],
        ),
        (
            "credit_standing",
            credit.credit_standing,
            lambda i: [credit_subject(f"1101011990{i:08d}")],
        ),
        (
            "assign_case_number",
            numbers.assign_case_number,
            lambda i: [
                NumberCase(
                    application_id=f"{prefix}{i:05d}",
                    hall=HALL,
                    region_code=region,
                    accepted_at=at(i),
                    target=BUNDLE,
                    catalog_version=catalog.version,
                )
            ],
        ),
        ("compute_schedule", calendar.compute_schedule, lambda i: [clock(i)]),
        (
            "open_staff_task",
            tasks.open_staff_task,
            lambda i: [OpenStaffTask(task=task(i, item), clock=clock(i)) for item in reviewed],
        ),
        (
            "close_task",
            tasks.close_task,
            lambda i: [
                CloseTask(
                    task_id=task(i, item).task_id,
                    outcome="approved",
                    closed_by="staff-1",
                    closed_at=at(i) + timedelta(days=2),
                )
                for item in reviewed
            ],
        ),
    ]
    env = ActivityEnvironment()

    def run_all(activity: Callable[..., Any], requests: list[Any]) -> None:
        if not inspect.iscoroutinefunction(activity):
            for request in requests:
                env.run(activity, request)
            return

        async def awaited() -> None:  # one event loop for all the calls, as the worker's
            for request in requests:
                await env.run(activity, request)

        asyncio.run(awaited())

    for _, activity, inputs in calls:  # warm: catalog parsed, pool connected
        run_all(activity, inputs(0))

    print(f"{n - 1} 开办便利店 applications on {engine.url.get_backend_name()}")
    print(f"  {'activity':<20} {'CPU ms':>8} {'wall ms':>8} {'sessions':>9} {'commits':>8}")
    for name, activity, inputs in calls:
        requests = [request for i in range(1, n) for request in inputs(i)]
        with Counter(engine) as counted:
            cpu, wall = time.process_time(), time.perf_counter()
            run_all(activity, requests)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        per = len(requests)
        print(
            f"  {name:<20} {cpu * 1000 / per:8.2f} {wall * 1000 / per:8.2f}"
            f" {counted.sessions / per:9.1f} {counted.commits / per:8.1f}"
        )
    # Retries of finished calls (the activity's promise: nothing changes, nothing is lost).
    for name, activity, inputs in calls:
        if name not in ("assign_case_number", "open_staff_task", "close_task"):
            continue
        requests = [request for i in range(1, min(n, 101)) for request in inputs(i)]
        with Counter(engine) as counted:
            cpu = time.process_time()
            run_all(activity, requests)
            cpu = time.process_time() - cpu
        print(
            f"  a retry of {name}: CPU {cpu * 1000 / len(requests):.2f} ms,"
            f" {counted.sessions / len(requests):.1f} sessions"
        )
    engine.dispose()


if __name__ == "__main__":
    main(__doc__ or "", run)
