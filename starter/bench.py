"""`onething bench`: the load driver, measured against a bare workflow on the same server.

It starts an embedded dev server of its own (a temporary SQLite file, free ports: never the
user's 7233/8233), the production worker (`worker.build_workers`) in a separate process, and
drives N applications of a bundle or item along one path (commitment, review, deficiency)
with simulated staff: a desk that reads the staff inbox in the store, as a department's
backend would, and decides through `OnethingClient`. In the same run it drives a bare
workflow (start, one signal, one timer, one activity) on its own worker process, and finally
leaves `--open-applications` applications waiting on staff to weigh the worker's memory.

Mounted by starter/cli.py: `app.add_typer(bench_app, name="bench")`.

    onething bench --applications 200 --concurrency 20 --path commitment --out bench.json
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, func
from sqlmodel import select
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from domain.application import (
    ApplicationStatus,
    Channel,
    Submission,
    Supplement,
    application_workflow_id,
)
from domain.bundle import as_bundle, one_set_of_materials
from domain.catalog import Catalog, load_seed_catalog
from onething.codec import EncryptionCodec, Keyring
from onething.costs import billable_actions
from onething.devserver import SQLITE_PRAGMAS, DevServer, executable
from onething.temporal import data_converter
from starter.client import ClientError, OnethingClient
from starter.desk import StaffDesk, demo_applicant
from store.db import init_db, make_engine, session
from store.tasks import StaffTask

# -- the bare workflow: the engine's own cost of start + signal + timer + activity ---------

BARE_TIMER = timedelta(milliseconds=100)


@activity.defn(name="bench_bare_activity")
async def bare_activity(n: int) -> int:
    return n + 1


@workflow.defn(name="BenchBareWorkflow")
class BareWorkflow:
    """Start, one activity, one signal, one timer: 4 billable actions, nothing else."""

    def __init__(self) -> None:
        self._go = False

    @workflow.run
    async def run(self, n: int) -> int:
        result = await workflow.execute_activity(
            bare_activity, n, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.wait_condition(lambda: self._go)
        await workflow.sleep(BARE_TIMER)
        return result

    @workflow.signal
    def go(self) -> None:
        self._go = True


# -- paths and submissions (the staff are the simulated desk's, `starter.desk`) ------------

# The bench's staff IDs start so, telling its decisions apart in a trail.
BENCH_STAFF = "bench-"


class BenchPath(StrEnum):
    COMMITMENT = "commitment"  # commitment signed: items that admit it issue at once
    REVIEW = "review"  # every item reviewed by its department
    DEFICIENCY = "deficiency"  # a deferrable material left out, supplemented by mail
    MIXED = "mixed"  # the soak: every kind at once, until each ends (starter/bench_mixed.py)


DEFAULT_TARGETS = {
    BenchPath.COMMITMENT: "open-convenience-store",
    BenchPath.REVIEW: "food-business-license",
    BenchPath.DEFICIENCY: "food-business-license",
    BenchPath.MIXED: "open-convenience-store",  # the mix has its own targets
}


def bench_submission(catalog: Catalog, target: str, path: BenchPath) -> Submission:
    """Every material the one set asks for (less one deferrable on the deficiency path)."""
    materials = one_set_of_materials(catalog, as_bundle(catalog, target))
    codes = [m.code for m in materials.to_bring if not m.condition]
    if path is BenchPath.DEFICIENCY:
        deferrable = deferrable_material(catalog, target)
        codes = [c for c in codes if c != deferrable]
    return Submission(
        application_id=f"B{uuid.uuid4().hex[:14]}",
        **({"bundle_code": target} if target in catalog.bundles else {"item_code": target}),
        applicant=demo_applicant(),
        materials=codes,
        commitment_signed=path is BenchPath.COMMITMENT,
        deficiency_pledge_signed=path is BenchPath.DEFICIENCY,
    )


def deferrable_material(catalog: Catalog, target: str) -> str:
    bundle = as_bundle(catalog, target)
    for code in bundle.order():
        for material in catalog.item(code).materials:
            if material.deferrable:
                return material.code
    raise ValueError(f"{target!r} has no deferrable material: no deficiency path")


async def supplement_when_awaited(
    client: OnethingClient, submission: Submission, missing: list[str], poll_s: float = 0.02
) -> int:
    """The applicant mails the missing materials once the deficiency is recorded; returns
    how many supplements were refused before (billable)."""
    refused = 0
    for _ in range(1000):
        try:
            state = await client.state(submission.application_id)
        except ClientError:
            state = None
        if state is not None and state.status is ApplicationStatus.AWAITING_SUPPLEMENT:
            try:
                await client.supplement(
                    submission.application_id, Supplement(materials=missing, channel=Channel.MAIL)
                )
                return refused
            except ClientError as exc:
                if isinstance(exc.__cause__, WorkflowUpdateFailedError):
                    refused += 1  # billed, never in history
        elif state is not None and state.status.closed:
            return refused
        await asyncio.sleep(poll_s)
    raise TimeoutError(f"{submission.application_id}: the deficiency was never recorded")


# -- the worker in a process of its own ------------------------------------------------------

_WORKER_ENV = "ONETHING_BENCH_WORKER"


class WorkerSpec(BaseModel):
    kind: str  # "onething": the production worker (build_workers); "bare": the bare workflow
    address: str
    task_queue: str
    store_url: str = ""
    keyring: str  # JSON of the payload keyring, shared with the driver
    ready_file: str
    passthrough: list[str] = []  # an experiment: modules the sandbox shares, not re-imports


def worker_main() -> None:
    """Entry point of the worker process (`python -c 'from starter.bench import worker_main;
    worker_main()'`); its spec comes in the environment."""
    spec = WorkerSpec.model_validate_json(os.environ[_WORKER_ENV])
    asyncio.run(_serve(spec))


async def _serve(spec: WorkerSpec) -> None:
    from worker import build_workers, running

    codec = EncryptionCodec(Keyring.from_json(spec.keyring))
    client = await Client.connect(spec.address, data_converter=data_converter(codec))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if spec.kind == "onething":
        if spec.passthrough:  # the experiment: production workers with a wider passthrough
            import worker as production

            restrictions = SandboxRestrictions.default.with_passthrough_modules(*spec.passthrough)
            runner = SandboxedWorkflowRunner(restrictions=restrictions)
            setattr(production, "Worker", partial(Worker, workflow_runner=runner))  # noqa: B010
        workers = build_workers(client, spec.task_queue, make_engine(spec.store_url))
    else:
        runner = SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("starter.bench")
        )
        workers = [
            Worker(
                client,
                task_queue=spec.task_queue,
                workflows=[BareWorkflow],
                activities=[bare_activity],
                workflow_runner=runner,
            )
        ]
    parent = os.getppid()

    async def orphaned() -> None:  # the driver died without stopping us: stop too
        while os.getppid() == parent:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
                return
        stop.set()

    watch = asyncio.create_task(orphaned())
    async with running(workers):
        with open(spec.ready_file, "w") as ready:  # noqa: ASYNC230 - one tiny write
            ready.write(str(os.getpid()))
        await stop.wait()
    watch.cancel()


def _exists(path: str) -> bool:
    return os.path.exists(path)


@dataclass
class WorkerProcess:
    """A worker in a separate process, so its CPU and memory are its own to measure."""

    spec: WorkerSpec
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    peak_sampled_rss: int = 0

    async def start(self, wait_s: float = 60.0) -> None:
        ready = self.spec.ready_file
        with contextlib.suppress(FileNotFoundError):
            os.unlink(ready)
        env = {**os.environ, _WORKER_ENV: self.spec.model_dump_json()}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child
                [sys.executable, "-c", "from starter.bench import worker_main; worker_main()"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + wait_s
        while not _exists(ready):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the {self.spec.kind} worker exited with {self.process.returncode}; "
                    f"see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the {self.spec.kind} worker did not start within {wait_s}s")
            await asyncio.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """kill -9: no graceful shutdown, whatever was in flight is lost to this process."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, wait_s: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def cpu_seconds(self) -> float:
        return _process_cpu(self.pid)

    def rss(self) -> int:
        import psutil

        rss = int(psutil.Process(self.pid).memory_info().rss)
        self.peak_sampled_rss = max(self.peak_sampled_rss, rss)
        return rss

    def peak_rss(self) -> int:
        """The kernel's high-water mark of the process's resident set (VmHWM), else sampled."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return self.peak_sampled_rss


def _process_cpu(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


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

    cpu = (worker.cpu_seconds(), _process_cpu(server_pid), _process_cpu(os.getpid()))
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
            meter.server_cpu_s = _process_cpu(server_pid) - cpu[1]
            meter.driver_cpu_s = _process_cpu(os.getpid()) - cpu[2]


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
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(spy.wait, 30)


# -- the embedded server of the bench -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BenchEnvironment:
    """A dev server on free ports and a temporary directory, the store, the payload key."""

    data_dir: Path
    server: DevServer
    engine: Engine
    store_url: str
    keyring: Keyring
    client: Client
    catalog: Catalog
    workers: list[WorkerProcess] = field(default_factory=list)

    def worker(
        self, kind: str, task_queue: str, passthrough: list[str] | None = None
    ) -> WorkerProcess:
        process = WorkerProcess(
            WorkerSpec(
                kind=kind,
                address=self.server.address,
                task_queue=task_queue,
                store_url=self.store_url,
                keyring=self.keyring.to_json(),
                ready_file=str(self.data_dir / f"{kind}-{uuid.uuid4().hex[:6]}.ready"),
                passthrough=passthrough or [],
            ),
            log_path=self.data_dir / f"worker-{kind}.log",
        )
        self.workers.append(process)
        return process

    def onething_client(self, task_queue: str) -> OnethingClient:
        return OnethingClient(self.client, task_queue, self.catalog)

    async def connect(self) -> Client:
        codec = EncryptionCodec(self.keyring)
        return await Client.connect(self.server.address, data_converter=data_converter(codec))


class InMemoryDevServer(DevServer):
    """The dev server without its SQLite file: the engine's upper bound on this machine."""

    def command(self) -> list[str]:
        cmd = super().command()
        at = cmd.index("--db-filename")
        return cmd[:at] + cmd[at + 2 + len(SQLITE_PRAGMAS) :]


