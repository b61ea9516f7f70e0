"""The typed client backend services use to start and drive applications.

Bad input is refused here, before anything reaches workflow history, with an error
that names the field and the problem.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Engine
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryReverseRequest,
    TerminateWorkflowExecutionRequest,
)
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.common import WorkflowIDReusePolicy as ReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from domain.application import (
    ApplicationOutcome,
    ApplicationState,
    ApplicationStatus,
    Cancellation,
    Correction,
    ExtensionReceipt,
    InspectionReport,
    ItemOutcome,
    ItemState,
    ItemStatus,
    LimitExtension,
    Refusal,
    ReviewDecision,
    Submission,
    Supplement,
    Termination,
    Withdrawal,
    application_workflow_id,
    item_workflow_id,
)
from domain.bundle import OneForm, as_bundle, one_form, one_set_of_materials
from domain.catalog import Catalog
from domain.catalog_models import Item
from domain.excluded_time import ExcludedTimeEnd, ExcludedTimeStart
from domain.form import form_problems
from domain.people import Role, Staff
from onething.codec import KEYS_FILE_ENV, DecryptionError, EncryptionCodec, UnknownKeyError
from store import tasks as tasks_store
from store.tasks import StaffTask
from workflows import search_attributes as sa
from workflows.application import ApplicationWorkflow
from workflows.item import ItemWorkflow

P = TypeVar("P")
R = TypeVar("R")
# A workflow's update handler, as its class has it: (self, argument) -> result.
UpdateMethod = UpdateMethodMultiParam[[Any, P], R]


class ClientError(Exception):
    """Refused input or state: `field` names what is wrong, the message says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Invalid(ClientError):
    """Refused input with every problem found, each naming its field (never the value)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__(*problems[0])
        self.problems = list(problems)
        self.args = ("; ".join(f"{f}: {p}" for f, p in self.problems),)


class NotFound(ClientError):
    pass


class Conflict(ClientError):
    """The request does not fit the application's current state."""


class Unanswered(ClientError):
    """Not the rules but the service: no worker carried the request out in time, or the
    workers failed on it. The message says whether it may still be carried out."""


ANSWER_WITHIN = timedelta(seconds=30)
"""How long a request to a running workflow waits for a worker to carry it out."""


_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def _named(code: str) -> str:
    """A code as an error may repeat it: catalog-shaped, it is no one's data; else nothing."""
    return f"{code!r} " if _CODE.fullmatch(code) else ""


@dataclass(frozen=True)
class SubmitReceipt:
    application_id: str
    workflow_id: str
    created: bool  # False: this application ID was submitted before; nothing new started


