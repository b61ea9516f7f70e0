"""Supervision cases over HTTP: a review left past its limit escalates; who sees and closes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from starter.api import create_app
from starter.demo import DEMO_ITEM
from starter.desk import eventually
from tests.conftest import onething_client
from tests.support.api import REGISTRY, as_, assert_error, item_at, submitted


async def cases_of(http: httpx.AsyncClient, application_id: str, who: str) -> list[dict[str, Any]]:
    r = await http.get("/supervision/cases", params={"limit": 200}, headers=as_(who))
    assert r.status_code == 200, r.text
    return [c for c in r.json()["items"] if application_id in c["workflow_id"]]


async def test_overdue_review_escalates_to_a_case_a_supervisor_closes(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        app = create_app(client, store_engine, REGISTRY)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            application_id = await submitted(http, catalog)
            item = await item_at(http, application_id, DEMO_ITEM, "under_review")
            due = datetime.fromisoformat(item["clock"]["due_at"])
            now = await fresh_ts_env.get_current_time()
            await fresh_ts_env.sleep(due - now + timedelta(minutes=1))
            [case] = await eventually(
                lambda: cases_of(http, application_id, "sup"), bool, "a supervision case opens"
            )
            assert case["department"] == "health" and case["stage"] == 1
            assert case["status"] == "open" and case["subject"]

            assert await cases_of(http, application_id, "rev-health") == [case]
            assert await cases_of(http, application_id, "head-health") == [case]
            assert await cases_of(http, application_id, "head-market") == []
            assert await cases_of(http, application_id, "audit") == [case]
            assert await cases_of(http, application_id, "rev-market") == []
            for who, params, reason in [
                ("rev-health", {"department": "market"}, "only department 'health'"),
                ("clerk-yc", {}, "for supervisors and the departments"),
                ("app-demo", {}, "for supervisors and the departments"),
            ]:
                r = await http.get("/supervision/cases", params=params, headers=as_(who))
                assert reason in assert_error(r, 403)["message"]

            path = f"/supervision/cases/{case['id']}/closure"
            done = {"resolution": "已督促审查, 当日办结"}
            for who, reason in [
                ("audit", "never change"),
                ("rev-health", "only a supervisor"),
                ("ops", "only a supervisor"),
            ]:
                error = assert_error(await http.post(path, json=done, headers=as_(who)), 403)
                assert reason in error["message"]
            assert_error(await http.post(path, json={}, headers=as_("sup")), 422, "resolution")
            r = await http.post(path, json=done, headers=as_("sup"))
            assert r.status_code == 200, r.text
            closed = r.json()
            assert closed["status"] == "closed" and closed["resolution"].startswith("sup: ")
            assert_error(await http.post(path, json=done, headers=as_("sup")), 409, "case_id")
            unknown = "/supervision/cases/987654321/closure"
            assert_error(await http.post(unknown, json=done, headers=as_("sup")), 404, "case_id")
            r = await http.get(
                "/supervision/cases", params={"status": "closed"}, headers=as_("sup")
            )
            assert case["id"] in [c["id"] for c in r.json()["items"]]
