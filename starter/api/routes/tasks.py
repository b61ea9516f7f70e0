"""The staff task inbox: list, take, release, reassign; and who the caller is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from domain.application import APPLICATION_ID_PATTERN
from domain.people import Role
from starter import auth
from starter.api.deps import Backend, Caller, Limit, Offset
from starter.api.schemas import Me, Page, ReassignTaskIn, TakeTaskIn, TaskOut, page_of
from starter.auth import Principal, TaskFilter
from starter.client import Conflict
from starter.errors import ApiError, error_responses
from store import tasks as tasks_store
from store.tasks import InboxFilter


def add_routes(router: APIRouter, backend: Backend) -> None:
    """The inbox, taking and handing over tasks, and `/me`."""
    engine = backend.engine
    tokens = backend.tokens
    desk = backend.desk

    @router.get(
        "/tasks",
        tags=["staff"],
        response_model=Page[TaskOut],
        summary="The staff task inbox, paged",
        description=(
            "Reviewers and inspectors see their own department's tasks for their role, "
            "window clerks their hall's; supervisors, auditors and operators see all and may "
            "filter. Asking outside one's scope is a 403. Ordered by due date, then age."
        ),
        responses=error_responses(401, 403, 422, 503),
    )
    async def list_tasks(
        principal: Caller,
        limit: Limit = 50,
        offset: Offset = 0,
        status: Annotated[Literal["open", "closed", "all"], Query()] = "open",
        department: Annotated[str | None, Query(max_length=64)] = None,
        role: Annotated[Role | None, Query()] = None,
        hall: Annotated[str | None, Query(max_length=64)] = None,
        kind: Annotated[str | None, Query(max_length=32)] = None,
        application_id: Annotated[str | None, Query(pattern=APPLICATION_ID_PATTERN)] = None,
    ) -> Any:
        scope = auth.task_scope(
            principal,
            TaskFilter(department=department, role=role.value if role else None, hall=hall),
        )
        where = InboxFilter(
            status=status,
            department=scope.department,
            role=scope.role,
            hall=scope.hall,
            kind=kind,
            application_id=application_id,
        )
        rows, total = await run_in_threadpool(
            tasks_store.inbox_page, engine, where, limit=limit, offset=offset
        )
        return page_of(
            [TaskOut.model_validate(r, from_attributes=True) for r in rows], total, limit, offset
        )

    @router.post(
        "/tasks/take",
        tags=["staff"],
        response_model=TaskOut,
        summary="Take a task from the inbox: it is now the caller's",
        description=(
            "Staff of the task's role, in its department (reviewers, inspectors) or at its "
            "hall (window clerks). Taking one's own task again changes nothing; a task "
            "closed or taken by someone else is a 409. While taken, only its taker decides "
            "on it; deciding on an untaken task takes it."
        ),
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def take_task(body: TakeTaskIn, principal: Caller) -> Any:
        def take() -> TaskOut:
            task = desk.task(body.task_id)
            auth.may_take(principal, task.role, task.department, task.hall)
            try:
                taken = desk.take(body.task_id, principal.name)
            except Conflict as exc:
                raise ApiError.field(
                    409, exc.field, exc.problem, code="task_not_takeable"
                ) from None
            return TaskOut.model_validate(taken, from_attributes=True)

        return await run_in_threadpool(take)

    async def handed_over(principal: Principal, change: Callable[[], Any]) -> TaskOut:
        auth.may_hand_over(principal)
        try:
            task = await run_in_threadpool(change)
        except Conflict as exc:
            raise ApiError.field(409, exc.field, exc.problem, code="task_closed") from None
        return TaskOut.model_validate(task, from_attributes=True)

    @router.post(
        "/tasks/release",
        tags=["staff"],
        response_model=TaskOut,
        summary="A supervisor releases a taken task back to the inbox",
        description=(
            "Recorded on the task (`handed_over_by`, `handed_over_at`, `handed_over_from`) "
            "and in its events. Any colleague may then take it or decide on it. A closed "
            "task is a 409."
        ),
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def release_task(body: TakeTaskIn, principal: Caller) -> Any:
        return await handed_over(principal, lambda: desk.release(body.task_id, principal.staff()))

    @router.post(
        "/tasks/reassign",
        tags=["staff"],
        response_model=TaskOut,
        summary="A supervisor gives a task to another member of staff",
        description=(
            "`to` must be staff of the task's role in its department (or at its hall), as "
            "the token document knows them (422 otherwise). Recorded like a release, "
            "`taken_by` being the new taker. A closed task is a 409."
        ),
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def reassign_task(body: ReassignTaskIn, principal: Caller) -> Any:
        return await handed_over(
            principal,
            lambda: desk.reassign(body.task_id, tokens.staff_member(body.to), principal.staff()),
        )

    @router.get(
        "/me",
        tags=["staff"],
        response_model=Me,
        summary="Who the token says the caller is",
        responses=error_responses(401),
    )
    async def me(principal: Caller) -> Me:
        return Me(
            name=principal.name,
            role=principal.role,
            hall=principal.hall,
            department=principal.department,
        )
