"""Supervision cases (督办): limits that passed, and their closure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool

from starter import auth
from starter.api.deps import DEPARTMENT_PATTERN, Backend, Caller, Limit, Offset
from starter.api.schemas import Page, ResolutionIn, SupervisionCaseOut, page_of
from starter.errors import ApiError, error_responses
from store import supervision as supervision_store
from store.supervision import SupervisionCase


def add_routes(router: APIRouter, backend: Backend) -> None:
    """Supervision cases; referrals are `starter.api_procedure`'s."""
    engine = backend.engine

    @router.get(
        "/supervision/cases",
        tags=["staff"],
        response_model=Page[SupervisionCaseOut],
        summary="Supervision cases (督办): limits that passed, by escalation time, paged",
        description=(
            "Supervisors, auditors and operators see every case; reviewers and inspectors "
            "their own department's."
        ),
        responses=error_responses(401, 403, 422, 503),
    )
    async def list_cases(
        principal: Caller,
        limit: Limit = 50,
        offset: Offset = 0,
        status: Annotated[Literal["open", "closed", "all"], Query()] = "open",
        department: Annotated[str | None, Query(pattern=DEPARTMENT_PATTERN)] = None,
    ) -> Any:
        department = auth.case_scope(principal, department)
        rows, total = await run_in_threadpool(
            lambda: supervision_store.cases_page(
                engine, status=status, department=department, limit=limit, offset=offset
            )
        )
        return page_of(
            [SupervisionCaseOut.model_validate(r, from_attributes=True) for r in rows],
            total,
            limit,
            offset,
        )

    @router.post(
        "/supervision/cases/{case_id}/closure",
        tags=["staff"],
        response_model=SupervisionCaseOut,
        summary="A supervisor closes a supervision case with its resolution",
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def close_case(
        case_id: Annotated[int, Path(ge=1, le=2**62)], body: ResolutionIn, principal: Caller
    ) -> Any:
        auth.may_close_case(principal)

        def close() -> SupervisionCase:
            case = supervision_store.get_case(engine, case_id)
            if case is None:
                raise ApiError.field(404, "case_id", f"there is no supervision case {case_id}")
            if case.status == "closed":
                raise ApiError.field(409, "case_id", "the case is closed already")
            return supervision_store.close_case(
                engine, case_id, f"{principal.name}: {body.resolution}", datetime.now(UTC)
            )

        closed = await run_in_threadpool(close)
        return SupervisionCaseOut.model_validate(closed, from_attributes=True)