@asynccontextmanager
async def bench_environment(
    data_dir: Path | None = None, database_url: str | None = None, *, in_memory: bool = False
) -> AsyncIterator[BenchEnvironment]:
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="onething-")))
        kind = InMemoryDevServer if in_memory else DevServer
        server = kind(data_dir=data_dir, port=free_port(), ui_port=free_port())
        store_url = database_url or f"sqlite:///{data_dir / 'onething.db'}"
        engine = make_engine(store_url)
        stack.callback(engine.dispose)
        init_db(engine)
        from activities.catalog import current_catalog

        catalog = current_catalog(engine)  # loads the seed once, before any worker runs
        keyring = Keyring.generate("bench")
        await server.start()
        stack.callback(server.stop)
        codec = EncryptionCodec(keyring)
        client = await Client.connect(server.address, data_converter=data_converter(codec))
        env = BenchEnvironment(data_dir, server, engine, store_url, keyring, client, catalog)
        try:
            yield env
        finally:
            for process in env.workers:
                process.stop()


# -- measuring ---------------------------------------------------------------------------


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
    # Submission → every license issued and every filing recorded: per item, the completion
    # of its `issue_license` activity, or the end of an item that issues nothing (a filing
    # recorded on the spot). Before the 2026.12.1 store: `latency_all_licenses_s`.
    latency_licenses_and_filings_s: Percentiles | None = None
    licenses_and_filings_per_run: float | None = None  # per completed application
    latency_completed_s: Percentiles | None = None  # submission → result returned
    worker_cpu_s: float
    worker_cpu_percent: float  # of one core, over the phase
    worker_peak_rss_mib: float  # sampled during the phase
    server_cpu_percent: float | None = None  # the dev server, of one core, over the phase
    driver_cpu_percent: float | None = None  # this process: submitting, staff, queries


