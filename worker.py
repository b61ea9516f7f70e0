"""The onething worker: every workflow, the central activities, and each department's queue.

Each item of an application runs on its department's task queue, `<task queue>.dept.<department>`,
with the activities that talk to the department's own systems (issuing and revoking its
licenses), so a department can run its worker beside its systems (`onething worker
--departments market,tax`); the item issues its license there as a local activity. The
applications and the central activities run on the workflows' queue. The embedded default
runs one process that serves every queue.

`python worker.py` (or `onething worker`) runs it against the configured Temporal.
"""

from __future__ import annotations

import asyncio
import compileall
import inspect
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.calendar import CalendarActivities
from activities.case_numbers import CaseNumberActivities
from activities.catalog import CatalogActivities, current_catalog
from activities.credit import CreditActivities
from activities.issuance_reports import IssuanceReports
from activities.license_terms import LicenseTermActivities, TermStarter
from activities.licensing import LicensingActivities
from activities.notify import NotifyActivities, Outlet
from activities.ratings import RatingActivities
from activities.read_model import ReadModelActivities
from activities.reception import ReceptionActivities
from activities.supervision import SupervisionActivities
from activities.tasks import TaskActivities
from domain.calendar import WorkingCalendar
from onething.case_facts import refresh
from onething.sandbox import CompiledOnceSandbox
from onething.settings import DEFAULT_CACHED_WORKFLOWS
from workflows.application import ApplicationWorkflow
from workflows.common import department_queue_of
from workflows.item import ItemWorkflow
from workflows.license_term import LicenseTermWorkflow
from workflows.rating_follow_up import RatingFollowUpWorkflow
from workflows.read_model_refresh import ReadModelRefreshWorkflow

if TYPE_CHECKING:
    from structlog.stdlib import BoundLogger

    from onething.settings import Settings

WORKFLOWS: list[type] = [
    ApplicationWorkflow,
    ItemWorkflow,
    LicenseTermWorkflow,
    RatingFollowUpWorkflow,
    ReadModelRefreshWorkflow,
]

# The sandbox re-imports workflow modules for every run; these hold no state a run could
# leak into another (pure models, constants, the clock helper), so they are shared. This
# took about a quarter of the worker's CPU under load (see docs/performance.md).
SHARED_WITH_THE_SANDBOX = (
    "domain",
    "activities",
    "workflows.clock",
    "workflows.common",
    "workflows.search_attributes",
)


def workflow_runner(*also_shared: str) -> SandboxedWorkflowRunner:
    """The worker's sandbox; `also_shared`: more modules to share (a bench experiment)."""
    return CompiledOnceSandbox(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            *SHARED_WITH_THE_SANDBOX, *also_shared
        )
    )


_worker_sandbox = workflow_runner  # build_workers' argument of that name hides the function


MAX_CONCURRENT_ACTIVITIES = 32


def compile_workflow_modules() -> None:
    """The sandbox imports the workflow modules afresh for every new workflow: from
    bytecode in about a third of the time it takes to compile their source, which is what
    it does where none was written (PYTHONDONTWRITEBYTECODE=1). Write it once, here; the
    image has it already, and a read-only tree just keeps compiling."""
    compileall.compile_dir(Path(inspect.getfile(ItemWorkflow)).parent, quiet=2)


def central_activities(
    engine: Engine, calendar_overrides: Path | None = None, delivery: Outlet | None = None
) -> list[Any]:
    """Activities of the service center's own systems, on the workflows' queue."""
    catalog, credit, notify = (
        CatalogActivities(engine),
        CreditActivities(engine, outlet=delivery),
        NotifyActivities(engine, delivery),
    )
    calendar = CalendarActivities(calendar_overrides)
    inbox, supervision = TaskActivities(engine, calendar), SupervisionActivities(engine)
    terms = LicenseTermActivities(engine, calendar, delivery)
    ratings = RatingActivities(engine, calendar)
    return [
        ReceptionActivities(catalog, credit).receive_application,
        catalog.pin_catalog,
        CaseNumberActivities(engine, delivery).assign_case_number,
        credit.credit_standing,
        credit.record_credit,
        notify.notify,
        inbox.open_staff_task,
        inbox.close_task,
        supervision.open_case,
        supervision.refer_case,
        calendar.compute_schedule,
        terms.plan_license_term,
        terms.accept_renewal,
        terms.conclude_license_term,
        ratings.open_follow_up,
        ratings.follow_up_due,
        ratings.conclude_follow_up,
    ]