class OnethingClient:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        catalog: Catalog,
        *,
        answer_within: timedelta = ANSWER_WITHIN,
    ) -> None:
        self.temporal = client
        self.task_queue = task_queue
        self.catalog = catalog
        self.answer_within = answer_within
        self._forms: dict[tuple[str, str], OneForm] = {}

    # -- the window -----------------------------------------------------------------------

    def check(self, submission: Submission) -> list[Item]:
        """Refuse what the catalog does not know, and a form that is not the one form of
        the item or bundle, before anything is started. Errors name the field and never
        repeat the value sent."""
        field = "bundle_code" if submission.bundle_code else "item_code"
        if (
            submission.bundle_code is not None
            and submission.bundle_code not in self.catalog.bundles
        ):
            raise NotFound(
                field,
                f"{_named(submission.target)}is not a bundle of catalog {self.catalog.version}",
            )
        if submission.item_code is not None and submission.item_code not in self.catalog.items:
            raise NotFound(
                field,
                f"{_named(submission.target)}is not an item of catalog {self.catalog.version}",
            )
        if submission.catalog_version not in (None, self.catalog.version):
            raise ClientError(
                "catalog_version",
                f"new applications pin the current version {self.catalog.version}",
            )
        bundle = as_bundle(self.catalog, submission.target)
        items = [self.catalog.item(code) for code in bundle.order()]
        known = one_set_of_materials(self.catalog, bundle).codes
        problems = [
            (f"materials[{index}]", f"{_named(code)}is not a material of {submission.target}")
            for index, code in enumerate(submission.materials)
            if code not in known
        ]
        if submission.hall not in self.catalog.halls:
            problems.append(("hall", f"{_named(submission.hall)}is not a hall of this center"))
        problems += form_problems(self.one_form(submission.target), submission.form)
        if problems:
            raise Invalid(problems)
        return items

    def one_form(self, target: str) -> OneForm:
        """The one form of an item or bundle of this client's catalog (kept per target)."""
        key = (self.catalog.version, target)
        if key not in self._forms:
            self._forms[key] = one_form(self.catalog, as_bundle(self.catalog, target))
        return self._forms[key]

    async def submit(self, submission: Submission) -> SubmitReceipt:
        """Start the application; the same application ID never starts a second one."""
        items = self.check(submission)
        workflow_id = application_workflow_id(submission.application_id)
        attributes = TypedSearchAttributes(
            [
                SearchAttributePair(sa.APPLICATION_STATUS, "submitted"),
                SearchAttributePair(sa.ITEMS, [item.code for item in items]),
                SearchAttributePair(sa.DEPARTMENTS, sorted({item.department for item in items})),
                SearchAttributePair(sa.HALL, submission.hall),
                SearchAttributePair(sa.CHANNEL, submission.channel.value),
                SearchAttributePair(
                    sa.CATALOG_VERSION, submission.catalog_version or self.catalog.version
                ),
                SearchAttributePair(sa.ESCALATED, False),
                *(
                    [SearchAttributePair(sa.BUNDLE, submission.bundle_code)]
                    if submission.bundle_code
                    else []
                ),
            ]
        )
        names = "、".join(item.name for item in items)
        try:
            await self.temporal.start_workflow(
                ApplicationWorkflow.run,
                submission,
                id=workflow_id,
                task_queue=self.task_queue,
                id_reuse_policy=ReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=attributes,
                static_summary=f"申请 {submission.application_id}: {names}",
                static_details=(
                    f"事项 {submission.target} · 大厅 {submission.hall}"
                    f" · 渠道 {submission.channel.value}"
                ),
            )
        except WorkflowAlreadyStartedError:
            return SubmitReceipt(submission.application_id, workflow_id, created=False)
        return SubmitReceipt(submission.application_id, workflow_id, created=True)

    # -- reading --------------------------------------------------------------------------

    def _application(
        self, application_id: str
    ) -> WorkflowHandle[ApplicationWorkflow, ApplicationOutcome]:
        return self.temporal.get_workflow_handle_for(
            ApplicationWorkflow.run, application_workflow_id(application_id)
        )

    async def state(self, application_id: str) -> ApplicationState:
        try:
            return await self._application(application_id).query(ApplicationWorkflow.state)
        except RPCError as exc:
            raise _translate(exc, "application_id", application_id) from exc

    async def item_state(self, application_id: str, item_code: str) -> ItemState:
        # By ID, not get_workflow_handle_for(ItemWorkflow.run): mypy cannot infer that overload's
        # self type for a workflow class assembled from several bases.
        handle = self.temporal.get_workflow_handle(
            item_workflow_id(application_id, item_code), result_type=ItemOutcome
        )
        try:
            return await handle.query(ItemWorkflow.state)
        except RPCError as exc:
            raise _translate(exc, "item_code", f"{application_id}/{item_code}") from exc

    async def result(
        self, application_id: str, rpc_timeout: timedelta | None = None
    ) -> ApplicationOutcome:
        handle = self._application(application_id)
        try:
            return await handle.result(rpc_timeout=rpc_timeout)
        except WorkflowFailureError as exc:
            raise Conflict(
                "application_id", f"{application_id} ended without a result: {exc.cause}"
            ) from exc
        except RPCError as exc:
            raise _translate(exc, "application_id", application_id) from exc

    async def is_open(self, application_id: str) -> bool:
        description = await self._application(application_id).describe()
        return description.status == WorkflowExecutionStatus.RUNNING

    # -- staff ----------------------------------------------------------------------------

    async def decide(
        self, application_id: str, item_code: str, decision: ReviewDecision
    ) -> ItemStatus:
        """A reviewer approves, rejects, or asks for a correction."""
        return await self._update_item(application_id, item_code, ItemWorkflow.decide, decision)

    async def correct(
        self, application_id: str, item_code: str, correction: Correction
    ) -> ItemStatus:
        """The applicant's answer to a correction request; the item's clock resumes."""
        return await self._update_item(application_id, item_code, ItemWorkflow.correct, correction)

    async def inspect(
        self, application_id: str, item_code: str, report: InspectionReport
    ) -> ItemStatus:
        """An inspector records the on-site inspection."""
        return await self._update_item(application_id, item_code, ItemWorkflow.inspect, report)

    async def extend(
        self, application_id: str, item_code: str, extension: LimitExtension
    ) -> ExtensionReceipt:
        """The head of the item's department extends its running limit, once (Art. 42)."""
        return await self._update_item(application_id, item_code, ItemWorkflow.extend, extension)

    async def exclude_time(
        self, application_id: str, item_code: str, start: ExcludedTimeStart
    ) -> ItemStatus:
        """Excluded time (Art. 45) starts: the item's running limits pause."""
        return await self._update_item(application_id, item_code, ItemWorkflow.exclude_time, start)

    async def end_excluded_time(
        self, application_id: str, item_code: str, end: ExcludedTimeEnd
    ) -> ItemStatus:
        """Excluded time ends with its result: the limits run again."""
        return await self._update_item(
            application_id, item_code, ItemWorkflow.end_excluded_time, end
        )

    async def supplement(self, application_id: str, supplement: Supplement) -> list[str]:
        """Materials arrive: for a correction (补正) or deficient ones (容缺); returns the
        codes still awaited."""
        return await self._update_application(
            application_id, ApplicationWorkflow.supplement, supplement
        )

    async def extend_joint_limit(
        self, application_id: str, extension: LimitExtension
    ) -> ExtensionReceipt:
        """A bundle's joint limit, once by up to 15 working days (Art. 42 (2))."""
        # An async handler (it notifies the applicant): the same update as the others.
        update = cast(
            UpdateMethod[LimitExtension, ExtensionReceipt], ApplicationWorkflow.extend_joint_limit
        )
        return await self._update_application(application_id, update, extension)

    async def refuse(self, application_id: str, refusal: Refusal) -> ApplicationStatus:
        """不予受理 by a window clerk, before acceptance, on one of its two legal grounds."""
        return await self._update_application(application_id, ApplicationWorkflow.refuse, refusal)

    async def withdraw(self, application_id: str, withdrawal: Withdrawal) -> ApplicationStatus:
        return await self._update_application(
            application_id, ApplicationWorkflow.withdraw, withdrawal
        )

    async def cancel(self, application_id: str, cancellation: Cancellation) -> ApplicationStatus:
        return await self._update_application(
            application_id, ApplicationWorkflow.cancel, cancellation
        )

    async def terminate(self, application_id: str, termination: Termination) -> str:
        """An operator ends an application whose workflow cannot run (it answers no query,
        takes no update, so it cannot be cancelled); its items end with it. History
        records the reason naming the operator, and the operator as the identity.
        NotFound for an unknown application, Conflict once it has closed. Returns the
        workflow ID."""
        workflow_id = application_workflow_id(application_id)
        service = self.temporal.workflow_service
        execution = WorkflowExecution(workflow_id=workflow_id)
        status = await self._status(execution)
        if status is WorkflowExecutionStatus.RUNNING:
            try:
                # Not the SDK's handle.terminate: that records this process as the identity.
                await service.terminate_workflow_execution(
                    TerminateWorkflowExecutionRequest(
                        namespace=self.temporal.namespace,
                        workflow_execution=execution,
                        reason=termination.history_reason(),
                        identity=termination.operator.staff_id,
                    )
                )
                return workflow_id
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
                status = await self._status(execution)  # it closed in the meantime
        if status is None:
            raise NotFound("application_id", f"{application_id} does not exist")
        raise Conflict(
            "status", f"{application_id} is {status.name.lower()}: nothing more can be done"
        )

    async def _status(self, execution: WorkflowExecution) -> WorkflowExecutionStatus | None:
        """The latest run's status, or None when there is no such workflow."""
        try:
            described = await self.temporal.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=self.temporal.namespace, execution=execution
                )
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        return WorkflowExecutionStatus(described.workflow_execution_info.status)

    async def _update_application(
        self, application_id: str, update: UpdateMethod[P, R], arg: P
    ) -> R:
        handle = self._application(application_id)
        return await _execute_update(
            handle, update, arg, "application_id", application_id, self.answer_within
        )

    async def _update_item(
        self, application_id: str, item_code: str, update: UpdateMethod[P, R], arg: P
    ) -> R:
        handle = self.temporal.get_workflow_handle(item_workflow_id(application_id, item_code))
        return await _execute_update(
            handle, update, arg, "item_code", f"{application_id}/{item_code}", self.answer_within
        )


