"""The HTTP API: the typed client's operations, the catalog, the service guide, license
verification and reports, behind bearer tokens (`starter.auth`).

`create_app(client, engine, tokens, ...)` builds the FastAPI app; `serve_api(settings)`
runs it with uvicorn (`onething api`); `embedded_api(...)` serves it inside another
process (`onething dev`). Every error is an `ErrorBody` (`starter.errors`).

Paging: tasks and the catalog take `limit` (1-200, default 50) and `offset` and answer
`{"items": [...], "total": N, "limit": L, "offset": O, "next_offset": O+L or null}`;
applications (Temporal visibility) page by `cursor` and answer `next_cursor`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import sys
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Generator, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import structlog
import uvicorn
from fastapi import Depends, FastAPI, Path, Query, Request, Response, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, text
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.converter import PayloadCodec
from temporalio.service import RPCError, RPCStatusCode

from domain.application import (
    APPLICATION_ID_PATTERN,
    ApplicationOutcome,
    ApplicationState,
    ApplicationStatus,
    Cancellation,
    Channel,
    Correction,
    ExtensionReceipt,
    InspectionReport,
    InspectionResult,
    ItemState,
    ItemStatus,
    LimitExtension,
    MaterialCode,
    PlainReason,
    Refusal,
    RefusalGround,
    ReviewDecision,
    ReviewVerdict,
    Submission,
    Supplement,
    Termination,
    Withdrawal,
    application_workflow_id,
)
from domain.bundle import (
    BundleReductions,
    MaterialSet,
    ReductionSummary,
    as_bundle,
    one_form,
    one_set_of_materials,
    reductions,
    reductions_report,
)
from domain.catalog import (
    Bundle,
    Catalog,
    CatalogError,
    Hall,
    Item,
    ItemKind,
    Window,
    load_seed_catalog,
)
from domain.guide import (
    DEFAULT_GUIDE_BASE_URL,
    CoverageReport,
    HallDistance,
    ServiceGuide,
    build_guide,
    coverage_report,
    guide_url,
    halls_accepting,
    nearest_halls,
    qr_png,
    qr_svg,
    render_guide,
)
from domain.guide_page import render_guide_page
from domain.people import Role, Staff
from domain.text import Line, Text
from onething.settings import Settings
from starter import auth
from starter.auth import Principal, TaskFilter, TokenRegistry, sha256_hex
from starter.client import Conflict, NotFound, OnethingClient, TaskDesk
from starter.codec_endpoint import DEFAULT_UI_ORIGINS, add_codec_cors, codec_router
from starter.errors import (
    ApiError,
    BodyLimit,
    JsonBodyRoute,
    error_responses,
    install_error_handlers,
)
from starter.redaction import DepartmentOf, for_caller, notices_for_caller
from starter.termination import close_open_tasks
from store import deliveries as delivery_store
from store import notifications as notification_store
from store import supervision as supervision_store
from store import tasks as tasks_store
from store.supervision import SupervisionCase
from store.tasks import InboxFilter
from workflows import search_attributes as sa

log = structlog.stdlib.get_logger("onething.api")

__all__ = [
    "ApiSettings",
    "api_server",
    "build_api",
    "create_app",
    "embedded_api",
    "serve_api",
]

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


class ApiSettings(BaseSettings):
    """Where the API listens; tokens come from `starter.auth` (ONETHING_API_TOKENS…)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    host: str = Field("127.0.0.1", validation_alias="ONETHING_API_HOST")
    port: int = Field(8000, ge=1, le=65535, validation_alias="ONETHING_API_PORT")
    # The address printed in guide QR codes; default http://{host}:{port}.
    public_url: str = Field("", validation_alias="ONETHING_API_PUBLIC_URL")

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def public_base_url(settings: Settings, api: ApiSettings | None = None) -> str:
    """The one public base URL of guide links and QR codes (API and CLI alike):
    ONETHING_PUBLIC_URL (or its old names), else the API's own address."""
    api = api or ApiSettings()
    return (api.public_url.rstrip("/") or settings.public_url) or api.base_url


# --------------------------------------------------------------------------- wire models


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


def page_of(rows: Sequence[T], total: int, limit: int, offset: int) -> Page[T]:
    following = offset + limit
    return Page[T](
        items=list(rows),
        total=total,
        limit=limit,
        offset=offset,
        next_offset=following if following < total else None,
    )


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null last.")


class ApplicationSummary(BaseModel):
    """One application in a list, from its search attributes (never personal data)."""

    application_id: str
    status: str | None
    bundle_code: str | None
    item_codes: list[str]
    departments: list[str]
    hall: str | None
    channel: str | None
    escalated: bool | None
    started_at: datetime | None
    closed_at: datetime | None


