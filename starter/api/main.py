"""The app factory: the FastAPI app, its error handlers, body limit and access log, and the
routers mounted in the order the OpenAPI document lists them."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import Engine
from temporalio.converter import PayloadCodec

from domain.calendar import WorkingCalendar
from domain.guide import DEFAULT_GUIDE_BASE_URL
from onething.delivery import HistoryContacts
from starter.api.deps import MAX_BODY_BYTES, Backend, log
from starter.api.openapi import TAGS, complete_openapi, operation_id
from starter.api.routes import (
    applications,
    catalog,
    citizen,
    credit,
    dashboard,
    documents,
    excluded_time,
    guides,
    health,
    items,
    kpis,
    licenses,
    ratings,
    reports,
    supervision,
    tasks,
)
from starter.api.routes.citizen_desk import CitizenDesk
from starter.api.routes.codec import mount_codec
from starter.auth import TokenRegistry
from starter.client import OnethingClient
from starter.codec_endpoint import DEFAULT_UI_ORIGINS
from starter.errors import BodyLimit, JsonBodyRoute, install_error_handlers
from starter.license_terms import LicenseTerms
from starter.ratings import Ratings, SubmitterRefs


def create_app(
    client: OnethingClient,
    engine: Engine,
    tokens: TokenRegistry,
    *,
    codec: PayloadCodec | None = None,
    base_url: str = DEFAULT_GUIDE_BASE_URL,
    codec_origins: Collection[str] = DEFAULT_UI_ORIGINS,
    query_timeout: float = 10.0,
    calendar: WorkingCalendar | None = None,
) -> FastAPI:
    """The API over `client` (Temporal) and `engine` (the store).

    `codec`: serve the codec endpoint under /codec for operators and auditors (the Web
    UI calls it from the browser, so `codec_origins` get CORS). `base_url`: where this
    API is reached from outside; guide URLs and QR codes point there. `query_timeout`:
    seconds to wait for a worker to answer a Query before answering 503. `calendar`: the
    working calendar the workers count limits on (default: the project's, without
    `ONETHING_CALENDAR_OVERRIDES`); reports, the dashboard, license renewal windows and
    help-request replies count on it too.
    """
    calendar = calendar or WorkingCalendar.from_file()
    backend = Backend(client, engine, tokens, query_timeout)
    # One ratings service for the staff's routes and the citizen's progress page.
    rating_service = Ratings(client.temporal, client.task_queue, engine, client.catalog)
    submitters = SubmitterRefs(client.temporal)
    # The citizen's side (progress look-up, help requests, rating).
    citizen_desk = CitizenDesk(
        engine,
        client.catalog,
        backend.state_of,
        HistoryContacts(client.temporal).phone_of,
        item_state_of=backend.item_state_of,
        ratings=rating_service,
        submitters=submitters,
        calendar=calendar,
    )

    app = FastAPI(
        generate_unique_id_function=operation_id,
        title="onething API",
        version="1",
        summary="高效办成一件事: applications, staff tasks, catalog, service guide, licenses.",
        description=(
            "Bearer tokens (`Authorization: Bearer <token>`) carry a role and a scope. "
            'Every error answers `{"error": {"code", "message", "fields": '
            '[{"field", "problem"}]}}`. Lists are paged with `limit` and `offset`.'
        ),
        openapi_tags=TAGS,
    )
    app.state.tokens = tokens
    app.state.citizen = citizen_desk
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

    # Routes match in the order they are added: the order they always had. They go onto
    # app.router itself: an included router is one nested route, whose methods the 405's
    # Allow header (starter.errors) would not see.
    applications.add_routes(app.router, backend, citizen_desk)
    documents.add_routes(app.router, engine, backend.readable_state, backend.department_of)
    ratings.add_routes(
        app.router, rating_service, backend.state_of, backend.readable_state, submitters
    )
    items.add_routes(app.router, backend)
    excluded_time.add_routes(app.router, backend)
    applications.add_action_routes(app.router, backend)
    tasks.add_routes(app.router, backend)
    supervision.add_routes(app.router, backend)
    credit.add_routes(app.router, engine, client.catalog)
    citizen.add_routes(app.router, citizen_desk, query_timeout)
    catalog.add_routes(app.router, backend)
    guides.add_routes(app.router, backend, base_url)
    licenses.add_routes(
        app.router,
        engine,
        client.catalog,
        LicenseTerms(client.temporal, client.catalog, client.answer_within),
        backend.refs.of,
        query_timeout,
        calendar,
    )
    reports.add_routes(app.router, backend)
    kpis.add_routes(app.router, engine, lambda: client.catalog, client.temporal, calendar)
    dashboard.add_routes(app, engine, tokens, lambda: client.catalog, calendar)
    health.add_routes(app.router, backend)
    if codec is not None:
        mount_codec(app, codec, codec_origins)

    complete_openapi(app)
    return app