async def _execute_update(
    handle: WorkflowHandle[Any, Any],
    update: UpdateMethod[P, R],
    arg: P,
    field: str,
    value: str,
    within: timedelta = ANSWER_WITHIN,
) -> R:
    """Run the Update; a refusal by its validator never enters history and becomes a
    Conflict; a worker that does not answer within `within`, or fails on it, Unanswered."""
    running = asyncio.ensure_future(handle.execute_update(update, arg))
    if not await _done_within(running, within):
        raise Unanswered(
            "worker",
            f"no worker carried this request to {value} out within {within.total_seconds():g} s"
            " (is a onething worker running?); it may still be carried out when one runs,"
            " so read the status before sending it again",
        )
    try:
        return running.result()
    except WorkflowUpdateFailedError as exc:
        raise _refused(exc, field) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND and (closed := await _closed_as(handle)):
            raise Conflict("status", f"{value} is {closed}: nothing more can be done") from exc
        if _workers_failing(exc):
            raise Unanswered("worker", await _why_workers_fail(handle)) from exc
        raise _translate(exc, field, value) from exc


async def _done_within(task: asyncio.Future[Any], within: timedelta) -> bool:
    """Whether `task` ended within `within`; if not, it is cancelled. (The SDK turns the
    cancellation of an Update call into an error of its own, so `wait_for` cannot tell
    our deadline from another.)"""
    try:
        await asyncio.wait({task}, timeout=within.total_seconds())
    finally:
        late = not task.done()
        if late:  # our deadline, or our caller cancelled
            task.cancel()
            await asyncio.wait({task})
            if not task.cancelled():
                task.exception()  # retrieved: the SDK's own error for the cancellation
    return not late


