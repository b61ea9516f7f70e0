"""The app factory: the FastAPI app, its error handlers, body limit and access log, and the
routers mounted in the order the OpenAPI document lists them."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import Engine
from temporalio.converter import PayloadCodec

from domain.guide import DEFAULT_GUIDE_BASE_URL
from starter.api.deps import MAX_BODY_BYTES, Backend, log
from starter.api.openapi import TAGS, complete_openapi, operation_id
from starter.api.routes import (
    applications,
    catalog,
    credit,
    documents,
    excluded_time,
    guides,
    health,
    items,
    licenses,
    reports,
    supervision,
    tasks,
)
from starter.api.routes.codec import mount_codec
from starter.auth import TokenRegistry
from starter.client import OnethingClient
from starter.codec_endpoint import DEFAULT_UI_ORIGINS
from starter.errors import BodyLimit, JsonBodyRoute, install_error_handlers


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
    # Imported here: these modules import helpers from `starter.api` itself.
    from onething.delivery import HistoryContacts
    from starter.api_ratings import SubmitterRefs, add_rating_routes
    from starter.api_reports import add_report_routes
    from starter.citizen import CitizenDesk, add_citizen_routes
    from starter.dashboard import add_dashboard_routes
    from starter.license_terms import LicenseTerms
    from starter.ratings import Ratings

    backend = Backend(client, engine, tokens, query_timeout)
    # One ratings service for the staff's routes and the citizen's progress page.
    ratings = Ratings(client.temporal, client.task_queue, engine, client.catalog)
    submitters = SubmitterRefs(client.temporal)
    # The citizen's side (progress look-up, help requests, rating): starter.citizen.
    citizen = CitizenDesk(
        engine,
        client.catalog,
        backend.state_of,
        HistoryContacts(client.temporal).phone_of,
        item_state_of=backend.item_state_of,
        ratings=ratings,
        submitters=submitters,
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

    # Routes match in the order they are added: the order they always had. They go onto
    # app.router itself: an included router is one nested route, whose methods the 405's
    # Allow header (starter.errors) would not see.
    applications.add_routes(app.router, backend, citizen)
    documents.add_routes(app.router, engine, backend.readable_state, backend.department_of)
    add_rating_routes(app, ratings, backend.state_of, backend.readable_state, submitters)
    items.add_routes(app.router, backend)
    excluded_time.add_routes(app.router, backend)
    applications.add_action_routes(app.router, backend)
    tasks.add_routes(app.router, backend)
    supervision.add_routes(app.router, backend)
    credit.add_routes(app.router, engine, client.catalog)
    add_citizen_routes(app, citizen, query_timeout)
    catalog.add_routes(app.router, backend)
    guides.add_routes(app.router, backend, base_url)
    licenses.add_routes(
        app.router,
        engine,
        client.catalog,
        LicenseTerms(client.temporal),
        backend.refs.of,
        query_timeout,
    )
    reports.add_routes(app.router, backend)
    add_report_routes(app, engine, lambda: client.catalog, client.temporal)
    add_dashboard_routes(app, engine, tokens, lambda: client.catalog)
    health.add_routes(app.router, backend)
    if codec is not None:
        mount_codec(app, codec, codec_origins)

    complete_openapi(app)
    return app
