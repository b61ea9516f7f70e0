"""Faults: nothing is lost when the machines under the service center break.

Each test runs on a dev server of its own (a SQLite file in tmp_path, free ports) with the
production worker in a separate process, simulated staff acting through OnethingClient, and
ends by asserting the count of what was lost is zero.

The longer variant (more applications, more kills, longer outages):

    ONETHING_FAULTS_LONG=1 .venv/bin/python -m pytest tests/bench/test_faults.py -q
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.environment import BenchEnvironment, bench_environment
from bench.paths import BENCH_STAFF, BenchPath, bench_submission
from domain.application import (
    ApplicationOutcome,
    ApplicationStatus,
    Cancellation,
    Channel,
    Correction,
    InspectionReport,
    InspectionResult,
    ItemStatus,
    LimitExtension,
    ReviewDecision,
    ReviewVerdict,
    Submission,
    Supplement,
    application_workflow_id,
    item_workflow_id,
)
from domain.catalog import Catalog
from domain.catalog_loading import load_seed_catalog
from domain.people import Role
from onething.codec import EncryptionCodec
from onething.costs import local_activities
from onething.temporal import data_converter
from starter.client import ClientError, OnethingClient
from starter.desk import StaffDesk, staff
from store import licenses
from tests.conftest import postgres_schema

pytestmark = pytest.mark.devserver

LONG = os.environ.get("ONETHING_FAULTS_LONG", "") not in ("", "0")
# Three items in a DAG (on commitment): the registration decided by the market department,
# the food filing recorded on the spot (its receipt since catalog 2026.12.3), tobacco issued
# on commitment and inspected after: what the seed's members produce, one each.
STORE = "open-convenience-store"
SEED = load_seed_catalog()
STORE_LICENSES = sum(1 for m in SEED.bundles[STORE].members if SEED.item(m.item).produces)


@pytest_asyncio.fixture(loop_scope="session")
async def env(tmp_path: Path) -> AsyncIterator[BenchEnvironment]:
    async with bench_environment(tmp_path) as environment:
        yield environment


async def until(probe: Callable[[], Awaitable[bool]], what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if await probe():
                return
        except Exception:
            pass  # a server restarting, a store away: look again
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened within {within:.0f}s: {what}")


def issued_count(env: BenchEnvironment, application_ids: list[str]) -> int:
    return sum(len(licenses.licenses_of(env.engine, app)) for app in application_ids)


async def results(
    client: OnethingClient, submissions: list[Submission], within: float = 120.0
) -> list[ApplicationOutcome | None]:
    """Every application's result; a backend retries while the server is away."""

    async def one(application_id: str) -> ApplicationOutcome | None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                return await client.result(application_id)
            except ClientError:
                await asyncio.sleep(0.5)
        return None

    return list(await asyncio.gather(*(one(s.application_id) for s in submissions)))


def lost_or_doubled(
    env: BenchEnvironment, outcomes: list[ApplicationOutcome | None], expected_licenses: int
) -> list[str]:
    """What went wrong, one line per application: not completed, a license missing, or the
    registry holding another license than the one the workflow handed out."""
    problems = []
    for outcome in outcomes:
        if outcome is None or outcome.status is not ApplicationStatus.COMPLETED:
            problems.append(f"not completed: {outcome.status if outcome else 'no result'}")
            continue
        registered = {
            lic.item_code: lic.number
            for lic in licenses.licenses_of(env.engine, outcome.application_id)
        }
        handed_out = {i.item_code: i.license.number for i in outcome.items if i.license}
        if len(registered) != expected_licenses or registered != handed_out:
            problems.append(f"{outcome.application_id}: registry {registered} != {handed_out}")
    return problems


async def test_kill_9_the_worker_mid_run_loses_nothing_and_issues_no_license_twice(
    env: BenchEnvironment,
) -> None:
    count, kills = (200, 2) if LONG else (12, 1)
    queue = "faults-kill"
    worker = env.worker("onething", queue)
    await worker.start()
    client = env.onething_client(queue)
    submissions = [bench_submission(env.catalog, STORE, BenchPath.COMMITMENT) for _ in range(count)]
    ids = [s.application_id for s in submissions]
    in_flight_at_kill = []
    async with StaffDesk(client, env.engine, staff_prefix=BENCH_STAFF).at_work():
        await asyncio.gather(*(client.submit(s) for s in submissions))
        for k in range(kills):
            share = (k + 1) * count * STORE_LICENSES // (kills + 2)

            async def progressed(share: int = share) -> bool:
                return await asyncio.to_thread(issued_count, env, ids) >= share

            await until(progressed, f"{share} licenses issued")
            worker.kill()  # SIGKILL: no graceful shutdown, activities in flight are lost
            open_now = [not await client.is_open(app) for app in ids].count(False)
            in_flight_at_kill.append(open_now)
            worker = env.worker("onething", queue)
            await worker.start()
        outcomes = await results(client, submissions)

    assert all(n > 0 for n in in_flight_at_kill), in_flight_at_kill
    lost = lost_or_doubled(env, outcomes, expected_licenses=STORE_LICENSES)
    assert len(lost) == 0, lost