class MemoryResult(BaseModel):
    open_applications: int
    waiting_on_staff: int
    worker_rss_mib: float
    worker_peak_rss_mib: float  # the kernel's high-water mark (VmHWM) since the worker began
    target_mib: float = 2048.0  # issue 18: < 2 GiB with 10,000 open
    met: bool


class Target(BaseModel):
    name: str
    target: str
    measured: float | None
    met: bool | None


class Machine(BaseModel):
    nproc: int
    cpu_model: str
    memory_gib: float
    python: str
    temporalio: str
    temporal_cli: str
    platform: str


class BenchConfig(BaseModel):
    applications: int = Field(200, ge=1)
    concurrency: int = Field(20, ge=1)
    path: BenchPath = BenchPath.COMMITMENT
    target: str | None = None  # a bundle or item code; default by path
    bare_workflows: int = Field(400, ge=1)
    # Enough in flight that the dev server's one-second timer resolution does not bound it.
    bare_concurrency: int = Field(100, ge=1)
    open_applications: int = Field(1000, ge=0)
    open_concurrency: int = Field(50, ge=1)
    warmup: int = Field(5, ge=0)
    database_url: str | None = None  # default: a SQLite file beside the dev server's
    in_memory_server: bool = False  # the dev server without its SQLite file
    profile: Path | None = None  # py-spy's collapsed stacks of the worker in the timed phase
    worker_passthrough: list[str] = []  # an experiment (see the performance notes)
    staff_poll_s: float = Field(0.02, gt=0)

    @property
    def chosen_target(self) -> str:
        return self.target or DEFAULT_TARGETS[self.path]