def _workers_failing(exc: RPCError) -> bool:
    """The server refused the Update because the workflow's task keeps failing."""
    return exc.status == RPCStatusCode.FAILED_PRECONDITION and any(
        detail.type_url.endswith("WorkflowNotReadyFailure") for detail in exc.grpc_status.details
    )


async def _why_workers_fail(handle: WorkflowHandle[Any, Any]) -> str:
    """Why the workers failed the workflow task that carried a request, as its history
    says (the failure's type only: its message is sealed with the workers' key)."""
    client = handle._client
    latest = await client.workflow_service.get_workflow_execution_history_reverse(
        GetWorkflowExecutionHistoryReverseRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=handle.id),
            maximum_page_size=20,
        )
    )
    failed = next(
        (
            event.workflow_task_failed_event_attributes.failure
            for event in latest.history.events
            if event.HasField("workflow_task_failed_event_attributes")
        ),
        None,
    )
    kind = failed.application_failure_info.type if failed is not None else ""
    if kind in (UnknownKeyError.__name__, DecryptionError.__name__):
        codec = client.data_converter.payload_codec
        key = f" {codec.keyring.active_key_id!r}" if isinstance(codec, EncryptionCodec) else ""
        return (
            f"the workers cannot decrypt this request: it is sealed with key{key}, which"
            f" their keyring does not hold; nothing was changed. Send it with the keys the"
            f" workers hold ({KEYS_FILE_ENV}), or give the workers this key and restart them"
        )
    return (
        f"the workers failed on this request ({kind or 'the reason is in their log'});"
        " nothing was changed"
    )


async def _closed_as(handle: WorkflowHandle[Any, Any]) -> str | None:
    """How the workflow closed (completed, terminated, ...), or None if running or absent."""
    client = handle._client
    try:
        described = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
            )
        )
    except RPCError:
        return None
    status = WorkflowExecutionStatus(described.workflow_execution_info.status)
    return None if status is WorkflowExecutionStatus.RUNNING else status.name.lower()


def _refused(exc: WorkflowUpdateFailedError, default_field: str) -> ClientError:
    cause = exc.cause
    message = cause.message if isinstance(cause, ApplicationError) else str(cause)
    field, sep, problem = message.partition(": ")
    if sep and " " not in field:
        return Conflict(field, problem)
    return Conflict(default_field, message)


