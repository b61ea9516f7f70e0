"""The KPI routes with a real worker on the time-skipping server: a live application
projected by `POST /reports/refresh` (a second refresh writes nothing), read back through
`GET /reports/kpis` (JSON, CSV, .xlsx) by the roles allowed, refused to the others."""

from __future__ import annotations

import csv
import io

import httpx
from openpyxl import load_workbook
from sqlalchemy import Engine

from domain.catalog import Catalog
from starter.demo import DEMO_ITEM
from store import case_facts
from tests.support.api import as_, assert_error, completed_case


async def test_refresh_once_then_the_kpis_by_role_and_format(
    api: httpx.AsyncClient, catalog: Catalog, store_engine: Engine
) -> None:
    application_id = await completed_case(api, catalog)
    body = {"application_ids": [application_id]}
    assert_error(await api.post("/reports/refresh", json=body, headers=as_("audit")), 403)
    for since in (0, "2026-12-01T00:00:00"):  # a Unix time; an instant without its offset
        bad = {**body, "since": since}
        assert_error(await api.post("/reports/refresh", json=bad, headers=as_("sup")), 422, "since")
    r = await api.post("/reports/refresh", json=body, headers=as_("sup"))
    assert r.json() == {"read": 1, "written": 1, "unchanged": 0, "failed": {}}, r.text
    # Again (as a scheduled refresh would): the same histories, nothing written twice.
    r = await api.post("/reports/refresh", json=body, headers=as_("ops"))
    assert r.json() == {"read": 1, "written": 0, "unchanged": 1, "failed": {}}, r.text
    case, items = case_facts.cases(store_engine, application_id)
    assert case is not None and case.status == "completed" and case.case_number
    assert [(i.item_code, i.outcome, i.promised_met) for i in items] == [
        (DEMO_ITEM, "approved", True)
    ]
    assert case.trips == 1  # handed in at the window, decided without another visit

    query = {"item_code": DEMO_ITEM, "hall": case.hall}
    r = await api.get("/reports/kpis", params=query, headers=as_("sup"))
    assert r.status_code == 200, r.text
    whole = r.json()["figures"]
    assert whole["cases"] >= 1 and whole["on_time_promised"] is not None
    assert r.json()["by_department"]["health"]["cases"] == whole["cases"]
    # A department head sees their department, whatever they ask for; not another's.
    r = await api.get("/reports/kpis", headers=as_("head-health"))
    assert r.status_code == 200 and r.json()["department"] == "health"
    assert set(r.json()["by_department"]) <= {"health"}
    r = await api.get("/reports/kpis", params={"department": "health"}, headers=as_("head-market"))
    assert_error(r, 403)
    for who in ("rev-health", "clerk-yc", "app-demo"):
        assert_error(await api.get("/reports/kpis", headers=as_(who)), 403)
    assert (await api.get("/reports/kpis", headers=as_("audit"))).status_code == 200
    r = await api.get("/reports/kpis", params={"since": "2026-12-02", "until": "2026-12-01"})
    assert r.status_code == 401
    r = await api.get(
        "/reports/kpis", params={"since": "2026-12-02", "until": "2026-12-01"}, headers=as_("sup")
    )
    assert_error(r, 422, "until")

    # The files hold the JSON's numbers.
    r = await api.get("/reports/kpis", params={**query, "format": "csv"}, headers=as_("sup"))
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text.removeprefix("\ufeff"))))
    assert rows[1][:3] == ["合计", "全部", str(whole["cases"])]
    r = await api.get("/reports/kpis", params={**query, "format": "xlsx"}, headers=as_("sup"))
    book = load_workbook(io.BytesIO(r.content))
    assert next(book["指标"].iter_rows(min_row=2, values_only=True))[2] == whole["cases"]
    r = await api.get("/reports/reform", headers=as_("head-market"))
    assert r.status_code == 200 and r.json()["promised_vs_statutory_percent"] < 0