class BenchReport(BaseModel):
    started_at: str
    command: str
    machine: Machine
    config: BenchConfig
    target: str
    bare: PhaseResult
    run: PhaseResult
    events_per_s_ratio: float  # ours / bare
    memory: MemoryResult | None
    targets: list[Target]
    staff_errors: dict[str, int]


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


def item_result_at(history: WorkflowHistory) -> float | None:
    """When an item reached its result: the completion of its `issue_license` activity, or,
    for an item that issues nothing (a filing recorded on the spot), the end of its workflow.
    None when it reached neither."""
    scheduled: dict[int, str] = {}
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = (
                event.activity_task_scheduled_event_attributes.activity_type.name
            )
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attributes = event.activity_task_completed_event_attributes
            if scheduled.get(attributes.scheduled_event_id) == "issue_license":
                return event.event_time.seconds + event.event_time.nanos / 1e9
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            return event.event_time.seconds + event.event_time.nanos / 1e9
    return None


async def history_figures(client: Client, workflow_id: str) -> HistoryFigures:
    """Events and billable actions of a workflow and every child it started; how many items
    reached their result and when the last did (`item_result_at`)."""
    figures = HistoryFigures()

    async def take(history: WorkflowHistory, is_child: bool) -> list[str]:
        figures.events += len(history.events)
        figures.billable += billable_actions(history, is_child=is_child)
        if is_child and (at := item_result_at(history)) is not None:
            figures.results += 1
            figures.last_result_at = max(figures.last_result_at or 0.0, at)
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
        latency_licenses_and_filings_s=percentiles(latency_results) if results else None,
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


# -- the phases ----------------------------------------------------------------------------

Advance = Callable[[], None]


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


