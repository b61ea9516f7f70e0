"""Measuring a phase: wall time, CPU of the worker, the dev server and the driver, the worker's
memory, latency percentiles, and each workflow's history (events, billable actions, when its
items reached their results)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from bench.worker_process import (
    WorkerProcess,
    cpu_by_thread_kind,
    process_cpu,
    thread_cpu,
    threads_file,
)
from onething import history_names as names
from onething.costs import billable_actions, local_activity_data
from onething.devserver import DevServer, executable


@dataclass
class Meter:
    """Wall time, CPU of the worker, the dev server and this process, the worker's RSS."""

    wall_s: float = 0.0
    worker_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    driver_cpu_s: float = 0.0
    peak_rss: int = 0


@asynccontextmanager
async def metered(
    worker: WorkerProcess, server: DevServer, every_s: float = 0.2
) -> AsyncIterator[Meter]:
    meter = Meter()
    assert server.process is not None
    server_pid = server.process.pid

    async def sample() -> None:
        while True:
            with contextlib.suppress(Exception):
                meter.peak_rss = max(meter.peak_rss, worker.rss())
            await asyncio.sleep(every_s)

    cpu = (worker.cpu_seconds(), process_cpu(server_pid), process_cpu(os.getpid()))
    start = time.monotonic()
    sampler = asyncio.create_task(sample())
    try:
        yield meter
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        meter.wall_s = time.monotonic() - start
        with contextlib.suppress(Exception):
            meter.worker_cpu_s = worker.cpu_seconds() - cpu[0]
            meter.server_cpu_s = process_cpu(server_pid) - cpu[1]
            meter.driver_cpu_s = process_cpu(os.getpid()) - cpu[2]


@asynccontextmanager
async def profiling(worker: WorkerProcess, out: Path | None) -> AsyncIterator[None]:
    """py-spy samples the worker process while the block runs (collapsed stacks to `out`)."""
    if out is None:
        yield
        return
    spy = subprocess.Popen(  # noqa: ASYNC220 - runs beside the phase, stopped after it
        [
            str(executable("py-spy")),
            "record",
            "--pid",
            str(worker.pid),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
            "--gil",  # the thread holding the GIL: Python's CPU, not threads waiting for it
            "--threads",  # each stack says its thread: the event loop, activations, activities
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    before = thread_cpu(worker.pid)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(spy.wait, 30)
        with contextlib.suppress(Exception):  # the worker may have gone: no CPU split then
            spent = cpu_by_thread_kind(before, thread_cpu(worker.pid), main=worker.pid)
            threads_file(out).write_text(json.dumps(spent, indent=2) + "\n")


class Percentiles(BaseModel):
    p50: float
    p95: float
    p99: float
    max: float
    count: int


def percentiles(values: list[float]) -> Percentiles | None:
    """Nearest-rank percentiles (no interpolation), in seconds."""
    if not values:
        return None
    ordered = sorted(values)

    def rank(p: float) -> float:
        index = max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 100)) - 1))
        return round(ordered[index], 4)

    return Percentiles(
        p50=rank(50), p95=rank(95), p99=rank(99), max=round(ordered[-1], 4), count=len(ordered)
    )


class PhaseResult(BaseModel):
    """One timed phase: N workflows or applications at a concurrency, end to end."""

    name: str
    runs: int
    concurrency: int
    completed: int
    failed: int
    wall_s: float
    completed_per_s: float
    history_events: int
    history_events_per_s: float
    events_per_run: float
    billable_actions_per_run: float
    billable_breakdown_per_run: dict[str, float]
    rejected_updates: int = 0
    workflow_task_timeouts: int = 0  # in every history of the phase (`task_timeouts`)
    # Submission → every license issued and every filing recorded: per item, the completion
    # of its `issue_license` activity, or the end of an item that issues nothing (a filing
    # recorded on the spot). Before the 2026.12.1 store: `latency_all_licenses_s`.
    latency_licenses_and_filings_s: Percentiles | None = None
    # The same, a local `issue_license` taken at its marker (the end of the workflow task
    # that records it), as the bench measured it before 2026-11-29.
    latency_licenses_at_markers_s: Percentiles | None = None
    licenses_and_filings_per_run: float | None = None  # per completed application
    latency_completed_s: Percentiles | None = None  # submission → result returned
    worker_cpu_s: float
    worker_cpu_percent: float  # of one core, over the phase
    worker_peak_rss_mib: float  # sampled during the phase
    server_cpu_percent: float | None = None  # the dev server, of one core, over the phase
    driver_cpu_percent: float | None = None  # this process: submitting, staff, queries

    def cpu_per_event_ratio(self, other: PhaseResult) -> float | None:
        """This phase's worker CPU per history event over `other`'s (None: nothing to divide)."""
        if not (self.history_events and other.history_events and other.worker_cpu_s > 0):
            return None
        mine = self.worker_cpu_s / self.history_events
        return mine / (other.worker_cpu_s / other.history_events)


