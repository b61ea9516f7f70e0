"""The dashboard (starter/api/routes/dashboard.py) in headless Chromium, over the API on a port,
on SQLite and PostgreSQL: the eighteen recorded scenarios projected into the read model plus
three open items (one 正常, one 预警, one 逾期) are the seeded data set. A supervisor signs in
with a token through the form; every number the page shows (read from the DOM's
data-figure/data-value) equals `GET /reports/kpis` and `GET /reports/reform`; ECharts draws
from the API's own folder; no URL the browser asked for carries the token or leaves the
origin; the cookie is HttpOnly and SameSite=Strict; sign-out ends the session. A reviewer is
refused with a Chinese page; without ECharts the tables still hold the numbers."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from starter.api.routes.dashboard import ASSETS, COOKIE, Sessions
from store import case_facts as store
from tests.browser import browser, screenshot_path
from tests.support.api import REGISTRY, api_on_a_port, as_, project_scenarios, token

USES_FIXTURES = (browser,)  # pytest finds the Chromium fixture by its name in this module

AS_OF = "2027-06-01T08:00:00+08:00"
PERIOD = {"since": "2026-11-01", "until": "2027-06-01", "as_of": AS_OF}
HALL = "yicheng-center"


def open_case(name: str, due: str) -> tuple[store.CaseFact, list[store.ItemFact]]:
    """An accepted case with one health item undecided, due at `due` (Beijing)."""
    case = store.CaseFact(
        application_id=f"dash-{name}",
        source_digest=f"seed-{name}",
        last_event_id=1,
        target="nurse-practice-registration",
        hall=HALL,
        channel="window",
        status="in_progress",
        received_at=datetime(2027, 5, 20, 2, tzinfo=UTC),
        accepted_at=datetime(2027, 5, 20, 2, tzinfo=UTC),
        trips=1,
        materials=3,
        steps=1,
    )
    item = store.ItemFact(
        application_id=case.application_id,
        item_code="nurse-practice-registration",
        department="health",
        path="approval",
        outcome="open",
        promised_days=10,
        statutory_days=20,
        started_at=case.accepted_at,
        # In UTC, as the projector writes them (SQLite keeps no offset).
        promised_due_at=datetime.fromisoformat(due).astimezone(UTC),
        statutory_due_at=datetime(2027, 6, 30, 9, 30, tzinfo=UTC),
    )
    return case, [item]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(store_engine: Engine) -> Engine:
    await project_scenarios(store_engine)
    # At 2027-06-01 08:00: overdue since 05-31; warning since 05-31 17:30 (8 of 10 days
    # used: two working days before its due day); normal (due at the month's end).
    for name, due in [
        ("overdue", "2027-05-31T17:30:00+08:00"),
        ("warning", "2027-06-02T17:30:00+08:00"),
        ("normal", "2027-06-30T17:30:00+08:00"),
    ]:
        assert store.write(store_engine, *open_case(name, due))
    return store_engine


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(
    ts_env: WorkflowEnvironment, seeded: Engine, catalog: Catalog
) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    async with (
        api_on_a_port(ts_env, seeded, catalog) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        yield url, http


async def figures_in(page: Any, selector: str) -> dict[str, Any]:
    pairs = await page.eval_on_selector_all(
        f"{selector} [data-figure]",
        "els => els.map(e => [e.dataset.figure, e.dataset.value])",
    )
    return {name: json.loads(value) for name, value in pairs}


async def sign_in(page: Any, url: str, who: str) -> Any:
    await page.goto(f"{url}/dashboard")
    assert page.url == f"{url}/dashboard/sign-in"  # not signed in: the form
    await page.fill("#token", token(who))
    async with page.expect_navigation() as navigation:
        await page.click("button[type=submit]")
    return await navigation.value


async def test_a_supervisor_sees_the_json_reports_numbers(
    site: tuple[str, httpx.AsyncClient], browser: Any, catalog: Catalog
) -> None:
    url, http = site
    r = await http.get("/reports/kpis", params=PERIOD, headers=as_("sup"))
    assert r.status_code == 200, r.text
    kpis = r.json()
    assert kpis["figures"]["cases"] == 18 + 3 and kpis["figures"]["open"] == 3
    assert kpis["figures"]["overdue_now"] == 1
    reform_params = {k: v for k, v in PERIOD.items() if k != "as_of"}
    reform = (await http.get("/reports/reform", params=reform_params, headers=as_("sup"))).json()

    context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page = await context.new_page()
    try:
        response = await sign_in(page, url, "sup")
        assert response.status == 200 and page.url == f"{url}/dashboard"
        cookies = await context.cookies()
        assert [(c["name"], c["httpOnly"], c["sameSite"], c["path"]) for c in cookies] == [
            (COOKIE, True, "Strict", "/dashboard")
        ]
        await page.goto(f"{url}/dashboard?{urlencode(PERIOD)}")
        assert await page.get_attribute("html", "lang") == "zh-CN"
        assert "2027-06-01 08:00" in await page.inner_text("#scope")  # Beijing time

        overview = await figures_in(page, "#overview")
        assert overview and all(kpis["figures"][k] == v for k, v in overview.items())
        for group in ("hall", "department"):
            rows = await page.eval_on_selector_all(
                f"#by-{group} tr[data-key]", "els => els.map(e => e.dataset.key)"
            )
            assert rows == list(kpis[f"by_{group}"]), group
            for key in rows:
                shown = await figures_in(page, f'#by-{group} tr[data-key="{key}"]')
                expected = kpis[f"by_{group}"][key]
                assert shown == {k: expected[k] for k in shown}, (group, key)
        ratings = await figures_in(page, "#ratings")
        assert ratings and all(kpis["ratings"][k] == v for k, v in ratings.items())

        clock = await page.eval_on_selector_all(
            "#clock [data-clock]", "els => els.map(e => [e.dataset.clock, +e.dataset.value])"
        )
        assert dict(clock) == {"normal": 1, "warning": 1, "overdue": 1}
        assert dict(clock)["overdue"] == kpis["figures"]["overdue_now"]

        # Month by month: each row is the report over that month.
        months = await page.eval_on_selector_all(
            "#by-month tr[data-month]", "els => els.map(e => e.dataset.month)"
        )
        assert months[0] == "2026-11" and months[-1] == "2027-06" and len(months) == 8
        may = await figures_in(page, '#by-month tr[data-month="2027-05"]')
        r = await http.get(
            "/reports/kpis",
            params={"since": "2027-05-01", "until": "2027-05-31", "as_of": AS_OF},
            headers=as_("sup"),
        )
        assert may == {k: r.json()["figures"][k] for k in may}
        total = 0
        for month in months:
            total += (await figures_in(page, f'#by-month tr[data-month="{month}"]'))["cases"]
        assert total == kpis["figures"]["cases"]

        rows = await page.eval_on_selector_all(
            "#reform tr[data-bundle]",
            "els => els.map(e => [e.dataset.bundle, e.dataset.measure])",
        )
        expected_rows = {
            (b["bundle"], row["measure"]): row for b in reform["bundles"] for row in b["rows"]
        }
        assert [tuple(x) for x in rows] == list(expected_rows)
        for bundle, measure in expected_rows:
            shown = await figures_in(
                page, f'#reform tr[data-bundle="{bundle}"][data-measure="{measure}"]'
            )
            row = expected_rows[(bundle, measure)]
            assert {k: v for k, v in shown.items() if k != "cases"} == {
                k: row[k] for k in shown if k != "cases"
            }

        # The charts: ECharts from the API's own folder, drawn.
        if ASSETS["echarts.min.js"].is_file():
            await page.wait_for_selector("html[data-charts=drawn]", timeout=10_000)
            assert await page.is_visible("#chart-months svg")
            assert await page.is_visible("#chart-clock svg")
        elif os.environ.get("CI"):
            pytest.fail("ECharts missing: make vendor")
        await page.screenshot(path=str(screenshot_path("dashboard")), full_page=True)

        await page.click("text=退出")
        await page.wait_for_url(f"{url}/dashboard/sign-in")
        await page.goto(f"{url}/dashboard")
        assert page.url == f"{url}/dashboard/sign-in"
    finally:
        await context.close()

    origin = urlparse(url).netloc
    assert requested and all(urlparse(u).netloc == origin for u in requested), requested
    assert not [u for u in requested if token("sup") in u or "token" in u]
    assert (
        f"{url}/dashboard/static/echarts.min.js" in requested
        or not ASSETS["echarts.min.js"].is_file()
    )


async def test_a_reviewer_is_refused_in_chinese(
    site: tuple[str, httpx.AsyncClient], browser: Any
) -> None:
    url, _ = site
    context = await browser.new_context(locale="zh-CN")
    page = await context.new_page()
    try:
        response = await sign_in(page, url, "rev-health")
        assert response.status == 403
        assert "无权访问" in await page.inner_text("body")
        assert await context.cookies() == []
        await page.goto(f"{url}/dashboard")
        assert page.url == f"{url}/dashboard/sign-in"
    finally:
        await context.close()


async def test_without_echarts_the_tables_hold_the_numbers(
    site: tuple[str, httpx.AsyncClient], browser: Any
) -> None:
    url, http = site
    context = await browser.new_context(locale="zh-CN")
    await context.route("**/echarts.min.js", lambda route: route.abort())
    page = await context.new_page()
    try:
        await sign_in(page, url, "audit")  # auditors read it too
        await page.goto(f"{url}/dashboard?{urlencode(PERIOD)}")
        kpis = (await http.get("/reports/kpis", params=PERIOD, headers=as_("audit"))).json()
        overview = await figures_in(page, "#overview")
        assert overview["on_time_promised"] == kpis["figures"]["on_time_promised"]
        assert not await page.is_visible("#chart-months")
        assert await page.get_attribute("html", "data-charts") is None
    finally:
        await context.close()


async def test_sign_in_data_and_errors_over_http(site: tuple[str, httpx.AsyncClient]) -> None:
    url, api = site
    async with httpx.AsyncClient(base_url=url) as http:
        await sign_in_data_and_errors(http, api)


async def sign_in_data_and_errors(http: httpx.AsyncClient, api: httpx.AsyncClient) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = await http.post("/dashboard/sign-in", content="token=nope", headers=form)
    assert r.status_code == 401 and "令牌无效" in r.text
    assert COOKIE not in r.headers.get("set-cookie", "")
    r = await http.post("/dashboard/sign-in", content="token=", headers=form)
    assert r.status_code == 422 and "令牌: 请填写" in r.text
    # A bearer token alone does not open the page's data: the session's cookie does.
    assert (await http.get("/dashboard/data", headers=as_("sup"))).status_code == 401
    r = await http.post(
        "/dashboard/sign-in", content=urlencode({"token": token("sup")}), headers=form
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http on the loopback; https sets it
    assert token("sup") not in cookie
    signed = {"Cookie": f"{COOKIE}={r.cookies[COOKIE]}"}
    http.cookies.clear()  # sent by hand below, so each request says what it carries
    r = await http.get("/dashboard/data", params=PERIOD, headers=signed)
    assert r.status_code == 200
    kpis = (await api.get("/reports/kpis", params=PERIOD, headers=as_("sup"))).json()
    assert r.json()["kpis"] == kpis
    assert r.json()["clock"] == {"normal": 1, "warning": 1, "overdue": 1}
    # The cookie is for the dashboard only: the bearer API does not take it.
    assert (await http.get("/reports/kpis", headers=signed)).status_code == 401
    r = await http.get("/dashboard", params={"since": "2026-13-01"}, headers=signed)
    assert r.status_code == 422 and "起始日期" in r.text
    r = await http.get("/dashboard/data", params={"as_of": "2027-06-01T08:00"}, headers=signed)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "as_of"
    page = await http.get("/dashboard", headers=signed)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    await http.post("/dashboard/sign-out", headers=signed)
    assert (await http.get("/dashboard/data", headers=signed)).status_code == 401


def test_sessions_expire_and_stay_bounded() -> None:
    now = [0.0]
    sessions = Sessions(seconds=10, most=2, clock=lambda: now[0])
    principal = REGISTRY.authenticate(token("sup"))
    assert principal is not None
    first, second, third = (sessions.open(principal) for _ in range(3))
    assert sessions.principal(first) is None  # the oldest went when the third came
    assert sessions.principal(second) == principal
    now[0] = 10.0
    assert sessions.principal(third) is None