async def run_ours(
    env: BenchEnvironment,
    config: BenchConfig,
    progress: Callable[[str, int], Advance],
) -> tuple[PhaseResult, MemoryResult | None, dict[str, int]]:
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    worker = env.worker("onething", queue, config.worker_passthrough)
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
    """Leave N applications open and waiting on staff (nobody at the desk), weigh the worker."""
    n = config.open_applications
    if n == 0:
        return None
    before = await asyncio.to_thread(count_open_tasks, env.engine)
    advance = progress("open applications, waiting on staff", n)
    target, catalog = config.chosen_target, env.catalog

    async def submit() -> None:
        await client.submit(bench_submission(catalog, target, config.path))

    await gather_limited([submit for _ in range(n)], config.open_concurrency, advance)
    waiting = 0
    deadline = time.monotonic() + 120 + n / 5
    while time.monotonic() < deadline:
        waiting = await asyncio.to_thread(count_open_tasks, env.engine) - before
        if waiting >= n:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(2.0)  # the workflows record their open tasks and settle
    rss = worker.rss()
    return MemoryResult(
        open_applications=n,
        waiting_on_staff=waiting,
        worker_rss_mib=round(rss / 2**20, 1),
        worker_peak_rss_mib=round(worker.peak_rss() / 2**20, 1),
        met=rss < 2 * 2**30,
    )


def targets(
    config: BenchConfig,
    bare: PhaseResult,
    run: PhaseResult,
    ratio: float,
    memory: MemoryResult | None = None,
) -> list[Target]:
    """Issue 18's targets, each judged only where this run measures it (else met is None)."""
    store = config.path is BenchPath.COMMITMENT and config.chosen_target == "open-convenience-store"
    found: list[Target] = []
    if store:
        found += [
            Target(
                name="history events per 便利店 commitment application (incl. inspection)",
                target="<= 80",
                measured=run.events_per_run,
                met=run.events_per_run <= 80,
            ),
            Target(
                name="billable actions per 便利店 commitment application (incl. inspection)",
                target="<= 26",
                measured=run.billable_actions_per_run,
                met=run.billable_actions_per_run <= 26,
            ),
        ]
    if run.history_events and bare.history_events and bare.worker_cpu_s > 0:
        per_event = (run.worker_cpu_s / run.history_events) / (
            bare.worker_cpu_s / bare.history_events
        )
        found.append(
            Target(
                name="worker CPU per history event, ours / bare",
                target="<= 1.3",
                measured=round(per_event, 2),
                met=per_event <= 1.3,
            )
        )
    found.append(
        Target(
            name="history events/s ratio, ours / bare",
            target=">= 0.9",
            measured=round(ratio, 3),
            met=ratio >= 0.9,
        )
    )
    latency = run.latency_licenses_and_filings_s
    if config.path is BenchPath.COMMITMENT and latency is not None:
        found.append(
            Target(
                name="commitment p95 submission → all licenses and filings, one at a time",
                target="< 0.5 s",
                measured=latency.p95,
                met=latency.p95 < 0.5 if config.concurrency == 1 else None,
            )
        )
        if run.completed_per_s > 0:
            little = latency.p95 / (config.concurrency / run.completed_per_s)
            found.append(
                Target(
                    name=(
                        f"commitment p95 at {config.concurrency} in flight / "
                        f"({config.concurrency} / applications per s)"
                    ),
                    target="<= 1.1",
                    measured=round(little, 2),
                    met=little <= 1.1 if config.concurrency >= 20 else None,
                )
            )
    if memory is not None:
        found.append(
            Target(
                name=f"worker RSS MiB with {memory.open_applications} open (target: 10,000)",
                target="< 2048 MiB",
                measured=memory.worker_rss_mib,
                met=memory.met if memory.open_applications >= 10_000 else None,
            )
        )
    return found


ProgressFactory = Callable[[str, int], Advance]


def _no_progress(_: str, __: int) -> Advance:
    return lambda: None


async def run_bench(
    config: BenchConfig,
    *,
    progress: ProgressFactory = _no_progress,
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
        events_per_s_ratio=round(ratio, 3),
        memory=memory,
        targets=targets(config, bare, run, ratio, memory),
        staff_errors=errors,
    )


# -- printing ----------------------------------------------------------------------------