async def test_dev_server_stopped_and_restarted_on_its_sqlite_file_every_application_resumes(
    env: BenchEnvironment,
) -> None:
    count, restarts, downtime = (100, 3, 5.0) if LONG else (8, 1, 1.0)
    queue = "faults-restart"
    worker = env.worker("onething", queue)
    await worker.start()
    client = env.onething_client(queue)
    submissions = [bench_submission(env.catalog, STORE, BenchPath.COMMITMENT) for _ in range(count)]
    ids = [s.application_id for s in submissions]
    async with StaffDesk(client, env.engine, staff_prefix=BENCH_STAFF).at_work():
        await asyncio.gather(*(client.submit(s) for s in submissions))
        for r in range(restarts):
            share = (r + 1) * count * STORE_LICENSES // (restarts + 2)

            async def progressed(share: int = share) -> bool:
                return await asyncio.to_thread(issued_count, env, ids) >= share

            await until(progressed, f"{share} licenses issued")
            env.server.stop()
            assert (env.data_dir / "temporal.db").exists()
            await asyncio.sleep(downtime)
            await env.server.start()  # same file, same ports
        outcomes = await results(client, submissions)

    assert worker.process is not None and worker.process.poll() is None  # rode it out
    lost = lost_or_doubled(env, outcomes, expected_licenses=STORE_LICENSES)
    assert len(lost) == 0, lost


async def test_store_unavailable_for_a_while_activities_retry_with_backoff_and_complete(
    tmp_path: Path,
) -> None:
    """The real failure: the worker's PostgreSQL schema is renamed away, then back."""
    outage = 12.0 if LONG else 3.0
    with postgres_schema() as url:
        async with bench_environment(tmp_path, database_url=url) as env:
            schema = str(make_url(url).query["options"]).removeprefix("-csearch_path=")
            admin = create_engine(url, poolclass=NullPool)
            queue = "faults-store"
            worker = env.worker("onething", queue)
            await worker.start()
            client = env.onething_client(queue)
            submissions = [
                bench_submission(env.catalog, "food-business-license", BenchPath.COMMITMENT)
                for _ in range(4)
            ]
            with admin.begin() as connection:
                connection.execute(text(f'ALTER SCHEMA "{schema}" RENAME TO "{schema}_away"'))
            try:
                await asyncio.gather(*(client.submit(s) for s in submissions))
                await asyncio.sleep(outage)
                opened = [await client.is_open(s.application_id) for s in submissions]
            finally:
                with admin.begin() as connection:
                    connection.execute(text(f'ALTER SCHEMA "{schema}_away" RENAME TO "{schema}"'))
                admin.dispose()
            async with StaffDesk(client, env.engine, staff_prefix=BENCH_STAFF).at_work():
                outcomes = await results(client, submissions)
            retried = [
                await first_activity_attempt(env.client, application_workflow_id(s.application_id))
                for s in submissions
            ]

            lost = lost_or_doubled(env, outcomes, expected_licenses=1)

    assert all(opened), "the applications waited for the store; none failed"
    assert all(attempt >= 2 for attempt in retried), "the store's first activity was retried"
    # The store was really away: the activities failed with PostgreSQL's error, named by its
    # kind only (its SQL and parameters stay out of history).
    assert "store unavailable: UndefinedTable" in worker.log_path.read_text()
    assert len(lost) == 0, lost


