"""The service center's dashboard (驾驶舱, issue 15): one page served by the API for
supervisors and the center's head (auditors read it too): its sessions and routes here,
its figures in `dashboard_data`, its HTML in `dashboard_pages`.

What it shows, per hall and department and month by month: 按时办结率 against the promised
and statutory limits, open items by clock state (正常/预警/逾期), escalations (督办), trips
and materials per case and against the item-by-item baseline (the reform table), ratings
(好评率, 差评整改率). Chinese, `lang="zh-CN"`, Beijing time.

Choices, and why:

- **The numbers are the JSON reports'.** Every figure comes from `starter.kpis.kpi_report`
  and `reform_report` (the functions behind `GET /reports/kpis` and `GET /reports/reform`),
  called with the same filters; the months are the same report over each month. Nothing is
  recounted here except the clock states of the open items, which the report does not
  split: 逾期 is the report's own `overdue_now` condition (undecided, past the promised due
  instant), 预警 the clock's warning rule (`domain.clock.ClockPolicy.warning_percent` of the
  budget used, counted back from the due day on the working calendar, as
  `domain.clock.compute_schedule` does for a due day already told). Each figure carries
  `data-figure` and `data-value` (the JSON value), so a test compares the page with the JSON.
- **Charts: Apache ECharts** (Apache-2.0, what Chinese government dashboards use), fetched
  at install time only: `make vendor` (a dependency of `make run`, `make test` and
  `make install`) runs `scripts/fetch_echarts.sh`, which `npm pack`s the pinned
  `echarts@6.1.0`, checks its sha512 integrity and keeps `dist/echarts.min.js` (with its
  LICENSE and NOTICE) in the git-ignored `starter/static/vendor/`. The API serves it from
  there under `/dashboard/static/`; the page's Content-Security-Policy allows scripts from
  this origin only, so nothing can be fetched from outside at run time. Without the file
  the page still shows every number in its tables (the charts are an addition; their boxes
  stay hidden).
- **Sign-in with the API's tokens, never in a URL:** a form POSTs the token; the API checks
  it against its `TokenRegistry` and opens an opaque server-side session (a random ID; only
  its SHA-256 is kept, in memory, eight hours), sent as an HttpOnly, SameSite=Strict cookie
  scoped to `/dashboard` (Secure when the request came over https). Only the dashboard's
  routes read that cookie; the rest of the API still wants a bearer token. In memory
  because the API runs as one process and a restart asking to sign in again costs nothing;
  tokens are read at start, so no session outlives its token's removal past a restart.
  Supervisors and auditors only: anyone else gets a Chinese 403 page. Sign-out ends the
  session. The dashboard's routes are kept out of the OpenAPI document: they are pages for
  a browser with a cookie, not the bearer API.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine

from domain.calendar import WorkingCalendar
from domain.catalog import Catalog
from domain.people import Role
from starter.api.routes.dashboard_data import (
    FIELD_NAMES,
    BadQuery,
    DashboardData,
    dashboard_data,
    parse_query,
)
from starter.api.routes.dashboard_pages import PREFIX, message_page, render, sign_in_page
from starter.auth import Principal, TokenRegistry

__all__ = ["ASSETS", "COOKIE", "Sessions", "add_routes"]

COOKIE = "onething_dashboard"
ROLES = frozenset({Role.SUPERVISOR, Role.AUDITOR})
STATIC = Path(__file__).resolve().parents[2] / "static"  # starter/static
VENDOR = STATIC / "vendor"
ASSETS = {"echarts.min.js": VENDOR / "echarts.min.js", "dashboard.js": STATIC / "dashboard.js"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


# --------------------------------------------------------------------------- sessions


class Sessions:
    """Opaque server-side sessions: the cookie holds a random ID, the server its SHA-256."""

    def __init__(
        self,
        seconds: float = 8 * 3600,
        most: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds, self.most, self.clock = seconds, most, clock
        self._open: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    @staticmethod
    def _key(session_id: str) -> str:
        return hashlib.sha256(session_id.encode()).hexdigest()

    def open(self, principal: Principal) -> str:
        session_id = secrets.token_urlsafe(32)
        self._open[self._key(session_id)] = (principal, self.clock() + self.seconds)
        while len(self._open) > self.most:  # the oldest sign-in goes first
            self._open.popitem(last=False)
        return session_id

    def principal(self, session_id: str | None) -> Principal | None:
        if not session_id:
            return None
        key = self._key(session_id)
        found = self._open.get(key)
        if found is None:
            return None
        if found[1] <= self.clock():
            del self._open[key]
            return None
        return found[0]

    def close(self, session_id: str | None) -> None:
        if session_id:
            self._open.pop(self._key(session_id), None)


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=PAGE_HEADERS)


def add_routes(
    app: FastAPI,
    engine: Engine,
    tokens: TokenRegistry,
    catalog: Callable[[], Catalog],
    calendar: WorkingCalendar | None = None,
    sessions: Sessions | None = None,
) -> None:
    """Mount `/dashboard` (the page), its sign-in and sign-out, `/dashboard/data` (the
    page's figures as JSON) and `/dashboard/static/` (ECharts and the page's script)."""
    working = calendar or WorkingCalendar.from_file()
    store = sessions or Sessions()
    app.state.dashboard_sessions = store

    def signed_in(request: Request) -> Principal | None:
        principal = store.principal(request.cookies.get(COOKIE))
        if principal is not None:
            request.state.caller = principal.name
        return principal

    def refused(principal: Principal) -> HTMLResponse:
        return _html(
            message_page(
                "无权访问",
                "驾驶舱仅供督查人员和中心负责人使用(审计人员只读)。您的令牌没有这一权限。",
            ),
            403,
        )

    @app.get(f"{PREFIX}/sign-in", include_in_schema=False)
    async def sign_in_form() -> HTMLResponse:
        return _html(sign_in_page())

    @app.post(f"{PREFIX}/sign-in", include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        if not token:
            return _html(sign_in_page("令牌: 请填写"), 422)
        principal = tokens.authenticate(token)
        if principal is None:
            return _html(sign_in_page("令牌无效, 请核对后重新输入"), 401)
        request.state.caller = principal.name
        if principal.role not in ROLES:
            return refused(principal)
        response = RedirectResponse(PREFIX, status_code=303, headers=PAGE_HEADERS)
        response.set_cookie(
            COOKIE,
            store.open(principal),
            max_age=int(store.seconds),
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.post(f"{PREFIX}/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        store.close(request.cookies.get(COOKIE))
        response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303, headers=PAGE_HEADERS)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
        return response

    async def figures(request: Request) -> DashboardData:
        since, until, hall, as_of = parse_query(request, datetime.now(UTC))
        return await run_in_threadpool(
            lambda: dashboard_data(
                engine, catalog(), working, since=since, until=until, hall=hall, as_of=as_of
            )
        )

    @app.get(PREFIX, include_in_schema=False)
    async def dashboard(request: Request) -> Response:
        principal = signed_in(request)
        if principal is None:
            return RedirectResponse(f"{PREFIX}/sign-in", status_code=303, headers=PAGE_HEADERS)
        if principal.role not in ROLES:
            return refused(principal)
        try:
            data = await figures(request)
        except BadQuery as bad:
            page = message_page("查询条件有误", f"{FIELD_NAMES[bad.field]}: {bad.problem}")
            return _html(page, 422)
        return _html(render(data, catalog(), principal))

    @app.get(f"{PREFIX}/data", include_in_schema=False)
    async def dashboard_json(request: Request) -> Response:
        principal = signed_in(request)
        if principal is None:
            return JSONResponse(
                {"error": {"code": "unauthorized", "message": "sign in at /dashboard/sign-in"}},
                status_code=401,
                headers={"Cache-Control": "no-store"},
            )
        try:
            data = await figures(request)
        except BadQuery as bad:
            return JSONResponse(
                {
                    "error": {
                        "code": "invalid",
                        "message": str(bad),
                        "fields": [{"field": bad.field, "problem": bad.problem}],
                    }
                },
                status_code=422,
            )
        return JSONResponse(data.model_dump(mode="json"), headers={"Cache-Control": "no-store"})

    @app.get(f"{PREFIX}/static/{{name}}", include_in_schema=False)
    async def asset(name: str) -> Response:
        path = ASSETS.get(name)
        if path is None or not path.is_file():
            return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(
            path,
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )
