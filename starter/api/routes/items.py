"""One item of an application: read it; decide, correct, inspect, extend its limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from domain.application import (
    Correction,
    ExtensionReceipt,
    InspectionReport,
    ItemState,
    ItemStatus,
    LimitExtension,
    ReviewDecision,
)
from domain.people import Role
from starter import auth
from starter.api.deps import (
    CLOSED_ITEM_STATUSES,
    ApplicationId,
    Backend,
    Caller,
    ItemCode,
    answer_channel,
    catalog_item,
    items_of_target,
)
from starter.api.schemas import CorrectionIn, DecisionIn, ExtensionIn, InspectionIn, ItemActionOut
from starter.auth import Principal
from starter.client import NotFound
from starter.errors import ApiError, error_responses


def add_routes(router: APIRouter, backend: Backend) -> None:
    """Reading one item and acting on it; Updates go through `Backend.item_update`."""
    client = backend.client
    catalog = backend.catalog
    refs = backend.refs
    item_state_of = backend.item_state_of
    readable_state = backend.readable_state
    item_in = backend.item_in
    item_update = backend.item_update
    item_action = backend.item_action

    @router.get(
        "/applications/{application_id}/items/{item_code}",
        tags=["applications"],
        response_model=ItemState,
        summary="One item of an application: status, review task, license, trail",
        responses=error_responses(401, 403, 404, 422, 503),
    )
    async def get_item(
        application_id: ApplicationId, item_code: ItemCode, principal: Caller
    ) -> Any:
        state = await readable_state(principal, application_id)
        item = catalog_item(catalog, item_code)
        if item_code not in items_of_target(catalog, state):
            raise ApiError.field(
                404, "item_code", f"{item_code!r} is not an item of application {application_id}"
            )
        auth.may_read_item(principal, item_department=item.department)
        try:
            return await item_state_of(application_id, item_code)
        except NotFound:
            raise ApiError.field(
                404, "item_code", f"{item_code!r} has not started yet (an earlier item runs first)"
            ) from None

    async def of_department(
        principal: Principal,
        application_id: str,
        item_code: str,
        role: Role,
        may: Callable[..., None],
    ) -> None:
        """Staff of `role` in the item's department: the role first (a 403 before a 404
        tells whether the application exists), then the department."""
        if principal.role is not role:
            may(principal, item_department="")
        _, department = await item_in(application_id, item_code)
        may(principal, item_department=department)

    item_errors = error_responses(401, 403, 404, 409, 422, 503)

    @router.post(
        "/applications/{application_id}/items/{item_code}/decision",
        tags=["staff"],
        response_model=ItemActionOut,
        summary="A reviewer of the item's department approves, rejects or asks for correction",
        description=(
            "The reviewer is the caller. `reason` is required unless the verdict is approve. "
            "409 when no review is open for the item, or when another reviewer has taken "
            "its task (`task: taken by <staff ID>`)."
        ),
        responses=item_errors,
    )
    async def decide(
        application_id: ApplicationId, item_code: ItemCode, body: DecisionIn, principal: Caller
    ) -> Any:
        await of_department(principal, application_id, item_code, Role.REVIEWER, auth.may_decide)
        decision = ReviewDecision(
            reviewer=principal.staff(), verdict=body.verdict, reason=body.reason
        )
        return await item_action(
            principal,
            application_id,
            item_code,
            "review",
            {ItemStatus.UNDER_REVIEW},
            lambda: client.decide(application_id, item_code, decision),
            f"review {body.verdict.value}",
            hold=True,
        )

    @router.post(
        "/applications/{application_id}/items/{item_code}/correction",
        tags=["applications"],
        response_model=ItemActionOut,
        summary="The applicant's correction (补正) after a reviewer asked for one",
        description=(
            "By the applicant (online or by mail) or a window clerk of the hall (at the "
            "window). The item's clock resumes. 409 when no correction was requested."
        ),
        responses=item_errors,
    )
    async def correct(
        application_id: ApplicationId, item_code: ItemCode, body: CorrectionIn, principal: Caller
    ) -> Any:
        state, _ = await item_in(application_id, item_code)
        await auth.may_act_for_applicant(
            principal,
            hall=state.hall,
            applicant_ref=lambda: refs.of(application_id),
            what="correct",
        )
        channel, received_by = answer_channel(principal, body.channel)
        correction = Correction(channel=channel, note=body.note, received_by=received_by)
        return await item_action(
            principal,
            application_id,
            item_code,
            "correction",
            {ItemStatus.CORRECTION_REQUESTED},
            lambda: client.correct(application_id, item_code, correction),
            "correction received",
        )

    @router.post(
        "/applications/{application_id}/items/{item_code}/inspection",
        tags=["staff"],
        response_model=ItemActionOut,
        summary="An inspector of the item's department records the on-site inspection",
        description=(
            "`findings` is required unless the result is passed. A failure orders "
            "rectification; a second failure (or a false commitment) revokes the license. "
            "409 when another inspector has taken its task (`task: taken by <staff ID>`)."
        ),
        responses=item_errors,
    )
    async def inspect(
        application_id: ApplicationId, item_code: ItemCode, body: InspectionIn, principal: Caller
    ) -> Any:
        await of_department(principal, application_id, item_code, Role.INSPECTOR, auth.may_inspect)
        report = InspectionReport(
            inspector=principal.staff(), result=body.result, findings=body.findings
        )
        return await item_action(
            principal,
            application_id,
            item_code,
            "inspection",
            {ItemStatus.INSPECTING, ItemStatus.RECTIFYING},
            lambda: client.inspect(application_id, item_code, report),
            f"inspection {body.result.value}",
            hold=True,
        )

    @router.post(
        "/applications/{application_id}/items/{item_code}/extension",
        tags=["staff"],
        response_model=ExtensionReceipt,
        summary="The head of the item's department extends its running limit once (Art. 42)",
        description=(
            "At most the item's cap (10 working days by the law, fewer where a sector rule "
            "says so); the applicant is told the reason. A supervisor is let through for "
            "applications begun before procedure revision 2026-12 (the item refuses "
            "otherwise: 409)."
        ),
        responses=item_errors,
    )
    async def extend(
        application_id: ApplicationId, item_code: ItemCode, body: ExtensionIn, principal: Caller
    ) -> Any:
        auth.may_extend(principal)
        _, department = await item_in(application_id, item_code)
        auth.may_extend(principal, item_department=department)
        extension = LimitExtension(decided_by=principal.staff(), days=body.days, reason=body.reason)
        return await item_update(
            application_id,
            item_code,
            "limit",
            set(ItemStatus) - CLOSED_ITEM_STATUSES,
            lambda: client.extend(application_id, item_code, extension),
        )