def report_table(report: BenchReport) -> Table:
    table = Table(title=f"onething bench: {report.target} ({report.config.path.value})")
    table.add_column("figure")
    table.add_column("bare workflow", justify="right")
    table.add_column("onething", justify="right")
    bare, run = report.bare, report.run

    def lat(p: Percentiles | None) -> str:
        return f"{p.p50:.3f} / {p.p95:.3f} / {p.p99:.3f}" if p else "-"

    rows = [
        (
            "runs (concurrency)",
            f"{bare.runs} ({bare.concurrency})",
            f"{run.runs} ({run.concurrency})",
        ),
        (
            "completed / failed",
            f"{bare.completed} / {bare.failed}",
            f"{run.completed} / {run.failed}",
        ),
        ("wall time s", f"{bare.wall_s:.1f}", f"{run.wall_s:.1f}"),
        ("completed /s", f"{bare.completed_per_s:.2f}", f"{run.completed_per_s:.2f}"),
        (
            "history events /s",
            f"{bare.history_events_per_s:.0f}",
            f"{run.history_events_per_s:.0f}",
        ),
        ("history events per run", f"{bare.events_per_run:.1f}", f"{run.events_per_run:.1f}"),
        (
            "billable actions per run",
            f"{bare.billable_actions_per_run:.1f}",
            f"{run.billable_actions_per_run:.1f}",
        ),
        (
            "latency to all licenses and filings p50/p95/p99 s",
            "-",
            lat(run.latency_licenses_and_filings_s),
        ),
        (
            "licenses and filings per run",
            "-",
            "-"
            if run.licenses_and_filings_per_run is None
            else f"{run.licenses_and_filings_per_run}",
        ),
        (
            "latency to result p50/p95/p99 s",
            lat(bare.latency_completed_s),
            lat(run.latency_completed_s),
        ),
        ("worker CPU s (% of a core)", _cpu(bare), _cpu(run)),
        ("dev server CPU % of a core", f"{bare.server_cpu_percent}", f"{run.server_cpu_percent}"),
        ("driver CPU % of a core", f"{bare.driver_cpu_percent}", f"{run.driver_cpu_percent}"),
        (
            "worker peak RSS MiB",
            f"{bare.worker_peak_rss_mib:.0f}",
            f"{run.worker_peak_rss_mib:.0f}",
        ),
    ]
    for row in rows:
        table.add_row(*row)
    table.add_row("events/s ratio (ours / bare)", "", f"{report.events_per_s_ratio:.3f}")
    if report.memory:
        m = report.memory
        table.add_row(
            f"worker RSS, {m.open_applications} open waiting on staff MiB",
            "",
            f"{m.worker_rss_mib:.0f} (peak {m.worker_peak_rss_mib:.0f})",
        )
    return table


def _cpu(phase: PhaseResult) -> str:
    return f"{phase.worker_cpu_s:.1f} ({phase.worker_cpu_percent:.0f}%)"


def targets_table(report: BenchReport) -> Table:
    table = Table(title="targets")
    for column in ("target", "wanted", "measured", "met"):
        table.add_column(column)
    for t in report.targets:
        met = "-" if t.met is None else ("yes" if t.met else "NO")
        table.add_row(t.name, t.target, "-" if t.measured is None else f"{t.measured}", met)
    return table


@contextlib.contextmanager
def rich_progress(console: Console) -> Iterator[ProgressFactory]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:

        def factory(description: str, total: int) -> Advance:
            task = bar.add_task(description, total=total)
            return lambda: bar.advance(task)

        yield factory


# -- the command ---------------------------------------------------------------------------

