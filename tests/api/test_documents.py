"""Documents (文书) the applicant receives: which notices are documents, their numbers,
the store (one document per notice key), and the API's list and printable page over a
real worker on the time-skipping server (a correction notice, a clerk's refusal, a
reviewer's rejection)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities.notify import Notice, NotifyActivities
from domain.application import application_workflow_id, item_workflow_id
from domain.catalog import Catalog
from domain.documents import (
    DOCUMENT_KINDS,
    DOCUMENT_NUMBER_PATTERN,
    SERVICE_CENTER,
    document_kind,
    document_number,
    render_html,
)
from domain.notices import RIGHTS
from starter.demo import DEMO_ITEM
from store import documents, notifications
from tests.conftest import new_application_id
from tests.support.api import (
    STAFF_REGISTRY,
    as_,
    decide,
    documents_when,
    full_body,
    post_new,
    refused_after_a_correction_notice,
)

AT = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 2026-12-02 00:30 in Beijing
REASON = "公共场所卫生条件不符合要求"
SLUG = re.compile(r"\b(correction_notice|refused|rejected|[a-z]+_[a-z_]+)\b")
REGISTRY = STAFF_REGISTRY  # the module's API

# -------------------------------------------------------------------------- the mapping


def test_reminders_and_staff_notices_are_not_documents() -> None:
    assert document_kind("correction_reminder", "applicant") is None
    assert document_kind("supplement_reminder", "applicant") is None
    assert document_kind("warning", "reviewer:health") is None
    assert document_kind("rejected", "reviewer:health") is None  # never to staff
    titles = {k: d.title for k, d in DOCUMENT_KINDS.items()}
    assert titles["correction_notice"] == "补正材料通知书"
    assert titles["deficiency_notice"] == "容缺受理通知书"
    assert titles["refused"] == "不予受理决定书"
    assert titles["rejected"] == "不予许可决定书"
    assert titles["revoked"] == "撤销决定书"
    assert titles["extension"] == "延长期限告知书"
    assert titles["stopped"] == "终止办理通知书"
    assert len({d.code for d in DOCUMENT_KINDS.values()}) == len(DOCUMENT_KINDS)
    assert all("第" in d.basis or "规定" in d.basis for d in DOCUMENT_KINDS.values())


def test_numbers_are_application_kind_and_sequence() -> None:
    refusal = DOCUMENT_KINDS["refused"]
    assert document_number("demo-0001", refusal, 2) == "demo-0001-BSL-002"
    assert re.match(DOCUMENT_NUMBER_PATTERN, "demo-0001-BSL-002")
    assert not re.match(DOCUMENT_NUMBER_PATTERN, "demo-0001-XX-002")
    with pytest.raises(ValueError, match="sequence"):
        document_number("demo-0001", refusal, 0)
    with pytest.raises(ValueError, match="application_id"):
        document_number("a/b", refusal, 1)


def test_the_page_escapes_everything_and_shows_beijing_time() -> None:
    page = render_html(
        title="不予受理决定书",
        number="demo-0001-BSL-001",
        issuer="宜城<市>政务服务中心",
        issued_at=AT,
        content='理由: <script>alert("x")</script>',
        basis="《中华人民共和国行政许可法》第三十八条",
    )
    assert '<html lang="zh-CN">' in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "宜城&lt;市&gt;政务服务中心" in page
    assert "2026-12-02 00:30" in page and "北京时间" in page
    assert "六十日内" not in page  # not a decision


def test_a_decision_tells_the_rights_once() -> None:
    fields = {
        "title": "不予许可决定书",
        "number": "demo-0001-BXK-001",
        "issuer": "市场监督管理局",
        "issued_at": AT,
        "basis": "第三十八条",
        "decision": True,
    }
    assert render_html(content="不予许可。理由: 不符合", **fields).count("六十日内") == 1  # type: ignore[arg-type]
    carried = render_html(content=f"不予受理决定。{RIGHTS}", **fields)  # type: ignore[arg-type]
    assert carried.count("六十日内") == 1


# -------------------------------------------------------------------------- the store


def notice(application_id: str, key: str, kind: str, message: str = "通知") -> Notice:
    return Notice(
        key=key,
        application_id=application_id,
        recipient="applicant",
        kind=kind,
        message=message,
        at=AT,
    )


def test_one_document_per_notice_key_numbered_in_order(
    store_engine: Engine, catalog: Catalog
) -> None:
    app = new_application_id()
    own = application_workflow_id(app)
    notify = NotifyActivities(store_engine).notify
    first = notice(app, f"{own}/correction-notice", "correction_notice")
    for n in (first, first, notice(app, f"{own}/correction-reminder", "correction_reminder")):
        ActivityEnvironment().run(notify, n)  # retried: one notice, one document
    item_key = f"{item_workflow_id(app, DEMO_ITEM)}/rejected"
    ActivityEnvironment().run(notify, notice(app, item_key, "rejected", "不予许可"))

    docs = documents.documents_of(store_engine, app)
    assert [(d.number, d.title) for d in docs] == [
        (f"{app}-BZ-001", "补正材料通知书"),
        (f"{app}-BXK-002", "不予许可决定书"),
    ]
    assert docs[0].issuer == SERVICE_CENTER and docs[0].issued() == AT
    # An item's act is its department's (the catalog the store holds, if any).
    assert docs[1].issuer in (catalog.item(DEMO_ITEM).department_name, SERVICE_CENTER)
    assert docs[1].legal_basis == DOCUMENT_KINDS["rejected"].basis
    assert len(notifications.notifications_of(store_engine, app)) == 3
    # A notify that failed after the notice was written: its retry writes the document.
    crashed = notice(app, f"{own}/refused", "refused", "不予受理决定")
    notifications.notify(
        store_engine,
        notifications.Notification(
            key=crashed.key,
            application_id=app,
            recipient=crashed.recipient,
            kind=crashed.kind,
            message=crashed.message,
            created_at=crashed.at,
        ),
    )
    ActivityEnvironment().run(notify, crashed)
    assert [d.number for d in documents.documents_of(store_engine, app)][-1] == f"{app}-BSL-003"
    assert documents.by_notice(store_engine, crashed.key) is not None


# -------------------------------------------------------------------------- the API


async def test_a_correction_notice_and_a_refusal_as_documents(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    application_id = await refused_after_a_correction_notice(api, catalog)
    listed = await documents_when(api, application_id, 2, who="app-demo")
    assert [d["title"] for d in listed] == ["补正材料通知书", "不予受理决定书"]
    assert [d["number"] for d in listed] == [
        f"{application_id}-BZ-001",
        f"{application_id}-BSL-002",
    ]
    for d in listed:
        assert str(d["issued_at"]).endswith("+08:00")
        assert d["link"] == f"/applications/{application_id}/documents/{d['number']}"

    link = str(listed[1]["link"])
    as_json = await api.get(link, headers=as_("app-demo"))
    assert as_json.status_code == 200 and as_json.headers["content-type"].startswith(
        "application/json"
    )
    doc = as_json.json()
    assert doc["title"] == "不予受理决定书" and doc["issuer"] == SERVICE_CENTER
    assert doc["recipient"] == "applicant" and "不属本中心受理" in doc["content"]
    assert "第三十八条" in doc["legal_basis"]

    page = await api.get(link, headers={**as_("app-demo"), "Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="zh-CN">' in html
    assert "不予受理决定书" in html and str(listed[1]["number"]) in html
    assert "不属本中心受理" in html and "某局" in html and SERVICE_CENTER in html
    assert "六十日内" in html and "六个月内" in html  # the rights line
    issued = datetime.fromisoformat(str(listed[1]["issued_at"]))
    assert issued.strftime("%Y-%m-%d %H:%M") in html and "北京时间" in html
    text = re.sub(r"<[^>]+>|\{[^}]*\}", " ", html)
    assert not SLUG.search(text.replace(application_id, "")), text

    # Another applicant: not theirs. Unknown numbers: 404 naming the field.
    other = await api.get(link, headers=as_("app-other"))
    assert other.status_code in (403, 404)
    listed_other = await api.get(
        f"/applications/{application_id}/documents", headers=as_("app-other")
    )
    assert listed_other.status_code in (403, 404)
    missing = await api.get(
        f"/applications/{application_id}/documents/{application_id}-BXK-009",
        headers=as_("app-demo"),
    )
    assert missing.status_code == 404 and missing.json()["error"]["fields"][0]["field"] == "number"
    bad = await api.get(f"/applications/{application_id}/documents/x", headers=as_("app-demo"))
    assert bad.status_code == 422


async def test_a_rejection_is_its_departments_and_hidden_from_others(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    # open-beauty-salon: market first, then health; both departments read the application.
    application_id = await post_new(api, full_body(catalog, "open-beauty-salon"))
    market, health = "business-license-individual", "public-venue-hygiene-license"
    await decide(api, application_id, market, "rev-market", verdict="approve")
    await decide(api, application_id, health, "rev-health", verdict="reject", reason=REASON)

    # The receipt comes first (the center's, seen by both departments); wait for the act.
    listed = await documents_when(api, application_id, 1, who="rev-health", title="不予许可决定书")
    [rejection] = [d for d in listed if d["title"] == "不予许可决定书"]
    doc = (await api.get(str(rejection["link"]), headers=as_("rev-health"))).json()
    assert doc["issuer"] == catalog.item(health).department_name
    assert REASON in doc["content"] and "第三十八条" in doc["legal_basis"]
    page = await api.get(str(rejection["link"]), headers={**as_("app-demo"), "Accept": "text/html"})
    assert REASON in page.text and "六十日内" in page.text and "六个月内" in page.text
    seen = await documents_when(api, application_id, 1, who="app-demo")
    assert rejection["number"] in [d["number"] for d in seen]

    # A reviewer of the other department reads the application, never this document.
    others = await api.get(f"/applications/{application_id}/documents", headers=as_("rev-market"))
    assert others.status_code == 200, others.text
    assert rejection["number"] not in [d["number"] for d in others.json()]
    one = await api.get(str(rejection["link"]), headers=as_("rev-market"))
    assert one.status_code == 404 and REASON not in one.text
