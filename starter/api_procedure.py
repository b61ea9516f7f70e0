"""HTTP routes of the procedure the law prescribes (revision 2026-12), mounted by
`starter.api.create_app`: excluded time (Art. 45) started and ended by the item's
department, and referrals to supervision (移送监管) listed and closed.

Who decides comes from the token (`Principal.staff()`), never from the body; the rules
are `starter.auth.may_exclude_time`, `referral_scope` and `may_close_referral`, and the
item's own validators answer 409 for what its state does not allow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import FastAPI, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError
from sqlalchemy import Engine

from domain.application import ApplicationState, ItemStatus
from domain.excluded_time import (
    MAX_EXCLUDED_DAYS,
    ExcludedTimeEnd,
    ExcludedTimeKind,
    ExcludedTimeStart,
)
from domain.supervision import ReferralKind
from domain.text import Text
from starter import auth
from starter.api import (
    CLOSED_ITEM_STATUSES,
    DEPARTMENT_PATTERN,
    ApplicationId,
    Caller,
    ItemActionOut,
    ItemCode,
    Limit,
    Offset,
    Page,
    ReasonIn,
    ResolutionIn,
    page_of,
)
from starter.client import Conflict, OnethingClient, TaskDesk
from starter.errors import ApiError, error_responses, field_path
from store import supervision as supervision_store
from store.supervision import SupervisionReferral

__all__ = [
    "ExcludedTimeEndIn",
    "ExcludedTimeIn",
    "ReferralOut",
    "add_excluded_time_routes",
    "add_referral_routes",
]

M = TypeVar("M", bound=BaseModel)
# `item_in` and `item_update` of create_app: the item's department (404s), and an Update
# that answers 409 when the item is closed or its validator refuses.
ItemIn = Callable[[str, str], Awaitable[tuple[ApplicationState, str]]]
ItemUpdate = Callable[
    [str, str, str, Collection[ItemStatus], Callable[[], Awaitable[ItemStatus]]],
    Awaitable[ItemStatus],
]


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


class ReferralOut(BaseModel):
    """A case the procedure handed to supervision (e.g. after a revocation); `subject`
    names the application and item, no person."""

    id: int
    workflow_id: str
    kind: ReferralKind
    kind_label: str = Field(description="What the referral is, in Chinese.")
    department: str
    subject: str
    reason: str
    referred_at: datetime
    status: Literal["open", "closed"]
    closed_at: datetime | None
    resolution: str | None

    @classmethod
    def of(cls, row: SupervisionReferral) -> ReferralOut:
        kind = ReferralKind(row.kind)
        return cls.model_validate({**row.model_dump(), "kind": kind, "kind_label": kind.label})


def _made(make: Callable[[], M]) -> M:
    """A domain model from a request body that passed its own checks; should the domain's
    be stricter, a 422 naming the field (never a 500)."""
    try:
        return make()
    except ValidationError as exc:
        first = exc.errors()[0]
        problem = first["msg"].removeprefix("Value error, ")
        raise ApiError.field(422, field_path(first["loc"]) or "body", problem) from None


def add_excluded_time_routes(
    app: FastAPI, client: OnethingClient, item_in: ItemIn, item_update: ItemUpdate, desk: TaskDesk
) -> None:
    """`POST …/items/{item}/excluded-time` and `…/excluded-time/end`."""
    errors = error_responses(401, 403, 404, 409, 422, 503)
    who = (
        "A reviewer or the head of the item's department (`department_head`); the caller "
        "is recorded as deciding. A step a colleague has taken is theirs (409 "
        "`task: taken by <staff ID>`); the head may always. "
    )

    async def not_anothers(principal: auth.Principal, application_id: str, item: str) -> None:
        """The store's task row is read here: the workflow's validator cannot read it."""
        try:
            await run_in_threadpool(
                desk.check_not_taken_by_another, application_id, item, principal.staff()
            )
        except Conflict as exc:
            raise ApiError.field(409, exc.field, exc.problem, code="task_taken") from None

    running = set(ItemStatus) - CLOSED_ITEM_STATUSES

    @app.post(
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
        auth.may_exclude_time(principal)
        _, department = await item_in(application_id, item_code)
        auth.may_exclude_time(principal, item_department=department)
        await not_anothers(principal, application_id, item_code)
        start = _made(
            lambda: ExcludedTimeStart(
                kind=body.kind,
                expected_days=body.expected_days,
                reason=body.reason,
                decided_by=principal.staff(),
            )
        )
        status = await item_update(
            application_id,
            item_code,
            "limit",
            running,
            lambda: client.exclude_time(application_id, item_code, start),
        )
        return ItemActionOut(
            application_id=application_id,
            item_code=item_code,
            action="excluded time started",
            by=principal.name,
            status=status,
        )

    @app.post(
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
        auth.may_exclude_time(principal)
        _, department = await item_in(application_id, item_code)
        auth.may_exclude_time(principal, item_department=department)
        await not_anothers(principal, application_id, item_code)
        end = _made(lambda: ExcludedTimeEnd(result=body.result, decided_by=principal.staff()))
        status = await item_update(
            application_id,
            item_code,
            "limit",
            running,
            lambda: client.end_excluded_time(application_id, item_code, end),
        )
        return ItemActionOut(
            application_id=application_id,
            item_code=item_code,
            action="excluded time ended",
            by=principal.name,
            status=status,
        )


def add_referral_routes(app: FastAPI, engine: Engine) -> None:
    """`GET /supervision/referrals` and `POST /supervision/referrals/{id}/closure`."""

    @app.get(
        "/supervision/referrals",
        tags=["staff"],
        response_model=Page[ReferralOut],
        summary="Referrals to supervision (移送监管), e.g. after a revocation, oldest first, paged",
        description=(
            "Supervisors, auditors and operators see every referral; a department's staff "
            "(reviewers, inspectors, its head) their own department's."
        ),
        responses=error_responses(401, 403, 422, 503),
    )
    async def list_referrals(
        principal: Caller,
        limit: Limit = 50,
        offset: Offset = 0,
        status: Annotated[Literal["open", "closed", "all"], Query()] = "open",
        department: Annotated[str | None, Query(pattern=DEPARTMENT_PATTERN)] = None,
    ) -> Any:
        department = auth.referral_scope(principal, department)
        rows, total = await run_in_threadpool(
            lambda: supervision_store.referrals_page(
                engine, status=status, department=department, limit=limit, offset=offset
            )
        )
        return page_of([ReferralOut.of(r) for r in rows], total, limit, offset)

    @app.post(
        "/supervision/referrals/{referral_id}/closure",
        tags=["staff"],
        response_model=ReferralOut,
        summary="A supervisor closes a referral with its resolution",
        description="Recorded as `<supervisor>: <resolution>`. 409 once it is closed.",
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def close_referral(
        referral_id: Annotated[int, Path(ge=1, le=2**62)], body: ResolutionIn, principal: Caller
    ) -> Any:
        auth.may_close_referral(principal)

        def close() -> SupervisionReferral:
            row = supervision_store.get_referral(engine, referral_id)
            if row is None:
                raise ApiError.field(
                    404, "referral_id", f"there is no supervision referral {referral_id}"
                )
            if row.status == "closed":
                raise ApiError.field(409, "referral_id", "the referral is closed already")
            return supervision_store.close_referral(
                engine, referral_id, f"{principal.name}: {body.resolution}", datetime.now(UTC)
            )

        return ReferralOut.of(await run_in_threadpool(close))
