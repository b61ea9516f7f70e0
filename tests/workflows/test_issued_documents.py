"""The acts that grant: the acceptance receipt (受理通知书) with the case number, written when
the case is numbered, and the decision (准予行政许可决定书, 准予登记通知书, ...) with the license
itself (电子证照), written when the license registry issues it. Over a real worker on the
time-skipping server, read through the API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine

from domain.case_number import parse_case_number
from domain.catalog import Catalog
from domain.documents import GRANT_TITLES, LAW, SERVICE_CENTER
from domain.notices import local_time
from starter.demo import DEMO_ITEM
from store import documents, licenses, notifications
from store.licenses import VERIFICATION_ALPHABET, VERIFICATION_LENGTH
from tests.conftest import new_application_id
from tests.support.api import (
    api,
    api_env,
    as_,
    body_of,
    decide,
    full_body,
    post_new,
    served_api,
    until,
)

SALON = "open-beauty-salon"  # market registers first, then health licenses
MARKET = "business-license-individual"
STORE, FOOD_FILING = "open-convenience-store", "food-filing-prepackaged"
SLUG = re.compile(r"[a-z]+[-_][a-z_-]+")


USES_FIXTURES = (api, api_env, served_api)  # pytest finds the API fixtures by name here


async def titles_when(
    api: httpx.AsyncClient, application_id: str, wanted: set[str], who: str
) -> list[dict[str, Any]]:
    """The application's documents as `who` reads them, once they include `wanted`."""
    rows: list[dict[str, Any]] = await until(
        api,
        f"/applications/{application_id}/documents",
        lambda rows: wanted <= {d["title"] for d in rows},
        who=who,
        what=f"{application_id} has {wanted}",
    )
    return rows


async def read(api: httpx.AsyncClient, row: dict[str, Any], who: str) -> dict[str, Any]:
    r = await api.get(str(row["link"]), headers=as_(who))
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


async def test_the_receipt_the_registration_and_the_license_are_documents(
    api: httpx.AsyncClient, catalog: Catalog, store_engine: Engine
) -> None:
    application_id = await post_new(api, full_body(catalog, SALON))
    await decide(api, application_id, MARKET, "rev-market", verdict="approve")
    market = catalog.item(MARKET)
    granted = GRANT_TITLES[market.kind.value]  # the catalog states registration as a license
    wanted = {"受理通知书", granted, "营业执照"}
    rows = await titles_when(api, application_id, wanted, who="app-demo")
    by_title = {d["title"]: d for d in rows}

    # In the order they were issued, numbered per application.
    assert [d["title"] for d in rows][:3] == ["受理通知书", granted, "营业执照"]
    assert [d["number"] for d in rows][:3] == [
        f"{application_id}-SL-001",
        f"{application_id}-ZY-002",
        f"{application_id}-ZS-003",
    ]

    # The receipt: the case number, the bundle and its items, the promised days, Beijing time.
    receipt = await read(api, by_title["受理通知书"], "app-demo")
    state = (await api.get(f"/applications/{application_id}", headers=as_("sup"))).json()
    case_number = state["case_number"]
    parse_case_number(case_number)
    bundle = catalog.bundles[SALON]
    accepted_at = datetime.fromisoformat(receipt["issued_at"])
    assert receipt["issued_at"].endswith("+08:00")
    assert receipt["issuer"] == SERVICE_CENTER and "第三十二条" in receipt["legal_basis"]
    content = receipt["content"]
    assert f"办件编号 {case_number}" in content and bundle.name in content
    assert catalog.item(MARKET).name in content
    assert f"{bundle.promised_days}个工作日" in content
    assert local_time(accepted_at) in content

    # The registration's decision and the license: the market department's acts.
    [license] = [lic for lic in licenses.licenses_of(store_engine, application_id)]
    decision = await read(api, by_title[granted], "app-demo")
    assert decision["issuer"] == market.department_name
    assert license.number in decision["content"] and "决定准予" in decision["content"]
    assert "第三十八条" in decision["legal_basis"] and market.legal_basis in decision["legal_basis"]
    certificate = await read(api, by_title["营业执照"], "app-demo")
    assert license.number in certificate["content"] and market.name in certificate["content"]
    assert license.holder_name in certificate["content"]
    assert "第三十九条" in certificate["legal_basis"]
    for doc in (receipt, decision, certificate):
        assert not SLUG.search(doc["content"]), doc["content"]

    # Both say how anyone checks the license: its code (the worker here knows no public
    # address, so the code alone), which the public verification answers with the license.
    code = license.verification_code
    assert re.fullmatch(f"[{VERIFICATION_ALPHABET}]{{{VERIFICATION_LENGTH}}}", code)
    assert f"核验码 {code}" in certificate["content"] and f"核验码 {code}" in decision["content"]
    assert "在线核验:" not in certificate["content"]
    verified = await api.get(f"/licenses/{code}")
    assert verified.status_code == 200 and verified.json()["number"] == license.number

    # Delivered through the outbox like every notice to the applicant.
    told = {n.kind for n in notifications.notifications_of(store_engine, application_id)}
    assert {"accepted", "granted", "license"} <= told

    # A reviewer of another department sees the center's receipt, not the market's acts.
    seen = await api.get(f"/applications/{application_id}/documents", headers=as_("rev-health"))
    assert seen.status_code == 200, seen.text
    assert {d["title"] for d in seen.json()} & wanted == {"受理通知书"}

    # The printable page of the license, with the case number it was issued under.
    page = await api.get(
        str(by_title["营业执照"]["link"]), headers={**as_("app-demo"), "Accept": "text/html"}
    )
    assert page.status_code == 200 and "<h1>营业执照</h1>" in page.text
    assert f"办件编号: {case_number}" in page.text
    assert receipt["case_number"] == certificate["case_number"] == case_number


