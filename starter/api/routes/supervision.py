"""Supervision (督办): cases (limits that passed) and referrals the procedure handed over
(移送监管, e.g. after a revocation); each listed by department and status, and closed by a
supervisor with its resolution. Who may see which department's is `starter.auth`'s
`case_scope` and `referral_scope`; closing, `may_close_case` and `may_close_referral`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from domain.supervision import ReferralKind
from starter import auth
from starter.api.deps import Backend, Caller, DepartmentFilter, Limit, Offset
from starter.api.schemas import Page, ResolutionIn, SupervisionCaseOut, page_of
from starter.errors import ApiError, error_responses
from store import supervision as supervision_store
from store.supervision import SupervisionCase, SupervisionReferral

Row = TypeVar("Row", SupervisionCase, SupervisionReferral)
Out = TypeVar("Out", bound=BaseModel)
Status = Annotated[Literal["open", "closed", "all"], Query()]
RowId = Annotated[int, Path(ge=1, le=2**62)]


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


def case_out(row: SupervisionCase) -> SupervisionCaseOut:
    return SupervisionCaseOut.model_validate(row, from_attributes=True)


async def closed_by(
    principal: auth.Principal,
    resolution: ResolutionIn,
    row_id: int,
    find: Callable[[], Row | None],
    close: Callable[[str, datetime], Row],
    field: str,
    noun: str,
) -> Row:
    """Close one row with `<supervisor>: <resolution>`: 404 when there is none, 409 once
    it is closed."""

    def closing() -> Row:
        row = find()
        if row is None:
            raise ApiError.field(404, field, f"there is no supervision {noun} {row_id}")
        if row.status == "closed":
            raise ApiError.field(409, field, f"the {noun} is closed already")
        return close(f"{principal.name}: {resolution.resolution}", datetime.now(UTC))

    return await run_in_threadpool(closing)


def add_routes(router: APIRouter, backend: Backend) -> None:
    """Cases, then referrals: listed and closed."""
    engine = backend.engine

    def list_route(
        path: str,
        out_model: type[Out],
        *,
        name: str,
        summary: str,
        description: str,
        scope: Callable[[auth.Principal, str | None], str | None],
        read: Callable[..., tuple[Sequence[Row], int]],
        out: Callable[[Row], Out],
    ) -> None:
        """`GET path`, named `name`: one page of the rows `read` finds in a status (of a
        department: the caller's `scope`), each answered as `out`."""

        @router.get(
            path,
            tags=["staff"],
            response_model=Page[out_model],  # type: ignore[valid-type]
            summary=summary,
            description=description,
            responses=error_responses(401, 403, 422, 503),
            name=name,
        )
        async def list_rows(
            principal: Caller,
            limit: Limit = 50,
            offset: Offset = 0,
            status: Status = "open",
            department: DepartmentFilter = None,
        ) -> Any:
            of = scope(principal, department)
            rows, total = await run_in_threadpool(
                lambda: read(engine, status=status, department=of, limit=limit, offset=offset)
            )
            return page_of([out(r) for r in rows], total, limit, offset)

    list_route(
        "/supervision/cases",
        SupervisionCaseOut,
        name="list_cases",
        summary="Supervision cases (督办): limits that passed, by escalation time, paged",
        description="Supervisors, auditors and operators see every case; reviewers and "
        "inspectors their own department's.",
        scope=auth.case_scope,
        read=supervision_store.cases_page,
        out=case_out,
    )

    @router.post(
        "/supervision/cases/{case_id}/closure",
        tags=["staff"],
        response_model=SupervisionCaseOut,
        summary="A supervisor closes a supervision case with its resolution",
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def close_case(case_id: RowId, body: ResolutionIn, principal: Caller) -> Any:
        auth.may_close_case(principal)
        closed = await closed_by(
            principal,
            body,
            case_id,
            lambda: supervision_store.get_case(engine, case_id),
            lambda resolution, at: supervision_store.close_case(engine, case_id, resolution, at),
            "case_id",
            "case",
        )
        return case_out(closed)

    list_route(
        "/supervision/referrals",
        ReferralOut,
        name="list_referrals",
        summary="Referrals to supervision (移送监管), e.g. after a revocation, oldest first, paged",
        description="Supervisors, auditors and operators see every referral; a department's "
        "staff (reviewers, inspectors, its head) their own department's.",
        scope=auth.referral_scope,
        read=supervision_store.referrals_page,
        out=ReferralOut.of,
    )

    @router.post(
        "/supervision/referrals/{referral_id}/closure",
        tags=["staff"],
        response_model=ReferralOut,
        summary="A supervisor closes a referral with its resolution",
        description="Recorded as `<supervisor>: <resolution>`. 409 once it is closed.",
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def close_referral(referral_id: RowId, body: ResolutionIn, principal: Caller) -> Any:
        auth.may_close_referral(principal)
        closed = await closed_by(
            principal,
            body,
            referral_id,
            lambda: supervision_store.get_referral(engine, referral_id),
            lambda resolution, at: supervision_store.close_referral(
                engine, referral_id, resolution, at
            ),
            "referral_id",
            "referral",
        )
        return ReferralOut.of(closed)
