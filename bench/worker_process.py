"""The worker in a process of its own, so its CPU and memory are its own to measure: the
production worker (`worker.build_workers`, in the sandbox the run asks for) or the bare
workflow's."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import py_compile
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from bench.bare import BareWorkflow, bare_activity
from onething.codec import EncryptionCodec, Keyring
from onething.settings import DEFAULT_CACHED_WORKFLOWS
from onething.temporal import data_converter
from store.db import make_engine

_WORKER_ENV = "ONETHING_BENCH_WORKER"
_ENTRY = "from bench.worker_process import worker_main; worker_main()"


class WorkerSpec(BaseModel):
    kind: str  # "onething": the production worker (build_workers); "bare", "twin" (bench/)
    address: str
    task_queue: str
    store_url: str = ""
    keyring: str  # JSON of the payload keyring, shared with the driver
    ready_file: str
    passthrough: list[str] = []  # an experiment: modules the sandbox shares, not re-imports
    max_cached_workflows: int = DEFAULT_CACHED_WORKFLOWS  # the worker's sticky cache


def worker_main() -> None:
    """Entry point of the worker process (`python -c 'from bench.worker_process import
    worker_main; worker_main()'`); its spec comes in the environment."""
    spec = WorkerSpec.model_validate_json(os.environ[_WORKER_ENV])
    asyncio.run(_serve(spec))


async def _serve(spec: WorkerSpec) -> None:
    from worker import build_workers, running, workflow_runner

    codec = EncryptionCodec(Keyring.from_json(spec.keyring))
    client = await Client.connect(spec.address, data_converter=data_converter(codec))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if spec.kind == "onething":
        # The experiment: the production sandbox sharing more modules (`--passthrough`).
        runner = workflow_runner(*spec.passthrough)
        workers = build_workers(
            client,
            spec.task_queue,
            make_engine(spec.store_url),
            workflow_runner=runner,
            max_cached_workflows=spec.max_cached_workflows,
        )
    elif spec.kind == "twin":
        workers = twin_workers(client, spec)
    else:
        # The bare workflow's module is shared: the engine's cost, not an import's.
        bare = SandboxRestrictions.default.with_passthrough_modules(BareWorkflow.__module__)
        workers = [
            Worker(
                client,
                task_queue=spec.task_queue,
                workflows=[BareWorkflow],
                activities=[bare_activity],
                workflow_runner=SandboxedWorkflowRunner(restrictions=bare),
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


def twin_workers(client: Client, spec: WorkerSpec) -> list[Worker]:
    """The twin's workers as ours are built: one for the workflows' queue and one for each
    department's, in the worker's own sandbox, with the same shares of the same cache."""
    from bench.twin import TwinActivities, TwinApplication, TwinItem, TwinTerm
    from worker import all_departments, cache_shares, workflow_runner
    from workflows.common import department_queue_of

    py_compile.compile(inspect.getfile(TwinItem))  # as ours: bytecode, not source, each time
    departments = all_departments(make_engine(spec.store_url))
    caches = cache_shares(spec.max_cached_workflows, central=True, departments=len(departments))
    twin = TwinActivities(client, spec.task_queue)
    activities = [twin.step, twin.issue, twin.report]
    runner = workflow_runner()
    central = Worker(
        client,
        task_queue=spec.task_queue,
        workflows=[TwinApplication, TwinTerm],
        activities=activities,
        workflow_runner=runner,
        max_cached_workflows=caches.central,
    )
    return [central] + [
        Worker(
            client,
            task_queue=department_queue_of(spec.task_queue, department),
            workflows=[TwinItem],
            activities=activities,
            workflow_runner=runner,
            max_cached_workflows=caches.department,
        )
        for department in departments
    ]


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
                [sys.executable, "-c", _ENTRY],
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
        return process_cpu(self.pid)

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


def process_cpu(pid: int) -> float:
    """User and system CPU seconds of a process so far."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


ThreadCPU = dict[int, tuple[str, float, float]]  # thread id: (name, user s, system s)


def thread_cpu(pid: int) -> ThreadCPU:
    """Each thread's name (Linux's, 15 characters) and user and system CPU seconds so far."""
    import psutil

    found: ThreadCPU = {}
    for thread in psutil.Process(pid).threads():
        try:
            name = Path(f"/proc/{pid}/task/{thread.id}/comm").read_text().strip()
        except OSError:  # ended meanwhile, or not Linux
            name = "?"
        found[thread.id] = (name, thread.user_time, thread.system_time)
    return found


def cpu_by_thread_kind(before: ThreadCPU, after: ThreadCPU, *, main: int) -> dict[str, list[float]]:
    """CPU seconds spent between two readings, [user, system], by kind of thread: the event
    loop (the main thread), the SDK's core (Rust: `tokio-*`), the other Python threads
    (activities, workflow activations), and any other by its name."""
    spent: dict[str, list[float]] = {}
    for tid, (name, user, system) in after.items():
        _, user0, system0 = before.get(tid, (name, 0.0, 0.0))
        if tid == main:
            kind = "event loop (main thread)"
        elif name.startswith("tokio"):
            kind = "SDK core (Rust threads)"
        elif name == "python":
            kind = "other Python threads (activities, workflow activations)"
        else:
            kind = name
        total = spent.setdefault(kind, [0.0, 0.0])
        total[0] += user - user0
        total[1] += system - system0
    return spent


def threads_file(stacks: Path) -> Path:
    """Where the profile's CPU by kind of thread goes, beside its stacks."""
    return stacks.with_name(stacks.name + ".threads.json")