def _translate(exc: RPCError, field: str, value: str) -> ClientError:
    if exc.status == RPCStatusCode.NOT_FOUND:
        return NotFound(field, f"{value} does not exist (or is not open for this step yet)")
    return Conflict(field, exc.message)


# -- the staff task inbox -----------------------------------------------------------------


class TaskDesk:
    """The staff task inbox as backend services and the command line use it: take a task,
    hand it over (a supervisor), and hold it before a decision. Refusals are `NotFound`
    (no such task), `Conflict` (closed, or someone else has it) or `ClientError`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def task(self, task_id: str) -> StaffTask:
        found = tasks_store.get_task(self.engine, task_id)
        if found is None:
            raise NotFound("task_id", f"no task {task_id!r}")
        return found

    def take(self, task_id: str, staff_id: str, *, at: datetime | None = None) -> StaffTask:
        """The task is `staff_id`'s now; taking one's own again changes nothing."""
        self.task(task_id)
        with _not_takeable():
            return tasks_store.take_task(
                self.engine, task_id, staff_id=staff_id, at=at or datetime.now(UTC)
            )

    def release(self, task_id: str, by: Staff, *, at: datetime | None = None) -> StaffTask:
        """A supervisor releases the task: untaken, any colleague may take or decide it."""
        _supervisor(by)
        self.task(task_id)
        with _not_takeable():
            return tasks_store.hand_over(
                self.engine, task_id, to=None, by=by.staff_id, at=at or datetime.now(UTC)
            )

    def reassign(
        self, task_id: str, to: Staff | None, by: Staff, *, at: datetime | None = None
    ) -> StaffTask:
        """A supervisor gives the task to `to`, who must be of its role and department
        (or hall); None stands for someone the staff directory does not know. The row and
        the task's events record who, when, from whom to whom."""
        _supervisor(by)
        task = self.task(task_id)
        if to is None or not _fits(task, to):
            clerk = task.role == Role.WINDOW_CLERK
            where = f"at hall {task.hall!r}" if clerk else f"of department {task.department!r}"
            raise ClientError("to", f"only a {task.role} {where} may be given this task")
        with _not_takeable():
            return tasks_store.hand_over(
                self.engine, task_id, to=to.staff_id, by=by.staff_id, at=at or datetime.now(UTC)
            )

    def hold(
        self, application_id: str, item_code: str, staff: Staff, *, at: datetime | None = None
    ) -> None:
        """Before `staff` decides on the item: Conflict("task", "taken by …") when someone
        else has its open task; otherwise the task is theirs until the decision closes
        it. Checked against the store because a workflow's validator cannot read it."""
        try:
            tasks_store.hold_for_decision(
                self.engine,
                workflow_id=item_workflow_id(application_id, item_code),
                role=staff.role.value,
                staff_id=staff.staff_id,
                at=at or datetime.now(UTC),
            )
        except tasks_store.TaskTaken as exc:
            raise Conflict("task", f"taken by {exc.taker}") from None

    def check_not_taken_by_another(self, application_id: str, item_code: str, staff: Staff) -> None:
        """A step someone has taken is theirs to pause (Art. 45 excluded time) as much as to
        decide: Conflict("task", "taken by …") for a colleague of the same role. The
        department's head stands above the step and may."""
        if staff.role is Role.DEPARTMENT_HEAD:
            return
        takers = tasks_store.takers_of_open_tasks(
            self.engine, item_workflow_id(application_id, item_code)
        )
        others = [t for t in takers if t != staff.staff_id]
        if others:
            raise Conflict("task", f"taken by {others[0]}")


def _supervisor(by: Staff) -> None:
    if by.role is not Role.SUPERVISOR:
        raise ClientError("by", "only a supervisor releases or reassigns a task")


def _fits(task: StaffTask, staff: Staff) -> bool:
    if staff.role.value != task.role:
        return False
    if staff.role is Role.WINDOW_CLERK:
        return staff.hall == task.hall
    return staff.department == task.department


@contextmanager
def _not_takeable() -> Iterator[None]:
    try:
        yield
    except tasks_store.TaskNotTakeable as exc:
        field, _, problem = str(exc).partition(": ")
        raise Conflict(field, problem) from None
