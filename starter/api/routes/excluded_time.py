"""Excluded time (不计入时限, Art. 45, procedure revision 2026-12), started and ended by the
item's department: its running limits pause, and the applicant is told in writing.

Who decides comes from the token (`Principal.staff()`), never from the body; the rule is
`starter.auth.may_exclude_time`, and the item's own validators answer 409 for what its
state does not allow. Referrals to supervision are `routes.supervision`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from domain.application import ItemStatus
from domain.excluded_time import (
    MAX_EXCLUDED_DAYS,
    ExcludedTimeEnd,
    ExcludedTimeKind,
    ExcludedTimeStart,
)
from domain.text import Text
from starter import auth
from starter.api.deps import (
    CLOSED_ITEM_STATUSES,
    ApplicationId,
    Backend,
    Caller,
    ItemCode,
)
from starter.api.schemas import ItemActionOut, ReasonIn
from starter.client import Conflict
from starter.errors import ApiError, error_responses, field_path

__all__ = ["ExcludedTimeEndIn", "ExcludedTimeIn", "add_routes"]

M = TypeVar("M", bound=BaseModel)


class ExcludedTimeIn(ReasonIn):
    """What is done, why, and how long it should take: the applicant's notice says all."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"kind": "expert_review", "expected_days": 10, "reason": "需组织专家评审"}]
        },
    )

    kind: ExcludedTimeKind = Field(
        description="hearing 听证, bidding 招标, auction 拍卖, testing 检验, inspection 检测 "
        "(by a third party), quarantine 检疫, appraisal 鉴定, expert_review 专家评审."
    )
    expected_days: StrictInt = Field(
        ge=1, le=MAX_EXCLUDED_DAYS, description="Working days it is expected to take."
    )


class ExcludedTimeEndIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"result": "专家评审意见: 符合条件"}]}
    )

    result: Text = Field(
        min_length=1, max_length=500, pattern=r"\S", description="The result that ends it."
    )


def _made(make: Callable[[], M]) -> M:
    """A domain model from a request body that passed its own checks; should the domain's
    be stricter, a 422 naming the field (never a 500)."""
    try:
        return make()
    except ValidationError as exc:
        first = exc.errors()[0]
        problem = first["msg"].removeprefix("Value error, ")
        raise ApiError.field(422, field_path(first["loc"]) or "body", problem) from None


def add_routes(router: APIRouter, backend: Backend) -> None:
    """`POST …/items/{item}/excluded-time` and `…/excluded-time/end`."""
    errors = error_responses(401, 403, 404, 409, 422, 503)
    who = (
        "A reviewer or the head of the item's department (`department_head`); the caller "
        "is recorded as deciding. A step a colleague has taken is theirs (409 "
        "`task: taken by <staff ID>`); the head may always. "
    )

    async def may_decide(principal: auth.Principal, application_id: str, item: str) -> None:
        """The role first (403 before a 404 tells whether the application exists), then
        the item's department, then the store's task row (the workflow's validator cannot
        read it): a step a colleague has taken is theirs."""
        auth.may_exclude_time(principal)
        _, department = await backend.item_in(application_id, item)
        auth.may_exclude_time(principal, item_department=department)
        try:
            await run_in_threadpool(
                backend.desk.check_not_taken_by_another, application_id, item, principal.staff()
            )
        except Conflict as exc:
            raise ApiError.field(409, exc.field, exc.problem, code="task_taken") from None

    running = set(ItemStatus) - CLOSED_ITEM_STATUSES

    @router.post(
        "/applications/{application_id}/items/{item_code}/excluded-time",
        tags=["staff"],
        response_model=ItemActionOut,
        summary="Excluded time starts (Art. 45): the item's running limits pause",
        description=(
            who + "For a review or an inspection before the decision; the applicant is told "
            "in writing what is done and how long it takes. 409 when none is open, the "
            "limit waits for the applicant's correction, excluded time runs already, or "
            "the application began before procedure revision 2026-12."
        ),
        responses=errors,
    )
    async def exclude_time(
        application_id: ApplicationId, item_code: ItemCode, body: ExcludedTimeIn, principal: Caller
    ) -> Any:
        await may_decide(principal, application_id, item_code)
        start = _made(
            lambda: ExcludedTimeStart(
                kind=body.kind,
                expected_days=body.expected_days,
                reason=body.reason,
                decided_by=principal.staff(),
            )
        )
        return await backend.item_action(
            principal,
            application_id,
            item_code,
            "limit",
            running,
            lambda: backend.client.exclude_time(application_id, item_code, start),
            "excluded time started",
        )

    @router.post(
        "/applications/{application_id}/items/{item_code}/excluded-time/end",
        tags=["staff"],
        response_model=ItemActionOut,
        summary="Excluded time ends with its result: the limits run again",
        description=(
            who + "The applicant is told the result and the new due instant. 409 when no "
            "excluded time runs."
        ),
        responses=errors,
    )
    async def end_excluded_time(
        application_id: ApplicationId,
        item_code: ItemCode,
        body: ExcludedTimeEndIn,
        principal: Caller,
    ) -> Any:
        await may_decide(principal, application_id, item_code)
        end = _made(lambda: ExcludedTimeEnd(result=body.result, decided_by=principal.staff()))
        return await backend.item_action(
            principal,
            application_id,
            item_code,
            "limit",
            running,
            lambda: backend.client.end_excluded_time(application_id, item_code, end),
            "excluded time ended",
        )