def read_model_activities(
    client: Client, engine: Engine, calendar_overrides: Path | None = None
) -> list[Any]:
    """The KPI read model's scheduled refresh: it reads histories through the client."""
    calendar = WorkingCalendar.from_file(calendar_overrides)
    return [ReadModelActivities(partial(refresh, client, engine, calendar)).refresh_read_model]


def department_activities(
    engine: Engine,
    delivery: Outlet | None = None,
    terms: TermStarter | None = None,
    public_url: str = "",
    reports: IssuanceReports | None = None,
) -> list[Any]:
    """Activities of a department's licensing system; `terms` starts a license's term;
    `public_url`: where the public verifies a license (its documents say so); `reports`
    tells an application of a license issued before its item ends."""
    licensing = LicensingActivities(engine, delivery, terms, public_url)
    told = [reports.report_issued] if reports is not None else []
    return [licensing.issue_license, licensing.revoke_license, *told]


@dataclass(frozen=True)
class CacheShares:
    central: int
    department: int


MIN_CACHED_PER_WORKER = 2
"""The SDK keeps a worker's workflow tasks in hand at or under its cache size. With a cache
of 1 it polls one queue at a time, so while its poll waits on the task queue nothing polls
its sticky queue, and each task sent there waits out the 10 s schedule-to-start timeout
(measured: 2 to 5 such timeouts in every 5 applications at a department worker with 1)."""


def cache_shares(budget: int, *, central: bool, departments: int) -> CacheShares:
    """The process's workflow cache (`ONETHING_MAX_CACHED_WORKFLOWS`) shared by its workers:
    half for the workflows' queue (applications, terms), half for the departments' (items),
    evenly; a process serving only one side gives it the whole. Each worker keeps at least
    `MIN_CACHED_PER_WORKER`, above the budget if it is that small."""
    if not departments:
        return CacheShares(central=max(MIN_CACHED_PER_WORKER, budget), department=0)
    for_departments = budget // 2 if central else budget
    return CacheShares(
        central=max(MIN_CACHED_PER_WORKER, budget - for_departments) if central else 0,
        department=max(MIN_CACHED_PER_WORKER, for_departments // departments),
    )


def all_departments(engine: Engine) -> list[str]:
    return sorted({item.department for item in current_catalog(engine).items.values()})


def build_workers(
    client: Client,
    task_queue: str,
    engine: Engine,
    *,
    workflows: bool = True,
    departments: Iterable[str] | None = None,
    calendar_overrides: Path | None = None,
    delivery: Outlet | None = None,
    workflow_runner: WorkflowRunner | None = None,
    max_cached_workflows: int = DEFAULT_CACHED_WORKFLOWS,
    public_url: str = "",
) -> list[Worker]:
    """Workers for the workflows' queue (with the central activities) and department queues.

    `departments=None` serves every department of the catalog. `delivery` (a running
    `onething.delivery.Deliverer`): notices get deliveries; None: the outbox only.
    `workflow_runner`: the sandbox the workflows run in (default: the worker's own).
    `max_cached_workflows`: workflows kept in memory, the bound on the worker's memory
    (`ONETHING_MAX_CACHED_WORKFLOWS`); the others replay their history at their next task.
    `public_url`: the center's public address (`Settings.public_base_url`), where a license's
    documents send the public to verify it.
    """
    executor = ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES)
    # A license with a validity gets its term workflow on the workflows' queue.
    terms = TermStarter(client, task_queue)
    reports = IssuanceReports(client)
    departments = all_departments(engine) if departments is None else list(departments)
    runner = workflow_runner or _worker_sandbox()
    caches = cache_shares(max_cached_workflows, central=workflows, departments=len(departments))
    central = central_activities(engine, calendar_overrides, delivery)
    if workflows or departments:
        compile_workflow_modules()
    workers = []
    if workflows:
        workers.append(
            Worker(
                client,
                task_queue=task_queue,
                workflows=WORKFLOWS,
                workflow_runner=runner,
                max_cached_workflows=caches.central,
                activities=[*central, *read_model_activities(client, engine, calendar_overrides)],
                activity_executor=executor,
                max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
            )
        )
    for department in departments:
        # The department's items run here, beside its systems (ITEMS_AT_DEPARTMENTS): its
        # licenses are issued locally; the central systems they use locally too.
        workers.append(
            Worker(
                client,
                task_queue=department_queue_of(task_queue, department),
                workflows=[ItemWorkflow],
                workflow_runner=runner,
                max_cached_workflows=caches.department,
                activities=[
                    *central,
                    *department_activities(engine, delivery, terms, public_url, reports),
                ],
                activity_executor=executor,
                max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
            )
        )
    return workers