class MemoryResult(BaseModel):
    open_applications: int
    waiting_on_staff: int
    worker_rss_mib: float
    worker_peak_rss_mib: float  # the kernel's high-water mark (VmHWM) since the worker began
    rss_before_mib: float | None = None  # the worker's RSS before the first was opened
    open_s: float | None = None  # from the first submission until all wait on staff
    open_concurrency: int | None = None  # submissions in flight while opening
    max_cached_workflows: int | None = None  # the worker's sticky cache
    target_mib: float = 2048.0  # issue 18: < 2 GiB with 10,000 open
    met: bool


class Machine(BaseModel):
    nproc: int
    cpu_model: str
    memory_gib: float
    python: str
    temporalio: str
    temporal_cli: str
    platform: str


def machine() -> Machine:
    import temporalio

    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0.0
    with contextlib.suppress(OSError, ValueError):
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        memory = int(first.split()[1]) / 1024 / 1024
    try:
        cli = subprocess.run(
            [str(executable("temporal")), "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except Exception:
        cli = "unknown"
    return Machine(
        nproc=os.cpu_count() or 1,
        cpu_model=model,
        memory_gib=round(memory, 1),
        python=platform.python_version(),
        temporalio=temporalio.__version__,
        temporal_cli=cli,
        platform=platform.platform(),
    )


@dataclass
class RunRecord:
    workflow_id: str
    submitted_at: float
    finished_at: float | None = None
    ok: bool = False
    detail: str = ""


@dataclass
class HistoryFigures:
    events: int = 0
    billable: Counter[str] = field(default_factory=Counter)
    results: int = 0  # items that reached their result: a license issued, a filing recorded
    last_result_at: float | None = None
    last_marker_at: float | None = None  # as measured before 2026-11-29 (`marker_at_s`)
    workflow_task_timeouts: int = 0  # `task_timeouts`


def item_result_at(history: WorkflowHistory) -> float | None:
    """When an item reached its result: the completion of its `issue_license` activity, or,
    for an item that issues nothing (a filing recorded on the spot), the end of its workflow.
    None when it reached neither.

    Run locally at the department, the activity completed at its marker's `complete_time`
    (the worker's clock): the registry holds the license from then on. The marker itself is
    written only when the whole workflow task completes, after whatever else that task does
    (tobacco's report to the application and its inspection's task: 0.26 s later at p50 with
    20 in flight), which is not on the license's way; before 2026-11-29 the bench took the
    marker's time (`marker_at_s` below keeps it for comparison)."""
    return _item_result_at(history, marker_time=False)


def marker_at_s(history: WorkflowHistory) -> float | None:
    """`item_result_at` as the bench measured it before 2026-11-29: a local `issue_license`
    at the completion of the workflow task that recorded its marker."""
    return _item_result_at(history, marker_time=True)


def _item_result_at(history: WorkflowHistory, *, marker_time: bool) -> float | None:
    scheduled: dict[int, str] = {}
    for event in history.events:
        kind = event.event_type
        local = local_activity_data(event)
        issued = "result" in event.marker_recorded_event_attributes.details
        if local is not None and local.get("activity_type") == names.ISSUE_LICENSE and issued:
            completed = local.get("complete_time")
            if marker_time or not isinstance(completed, dict):
                return event.event_time.seconds + event.event_time.nanos / 1e9
            return int(completed.get("seconds", 0)) + int(completed.get("nanos", 0)) / 1e9
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = (
                event.activity_task_scheduled_event_attributes.activity_type.name
            )
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attributes = event.activity_task_completed_event_attributes
            if scheduled.get(attributes.scheduled_event_id) == names.ISSUE_LICENSE:
                return event.event_time.seconds + event.event_time.nanos / 1e9
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            return event.event_time.seconds + event.event_time.nanos / 1e9
    return None


def task_timeouts(history: WorkflowHistory) -> int:
    """Workflow tasks that timed out: above all, tasks left on a worker's sticky queue
    past its schedule-to-start timeout (10 s), which a healthy worker never lets happen."""
    return sum(
        1
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
    )


async def history_figures(client: Client, workflow_id: str) -> HistoryFigures:
    """Events and billable actions of a workflow and every child it started; how many items
    reached their result and when the last did (`item_result_at`)."""
    figures = HistoryFigures()

    async def take(history: WorkflowHistory, is_child: bool) -> list[str]:
        figures.events += len(history.events)
        figures.billable += billable_actions(history, is_child=is_child)
        figures.workflow_task_timeouts += task_timeouts(history)
        if is_child and (at := item_result_at(history)) is not None:
            figures.results += 1
            figures.last_result_at = max(figures.last_result_at or 0.0, at)
            marker_at = marker_at_s(history) or at
            figures.last_marker_at = max(figures.last_marker_at or 0.0, marker_at)
        return [
            event.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id
            for event in history.events
            if event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED
        ]

    history = await client.get_workflow_handle(workflow_id).fetch_history()
    for child in await take(history, is_child=False):
        await take(await client.get_workflow_handle(child).fetch_history(), is_child=True)
    return figures


async def gather_limited(
    jobs: list[Callable[[], Awaitable[Any]]], limit: int, advance: Callable[[], None] | None = None
) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            try:
                return await job()
            finally:
                if advance is not None:
                    advance()

    return await asyncio.gather(*(one(job) for job in jobs))


def phase_result(
    name: str,
    records: list[RunRecord],
    figures: list[HistoryFigures],
    concurrency: int,
    meter: Meter,
    rejected_updates: int = 0,
    results: bool = False,
) -> PhaseResult:
    wall_s, cpu_s = meter.wall_s, meter.worker_cpu_s
    completed = sum(1 for r in records if r.ok)
    events = sum(f.events for f in figures)
    billable: Counter[str] = Counter()
    for f in figures:
        billable += f.billable
    if rejected_updates:
        billable["rejected_updates"] += rejected_updates
    runs = max(1, len(records))
    latency_results = [
        f.last_result_at - r.submitted_at
        for r, f in zip(records, figures, strict=True)
        if r.ok and f.last_result_at is not None
    ]
    latency_markers = [
        f.last_marker_at - r.submitted_at
        for r, f in zip(records, figures, strict=True)
        if r.ok and f.last_marker_at is not None
    ]
    results_per_ok_run = [f.results for r, f in zip(records, figures, strict=True) if r.ok]
    latency_done = [r.finished_at - r.submitted_at for r in records if r.ok and r.finished_at]
    return PhaseResult(
        name=name,
        runs=len(records),
        concurrency=concurrency,
        completed=completed,
        failed=len(records) - completed,
        wall_s=round(wall_s, 3),
        completed_per_s=round(completed / wall_s, 2),
        history_events=events,
        history_events_per_s=round(events / wall_s, 1),
        events_per_run=round(events / runs, 2),
        billable_actions_per_run=round(sum(billable.values()) / runs, 2),
        billable_breakdown_per_run={k: round(v / runs, 2) for k, v in sorted(billable.items())},
        rejected_updates=rejected_updates,
        workflow_task_timeouts=sum(f.workflow_task_timeouts for f in figures),
        latency_licenses_and_filings_s=percentiles(latency_results) if results else None,
        latency_licenses_at_markers_s=percentiles(latency_markers) if results else None,
        licenses_and_filings_per_run=(
            round(sum(results_per_ok_run) / len(results_per_ok_run), 2)
            if results and results_per_ok_run
            else None
        ),
        latency_completed_s=percentiles(latency_done),
        worker_cpu_s=round(cpu_s, 2),
        worker_cpu_percent=round(100 * cpu_s / wall_s, 1),
        worker_peak_rss_mib=round(meter.peak_rss / 2**20, 1),
        server_cpu_percent=round(100 * meter.server_cpu_s / wall_s, 1),
        driver_cpu_percent=round(100 * meter.driver_cpu_s / wall_s, 1),
    )


Advance = Callable[[], None]

ProgressFactory = Callable[[str, int], Advance]


def no_progress(_: str, __: int) -> Advance:
    return lambda: None