async def test_a_filing_speaks_as_a_filing_not_as_a_license(
    api: httpx.AsyncClient, catalog: Catalog, store_engine: Engine
) -> None:
    """The food filing of a 开办便利店 is recorded on the spot once the registration is
    approved: its notice and its certificate rest on the food law alone (the Administrative
    License Law governs licenses, Art. 2) and name a filing's matter and its filer."""
    application_id = await post_new(api, full_body(catalog, STORE))
    await decide(api, application_id, MARKET, "rev-market", verdict="approve")
    filing = catalog.item(FOOD_FILING)
    title = GRANT_TITLES[filing.kind.value]
    rows = await titles_when(api, application_id, {title, "食品经营备案凭证"}, who="app-demo")
    by_title = {d["title"]: d for d in rows}
    notice = await read(api, by_title[title], "app-demo")
    certificate = await read(api, by_title["食品经营备案凭证"], "app-demo")
    for doc in (notice, certificate):
        assert doc["legal_basis"] == filing.legal_basis and LAW not in doc["legal_basis"]
        assert doc["issuer"] == filing.department_name
    assert "已予备案" in notice["content"] and "备案凭证与本通知同时送达" in notice["content"]
    assert "本决定" not in notice["content"] and "行政许可" not in notice["content"]
    assert f"备案事项: {filing.name}" in certificate["content"]
    assert "备案人: " in certificate["content"] and "许可" not in certificate["content"]
    # The license registered just before speaks as a license still.
    granted = await read(api, by_title[GRANT_TITLES["license"]], "app-demo")
    assert granted["legal_basis"].startswith(LAW) and "本决定" in granted["content"]


async def test_a_correction_notice_comes_before_the_case_number(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    application_id = new_application_id()
    body = body_of(catalog, application_id)
    first = next(m.code for m in catalog.item(DEMO_ITEM).materials if m.core and m.asked_for)
    body["materials"] = [c for c in body["materials"] if c != first]
    await post_new(api, body)
    rows = await titles_when(api, application_id, {"补正材料通知书"}, who="app-demo")
    notice = await read(api, rows[0], "app-demo")
    supplied = {"materials": [first], "channel": "online"}
    r = await api.post(
        f"/applications/{application_id}/supplement", json=supplied, headers=as_("app-demo")
    )
    assert r.status_code == 200, r.text
    rows = await titles_when(api, application_id, {"受理通知书"}, who="app-demo")
    receipt = await read(api, next(d for d in rows if d["title"] == "受理通知书"), "app-demo")
    assert notice["case_number"] is None and receipt["case_number"]
    again = await read(api, rows[0], "app-demo")  # read after acceptance: still without one
    assert again["case_number"] is None


async def test_a_retried_issuance_writes_each_document_once(
    api: httpx.AsyncClient, catalog: Catalog, store_engine: Engine
) -> None:
    from temporalio.testing import ActivityEnvironment

    from activities.licensing import IssueLicense, LicensingActivities

    application_id = await post_new(api, full_body(catalog, SALON))
    await decide(api, application_id, MARKET, "rev-market", verdict="approve")
    await titles_when(api, application_id, {"营业执照"}, who="app-demo")
    before = documents.documents_of(store_engine, application_id)
    [license] = licenses.licenses_of(store_engine, application_id)
    again = IssueLicense(
        application_id=application_id,
        item_code=MARKET,
        license_kind=license.license_kind,
        holder_name=license.holder_name,
        issued_at=before[-1].issued(),
    )
    issued = ActivityEnvironment().run(LicensingActivities(store_engine).issue_license, again)
    assert issued.number == license.number
    assert documents.documents_of(store_engine, application_id) == before
