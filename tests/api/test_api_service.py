"""The rest of the HTTP API, with a real worker on the time-skipping Temporal server: the
catalog and guides, reports, the codec endpoint, health, limits on requests, no worker
answering, and the OpenAPI document describing every error."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from starter.api import create_app
from starter.demo import DEMO_ITEM
from store.db import make_engine
from tests.support.api import (
    REGISTRY,
    as_,
    assert_error,
    submitted,
)

# --------------------------------------------------------------------------- catalog, guide


async def test_catalog_items_paged_and_item_detail(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    page = (await api.get("/catalog/items", params={"limit": 5})).json()
    assert page["total"] == len(catalog.items) and len(page["items"]) == 5
    assert page["next_offset"] == 5
    health = (await api.get("/catalog/items", params={"department": "health"})).json()
    assert {i["department"] for i in health["items"]} == {"health"}
    item = (await api.get(f"/catalog/items/{DEMO_ITEM}")).json()
    assert item["code"] == DEMO_ITEM and item["materials"]
    error = assert_error(await api.get("/catalog/items/no-such-item"), 404, "item_code")
    assert "no-such-item" in error["message"]


async def test_bundle_detail_has_one_form_materials_reductions(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    bundles = (await api.get("/catalog/bundles")).json()
    assert bundles["total"] == len(catalog.bundles)
    r = await api.get("/catalog/bundles/open-transport-company")
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["form_schema"]["type"] == "object" and detail["form_schema"]["properties"]
    assert detail["materials"]["to_bring"]
    rows = {row["measure"]: row for row in detail["reductions"]["rows"]}
    assert rows["materials"]["bundle"] < rows["materials"]["one_by_one"]
    assert_error(await api.get("/catalog/bundles/no-such-bundle"), 404, "bundle_code")


async def test_guide_json_text_and_qr(api: httpx.AsyncClient) -> None:
    guide = (await api.get("/guides/open-convenience-store")).json()
    assert guide["kind"] == "bundle" and guide["url"].endswith("/guides/open-convenience-store")
    near = (
        await api.get(f"/guides/{DEMO_ITEM}", params={"latitude": 31.7, "longitude": 112.25})
    ).json()
    kms = [h["km"] for h in near["halls"]]
    assert kms == sorted(kms)
    text = await api.get(f"/guides/{DEMO_ITEM}/text")
    assert text.headers["content-type"].startswith("text/plain") and "办事指南" in text.text
    svg = await api.get(f"/guides/{DEMO_ITEM}/qr.svg")
    assert svg.headers["content-type"] == "image/svg+xml" and "<svg" in svg.text
    png = await api.get(f"/guides/{DEMO_ITEM}/qr.png")
    assert png.content.startswith(b"\x89PNG")
    assert_error(await api.get("/guides/no-such-thing"), 404, "code")
    r = await api.get(f"/guides/{DEMO_ITEM}", params={"latitude": 31.7})
    assert_error(r, 422, "longitude")
    page = await api.get(f"/guides/{DEMO_ITEM}", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>护士执业注册" in page.text and "需要准备的材料" in page.text
    halls = (await api.get("/halls", params={"latitude": 31.7, "longitude": 112.25})).json()
    assert halls and "km" in halls[0]


# --------------------------------------------------------------------------- reports, codec, health


@pytest.mark.parametrize("who", ["sup", "audit", "ops", "rev-health", "clerk-yc"])
async def test_reports_for_staff(api: httpx.AsyncClient, who: str) -> None:
    r = await api.get("/reports/reductions", headers=as_(who))
    assert r.status_code == 200 and r.json()["bundles"]
    r = await api.get("/reports/coverage", headers=as_(who))
    assert r.status_code == 200 and 0 < r.json()["percent"] <= 100


async def test_reports_refused_to_applicants_and_anonymous(api: httpx.AsyncClient) -> None:
    error = assert_error(await api.get("/reports/coverage", headers=as_("app-demo")), 403)
    assert "for staff" in error["message"]
    assert_error(await api.get("/reports/reductions"), 401)


async def test_codec_for_operators_and_auditors_only(api: httpx.AsyncClient) -> None:
    plain = {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(b'"secret"').decode(),
            }
        ]
    }
    encoded = await api.post("/codec/encode", json=plain, headers=as_("ops"))
    assert encoded.status_code == 200, encoded.text
    assert encoded.json() != plain
    decoded = await api.post("/codec/decode", json=encoded.json(), headers=as_("audit"))
    assert decoded.json() == plain
    for who in ("rev-health", "sup", "app-demo", "clerk-yc"):
        error = assert_error(await api.post("/codec/decode", json=plain, headers=as_(who)), 403)
        assert "operators and auditors" in error["message"]
    assert_error(await api.post("/codec/decode", json=plain), 401)
    bad = {"payloads": [{"metadata": {}, "data": "***"}]}
    assert_error(await api.post("/codec/decode", json=bad, headers=as_("ops")), 400)


async def test_healthz_ok(api: httpx.AsyncClient) -> None:
    r = await api.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "temporal": "ok", "store": "ok"}


async def test_healthz_503_when_the_store_is_down(
    ts_env: WorkflowEnvironment, catalog: Catalog, tmp_path: Any
) -> None:
    from starter.client import OnethingClient

    # A directory where the database file should be: SQLite cannot open it.
    (tmp_path / "isdir.db").mkdir()
    broken = make_engine(f"sqlite:///{tmp_path / 'isdir.db'}")
    app = create_app(OnethingClient(ts_env.client, "none", catalog), broken, REGISTRY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api.test"
    ) as http:
        r = await http.get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "degraded" and r.json()["store"].startswith("down")
    assert r.json()["temporal"] == "ok"


async def test_oversized_body_413_and_wrong_method_405(api: httpx.AsyncClient) -> None:
    r = await api.post(
        "/applications",
        content=b'{"form": "' + b"x" * (2 << 20) + b'"}',
        headers={**as_("clerk-yc"), "Content-Type": "application/json"},
    )
    assert_error(r, 413, "body")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        yield b'{"form": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    r = await api.post(
        "/applications",
        content=chunks(),
        headers={**as_("clerk-yc"), "Content-Type": "application/json"},
    )
    assert_error(r, 413, "body")
    r = await api.delete("/applications", headers=as_("ops"))
    assert_error(r, 405)
    assert r.headers["allow"] == "GET, POST"


async def test_no_worker_answers_503_in_time(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    from starter.client import OnethingClient

    client = OnethingClient(ts_env.client, f"nobody-polls-{uuid.uuid4().hex[:6]}", catalog)
    app = create_app(client, store_engine, REGISTRY, query_timeout=0.5)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        application_id = await submitted(http, catalog)  # starting needs no worker
        r = await http.get(f"/applications/{application_id}", headers=as_("sup"))
    # Left waiting for a worker it would hold up time skipping for the module's other tests.
    await ts_env.client.get_workflow_handle(f"application-{application_id}").terminate()
    error = assert_error(r, 503)
    assert error["code"] == "unavailable" and "worker" in error["message"]


def test_a_request_no_worker_carried_out_is_503_naming_the_worker() -> None:
    # The typed client's `Unanswered` (its own test: tests/cli/test_cli_unanswered.py).
    from starter.client import Unanswered
    from starter.errors import from_client_error

    error = from_client_error(Unanswered("worker", "no worker carried this request out"))
    assert (error.status_code, error.code) == (503, "unavailable")
    assert [(f.field, f.problem) for f in error.fields] == [
        ("worker", "no worker carried this request out")
    ]


# --------------------------------------------------------------------------- OpenAPI


async def test_openapi_describes_every_error(api: httpx.AsyncClient) -> None:
    doc = (await api.get("/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            statuses = set(op["responses"])
            if op.get("parameters") or "requestBody" in op:
                assert "422" in statuses, (method, path)
            if op.get("security"):
                assert {"401", "403"} <= statuses or path == "/me", (method, path)
            for status, response in op["responses"].items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
    operations = {op["operationId"] for ops in doc["paths"].values() for op in ops.values()}
    assert {"submit", "get_application", "decide", "list_tasks", "verify_license"} <= operations
    submitted = doc["paths"]["/applications"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in submitted.values()} <= operations
