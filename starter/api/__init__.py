"""The HTTP API: the typed client's operations, the catalog, the service guide, license
verification and reports, behind bearer tokens (`starter.auth`).

`create_app(client, engine, tokens, ...)` builds the FastAPI app; `serve_api(settings)`
runs it with uvicorn (`onething api`); `embedded_api(...)` serves it inside another
process (`onething dev`). Every error is an `ErrorBody` (`starter.errors`).

Paging: tasks and the catalog take `limit` (1-200, default 50) and `offset` and answer
`{"items": [...], "total": N, "limit": L, "offset": O, "next_offset": O+L or null}`;
applications (Temporal visibility) page by `cursor` and answer `next_cursor`.

Layout: `main` (the factory), `deps` (caller, parameters, `Backend`), `schemas` (wire
models), `openapi` (tags, operation IDs, links), `server` (the app from `Settings`,
uvicorn), `routes/` (one router module per resource: applications, items, excluded time,
documents, ratings, tasks, supervision, credit, the citizen's pages (with `citizen_desk`,
what they check and record), catalog, guides, licenses, reports and KPIs, the dashboard
(with its `dashboard_data` and `dashboard_pages`), health, codec).
"""

from starter.api.deps import (
    CLOSED_ITEM_STATUSES,
    DEPARTMENT_PATTERN,
    ApplicationId,
    Caller,
    ItemCode,
    Limit,
    Offset,
)
from starter.api.main import create_app
from starter.api.schemas import ItemActionOut, Page, ReasonIn, ResolutionIn, page_of
from starter.api.server import (
    api_server,
    build_api,
    embedded_api,
    serve_api,
)

__all__ = [
    "CLOSED_ITEM_STATUSES",
    "DEPARTMENT_PATTERN",
    "ApplicationId",
    "Caller",
    "ItemActionOut",
    "ItemCode",
    "Limit",
    "Offset",
    "Page",
    "ReasonIn",
    "ResolutionIn",
    "api_server",
    "build_api",
    "create_app",
    "embedded_api",
    "page_of",
    "serve_api",
]
