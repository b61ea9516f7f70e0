"""What the routes depend on: the caller (bearer token), path and query parameters,
and `Backend` (client, store, catalog) with the reads and Update guards they share."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from datetime import date, datetime
from typing import Annotated, TypeVar

import structlog
from fastapi import Depends, Path, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.application import (
    APPLICATION_ID_PATTERN,
    ApplicationState,
    Channel,
    ItemState,
    ItemStatus,
    Submission,
    application_workflow_id,
)
from domain.bundle import as_bundle
from domain.catalog import Catalog
from domain.catalog_models import CatalogError, Item
from domain.people import Role, Staff
from starter import auth
from starter.api.schemas import ItemActionOut
from starter.auth import Principal, TokenRegistry, sha256_hex
from starter.client import Conflict, NotFound, OnethingClient, TaskDesk
from starter.errors import ApiError
from starter.redaction import DepartmentOf

log = structlog.stdlib.get_logger("onething.api")

T = TypeVar("T")


CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
DEPARTMENT_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
CURSOR_MARK = b"onething.c1:"  # cursors are ours: anything else is refused before Temporal
EXAMPLE_APPLICATION_ID = "example-0001"
ApplicationId = Annotated[
    str,
    Path(
        pattern=APPLICATION_ID_PATTERN,
        description="The caller's application ID.",
        examples=[EXAMPLE_APPLICATION_ID],
    ),
]
ItemCode = Annotated[
    str,
    Path(
        pattern=CODE_PATTERN,
        description="A catalog item code.",
        examples=["nurse-practice-registration"],
    ),
]
CatalogCode = Annotated[
    str,
    Path(
        pattern=CODE_PATTERN,
        description="An item or bundle code.",
        examples=["open-transport-company", "nurse-practice-registration"],
    ),
]
BundleCode = Annotated[
    str,
    Path(pattern=CODE_PATTERN, description="A bundle code.", examples=["open-transport-company"]),
]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip.")]
# Filters of lists and reports: codes, Beijing days, the instant overdue is judged at.
CodeFilter = Annotated[str | None, Query(pattern=CODE_PATTERN)]
DepartmentFilter = Annotated[str | None, Query(pattern=DEPARTMENT_PATTERN)]
FirstDay = Annotated[date | None, Query(description="First Beijing day.")]
LastDay = Annotated[date | None, Query(description="Last Beijing day.")]
AsOf = Annotated[
    datetime | None,
    Query(description="ISO 8601 with offset: when overdue is judged (default now)."),
]


def check_period(since: date | None, until: date | None, as_of: datetime | None = None) -> None:
    """A report's filters: `until` not before `since`, `as_of` with its offset (422)."""
    if since is not None and until is not None and until < since:
        raise ApiError.field(422, "until", "is before since")
    if as_of is not None and as_of.tzinfo is None:
        raise ApiError.field(422, "as_of", "must carry its offset (e.g. +08:00)")


MAX_BODY_BYTES = 1 << 20  # a submission is a few KiB; a megabyte is plenty
Latitude = Annotated[float | None, Query(ge=-90, le=90)]
Longitude = Annotated[float | None, Query(ge=-180, le=180)]
AUTH_ERRORS = (401, 403)


BEARER = HTTPBearer(
    auto_error=False,
    description="A token from the token document (see starter.auth); it carries role and scope.",
)


async def current_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
) -> Principal:
    """The caller, from the bearer token and the app's token registry (401 otherwise)."""
    registry: TokenRegistry = request.app.state.tokens
    principal = await auth.authenticate(registry, request)
    request.state.caller = principal.name  # for the access log: a name, never the token
    return principal


Caller = Annotated[Principal, Depends(current_principal)]


class ApplicantRefs:
    """Applicant reference per application, read once from the workflow's start input
    (it never changes); bounded so a long-running API does not grow without end."""

    def __init__(self, client: Client, size: int = 10_000) -> None:
        self._client = client
        self._size = size
        self._cache: OrderedDict[str, str] = OrderedDict()

    async def of(self, application_id: str) -> str | None:
        if application_id in self._cache:
            self._cache.move_to_end(application_id)
            return self._cache[application_id]
        handle = self._client.get_workflow_handle(application_workflow_id(application_id))
        ref: str | None = None
        try:
            async for event in handle.fetch_history_events(page_size=1):
                payloads = event.workflow_execution_started_event_attributes.input.payloads
                [submission] = await self._client.data_converter.decode(payloads, [Submission])
                ref = sha256_hex(submission.applicant.id_number)
                break
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return None  # history gone (retention): nobody can prove ownership any more
        if ref is not None:
            self._cache[application_id] = ref
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return ref


async def answered(call: Awaitable[T], seconds: float) -> T:
    try:
        return await asyncio.wait_for(call, seconds)
    except TimeoutError:
        raise ApiError(
            503, "no worker answered in time: is a onething worker running?", code="unavailable"
        ) from None


def departments_of(catalog: Catalog, state: ApplicationState) -> set[str]:
    codes = items_of_target(catalog, state)
    return {i.department for i in state.items} | {
        catalog.items[c].department for c in codes if c in catalog.items
    }


def department_of(catalog: Catalog, state: ApplicationState) -> DepartmentOf:
    """Each item's department: as the application has it, else as the catalog says."""
    known = {i.item_code: i.department for i in state.items}

    def of(code: str) -> str | None:
        item = catalog.items.get(code)
        return known.get(code) or (item.department if item else None)

    return of


def items_of_target(catalog: Catalog, state: ApplicationState) -> set[str]:
    codes = {i.item_code for i in state.items}
    with contextlib.suppress(CatalogError):
        codes |= set(as_bundle(catalog, state.target).item_codes)
    return codes


CLOSED_ITEM_STATUSES = frozenset(
    {ItemStatus.CLOSED, ItemStatus.REJECTED, ItemStatus.REVOKED, ItemStatus.STOPPED}
)


def answer_channel(principal: Principal, asked: Channel | None) -> tuple[Channel, Staff | None]:
    """How an applicant's answer arrived, and the clerk who received it (if at a window)."""
    if principal.role is Role.WINDOW_CLERK:
        if asked is Channel.ONLINE:
            raise ApiError.field(422, "channel", "a window clerk receives at the window or by mail")
        return asked or Channel.WINDOW, principal.staff()
    if asked is Channel.WINDOW:
        raise ApiError.field(422, "channel", "what arrives at a window is recorded by its clerk")
    return asked or Channel.ONLINE, None


def catalog_item(catalog: Catalog, code: str, field: str = "item_code") -> Item:
    try:
        return catalog.item(code)
    except CatalogError:
        raise ApiError.field(
            404, field, f"{code!r} is not an item of catalog {catalog.version}"
        ) from None


class Backend:
    """The parts every router takes: the client (Temporal), the store, the catalog, the
    token registry, and the reads and Update guards several routes share."""

    def __init__(
        self, client: OnethingClient, engine: Engine, tokens: TokenRegistry, query_timeout: float
    ) -> None:
        self.client = client
        self.engine = engine
        self.tokens = tokens
        self.catalog = client.catalog
        self.query_timeout = query_timeout
        self.refs = ApplicantRefs(client.temporal)
        self.desk = TaskDesk(engine)

    # A Query waits for a worker to answer; without one it would hang the request.
    async def state_of(self, application_id: str) -> ApplicationState:
        return await answered(self.client.state(application_id), self.query_timeout)

    async def item_state_of(self, application_id: str, item_code: str) -> ItemState:
        return await answered(self.client.item_state(application_id, item_code), self.query_timeout)

    async def readable_state(self, principal: Principal, application_id: str) -> ApplicationState:
        state = await self.state_of(application_id)
        await auth.may_read_application(
            principal,
            hall=state.hall,
            departments=departments_of(self.catalog, state),
            applicant_ref=lambda: self.refs.of(application_id),
        )
        return state

    def department_of(self, state: ApplicationState) -> DepartmentOf:
        return department_of(self.catalog, state)

    async def item_in(self, application_id: str, item_code: str) -> tuple[ApplicationState, str]:
        """The application (404 if unknown) and the item's department (404 if the item
        is not part of it)."""
        state = await self.state_of(application_id)
        item = catalog_item(self.catalog, item_code)
        if item_code not in items_of_target(self.catalog, state):
            raise ApiError.field(
                404, "item_code", f"{item_code!r} is not an item of application {application_id}"
            )
        ref = next((i for i in state.items if i.item_code == item_code), None)
        return state, ref.department if ref else item.department

    async def item_update(
        self,
        application_id: str,
        item_code: str,
        step: str,
        open_in: Collection[ItemStatus],
        call: Callable[[], Awaitable[T]],
    ) -> T:
        """Run an item Update; 409 when the item is not at `step` (or has not started)."""
        try:
            current = await self.item_state_of(application_id, item_code)
        except NotFound:
            raise ApiError.field(
                409, "item_code", f"{item_code!r} has not started yet: no {step} is open"
            ) from None
        if current.status not in open_in:
            raise ApiError.field(
                409,
                "item_code",
                f"no {step} is open for {item_code!r} (it is {current.status.value})",
                code="task_closed",
            )
        try:
            return await call()
        except NotFound:
            raise ApiError.field(409, "item_code", f"the {step} closed meanwhile") from None
        except Conflict as exc:
            raise ApiError.field(409, exc.field, exc.problem, code="task_closed") from None

    async def item_action(
        self,
        principal: Principal,
        application_id: str,
        item_code: str,
        step: str,
        open_in: Collection[ItemStatus],
        call: Callable[[], Awaitable[ItemStatus]],
        action: str,
        *,
        hold: bool = False,
    ) -> ItemActionOut:
        """An item Update (`item_update`) answered with what was done, by whom, and the
        item's status as it was recorded. `hold`: the item's task is `held` for the caller
        before `call` (a task a colleague took is theirs to decide on)."""

        async def calling() -> ItemStatus:
            if hold:
                await self.held(principal, application_id, item_code)
            return await call()

        status = await self.item_update(application_id, item_code, step, open_in, calling)
        return ItemActionOut(
            application_id=application_id,
            item_code=item_code,
            action=action,
            by=principal.name,
            status=status,
        )

    async def held(self, principal: Principal, application_id: str, item_code: str) -> None:
        """A taken task is decided by its taker only; an untaken one is the decider's from
        here on. The store's row is checked before the Update is sent: the workflow's
        validator cannot read the store."""
        try:
            await run_in_threadpool(self.desk.hold, application_id, item_code, principal.staff())
        except Conflict as exc:
            raise ApiError.field(409, exc.field, exc.problem, code="task_taken") from None

    async def application_update(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except NotFound:
            raise ApiError.field(409, "application_id", "the application has ended") from None
        except Conflict as exc:
            raise ApiError.field(409, exc.field, exc.problem) from None
