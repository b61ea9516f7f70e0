"""What every onething workflow shares: activity options, queues, the decision trail."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar, overload

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.credit import CreditActivities
    from activities.notify import Notice, NotifyActivities
    from activities.supervision import SupervisionActivities
    from domain.application import TrailEntry

T = TypeVar("T")

ACTIVITY_TIMEOUT = timedelta(seconds=10)
# Store and department systems may be down for a while: retry with backoff, never give up.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)


# The service center's own systems (the store, the calendar, the outbox) answer from the
# worker's process in milliseconds: as local activities each costs one marker in history
# instead of a round trip through the server (six events, a task dispatch each way).
# Department systems stay activities on their own queues. The application asks this patch
# once and hands the answer to its items (`ItemCase.central_activities_local`): every patch
# marker also upserts a search attribute, a billable action. Histories begun before the
# change replay their remote activities.
CENTRAL_ACTIVITIES_LOCAL = "central-activities-local"
# Kept as activities all the same: the decision trail reads their input from history (a
# local activity's marker keeps only its result). They are rare: a broken pledge, a
# revocation, an escalation. The legal clock's own activities stay activities too.
ON_THE_RECORD: frozenset[Callable[..., Any]] = frozenset(
    {CreditActivities.record_credit, SupervisionActivities.open_case}
)


# One patch for this revision of the procedure (each patch marker also costs a search-attribute
# upsert, a billable action). Asked once by the application, handed to its items
# (`ItemCase.revised`); histories begun before keep their old behaviour throughout. It covers:
# - state at once: an issued license reaches the application at once; a withdrawal or
#   cancellation changes its status when accepted; a decision answers with the state after
#   it; an application whose every license was revoked ends revoked; system events are the
#   system's; a clerk acting for the applicant is recorded as such; trail texts in local time.
PROCEDURE_REVISION = "procedure-revision-2026-12"

# An applicant with a unified social credit code has its credit looked up and recorded under
# the code (the enterprise's record), no longer under its representative's ID number. Asked
# only for such an applicant, so no other application pays for the marker; one that began
# before keeps the subject it was looked up under.
CREDIT_BY_CODE = "credit-subject-by-code"

# Less work per application (issue 18). Asked first, once, by the application and handed to
# its items (`ItemCase.fewer_events`); it implies the three patches above, which are then not
# asked (each asked patch is a marker and a search-attribute upsert). It covers:
# - an item tells the application of its license by signal only when it goes on after
#   issuing (an inspection after issuance): otherwise its completion, moments later,
#   carries the license;
# - the statutory limit sets no timer of its own while the running step's timer fires at
#   or before its next boundary: that timer wakes it.
FEWER_EVENTS = "fewer-events-2026-12"

# Each item runs on its department's task queue (issue 18), asked first by the application
# and implying the patches above. The department's worker then runs the item's workflow and
# issues its license there, as a local activity: one marker instead of a round trip through
# the server (six events and a workflow task), on the path to every license. The item's
# other activities keep their place: the central systems locally as before, the clock's and
# those on the record on the workflows' queue (`ItemCase.central_queue`). The item's clocks
# also refresh a provisional schedule on whole weeks from their start (`anchored_refresh`).
ITEMS_AT_DEPARTMENTS = "items-at-departments-2026-12"

# Lighter item histories (issue 18), asked first by the application and implying the patches
# above; handed to its items (`ItemCase.lighter`). It covers:
# - an item that goes on after issuing (an inspection after issuance) has its department's
#   system tell the application of the license, as a local activity beside the issuing one:
#   one marker in the workflow task that issues, where a signal from the workflow was two
#   events and a workflow task of its own (five events) before the inspection could open;
# - a step's timer is left to lapse when its decision ends the item: the item's completion
#   discards it, where a cancellation was one more event. The item drops it first if it
#   goes on to wait for someone again.
LIGHTER_HISTORIES = "lighter-histories-2026-12"


def central_activities_local() -> bool:
    """Whether the running workflow reaches the central systems by local activities."""
    return bool(getattr(workflow.instance(), "central_activities_local", False))


def department_queue_of(task_queue: str, department: str) -> str:
    """The task queue of a department's own systems, beside the workflows' `task_queue`."""
    return f"{task_queue}.dept.{department}"


def central_queue() -> str:
    """Inside a workflow: the workflows' queue, where the central activities run remotely;
    an item at its department's queue was told it (`ItemCase.central_queue`)."""
    told: str | None = getattr(workflow.instance(), "central_queue", None)
    return told or workflow.info().task_queue