class SubmissionIn(Submission):
    """A submission as the API takes it: the pledges are JSON booleans, never 0/1 or "yes"
    (a signature is not something to guess from a number); a field it does not know is
    refused by name, not dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commitment_signed: StrictBool = False
    deficiency_pledge_signed: StrictBool = False


class SubmitReceiptOut(BaseModel):
    application_id: str
    workflow_id: str
    created: bool = Field(description="False: this application ID was submitted before.")
    href: str = Field(description="Where to read the application.")


def _reason_unless(field: str, verdict: str, ok: str) -> dict[str, Any]:
    """JSON Schema: `field` must hold text unless `verdict` is `ok` (as the validators say)."""
    return {
        "if": {"properties": {verdict: {"not": {"const": ok}}}, "required": [verdict]},
        "then": {
            "required": [field],
            "properties": {field: {"type": "string", "pattern": r"\S"}},
        },
    }


class DecisionIn(BaseModel):
    """A reviewer's decision; the reviewer is the caller's token."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            **_reason_unless("reason", "verdict", "approve"),
            "examples": [{"verdict": "approve"}, {"verdict": "reject", "reason": "证明材料不符"}],
        },
    )

    verdict: ReviewVerdict
    reason: Text | None = Field(None, max_length=500, description="Required unless approving.")

    @model_validator(mode="after")
    def _reason(self) -> DecisionIn:
        if self.verdict is not ReviewVerdict.APPROVE and not (self.reason and self.reason.strip()):
            raise ValueError(f"reason: {self.verdict.value} must give the reason")
        return self


class InspectionIn(BaseModel):
    """An on-site inspection's result; the inspector is the caller's token."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            **_reason_unless("findings", "result", "passed"),
            "examples": [{"result": "passed"}, {"result": "failed", "findings": "后厨未设隔油池"}],
        },
    )

    result: InspectionResult
    findings: Text | None = Field(None, max_length=500, description="Required unless passed.")

    @model_validator(mode="after")
    def _findings(self) -> InspectionIn:
        if self.result is not InspectionResult.PASSED and not (
            self.findings and self.findings.strip()
        ):
            raise ValueError(f"findings: a {self.result.value} inspection must state the findings")
        return self


ANSWER_CHANNEL_DOC = (
    "How it arrived. Applicants: online (default) or mail; window clerks: window (default) or mail."
)


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Text = Field(min_length=1, max_length=500, pattern=r"\S")
    channel: Channel | None = Field(None, description=ANSWER_CHANNEL_DOC)


class SupplementIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"materials": ["nurse-health-exam"]}]}
    )

    materials: list[MaterialCode] = Field(min_length=1, max_length=50)
    channel: Channel | None = Field(None, description=ANSWER_CHANNEL_DOC)


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: StrictInt = Field(ge=1, le=30, description="Working days to add to the running limit.")
    reason: Text = Field(min_length=1, max_length=500, pattern=r"\S")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=500, pattern=r"\S")


class TerminationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "输入无法读取, 已通知重新提交"}]}
    )

    reason: PlainReason = Field(
        description="One line, kept in plain text in history: name no person, no ID number."
    )


class TerminationOut(BaseModel):
    application_id: str
    status: Literal["terminated"]
    by: str


class RefusalIn(ReasonIn):
    ground: RefusalGround
    competent_office: Line | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="The office the applicant should turn to; required for outside_powers.",
    )

    @model_validator(mode="after")
    def _office_named(self) -> RefusalIn:
        if self.ground is RefusalGround.OUTSIDE_POWERS and self.competent_office is None:
            raise ValueError("competent_office: name the office the applicant should turn to")
        return self


class DeliveryOut(BaseModel):
    """One channel's delivery of a notice; `reason` names no person, address or number."""

    channel: Literal["email", "sms"]
    status: Literal["pending", "sent", "failed"]
    attempts: int = Field(description="Attempts made so far.")
    last_attempt_at: datetime | None
    reason: str | None = Field(description="The last failed attempt's cause, short.")


class NoticeOut(BaseModel):
    recipient: str = Field(description='"applicant", or a role and department.')
    kind: str
    message: str
    created_at: datetime
    delivery: Literal["outbox_only", "pending", "sent", "failed"] = Field(
        description=(
            "outbox_only: no channel applies (delivery not configured, or no mailbox for the "
            "department); pending while a channel is being tried; failed when one gave up; "
            "sent when every channel delivered."
        )
    )
    deliveries: list[DeliveryOut] = Field(description="Each channel's delivery.")

    @classmethod
    def of(
        cls, notice: notification_store.Notification, rows: list[delivery_store.NoticeDelivery]
    ) -> NoticeOut:
        return cls(
            recipient=notice.recipient,
            kind=notice.kind,
            message=notice.message,
            created_at=notice.created_at,
            delivery=delivery_store.summary(rows),
            deliveries=[DeliveryOut.model_validate(r, from_attributes=True) for r in rows],
        )


class ResolutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Text = Field(min_length=1, max_length=400, pattern=r"\S")


class SupervisionCaseOut(BaseModel):
    """A limit that passed and went to supervision; `subject` names no person."""

    id: int
    workflow_id: str
    limit_name: str
    stage: int
    level: str
    department: str
    subject: str
    due_at: datetime
    boundary_at: datetime
    escalated_at: datetime
    total_days: int
    provisional: bool
    status: str
    closed_at: datetime | None
    resolution: str | None


