"""The load harness: N applications of a bundle or item along one path, driven end to end by
simulated staff (a desk that reads the staff inbox in the store, as a department's backend
would, and decides through `OnethingClient`), measured against the bare workflow on the same
server; finally `open_applications` left waiting on staff to weigh the worker's memory."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import Engine, func
from sqlmodel import col, select
from temporalio.service import RPCError, RPCStatusCode

from bench.bare import BareWorkflow
from bench.environment import BenchEnvironment, bench_environment
from bench.measure import (
    Advance,
    Machine,
    MemoryResult,
    PhaseResult,
    ProgressFactory,
    RunRecord,
    gather_limited,
    history_figures,
    machine,
    metered,
    no_progress,
    phase_result,
    profiling,
)
from bench.paths import (
    BENCH_STAFF,
    BenchConfig,
    BenchPath,
    bench_submission,
    deferrable_material,
    supplement_when_awaited,
)
from bench.targets import Target, targets
from bench.twin import REGISTRATION, TOBACCO, TwinApplication, TwinItem, TwinQueues, twin_item_id
from bench.worker_process import WorkerProcess
from domain.application import ApplicationStatus, application_workflow_id
from domain.catalog import Catalog
from starter.client import OnethingClient
from starter.desk import StaffDesk
from store.db import session
from store.tasks import StaffTask
from workflows.common import department_queue_of


class BenchReport(BaseModel):
    started_at: str
    command: str
    machine: Machine
    config: BenchConfig
    target: str
    bare: PhaseResult
    run: PhaseResult
    twin: PhaseResult | None = None  # the same-shape twin (`--twin`, bench/twin.py)
    events_per_s_ratio: float  # ours / bare
    memory: MemoryResult | None
    targets: list[Target]
    staff_errors: dict[str, int]


async def run_bare(
    env: BenchEnvironment,
    count: int,
    concurrency: int,
    warmup: int,
    progress: Callable[[str, int], Advance],
) -> PhaseResult:
    queue = f"bench-bare-{uuid.uuid4().hex[:6]}"
    worker = env.worker("bare", queue)
    await worker.start()
    try:

        async def one(index: int, record: list[RunRecord]) -> None:
            workflow_id = f"bench-bare-{uuid.uuid4().hex[:12]}"
            run = RunRecord(workflow_id, time.time())
            record.append(run)
            handle = await env.client.start_workflow(
                BareWorkflow.run, index, id=workflow_id, task_queue=queue
            )
            await handle.signal(BareWorkflow.go)
            await handle.result()
            run.finished_at, run.ok = time.time(), True

        scratch: list[RunRecord] = []
        await gather_limited([partial(one, i, scratch) for i in range(warmup)], concurrency)
        advance = progress("bare workflow", count)
        records: list[RunRecord] = []
        async with metered(worker, env.server) as meter:
            await gather_limited(
                [partial(one, i, records) for i in range(count)], concurrency, advance
            )
    finally:
        worker.stop()
    figures = await gather_limited(
        [partial(history_figures, env.client, r.workflow_id) for r in records], 20
    )
    return phase_result("bare workflow", records, figures, concurrency, meter)


async def run_twin(
    env: BenchEnvironment, config: BenchConfig, progress: Callable[[str, int], Advance]
) -> PhaseResult:
    """The same-shape twin (bench/twin.py) at the applications' own count and concurrency;
    its two staff decisions are sent as soon as its items run, as the desk sends ours."""
    queue = f"bench-twin-{uuid.uuid4().hex[:6]}"
    worker = env.worker("twin", queue, max_cached_workflows=config.max_cached_workflows)
    await worker.start()
    queues = TwinQueues(
        central=queue,
        market=department_queue_of(queue, "market"),
        tobacco=department_queue_of(queue, "tobacco"),
    )

    async def decide(workflow_id: str) -> None:
        handle = env.client.get_workflow_handle(workflow_id)
        while True:
            try:
                await handle.execute_update(TwinItem.decide, "approve")
                return
            except RPCError as exc:  # not started yet
                if exc.status is not RPCStatusCode.NOT_FOUND:
                    raise
                await asyncio.sleep(config.staff_poll_s)

    async def one(records: list[RunRecord]) -> None:
        workflow_id = f"bench-twin-{uuid.uuid4().hex[:12]}"
        run = RunRecord(workflow_id, time.time())
        records.append(run)
        handle = await env.client.start_workflow(
            TwinApplication.run, queues, id=workflow_id, task_queue=queue
        )
        await decide(twin_item_id(workflow_id, REGISTRATION))
        await decide(twin_item_id(workflow_id, TOBACCO))
        await handle.result()
        run.finished_at, run.ok = time.time(), True

    try:
        scratch: list[RunRecord] = []
        await gather_limited(
            [partial(one, scratch) for _ in range(config.warmup)], config.concurrency
        )
        advance = progress("same-shape twin", config.applications)
        records: list[RunRecord] = []
        async with metered(worker, env.server) as meter:
            await gather_limited(
                [partial(one, records) for _ in range(config.applications)],
                config.concurrency,
                advance,
            )
    finally:
        worker.stop()
    figures = await gather_limited(
        [partial(history_figures, env.client, r.workflow_id) for r in records], 20
    )
    return phase_result("same-shape twin", records, figures, config.concurrency, meter)


async def drive_application(
    client: OnethingClient, catalog: Catalog, target: str, path: BenchPath, records: list[RunRecord]
) -> int:
    """Submit one application and follow it to its result; returns refused supplements."""
    submission = bench_submission(catalog, target, path)
    run = RunRecord(application_workflow_id(submission.application_id), time.time())
    records.append(run)
    refused = 0
    try:
        await client.submit(submission)
        if path is BenchPath.DEFICIENCY:
            refused = await supplement_when_awaited(
                client, submission, [deferrable_material(catalog, target)]
            )
        outcome = await client.result(submission.application_id)
    except Exception as exc:  # recorded as failed; the run goes on
        run.detail = f"{type(exc).__name__}: {exc}"
        return refused
    run.finished_at = time.time()
    run.ok = outcome.status is ApplicationStatus.COMPLETED
    run.detail = outcome.status.value
    return refused


def count_open_tasks(engine: Engine) -> int:
    with session(engine) as s:
        query = select(func.count()).select_from(StaffTask).where(StaffTask.status == "open")
        return int(s.exec(query).one())


def waiting_on_staff(engine: Engine, application_ids: list[str]) -> set[str]:
    """Which of these applications have a staff task open."""
    with session(engine) as s:
        query = select(StaffTask.application_id).where(
            StaffTask.status == "open", col(StaffTask.application_id).in_(application_ids)
        )
        return set(s.exec(query).all())


OPEN_WAIT_S = 120.0  # an application not waiting on staff by then is left behind


class OpenWatch:
    """Tells each opener when its application waits on staff: one store query for all of
    them every `poll_s`, not one each."""

    def __init__(self, engine: Engine, poll_s: float = 0.5) -> None:
        self._engine, self._poll_s = engine, poll_s
        self._pending: dict[str, asyncio.Event] = {}

    async def waiting(self, application_id: str) -> None:
        event = self._pending.setdefault(application_id, asyncio.Event())
        await event.wait()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._poll_s)
            if not self._pending:
                continue
            ids = list(self._pending)
            for found in await asyncio.to_thread(waiting_on_staff, self._engine, ids):
                self._pending.pop(found).set()


async def run_ours(
    env: BenchEnvironment,
    config: BenchConfig,
    progress: Callable[[str, int], Advance],
) -> tuple[PhaseResult, MemoryResult | None, dict[str, int]]:
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    worker = env.worker("onething", queue, config.worker_passthrough, config.max_cached_workflows)
    await worker.start()
    client = env.onething_client(queue)
    target, path = config.chosen_target, config.path
    desk = StaffDesk(client, env.engine, poll_s=config.staff_poll_s, staff_prefix=BENCH_STAFF)
    try:
        async with desk.at_work():
            scratch: list[RunRecord] = []
            await gather_limited(
                [
                    lambda: drive_application(client, env.catalog, target, path, scratch)
                    for _ in range(config.warmup)
                ],
                config.concurrency,
            )
            rejected_before = desk.rejected_updates
            advance = progress(f"{target} ({path.value})", config.applications)
            records: list[RunRecord] = []
            async with metered(worker, env.server) as meter, profiling(worker, config.profile):
                refused = await gather_limited(
                    [
                        lambda: drive_application(client, env.catalog, target, path, records)
                        for _ in range(config.applications)
                    ],
                    config.concurrency,
                    advance,
                )
            rejected = desk.rejected_updates - rejected_before + sum(refused)
        memory = await weigh_open_applications(env, config, client, worker, progress)
    finally:
        worker.stop()
    figures = await gather_limited(
        [partial(history_figures, env.client, r.workflow_id) for r in records], 20
    )
    result = phase_result(
        f"{target} ({path.value})",
        records,
        figures,
        config.concurrency,
        meter,
        rejected_updates=rejected,
        results=True,
    )
    return result, memory, dict(desk.errors)


async def weigh_open_applications(
    env: BenchEnvironment,
    config: BenchConfig,
    client: OnethingClient,
    worker: WorkerProcess,
    progress: Callable[[str, int], Advance],
) -> MemoryResult | None:
    """Leave N applications open and waiting on staff (nobody at the desk), weigh the worker.

    Each opener follows its application until it waits on staff (or `OPEN_WAIT_S` passed),
    so no more than `open_concurrency` are being opened at once. Submitting them all at once
    (a start returns at once) had thousands in progress, more than the worker's cache holds:
    each was evicted and replayed at its next task (docs/performance.md)."""
    n = config.open_applications
    if n == 0:
        return None
    before = await asyncio.to_thread(count_open_tasks, env.engine)
    advance = progress("open applications, waiting on staff", n)
    target, catalog = config.chosen_target, env.catalog
    watch = OpenWatch(env.engine)

    async def open_one() -> None:
        submission = bench_submission(catalog, target, config.path)
        await client.submit(submission)
        with contextlib.suppress(TimeoutError):  # counted below as not waiting
            await asyncio.wait_for(watch.waiting(submission.application_id), OPEN_WAIT_S)

    rss_before, started = worker.rss(), time.monotonic()
    watching = asyncio.create_task(watch.run())
    try:
        await gather_limited([open_one for _ in range(n)], config.open_concurrency, advance)
    finally:
        watching.cancel()
    waiting = 0
    deadline = time.monotonic() + 120 + n / 5
    while time.monotonic() < deadline:
        waiting = await asyncio.to_thread(count_open_tasks, env.engine) - before
        if waiting >= n:
            break
        await asyncio.sleep(0.5)
    open_s = time.monotonic() - started
    await asyncio.sleep(2.0)  # the workflows record their open tasks and settle
    rss = worker.rss()
    return MemoryResult(
        open_applications=n,
        waiting_on_staff=waiting,
        worker_rss_mib=round(rss / 2**20, 1),
        worker_peak_rss_mib=round(worker.peak_rss() / 2**20, 1),
        rss_before_mib=round(rss_before / 2**20, 1),
        open_s=round(open_s, 1),
        open_concurrency=config.open_concurrency,
        max_cached_workflows=config.max_cached_workflows,
        met=rss < 2 * 2**30,
    )


async def run_bench(
    config: BenchConfig,
    *,
    progress: ProgressFactory = no_progress,
    command: str = "",
    data_dir: Path | None = None,
) -> BenchReport:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    async with bench_environment(
        data_dir, config.database_url, in_memory=config.in_memory_server
    ) as env:
        bare = await run_bare(
            env,
            config.bare_workflows,
            config.bare_concurrency,
            config.warmup,
            progress,
        )
        twin = await run_twin(env, config, progress) if config.twin else None
        run, memory, errors = await run_ours(env, config, progress)
    ratio = run.history_events_per_s / bare.history_events_per_s
    return BenchReport(
        started_at=started,
        command=command,
        machine=machine(),
        config=config,
        target=config.chosen_target,
        bare=bare,
        run=run,
        twin=twin,
        events_per_s_ratio=round(ratio, 3),
        memory=memory,
        targets=targets(config, bare, run, ratio, memory),
        staff_errors=errors,
    )