async def first_activity_attempt(client: Client, workflow_id: str) -> int:
    """The attempt that completed the workflow's first activity (pinning the catalog: a
    local activity of the service center's store)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    ran = local_activities(history)
    return ran[0][1] if ran else 0


async def test_ten_concurrent_submissions_with_one_application_id_start_one_application(
    env: BenchEnvironment,
) -> None:
    copies = 50 if LONG else 10
    queue = "faults-duplicate"
    worker = env.worker("onething", queue)
    await worker.start()
    codec = EncryptionCodec(env.keyring)
    # Each copy from a connection of its own, as separate front systems would send it.
    connections = [
        await Client.connect(env.server.address, data_converter=data_converter(codec))
        for _ in range(copies)
    ]
    clients = [OnethingClient(c, queue, env.catalog) for c in connections]
    submission = bench_submission(env.catalog, STORE, BenchPath.COMMITMENT)
    async with StaffDesk(clients[0], env.engine, staff_prefix=BENCH_STAFF).at_work():
        receipts = await asyncio.gather(*(c.submit(submission) for c in clients))
        [outcome] = await results(clients[0], [submission])
    workflow_id = application_workflow_id(submission.application_id)
    runs = [w async for w in env.client.list_workflows(f'WorkflowId = "{workflow_id}"')]

    assert sum(r.created for r in receipts) == 1
    assert {r.workflow_id for r in receipts} == {workflow_id}
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    started = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    ]
    assert len(started) == 1
    issued = len(licenses.licenses_of(env.engine, submission.application_id))
    extra = len(runs) - 1 + issued - STORE_LICENSES
    assert extra == 0, f"{len(runs)} runs"
    assert lost_or_doubled(env, [outcome], expected_licenses=STORE_LICENSES) == []


async def test_a_burst_of_invalid_decisions_and_supplements_is_refused_and_never_in_history(
    env: BenchEnvironment, catalog: Catalog
) -> None:
    queue = "faults-burst"
    worker = env.worker("onething", queue)
    await worker.start()
    client = env.onething_client(queue)
    food = "food-business-license"
    reviewed = bench_submission(env.catalog, food, BenchPath.REVIEW)
    deficient = bench_submission(env.catalog, food, BenchPath.DEFICIENCY)
    a, b = reviewed.application_id, deficient.application_id
    await client.submit(reviewed)
    await client.submit(deficient)

    async def under_review(app: str) -> bool:
        state = await client.item_state(app, food)
        return state.status is ItemStatus.UNDER_REVIEW and state.open_task is not None

    async def awaiting(app: str) -> bool:
        return (await client.state(app)).status is ApplicationStatus.AWAITING_SUPPLEMENT

    await until(lambda: under_review(a), "A under review")
    await until(lambda: under_review(b), "B under review")
    await until(lambda: awaiting(b), "B awaiting its supplement")

    market = catalog.item(food).department
    reviewer = staff(Role.REVIEWER, market, prefix=BENCH_STAFF)
    inspector = staff(Role.INSPECTOR, market, prefix=BENCH_STAFF)
    stranger = staff(Role.REVIEWER, "tobacco", prefix=BENCH_STAFF)
    # refused before and after approval
    stranger_inspector = staff(Role.INSPECTOR, "tobacco", prefix=BENCH_STAFF)
    approve = ReviewDecision(reviewer=reviewer, verdict=ReviewVerdict.APPROVE)
    layout = "equipment-layout"  # the deferrable material B left out
    invalid: list[Callable[[], Awaitable[Any]]] = [
        lambda: client.decide(a, food, ReviewDecision(reviewer=inspector, verdict="approve")),
        lambda: client.decide(a, food, ReviewDecision(reviewer=stranger, verdict="approve")),
        lambda: client.inspect(
            a, food, InspectionReport(inspector=stranger_inspector, result=InspectionResult.PASSED)
        ),
        lambda: client.correct(a, food, Correction(channel=Channel.ONLINE, note="未要求补正")),
        lambda: client.supplement(a, Supplement(materials=[layout], channel=Channel.MAIL)),
        lambda: client.supplement(
            b, Supplement(materials=["premises-proof"], channel=Channel.MAIL)
        ),
        lambda: client.extend(
            a, food, LimitExtension(decided_by=reviewer, days=5, reason="需专家评审")
        ),
        lambda: client.cancel(a, Cancellation(operator=reviewer, reason="误提交")),
        lambda: client.decide("B-no-such-application", food, approve),
        lambda: client.decide(a, "tobacco-retail-license", approve),
    ]
    rounds = 20 if LONG else 3
    burst = [call for _ in range(rounds) for call in invalid]
    valid: list[Callable[[], Awaitable[Any]]] = [
        lambda: client.decide(a, food, approve),
        lambda: client.supplement(b, Supplement(materials=[layout], channel=Channel.MAIL)),
    ]
    calls = burst[: len(burst) // 2] + valid + burst[len(burst) // 2 :]
    answers = await asyncio.gather(*(call() for call in calls), return_exceptions=True)

    refused = [x for x in answers if isinstance(x, ClientError)]
    accepted = [x for x in answers if not isinstance(x, BaseException)]
    unexpected = [x for x in answers if isinstance(x, BaseException) and x not in refused]
    assert unexpected == []
    assert len(refused) == len(burst) and len(accepted) == len(valid)
    assert isinstance(accepted[0], ItemStatus) and accepted[1] == []  # B: nothing more awaited

    # Only the two valid updates entered history; the refusals left no trace.
    updates: dict[str, int] = {}
    for workflow_id in (
        application_workflow_id(a),
        item_workflow_id(a, food),
        application_workflow_id(b),
        item_workflow_id(b, food),
    ):
        history = await env.client.get_workflow_handle(workflow_id).fetch_history()
        updates[workflow_id] = sum(
            1
            for e in history.events
            if e.event_type
            in (
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
                EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED,
            )
        )
    assert updates == {
        application_workflow_id(a): 0,
        item_workflow_id(a, food): 1,
        application_workflow_id(b): 1,
        item_workflow_id(b, food): 0,
    }
    trail = (await client.item_state(a, food)).trail
    by_people = [(e.action, e.actor) for e in trail if e.role != "system"]
    assert by_people == [("review approve", reviewer.staff_id)]

    # the rest goes on as usual
    async with StaffDesk(client, env.engine, staff_prefix=BENCH_STAFF).at_work():
        outcomes = await results(client, [reviewed, deficient])
    in_history = sum(updates.values()) - len(valid)
    lost = lost_or_doubled(env, outcomes, expected_licenses=1)
    assert in_history == 0 and len(lost) == 0, lost