bench_app = typer.Typer(
    name="bench",
    help="Load driver: N applications end to end on an embedded dev server of its own.",
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _stopped(signum: int, frame: object) -> None:
    """Stopped (kill, a CI timeout) as by Ctrl-C: its dev server and worker stop with it."""
    raise KeyboardInterrupt


@bench_app.callback(invoke_without_command=True)
def bench(
    applications: Annotated[int, typer.Option(min=1, help="Applications to drive.")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, help="Applications in flight at once.")] = 20,
    path: Annotated[BenchPath, typer.Option(help="How the applications go.")] = (
        BenchPath.COMMITMENT
    ),
    bundle: Annotated[str | None, typer.Option(help="Bundle code (default by path).")] = None,
    item: Annotated[str | None, typer.Option(help="Item code, instead of a bundle.")] = None,
    open_applications: Annotated[
        int, typer.Option(min=0, help="Applications left waiting on staff to weigh the worker.")
    ] = 1000,
    bare_workflows: Annotated[int, typer.Option(min=1, help="Bare workflows to drive.")] = 400,
    bare_concurrency: Annotated[
        int, typer.Option(min=1, help="Bare workflows in flight (enough to load the server).")
    ] = 100,
    database_url: Annotated[
        str | None, typer.Option(help="Store URL (default: a SQLite file in the temp dir).")
    ] = None,
    warmup: Annotated[
        int, typer.Option(min=0, help="Unmeasured runs first (imports, caches, connections).")
    ] = 5,
    profile: Annotated[
        Path | None,
        typer.Option(help="py-spy the worker in the timed phase; collapsed stacks to this file."),
    ] = None,
    passthrough: Annotated[
        list[str] | None,
        typer.Option(help="Experiment: modules the sandbox shares instead of re-importing."),
    ] = None,
    in_memory: Annotated[
        bool, typer.Option(help="Dev server without its SQLite file (the engine's best case).")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Write the report as JSON here.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    seed: Annotated[int, typer.Option(help="--path mixed: the mix's order and delays.")] = 18,
    staff_delay: Annotated[
        float, typer.Option(min=0, help="--path mixed: staff act after uniform(0, this) s.")
    ] = 2.0,
    rss_every: Annotated[
        float, typer.Option(min=0.1, help="--path mixed: sample the worker's RSS every N s.")
    ] = 5.0,
    stuck_after: Annotated[
        float, typer.Option(min=1, help="--path mixed: stuck if not ended N s after its last act.")
    ] = 120.0,
) -> None:
    """Run the bench and print (and write) its report."""
    if bundle and item:
        typer.echo("error: give --bundle or --item, not both", err=True)
        raise typer.Exit(2)
    if path is BenchPath.MIXED:  # the soak: its own driver and report (starter/bench_mixed.py)
        from starter.bench_mixed import MixedConfig, mixed_command

        signal.signal(signal.SIGTERM, _stopped)
        mixed = MixedConfig(
            applications=applications,
            concurrency=concurrency,
            seed=seed,
            staff_delay_s=staff_delay,
            rss_every_s=rss_every,
            stuck_after_s=stuck_after,
            database_url=database_url,
            in_memory_server=in_memory,
        )
        mixed_command(mixed, out=out, quiet=quiet)
        return
    config = BenchConfig(
        applications=applications,
        concurrency=concurrency,
        path=path,
        target=bundle or item,
        open_applications=open_applications,
        bare_workflows=bare_workflows,
        bare_concurrency=bare_concurrency,
        database_url=database_url,
        in_memory_server=in_memory,
        warmup=warmup,
        profile=profile,
        worker_passthrough=passthrough or [],
    )
    catalog = load_seed_catalog()
    target = config.chosen_target
    if target not in catalog.bundles and target not in catalog.items:
        typer.echo(f"error: {target!r} is neither a bundle nor an item of the catalog", err=True)
        raise typer.Exit(2)
    if (bundle and bundle not in catalog.bundles) or (item and item not in catalog.items):
        typer.echo(f"error: {target!r} is not a {'bundle' if bundle else 'item'}", err=True)
        raise typer.Exit(2)
    if path is BenchPath.DEFICIENCY:
        try:
            deferrable_material(catalog, target)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    console = Console()
    signal.signal(signal.SIGTERM, _stopped)
    given = sys.argv[1:]
    given = given[1:] if given[:1] == ["bench"] else given
    command = " ".join(["onething bench", *given])
    with contextlib.ExitStack() as stack:
        factory = _no_progress if quiet else stack.enter_context(rich_progress(console))
        report = asyncio.run(run_bench(config, progress=factory, command=command.strip()))
    console.print(report_table(report))
    console.print(targets_table(report))
    if out is not None:
        out.write_text(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2))
        console.print(f"report written to {out}")