def department_queue(department: str) -> str:
    """Inside a workflow: the department's queue beside the workflows' own."""
    return department_queue_of(central_queue(), department)


def at_department(department: str) -> bool:
    """Whether this workflow runs on the department's queue, beside its systems. From the
    workflow's input, not `workflow.info().task_queue`: a replayer runs on a queue of its own."""
    return getattr(workflow.instance(), "department_here", None) == department


@overload
async def run_activity(
    fn: Callable[..., Awaitable[T]], arg: Any, *, summary: str, task_queue: str | None = None
) -> T: ...
@overload
async def run_activity(
    fn: Callable[..., T], arg: Any, *, summary: str, task_queue: str | None = None
) -> T: ...
async def run_activity(
    fn: Callable[..., Any], arg: Any, *, summary: str, task_queue: str | None = None
) -> Any:
    """Run an activity method with the shared timeout and retry policy: a central one (no
    `task_queue`) locally unless it is on the record, a department's on its queue."""
    if task_queue is None and fn not in ON_THE_RECORD and central_activities_local():
        return await _run_locally(fn, arg, summary=summary)
    return await workflow.execute_activity_method(
        fn,
        arg,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=ACTIVITY_RETRY,
        task_queue=task_queue or central_queue(),
        summary=summary,
    )


@overload
async def run_department_activity(
    fn: Callable[..., Awaitable[T]], arg: Any, *, department: str, summary: str
) -> T: ...
@overload
async def run_department_activity(
    fn: Callable[..., T], arg: Any, *, department: str, summary: str
) -> T: ...
async def run_department_activity(
    fn: Callable[..., Any], arg: Any, *, department: str, summary: str
) -> Any:
    """Run a department system's activity: locally when this workflow runs at that
    department's queue (`ITEMS_AT_DEPARTMENTS`), else on the department's queue."""
    if at_department(department):
        return await _run_locally(fn, arg, summary=summary)
    return await run_activity(fn, arg, summary=summary, task_queue=department_queue(department))


async def _run_locally(fn: Callable[..., Any], arg: Any, *, summary: str) -> Any:
    return await workflow.execute_local_activity_method(
        fn,
        arg,
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=ACTIVITY_RETRY,
        summary=summary,
    )


async def notify(application_id: str, recipient: str, kind: str, message: str, *, key: str) -> None:
    """Record a notice in the outbox; `key` makes a replayed or retried notice one notice."""
    await run_activity(
        NotifyActivities.notify,
        Notice(
            key=f"{workflow.info().workflow_id}/{key}",
            application_id=application_id,
            recipient=recipient,
            kind=kind,
            message=message,
            at=workflow.now(),
        ),
        summary=f"notify {recipient}: {kind}",
    )


class Trail:
    """The decision trail: who decided what, when, under which rule."""

    def __init__(self) -> None:
        self.entries: list[TrailEntry] = []

    def record(
        self,
        action: str,
        *,
        actor: str = "system",
        role: str = "system",
        item_code: str | None = None,
        rule: str | None = None,
        detail: str | None = None,
        on_behalf_of: str | None = None,
    ) -> None:
        self.entries.append(
            TrailEntry(
                at=workflow.now(),
                action=action,
                actor=actor,
                role=role,
                item_code=item_code,
                rule=rule,
                detail=detail,
                on_behalf_of=on_behalf_of,
            )
        )
