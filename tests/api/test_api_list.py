"""Listing applications by search attributes, on a dev server of its own (visibility)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from starter.api import create_app
from starter.desk import eventually
from tests.conftest import new_application_id, onething_client
from tests.support.api import REGISTRY, as_, assert_error, body_of, own_dev_server


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def listing(
    store_engine: Engine, catalog: Catalog
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """The API on a fresh dev server with four applications: three at yicheng-center,
    one at xiaohe. Yields the HTTP client and {application_id: hall}."""
    async with own_dev_server() as env, onething_client(env, store_engine, catalog) as client:
        app = create_app(client, store_engine, REGISTRY)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            made: dict[str, str] = {}
            for hall, clerk in [("yicheng-center", "clerk-yc")] * 3 + [("xiaohe", "clerk-xh")]:
                application_id = new_application_id()
                body = body_of(catalog, application_id, hall=hall)
                r = await http.post("/applications", json=body, headers=as_(clerk))
                assert r.status_code == 201, r.text
                made[application_id] = hall
            await eventually(  # visibility is eventually consistent
                lambda: everything(http, "sup"),
                lambda listed: set(made) <= {a["application_id"] for a in listed},
                "the four are listed",
                attempts=200,
                poll_s=0.1,
            )
            yield http, made


async def everything(
    http: httpx.AsyncClient, who: str, limit: int = 100, **params: Any
) -> list[dict[str, Any]]:
    """Every page, following `next_cursor`."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(50):
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        r = await http.get("/applications", params=query, headers=as_(who))
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


async def test_pages_by_cursor_without_repeats(
    listing: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    http, made = listing
    paged = await everything(http, "sup", limit=1)
    ids = [a["application_id"] for a in paged]
    assert len(ids) == len(set(ids)) and set(made) <= set(ids)
    one = next(a for a in paged if a["application_id"] in made)
    assert one["item_codes"] == ["nurse-practice-registration"]
    assert one["departments"] == ["health"] and one["channel"] == "window"
    assert one["started_at"] and one["status"]


async def test_each_role_lists_its_scope(
    listing: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    http, made = listing
    mine = await everything(http, "clerk-yc")
    assert {a["hall"] for a in mine} == {"yicheng-center"}
    assert {a for a, h in made.items() if h == "yicheng-center"} <= {
        a["application_id"] for a in mine
    }
    health = await everything(http, "rev-health")
    assert set(made) <= {a["application_id"] for a in health}
    assert all("health" in a["departments"] for a in health)
    assert not set(made) & {a["application_id"] for a in await everything(http, "rev-market")}
    xiaohe = await everything(http, "audit", hall="xiaohe")
    assert [a["application_id"] for a in xiaohe if a["application_id"] in made] == [
        a for a, h in made.items() if h == "xiaohe"
    ]
    in_item = await everything(http, "ops", item_code="nurse-practice-registration")
    assert set(made) <= {a["application_id"] for a in in_item}
    bundles = await everything(http, "sup", bundle_code="open-transport-company")
    assert all(a["bundle_code"] == "open-transport-company" for a in bundles)

    for who, params, reason in [
        ("clerk-yc", {"hall": "xiaohe"}, "only hall 'yicheng-center'"),
        ("rev-health", {"department": "market"}, "only department 'health'"),
        ("app-demo", {}, "listing is for staff"),
    ]:
        r = await http.get("/applications", params=params, headers=as_(who))
        assert reason in assert_error(r, 403)["message"]
    assert_error(await http.get("/applications"), 401)


async def test_filters_and_bad_cursors(
    listing: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    http, _ = listing
    r = await http.get("/applications", params={"status": "nonsense"}, headers=as_("sup"))
    assert_error(r, 422, "status")
    for bogus in ("not a cursor", "1wgSXZA", "b25ldGhpbmcuYzE6Kioq"):  # the last: ours, altered
        r = await http.get("/applications", params={"cursor": bogus}, headers=as_("sup"))
        assert_error(r, 422, "cursor")
    r = await http.get("/applications", params={"hall": "x' OR '1'='1"}, headers=as_("sup"))
    assert_error(r, 422, "hall")
    r = await http.get("/applications", params={"limit": 101}, headers=as_("sup"))
    assert_error(r, 422, "limit")
    for status in ("in_progress", "completed"):
        listed = await everything(http, "sup", status=status)
        assert all(a["status"] == status for a in listed)


async def test_listing_on_a_server_without_visibility_is_501(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    async with onething_client(ts_env, store_engine, catalog) as client:
        app = create_app(client, store_engine, REGISTRY)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            r = await http.get("/applications", headers=as_("sup"))
    assert assert_error(r, 501)["code"] == "not_implemented"