class ItemActionOut(BaseModel):
    application_id: str
    item_code: str
    action: str
    by: str
    status: ItemStatus = Field(description="The item's status as the action was recorded.")


class SupplementOut(BaseModel):
    application_id: str
    outstanding: list[str] = Field(description="Material codes still awaited.")


class ApplicationActionOut(BaseModel):
    application_id: str
    status: ApplicationStatus
    by: str


class Pending(BaseModel):
    application_id: str
    status: ApplicationStatus
    done: Literal[False] = False


class TakeTaskIn(BaseModel):
    """Task IDs hold slashes (application/item/step), so the ID travels in the body."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(min_length=1, max_length=200)


class ReassignTaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(min_length=1, max_length=200)
    to: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._\-]+$",
        description="Staff ID of the new taker: of the task's role and department (or hall).",
    )


class TaskOut(BaseModel):
    task_id: str
    application_id: str
    item_code: str | None
    kind: str
    department: str | None
    role: str
    hall: str | None
    status: str
    due_at: datetime | None
    created_at: datetime
    closed_at: datetime | None
    outcome: str | None
    closed_by: str | None
    taken_by: str | None = None
    taken_at: datetime | None = None
    handed_over_by: str | None = Field(None, description="Who last released or reassigned it.")
    handed_over_at: datetime | None = None
    handed_over_from: str | None = Field(None, description="Its taker before that handover.")

    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        # SQLite hands back naive values; everything the store keeps is UTC.
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class ItemSummary(BaseModel):
    code: str
    name: str
    department: str
    department_name: str
    kind: ItemKind
    window: Window
    statutory_days: int
    promised_days: int
    produces: str | None
    admits_deficiency: bool
    admits_commitment: bool


class BundleSummary(BaseModel):
    code: str
    name: str
    items: list[str]
    promised_days: int


class BundleDetail(BaseModel):
    bundle: Bundle
    catalog_version: str
    stages: list[list[str]]
    form_schema: dict[str, Any] = Field(description="The one form, as JSON Schema 2020-12.")
    materials: MaterialSet
    reductions: BundleReductions


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    temporal: str
    store: str


class Me(BaseModel):
    name: str
    role: Role
    hall: str | None
    department: str | None


# --------------------------------------------------------------------------- helpers


def _mask(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 0)


class _Refs:
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


async def _answered(call: Awaitable[T], seconds: float) -> T:
    try:
        return await asyncio.wait_for(call, seconds)
    except TimeoutError:
        raise ApiError(
            503, "no worker answered in time: is a onething worker running?", code="unavailable"
        ) from None


def _departments(catalog: Catalog, state: ApplicationState) -> set[str]:
    codes = _items_of_target(catalog, state)
    return {i.department for i in state.items} | {
        catalog.items[c].department for c in codes if c in catalog.items
    }


def _department_of(catalog: Catalog, state: ApplicationState) -> DepartmentOf:
    """Each item's department: as the application has it, else as the catalog says."""
    known = {i.item_code: i.department for i in state.items}

    def of(code: str) -> str | None:
        item = catalog.items.get(code)
        return known.get(code) or (item.department if item else None)

    return of


def _items_of_target(catalog: Catalog, state: ApplicationState) -> set[str]:
    codes = {i.item_code for i in state.items}
    with contextlib.suppress(CatalogError):
        codes |= set(as_bundle(catalog, state.target).item_codes)
    return codes


CLOSED_ITEM_STATUSES = frozenset(
    {ItemStatus.CLOSED, ItemStatus.REJECTED, ItemStatus.REVOKED, ItemStatus.STOPPED}
)


def _channel(principal: Principal, asked: Channel | None) -> tuple[Channel, Staff | None]:
    """How an applicant's answer arrived, and the clerk who received it (if at a window)."""
    if principal.role is Role.WINDOW_CLERK:
        if asked is Channel.ONLINE:
            raise ApiError.field(422, "channel", "a window clerk receives at the window or by mail")
        return asked or Channel.WINDOW, principal.staff()
    if asked is Channel.WINDOW:
        raise ApiError.field(422, "channel", "what arrives at a window is recorded by its clerk")
    return asked or Channel.ONLINE, None


def _operation_id(route: APIRoute) -> str:
    """Operation IDs are the handlers' names (`submit`, `get_application`, `decide`, ...)."""
    if route.path_format.startswith("/codec"):
        namespaced = "{namespace}" in route.path_format
        return f"codec_{route.name}" + ("_in_namespace" if namespaced else "")
    return route.name


def _links(to: dict[str, str], **parameters: str) -> dict[str, Any]:
    return {
        name: {"operationId": operation, "parameters": parameters} for name, operation in to.items()
    }


# OpenAPI links: where a response's values lead (clients and stateful testers follow them).
_BY_APPLICATION = {"application_id": "$response.body#/application_id"}
_RECEIPT_LINKS = _links(
    {
        "GetApplication": "get_application",
        "GetResult": "get_result",
        "Supplement": "supplement",
        "Withdraw": "withdraw",
        "Cancel": "cancel",
    },
    **_BY_APPLICATION,
)
_ITEM_LINKS = _links(
    {
        "GetItem": "get_item",
        "Decide": "decide",
        "Correct": "correct",
        "Inspect": "inspect",
        "Extend": "extend",
    },
    **_BY_APPLICATION,
    item_code="$response.body#/items/0/item_code",
)


def _catalog_item(catalog: Catalog, code: str, field: str = "item_code") -> Item:
    try:
        return catalog.item(code)
    except CatalogError:
        raise ApiError.field(
            404, field, f"{code!r} is not an item of catalog {catalog.version}"
        ) from None


# --------------------------------------------------------------------------- the app


def create_app(
    client: OnethingClient,
    engine: Engine,
    tokens: TokenRegistry,
    *,
    codec: PayloadCodec | None = None,
    base_url: str = DEFAULT_GUIDE_BASE_URL,
    codec_origins: Collection[str] = DEFAULT_UI_ORIGINS,
    query_timeout: float = 10.0,
) -> FastAPI:
    """The API over `client` (Temporal) and `engine` (the store).

    `codec`: serve the codec endpoint under /codec for operators and auditors (the Web
    UI calls it from the browser, so `codec_origins` get CORS). `base_url`: where this
    API is reached from outside; guide URLs and QR codes point there. `query_timeout`:
    seconds to wait for a worker to answer a Query before answering 503.
    """
    from starter.api_credit import add_credit_routes
    from starter.api_documents import add_document_routes
    from starter.api_licenses import add_license_routes
    from starter.api_procedure import add_excluded_time_routes, add_referral_routes
    from starter.citizen import CitizenDesk, add_citizen_routes
    from starter.license_terms import LicenseTerms

    catalog = client.catalog
    refs = _Refs(client.temporal)
    desk = TaskDesk(engine)

    # A Query waits for a worker to answer; without one it would hang the request.
    async def state_of(application_id: str) -> ApplicationState:
        return await _answered(client.state(application_id), query_timeout)

    async def item_state_of(application_id: str, item_code: str) -> ItemState:
        return await _answered(client.item_state(application_id, item_code), query_timeout)

    from onething.delivery import HistoryContacts

    # The citizen's side (progress look-up, help requests): starter.citizen.
    citizen = CitizenDesk(
        engine,
        catalog,
        state_of,
        HistoryContacts(client.temporal).phone_of,
        item_state_of=item_state_of,
    )

    app = FastAPI(
        generate_unique_id_function=_operation_id,
        title="onething API",
        version="1",
        summary="高效办成一件事: applications, staff tasks, catalog, service guide, licenses.",
        description=(
            "Bearer tokens (`Authorization: Bearer <token>`) carry a role and a scope. "
            'Every error answers `{"error": {"code", "message", "fields": '
            '[{"field", "problem"}]}}`. Lists are paged with `limit` and `offset`.'
        ),
        openapi_tags=[
            {"name": "applications", "description": "Submit, read and follow applications."},
            {"name": "staff", "description": "The task inbox and reviewers' decisions."},
            {"name": "catalog", "description": "Items, bundles, one form, one set of materials."},
            {"name": "guides", "description": "Service guides (数字政务门牌) and QR codes."},
            {"name": "citizens", "description": "Progress by case number, asking for help."},
            {"name": "licenses", "description": "Public verification of electronic licenses."},
            {"name": "reports", "description": "Reductions and general-window coverage."},
            {"name": "health", "description": "Liveness of Temporal and the store."},
        ],
    )
    app.state.tokens = tokens
    app.state.citizen = citizen
    install_error_handlers(app)
    app.router.route_class = JsonBodyRoute  # bodies too deep or not text: 422 before models
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)

    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        """One line per request: the route's template (not its values), status, caller."""
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        log.info(
            "api request",
            method=request.method,
            route=getattr(route, "path", None) or "(no route)",
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
            caller=getattr(request.state, "caller", None),
        )
        return response

    # -- applications ---------------------------------------------------------------------

    async def readable_state(principal: Principal, application_id: str) -> ApplicationState:
        state = await state_of(application_id)
        await auth.may_read_application(
            principal,
            hall=state.hall,
            departments=_departments(catalog, state),
            applicant_ref=lambda: refs.of(application_id),
        )
        return state

    @app.post(
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
            201: {"description": "Submitted; the application starts.", "links": _RECEIPT_LINKS},
            200: {
                "model": SubmitReceiptOut,
                "description": "Submitted before; nothing new.",
                "links": _RECEIPT_LINKS,
            },
            **error_responses(401, 403, 404, 409, 422, 503),
        },
        openapi_extra=_submission_examples(catalog),
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

    @app.get(
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
        hall: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
        department: Annotated[str | None, Query(pattern=DEPARTMENT_PATTERN)] = None,
        item_code: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
        bundle_code: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
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
            items=[_summary(info) for info in response.executions],
            limit=limit,
            next_cursor=base64.urlsafe_b64encode(CURSOR_MARK + following).decode().rstrip("=")
            if following
            else None,
        )

    @app.get(
        "/applications/{application_id}",
        tags=["applications"],
        response_model=ApplicationState,
        summary="An application's status, items, notice and decision trail",
        responses={
            200: {"description": "The application as it stands.", "links": _ITEM_LINKS},
            **error_responses(401, 403, 404, 422, 503),
        },
    )
    async def get_application(application_id: ApplicationId, principal: Caller) -> Any:
        state = await readable_state(principal, application_id)
        return for_caller(principal, state, _department_of(catalog, state))

    @app.get(
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
        department_of = _department_of(catalog, state)
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

    @app.get(
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
        rows = notices_for_caller(principal, application_id, rows, _department_of(catalog, state))
        sent = await run_in_threadpool(delivery_store.deliveries_of, engine, [n.key for n in rows])
        return [NoticeOut.of(n, sent.get(n.key, [])) for n in rows]

    add_document_routes(app, engine, readable_state, lambda s: _department_of(catalog, s))

    # Ratings (好差评), their follow-ups, appeals and figures: starter.api_ratings.
    from starter.api_ratings import SubmitterRefs, add_rating_routes
    from starter.ratings import Ratings

    ratings = Ratings(client.temporal, client.task_queue, engine, catalog)
    add_rating_routes(app, ratings, state_of, readable_state, SubmitterRefs(client.temporal))

    @app.get(
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
        item = _catalog_item(catalog, item_code)
        if item_code not in _items_of_target(catalog, state):
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

    # -- acting on an item ------------------------------------------------------------------

    async def item_in(application_id: str, item_code: str) -> tuple[ApplicationState, str]:
        """The application (404 if unknown) and the item's department (404 if the item
        is not part of it)."""
        state = await state_of(application_id)
        item = _catalog_item(catalog, item_code)
        if item_code not in _items_of_target(catalog, state):
            raise ApiError.field(
                404, "item_code", f"{item_code!r} is not an item of application {application_id}"
            )
        ref = next((i for i in state.items if i.item_code == item_code), None)
        return state, ref.department if ref else item.department

    async def item_update(
        application_id: str,
        item_code: str,
        step: str,
        open_in: Collection[ItemStatus],
        call: Callable[[], Awaitable[T]],
    ) -> T:
        """Run an item Update; 409 when the item is not at `step` (or has not started)."""
        try:
            current = await item_state_of(application_id, item_code)
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

    async def held(principal: Principal, application_id: str, item_code: str) -> None:
        """A taken task is decided by its taker only; an untaken one is the decider's from
        here on. The store's row is checked before the Update is sent: the workflow's
        validator cannot read the store."""
        try:
            await run_in_threadpool(desk.hold, application_id, item_code, principal.staff())
        except Conflict as exc:
            raise ApiError.field(409, exc.field, exc.problem, code="task_taken") from None

    item_errors = error_responses(401, 403, 404, 409, 422, 503)

    @app.post(
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
        if principal.role is not Role.REVIEWER:
            auth.may_decide(principal, item_department="")
        _, department = await item_in(application_id, item_code)
        auth.may_decide(principal, item_department=department)
        decision = ReviewDecision(
            reviewer=principal.staff(), verdict=body.verdict, reason=body.reason
        )

        async def deciding() -> ItemStatus:
            await held(principal, application_id, item_code)
            return await client.decide(application_id, item_code, decision)

        status: ItemStatus = await item_update(
            application_id, item_code, "review", {ItemStatus.UNDER_REVIEW}, deciding
        )
        return ItemActionOut(
            application_id=application_id,
            item_code=item_code,
            action=f"review {body.verdict.value}",
            by=principal.name,
            status=status,
        )

    @app.post(
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
        channel, received_by = _channel(principal, body.channel)
        correction = Correction(channel=channel, note=body.note, received_by=received_by)
        status: ItemStatus = await item_update(
            application_id,
            item_code,
            "correction",
            {ItemStatus.CORRECTION_REQUESTED},
            lambda: client.correct(application_id, item_code, correction),
        )
        return ItemActionOut(
            application_id=application_id,
            item_code=item_code,
            action="correction received",
            by=principal.name,
            status=status,
        )

    @app.post(
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
        if principal.role is not Role.INSPECTOR:
            auth.may_inspect(principal, item_department="")
        _, department = await item_in(application_id, item_code)
        auth.may_inspect(principal, item_department=department)
        report = InspectionReport(
            inspector=principal.staff(), result=body.result, findings=body.findings
        )

        async def inspecting() -> ItemStatus:
            await held(principal, application_id, item_code)
            return await client.inspect(application_id, item_code, report)

        status: ItemStatus = await item_update(
            application_id,
            item_code,
            "inspection",
            {ItemStatus.INSPECTING, ItemStatus.RECTIFYING},
            inspecting,
        )
        return ItemActionOut(
            application_id=application_id,
            item_code=item_code,
            action=f"inspection {body.result.value}",
            by=principal.name,
            status=status,
        )

    @app.post(
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

    add_excluded_time_routes(app, client, item_in, item_update, desk)

    # -- acting on the application ------------------------------------------------------

    async def application_update(call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except NotFound:
            raise ApiError.field(409, "application_id", "the application has ended") from None
        except Conflict as exc:
            raise ApiError.field(409, exc.field, exc.problem) from None

    @app.post(
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
        channel, received_by = _channel(principal, body.channel)
        arrived = Supplement(materials=body.materials, channel=channel, received_by=received_by)
        outstanding: list[str] = await application_update(
            lambda: client.supplement(application_id, arrived)
        )
        return SupplementOut(application_id=application_id, outstanding=outstanding)

    @app.post(
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

    @app.post(
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

    @app.post(
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

    @app.post(
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

    @app.post(
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

    # -- staff ----------------------------------------------------------------------------

    @app.get(
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

    @app.post(
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

    @app.post(
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

    @app.post(
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

    @app.get(
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

    # -- supervision ----------------------------------------------------------------------

    @app.get(
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

    @app.post(
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

    add_referral_routes(app, engine)
    add_credit_routes(app, engine, catalog)
    add_citizen_routes(app, citizen, query_timeout)

    # -- catalog --------------------------------------------------------------------------

    @app.get(
        "/catalog/items",
        tags=["catalog"],
        response_model=Page[ItemSummary],
        summary="Service items of the catalog, paged (public)",
        responses=error_responses(422),
    )
    async def list_items(
        limit: Limit = 50,
        offset: Offset = 0,
        department: Annotated[str | None, Query(max_length=64)] = None,
        window: Annotated[Window | None, Query()] = None,
    ) -> Any:
        rows = [
            i
            for i in catalog.items.values()
            if (department is None or i.department == department)
            and (window is None or i.window is window)
        ]
        return page_of(
            [ItemSummary.model_validate(i, from_attributes=True) for i in rows][
                offset : offset + limit
            ],
            len(rows),
            limit,
            offset,
        )

    @app.get(
        "/catalog/items/{item_code}",
        tags=["catalog"],
        response_model=Item,
        summary="One service item: limits, materials, form fields, rules (public)",
        responses=error_responses(404, 422),
    )
    async def get_catalog_item(item_code: ItemCode) -> Any:
        return _catalog_item(catalog, item_code)

    @app.get(
        "/catalog/bundles",
        tags=["catalog"],
        response_model=Page[BundleSummary],
        summary="Bundles (一件事), paged (public)",
        responses=error_responses(422),
    )
    async def list_bundles(limit: Limit = 50, offset: Offset = 0) -> Any:
        rows = [
            BundleSummary(
                code=b.code, name=b.name, items=list(b.item_codes), promised_days=b.promised_days
            )
            for b in catalog.bundles.values()
        ]
        return page_of(rows[offset : offset + limit], len(rows), limit, offset)

    @app.get(
        "/catalog/bundles/{bundle_code}",
        tags=["catalog"],
        response_model=BundleDetail,
        summary="A bundle with its one form (JSON Schema), one set of materials, reductions",
        responses=error_responses(404, 422),
    )
    async def get_bundle(bundle_code: BundleCode) -> Any:
        bundle = catalog.bundles.get(bundle_code)
        if bundle is None:
            raise ApiError.field(
                404, "bundle_code", f"{bundle_code!r} is not a bundle of catalog {catalog.version}"
            )
        return BundleDetail(
            bundle=bundle,
            catalog_version=catalog.version,
            stages=bundle.stages(),
            form_schema=one_form(catalog, bundle).json_schema(),
            materials=one_set_of_materials(catalog, bundle),
            reductions=reductions(catalog, bundle),
        )

    # -- guides ---------------------------------------------------------------------------

    def guide_code(code: str) -> str:
        if code not in catalog.items and code not in catalog.bundles:
            raise ApiError.field(
                404, "code", f"{code!r} is no item or bundle of catalog {catalog.version}"
            )
        return code

    def near_point(latitude: float | None, longitude: float | None) -> tuple[float, float] | None:
        if (latitude is None) != (longitude is None):
            missing = "longitude" if longitude is None else "latitude"
            raise ApiError.field(422, missing, "give latitude and longitude together")
        return None if latitude is None or longitude is None else (latitude, longitude)

    @app.get(
        "/guides/{code}",
        tags=["guides"],
        response_model=ServiceGuide,
        summary="The service guide of an item or bundle (public; what the QR code opens)",
        description=(
            "With latitude and longitude, halls come nearest first with distances. A browser "
            "(`Accept: text/html`, as after scanning the QR code) gets a printable page."
        ),
        responses={
            200: {"content": {"text/html": {"schema": {"type": "string"}}}},
            **error_responses(404, 422),
        },
    )
    async def get_guide(
        request: Request,
        code: CatalogCode,
        latitude: Latitude = None,
        longitude: Longitude = None,
        hall: Annotated[
            str | None, Query(pattern=CODE_PATTERN, description="The doorplate's hall.")
        ] = None,
    ) -> Any:
        # A printed doorplate must keep working: a hall the catalog no longer has is left
        # out, not an error. Without a location, distances count from the doorplate's hall.
        here = catalog.halls.get(hall) if hall else None
        point = near_point(latitude, longitude)
        doorplate = (here.latitude, here.longitude) if here else None
        guide = build_guide(catalog, guide_code(code), base_url=base_url, near=point or doorplate)
        if "text/html" in request.headers.get("accept", ""):
            page = render_guide_page(
                guide, catalog, here=here.code if here else None, located=point is not None
            )
            return HTMLResponse(page)
        return guide

    @app.get(
        "/guides/{code}/text",
        tags=["guides"],
        response_class=PlainTextResponse,
        summary="The service guide as printable text (Chinese)",
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            **error_responses(404, 422, explicit=True),
        },
    )
    async def get_guide_text(code: CatalogCode) -> PlainTextResponse:
        guide = build_guide(catalog, guide_code(code), base_url=base_url)
        return PlainTextResponse(render_guide(guide))

    @app.get(
        "/guides/{code}/qr.svg",
        tags=["guides"],
        response_class=Response,
        summary="QR code (SVG) that opens the guide",
        responses={
            200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}},
            **error_responses(404, 422, explicit=True),
        },
    )
    async def get_qr_svg(code: CatalogCode) -> Response:
        return Response(qr_svg(guide_url(guide_code(code), base_url)), media_type="image/svg+xml")

    @app.get(
        "/guides/{code}/qr.png",
        tags=["guides"],
        response_class=Response,
        summary="QR code (PNG) that opens the guide",
        responses={
            200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
            **error_responses(404, 422, explicit=True),
        },
    )
    async def get_qr_png(code: CatalogCode) -> Response:
        return Response(qr_png(guide_url(guide_code(code), base_url)), media_type="image/png")

    @app.get(
        "/halls",
        tags=["guides"],
        response_model=list[HallDistance] | list[Hall],
        summary="Halls; nearest first with a point; only those accepting `code` with a code",
        responses=error_responses(404, 422),
    )
    async def list_halls(
        latitude: Latitude = None,
        longitude: Longitude = None,
        code: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
    ) -> Any:
        point = near_point(latitude, longitude)
        if code is not None:
            guide_code(code)
        if point is None:
            if code is None:
                return list(catalog.halls.values())
            return halls_accepting(catalog, code)
        return nearest_halls(catalog, point[0], point[1], code)

    # -- licenses: verification with validity, term and renewal (starter.api_licenses) ----

    add_license_routes(app, engine, catalog, LicenseTerms(client.temporal), refs.of, query_timeout)

    # -- reports --------------------------------------------------------------------------

    @app.get(
        "/reports/reductions",
        tags=["reports"],
        response_model=ReductionSummary,
        summary="What each bundle saves against applying item by item (staff)",
        responses=error_responses(*AUTH_ERRORS),
    )
    async def report_reductions(principal: Caller) -> Any:
        auth.may_read_reports(principal)
        return reductions_report(catalog)

    @app.get(
        "/reports/coverage",
        tags=["reports"],
        response_model=CoverageReport,
        summary="Items accepted at a general window, by department (staff)",
        responses=error_responses(*AUTH_ERRORS),
    )
    async def report_coverage(principal: Caller) -> Any:
        auth.may_read_reports(principal)
        return coverage_report(catalog)

    # -- health ---------------------------------------------------------------------------

    @app.get(
        "/healthz",
        tags=["health"],
        response_model=Health,
        summary="Temporal and the store answer (public)",
        responses={503: {"model": Health, "description": "Temporal or the store is down."}},
    )
    async def healthz() -> Any:
        temporal, store = "ok", "ok"
        try:
            await asyncio.wait_for(client.temporal.service_client.check_health(), timeout=5)
        except Exception as exc:
            temporal = f"down ({type(exc).__name__})"

        def ping() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(run_in_threadpool(ping), timeout=5)
        except Exception as exc:
            store = f"down ({type(exc).__name__})"
        ok = temporal == "ok" and store == "ok"
        body = Health(status="ok" if ok else "degraded", temporal=temporal, store=store)
        return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)

    # -- codec ----------------------------------------------------------------------------

    if codec is not None:

        async def codec_authorize(request: Request) -> None:
            auth.may_use_codec(await current_principal(request))

        app.include_router(
            codec_router(codec, codec_authorize),
            responses=error_responses(400, 401, 403, 422),
        )
        add_codec_cors(app, codec_origins)

    _complete_openapi(app)
    return app


def _summary(info: WorkflowExecutionInfo) -> ApplicationSummary:
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


def _submission_examples(catalog: Catalog) -> dict[str, Any]:
    """A valid submission (made-up applicant) for the OpenAPI document and its users."""
    from onething.demo import DEMO_ITEM, demo_submission

    if DEMO_ITEM not in catalog.items:
        return {}
    example = demo_submission(catalog, EXAMPLE_APPLICATION_ID).model_dump(
        mode="json", exclude_none=True
    )
    return {
        "requestBody": {
            "content": {
                "application/json": {
                    "examples": {"window": {"summary": "At the general window", "value": example}}
                }
            }
        }
    }


def _complete_openapi(app: FastAPI) -> None:
    """Declare path parameters a mounted router uses without naming them (the codec
    routes' `{namespace}`), so the document describes every request it accepts."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for path, operations in schema.get("paths", {}).items():
            names = re.findall(r"{([^}]+)}", path)
            for op in operations.values():
                if "requestBody" in op:
                    op["responses"].setdefault(
                        "413",
                        {
                            "description": f"The body is over {MAX_BODY_BYTES} bytes.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorBody"}
                                }
                            },
                        },
                    )
                params = op.setdefault("parameters", [])
                declared = {p["name"] for p in params if p.get("in") == "path"}
                params.extend(
                    {
                        "name": name,
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "title": name.title()},
                    }
                    for name in names
                    if name not in declared
                )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# --------------------------------------------------------------------------- running it


def build_api(
    settings: Settings,
    temporal: Client,
    engine: Engine,
    *,
    codec: PayloadCodec | None = None,
    catalog: Catalog | None = None,
    api: ApiSettings | None = None,
    tokens: TokenRegistry | None = None,
) -> FastAPI:
    """The app as `onething api` and `onething dev` serve it, from settings and open parts."""
    api = api or ApiSettings()
    origins = [f"http://localhost:{settings.ui_port}", f"http://127.0.0.1:{settings.ui_port}"]
    return create_app(
        OnethingClient(temporal, settings.task_queue, catalog or load_seed_catalog()),
        engine,
        tokens or auth.load_api_tokens(settings.data_dir),
        codec=codec,
        base_url=public_base_url(settings, api),
        codec_origins=origins,
    )


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def api_server(
    app: FastAPI, api: ApiSettings | None = None, *, embedded: bool = False
) -> uvicorn.Server:
    """A uvicorn server for `app`; `await server.serve()`, stop with `should_exit = True`."""
    api = api or ApiSettings()
    config = uvicorn.Config(
        app, host=api.host, port=api.port, log_level="warning", lifespan="off", access_log=False
    )
    return _EmbeddedServer(config) if embedded else uvicorn.Server(config)


@contextlib.asynccontextmanager
async def embedded_api(
    settings: Settings,
    temporal: Client,
    engine: Engine,
    *,
    codec: PayloadCodec | None = None,
    api: ApiSettings | None = None,
) -> AsyncIterator[str]:
    """Serve the API inside another process (`onething dev`) while the block runs; yields
    its base URL. Signals stay with the embedding process."""
    api = api or ApiSettings()
    server = api_server(
        build_api(settings, temporal, engine, codec=codec, api=api), api, embedded=True
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # the error that stopped it (e.g. the port is taken)
                raise RuntimeError(f"the API stopped at start-up on {api.host}:{api.port}")
            await asyncio.sleep(0.02)
        yield api.base_url
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


class ApiStartError(Exception):
    """The API cannot start (Temporal unreachable, ...): one line, no traceback."""


async def run_api(settings: Settings, api: ApiSettings | None = None) -> None:
    from onething.runtime import open_runtime

    api = api or ApiSettings()
    # A wrong token document stops the API before anything connects.
    tokens = auth.load_api_tokens(settings.data_dir)
    async with contextlib.AsyncExitStack() as stack:
        try:
            runtime = await stack.enter_async_context(open_runtime(settings))
        except RuntimeError as exc:  # the SDK's "Failed client connect: ..."
            raise ApiStartError(
                f"cannot reach Temporal at {settings.temporal_address}: {exc}"
            ) from None
        app = build_api(
            settings, runtime.client, runtime.engine, codec=runtime.codec, api=api, tokens=tokens
        )
        runtime.log.info("api listening", url=api.base_url, docs=f"{api.base_url}/docs")
        await api_server(app, api).serve()


def load_api_settings() -> ApiSettings:
    """The API's own settings from the environment; one line naming the variable if wrong."""
    try:
        return ApiSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{e['loc'][0] if e['loc'] else 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise auth.AuthConfigError(f"invalid setting {problems}") from None


def serve_api(settings: Settings, api: ApiSettings | None = None) -> None:
    """`onething api`: serve the HTTP API until Ctrl-C. A wrong token document or API
    setting stops it with one line on stderr (exit status 2), never a traceback."""
    try:
        asyncio.run(run_api(settings, api or load_api_settings()))
    except (auth.AuthConfigError, ApiStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