@asynccontextmanager
async def running(workers: list[Worker]) -> AsyncIterator[list[Worker]]:
    """Run the workers for the duration of the block; shut down gracefully on exit."""
    async with AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        yield workers


async def run_worker(*, workflows: bool = True, departments: list[str] | None = None) -> None:
    from onething.delivery import Deliverer, DeliveryPlan, HistoryContacts
    from onething.runtime import open_runtime

    async with open_runtime() as runtime:
        known = all_departments(runtime.engine)
        unknown = sorted(set(departments or ()) - set(known))
        if unknown:
            raise SystemExit(f"error: --departments: unknown {unknown}; known: {', '.join(known)}")
        # Every worker records notices (a department's items and licenses too), so each runs
        # a delivery loop; the loops claim rows for a lease, so they share the outbox.
        plan = DeliveryPlan.from_settings(runtime.settings)
        deliverer = (
            Deliverer(runtime.engine, plan, HistoryContacts(runtime.client))
            if plan.enabled
            else None
        )
        workers = build_workers(
            runtime.client,
            runtime.settings.task_queue,
            runtime.engine,
            workflows=workflows,
            departments=departments,
            calendar_overrides=runtime.settings.calendar_overrides,
            delivery=deliverer,
            max_cached_workflows=runtime.settings.max_cached_workflows,
            public_url=runtime.settings.public_base_url,
        )
        runtime.log.info(
            "worker started",
            task_queues=[w.task_queue for w in workers],
            delivery=plan.describe() if deliverer else "outbox only",
        )
        chores = [deliverer.run()] if deliverer else []
        if workflows:  # what a crash between the store and Temporal left undone
            chores.append(
                reconcile_ratings(
                    runtime.client, runtime.settings.task_queue, runtime.engine, runtime.log
                )
            )
            chores.append(keep_read_model_schedule(runtime.client, runtime.settings, runtime.log))
        await asyncio.gather(*(w.run() for w in workers), *chores)


async def reconcile_ratings(
    client: Client, task_queue: str, engine: Engine, log: BoundLogger
) -> None:
    """Beside the workers, never before them: a failure is logged, the worker runs on, and
    the next start tries again (it is idempotent)."""
    from onething.rating_follow_ups import FollowUps

    try:
        follow_ups = FollowUps(client, task_queue, engine, current_catalog(engine))
        log.info("ratings reconciled", open_follow_ups=await follow_ups.reconcile())
    except Exception as exc:  # the worker's job comes first
        log.error("ratings not reconciled", error=type(exc).__name__)


async def keep_read_model_schedule(client: Client, settings: Settings, log: BoundLogger) -> None:
    """Beside the workers, like the reconciliation: a failure is logged, the next start
    tries again."""
    from onething.read_model_schedule import keep_schedule

    seconds = settings.report_refresh_seconds
    try:
        done = await keep_schedule(client, settings.task_queue, seconds)
        log.info("read model refresh schedule", state=done, every_seconds=seconds)
    except Exception as exc:  # the worker's job comes first
        log.error("read model refresh schedule not kept", error=type(exc).__name__)


if __name__ == "__main__":
    asyncio.run(run_worker())
