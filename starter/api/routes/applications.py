"""Applications: submit, list, read, result, notices; and acting on the whole application
(supplement, withdrawal, joint extension, refusal, cancellation, termination)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from datetime import UTC
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from domain.application import (
    ApplicationOutcome,
    ApplicationState,
    ApplicationStatus,
    Cancellation,
    Channel,
    ExtensionReceipt,
    LimitExtension,
    Refusal,
    Submission,
    Supplement,
    Termination,
    Withdrawal,
)
from domain.bundle import as_bundle, one_set_of_materials
from domain.catalog_models import CatalogError
from domain.people import Role
from starter import auth
from starter.api.deps import (
    CURSOR_MARK,
    ApplicationId,
    Backend,
    Caller,
    CodeFilter,
    DepartmentFilter,
    answer_channel,
    department_of,
    log,
)
from starter.api.openapi import ITEM_LINKS, RECEIPT_LINKS, submission_examples
from starter.api.schemas import (
    ApplicationActionOut,
    ApplicationSummary,
    CursorPage,
    ExtensionIn,
    NoticeOut,
    Pending,
    ReasonIn,
    RefusalIn,
    SubmissionIn,
    SubmitReceiptOut,
    SupplementIn,
    SupplementOut,
    TerminationIn,
    TerminationOut,
)
from starter.auth import sha256_hex
from starter.errors import ApiError, error_responses
from starter.redaction import for_caller, notices_for_caller
from starter.termination import close_open_tasks
from store import deliveries as delivery_store
from store import notifications as notification_store
from workflows import search_attributes as sa

if TYPE_CHECKING:
    from starter.api.routes.citizen_desk import CitizenDesk


def add_routes(router: APIRouter, backend: Backend, citizen: CitizenDesk) -> None:
    """Submitting, listing and reading applications; `citizen` keeps the progress
    look-up's check of each new submission."""
    client = backend.client
    engine = backend.engine
    catalog = backend.catalog
    state_of = backend.state_of
    readable_state = backend.readable_state

    @router.post(
        "/applications",
        tags=["applications"],
        status_code=201,
        response_model=SubmitReceiptOut,
        summary="Submit an application (idempotent by application_id)",
        description=(
            "201 when this call started the application, 200 when the application ID was "
            "submitted before (nothing new is started). Applicants submit for themselves "
            "(their ID number must match their token); window clerks at their own hall, "
            "recorded as the accepting clerk."
        ),
        responses={
            201: {"description": "Submitted; the application starts.", "links": RECEIPT_LINKS},
            200: {
                "model": SubmitReceiptOut,
                "description": "Submitted before; nothing new.",
                "links": RECEIPT_LINKS,
            },
            **error_responses(401, 403, 404, 409, 422, 503),
        },
        openapi_extra=submission_examples(catalog),
    )
    async def submit(body: SubmissionIn, principal: Caller, response: Response) -> Any:
        submission = Submission.model_validate(body.model_dump())
        auth.may_submit(
            principal,
            hall=submission.hall,
            applicant_ref=sha256_hex(submission.applicant.id_number),
        )
        if principal.role is Role.APPLICANT and submission.channel is Channel.WINDOW:
            raise ApiError.field(
                422, "channel", "what is handed in at a window is submitted by its clerk"
            )
        if principal.role is Role.WINDOW_CLERK:
            submission = submission.model_copy(update={"accepted_by": principal.staff()})
        elif submission.accepted_by is not None:
            raise ApiError.field(
                422, "accepted_by", "only a window clerk's token records who accepted"
            )
        receipt = await client.submit(submission)
        if receipt.created:  # the progress look-up's check, keyed (never the phone)
            await citizen.remember(submission)
        href = f"/applications/{receipt.application_id}"
        if not receipt.created:
            # Say only that the ID is taken, unless the caller may read what it names.
            try:
                await readable_state(principal, receipt.application_id)
            except ApiError as exc:
                raise ApiError.field(
                    409, "application_id", "is already used by another application"
                ) from exc
            response.status_code = 200
        response.headers["Location"] = href
        return SubmitReceiptOut(
            application_id=receipt.application_id,
            workflow_id=receipt.workflow_id,
            created=receipt.created,
            href=href,
        )

    @router.get(
        "/applications",
        tags=["applications"],
        response_model=CursorPage[ApplicationSummary],
        summary="Applications, newest first, by cursor (staff)",
        description=(
            "Window clerks list their hall's applications, reviewers and inspectors those "
            "involving their department; supervisors, auditors and operators all. Paged by "
            "`cursor` (from `next_cursor`). Needs a Temporal server with visibility (501 "
            "on one without, such as the time-skipping test server)."
        ),
        responses=error_responses(401, 403, 422, 501, 503),
    )
    async def list_applications(
        principal: Caller,
        limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 50,
        cursor: Annotated[str | None, Query(max_length=4096, pattern=r"^[A-Za-z0-9_\-]+$")] = None,
        status: Annotated[ApplicationStatus | None, Query()] = None,
        hall: CodeFilter = None,
        department: DepartmentFilter = None,
        item_code: CodeFilter = None,
        bundle_code: CodeFilter = None,
        escalated: Annotated[bool | None, Query()] = None,
    ) -> Any:
        scope = auth.application_scope(
            principal, auth.ApplicationFilter(hall=hall, department=department)
        )
        # Every value below matched a strict pattern or an enum: nothing to escape.
        clauses = ["WorkflowType = 'ApplicationWorkflow'"]
        for key, value in (
            (sa.APPLICATION_STATUS.name, status.value if status else None),
            (sa.HALL.name, scope.hall),
            (sa.DEPARTMENTS.name, scope.department),
            (sa.ITEMS.name, item_code),
            (sa.BUNDLE.name, bundle_code),
        ):
            if value is not None:
                clauses.append(f"{key} = '{value}'")
        if escalated is not None:
            clauses.append(f"{sa.ESCALATED.name} = {'true' if escalated else 'false'}")
        token = b""
        if cursor:
            try:
                raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            except ValueError:
                raw = b""
            if not raw.startswith(CURSOR_MARK):
                raise ApiError.field(422, "cursor", "is not a cursor this API gave")
            token = raw.removeprefix(CURSOR_MARK)
        try:
            response = await client.temporal.workflow_service.list_workflow_executions(
                ListWorkflowExecutionsRequest(
                    namespace=client.temporal.namespace,
                    page_size=limit,
                    next_page_token=token,
                    query=" AND ".join(clauses),
                ),
                retry=True,
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.UNIMPLEMENTED:
                raise ApiError(
                    501, "this Temporal server cannot list workflows", code="not_implemented"
                ) from None
            if cursor and exc.status not in (
                RPCStatusCode.UNAVAILABLE,
                RPCStatusCode.DEADLINE_EXCEEDED,
            ):
                # The server could not read the page token back: an altered cursor.
                raise ApiError.field(422, "cursor", "is not a cursor this API gave") from None
            raise
        following = response.next_page_token
        return CursorPage[ApplicationSummary](
            items=[summary_of(info) for info in response.executions],
            limit=limit,
            next_cursor=base64.urlsafe_b64encode(CURSOR_MARK + following).decode().rstrip("=")
            if following
            else None,
        )

    @router.get(
        "/applications/{application_id}",
        tags=["applications"],
        response_model=ApplicationState,
        summary="An application's status, items, notice and decision trail",
        responses={
            200: {"description": "The application as it stands.", "links": ITEM_LINKS},
            **error_responses(401, 403, 404, 422, 503),
        },
    )
    async def get_application(application_id: ApplicationId, principal: Caller) -> Any:
        state = await readable_state(principal, application_id)
        return for_caller(principal, state, department_of(catalog, state))

    @router.get(
        "/applications/{application_id}/result",
        tags=["applications"],
        response_model=ApplicationOutcome,
        summary="The application's result, waiting up to `wait` seconds for it",
        description="200 with the outcome once the application has ended; 202 while it runs.",
        responses={
            202: {"model": Pending, "description": "Still running after `wait` seconds."},
            **error_responses(401, 403, 404, 409, 422, 503),
        },
    )
    async def get_result(
        application_id: ApplicationId,
        principal: Caller,
        wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait.")] = 0,
    ) -> Any:
        state = await readable_state(principal, application_id)
        department_of = backend.department_of(state)
        if not state.status.closed:
            try:
                if wait <= 0:
                    raise TimeoutError
                outcome = await asyncio.wait_for(client.result(application_id), timeout=wait)
                return for_caller(principal, outcome, department_of)
            except TimeoutError:
                state = await state_of(application_id)
                if not state.status.closed:
                    pending = Pending(application_id=application_id, status=state.status)
                    return JSONResponse(pending.model_dump(mode="json"), status_code=202)
        # Closed: the workflow returns its outcome once its items have wound down.
        try:
            outcome = await asyncio.wait_for(client.result(application_id), timeout=max(wait, 5))
            return for_caller(principal, outcome, department_of)
        except TimeoutError:
            pending = Pending(application_id=application_id, status=state.status)
            return JSONResponse(pending.model_dump(mode="json"), status_code=202)

    @router.get(
        "/applications/{application_id}/notices",
        tags=["applications"],
        response_model=list[NoticeOut],
        summary="Notices of the application: to the applicant, reminders to staff",
        description=(
            "Whoever may read the application; an applicant sees the notices addressed to "
            "the applicant only, a department's staff none of another department's items. "
            "Oldest first."
        ),
        responses=error_responses(401, 403, 404, 422, 503),
    )
    async def get_notices(application_id: ApplicationId, principal: Caller) -> Any:
        state = await readable_state(principal, application_id)
        rows = await run_in_threadpool(notification_store.notifications_of, engine, application_id)
        rows = notices_for_caller(principal, application_id, rows, department_of(catalog, state))
        sent = await run_in_threadpool(delivery_store.deliveries_of, engine, [n.key for n in rows])
        return [NoticeOut.of(n, sent.get(n.key, [])) for n in rows]


def add_action_routes(router: APIRouter, backend: Backend) -> None:
    """Acting on the whole application (mounted after the item routes)."""
    client = backend.client
    engine = backend.engine
    catalog = backend.catalog
    refs = backend.refs
    state_of = backend.state_of
    application_update = backend.application_update

    @router.post(
        "/applications/{application_id}/supplement",
        tags=["applications"],
        response_model=SupplementOut,
        summary="Materials arrive: a correction (补正) or deficient ones (补齐); answers the codes "
        "still awaited",
        description=(
            "By the applicant (online or by mail) or a window clerk of the hall. A code "
            "that is no material of the application: 422; one not awaited: 409."
        ),
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def supplement(
        application_id: ApplicationId, body: SupplementIn, principal: Caller
    ) -> Any:
        state = await state_of(application_id)
        await auth.may_act_for_applicant(
            principal,
            hall=state.hall,
            applicant_ref=lambda: refs.of(application_id),
            what="supplement",
        )
        with contextlib.suppress(CatalogError):
            known = one_set_of_materials(catalog, as_bundle(catalog, state.target)).codes
            for index, code in enumerate(body.materials):
                if code not in known:
                    raise ApiError.field(
                        422,
                        f"materials[{index}]",
                        f"{code!r} is not a material of {state.target!r}",
                    )
        channel, received_by = answer_channel(principal, body.channel)
        arrived = Supplement(materials=body.materials, channel=channel, received_by=received_by)
        outstanding: list[str] = await application_update(
            lambda: client.supplement(application_id, arrived)
        )
        return SupplementOut(application_id=application_id, outstanding=outstanding)

    @router.post(
        "/applications/{application_id}/withdrawal",
        tags=["applications"],
        response_model=ApplicationActionOut,
        summary="The applicant withdraws the application (撤回); issued licenses stay valid",
        description="By the applicant or a window clerk of the hall. 409 once it has ended.",
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def withdraw(application_id: ApplicationId, body: ReasonIn, principal: Caller) -> Any:
        state = await state_of(application_id)
        await auth.may_act_for_applicant(
            principal,
            hall=state.hall,
            applicant_ref=lambda: refs.of(application_id),
            what="withdraw",
        )
        status: ApplicationStatus = await application_update(
            lambda: client.withdraw(
                application_id,
                Withdrawal(
                    reason=body.reason,
                    received_by=principal.staff() if principal.role is Role.WINDOW_CLERK else None,
                ),
            )
        )
        return ApplicationActionOut(application_id=application_id, status=status, by=principal.name)

    @router.post(
        "/applications/{application_id}/extension",
        tags=["staff"],
        response_model=ExtensionReceipt,
        summary="A bundle's joint limit is extended once (Art. 42 (2): at most 15 days)",
        description=(
            "Items of a bundle handled jointly are decided within 45 working days of "
            "acceptance; the government's approval of one extension, by at most 15 working "
            "days, is recorded by a supervisor. The applicant is told the reason. 409 when "
            "no joint limit runs (a single item, or begun before procedure revision 2026-12) "
            "or it was extended already."
        ),
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def extend_joint_limit(
        application_id: ApplicationId, body: ExtensionIn, principal: Caller
    ) -> Any:
        auth.may_extend_joint_limit(principal)
        await state_of(application_id)
        extension = LimitExtension(decided_by=principal.staff(), days=body.days, reason=body.reason)
        receipt: ExtensionReceipt = await application_update(
            lambda: client.extend_joint_limit(application_id, extension)
        )
        return receipt

    @router.post(
        "/applications/{application_id}/refusal",
        tags=["staff"],
        response_model=ApplicationActionOut,
        summary="A window clerk refuses to accept (不予受理), before acceptance",
        description=(
            "Only on the two legal grounds (Art. 32): `not_licensable` or `outside_powers` "
            "(naming the competent office); incomplete materials get a correction notice "
            "instead. The applicant receives the reasons and the rights of review and suit. "
            "A window clerk of the application's hall; 409 once it is accepted or ended."
        ),
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def refuse(application_id: ApplicationId, body: RefusalIn, principal: Caller) -> Any:
        state = await state_of(application_id)
        auth.may_refuse(principal, hall=state.hall)
        refusal = Refusal(
            ground=body.ground,
            reason=body.reason,
            competent_office=body.competent_office,
            refused_by=principal.staff(),
        )
        status: ApplicationStatus = await application_update(
            lambda: client.refuse(application_id, refusal)
        )
        return ApplicationActionOut(application_id=application_id, status=status, by=principal.name)

    @router.post(
        "/applications/{application_id}/cancellation",
        tags=["staff"],
        response_model=ApplicationActionOut,
        summary="An operator cancels the application (e.g. submitted in error)",
        description="Issued licenses stay valid. 409 once it has ended.",
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def cancel(application_id: ApplicationId, body: ReasonIn, principal: Caller) -> Any:
        auth.may_cancel(principal)
        await state_of(application_id)
        cancellation = Cancellation(operator=principal.staff(), reason=body.reason)
        status: ApplicationStatus = await application_update(
            lambda: client.cancel(application_id, cancellation)
        )
        return ApplicationActionOut(application_id=application_id, status=status, by=principal.name)

    @router.post(
        "/applications/{application_id}/termination",
        tags=["staff"],
        response_model=TerminationOut,
        summary="An operator terminates an application whose workflow cannot run",
        description=(
            "For a workflow that answers no query and takes no update, so it cannot be "
            "cancelled (e.g. one whose input its worker cannot read). Temporal ends it and "
            "its items at once; no workflow code runs. History records the reason with the "
            "operator's staff ID, in plain text: name no person. Its open staff tasks are "
            "closed. 404 unknown, 409 once it has ended."
        ),
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def terminate(
        application_id: ApplicationId, body: TerminationIn, principal: Caller
    ) -> Any:
        if principal.role is Role.AUDITOR:
            raise auth.forbid(principal, "auditors read but never change anything")
        if principal.role is not Role.OPERATOR:
            raise auth.forbid(principal, "only an operator terminates an application")
        termination = Termination(operator=principal.staff(), reason=body.reason)
        await client.terminate(application_id, termination)
        try:
            await run_in_threadpool(close_open_tasks, engine, application_id, by=principal.name)
        except Exception as exc:  # terminated all the same; the inbox is behind
            log.error("open tasks not closed", path="termination", error_type=type(exc).__name__)
        return TerminationOut(application_id=application_id, status="terminated", by=principal.name)


def summary_of(info: WorkflowExecutionInfo) -> ApplicationSummary:
    fields = info.search_attributes.indexed_fields

    def attribute(key: SearchAttributeKey[Any]) -> Any:
        payload = fields.get(key.name)
        # Search attributes are plain JSON: never encrypted, never personal data.
        return json.loads(payload.data) if payload is not None and payload.data else None

    started = info.start_time.ToDatetime(UTC) if info.HasField("start_time") else None
    closed = info.close_time.ToDatetime(UTC) if info.HasField("close_time") else None

    return ApplicationSummary(
        application_id=info.execution.workflow_id.removeprefix("application-"),
        status=attribute(sa.APPLICATION_STATUS),
        bundle_code=attribute(sa.BUNDLE),
        item_codes=attribute(sa.ITEMS) or [],
        departments=attribute(sa.DEPARTMENTS) or [],
        hall=attribute(sa.HALL),
        channel=attribute(sa.CHANNEL),
        escalated=attribute(sa.ESCALATED),
        started_at=started,
        closed_at=closed,
    )
