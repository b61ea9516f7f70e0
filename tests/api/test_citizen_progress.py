"""Progress by case number and asking for help (帮办代办), over a real worker on the
time-skipping server and both stores: the same answer for a wrong phone tail and an
unknown case, the rate limit per address, each state in plain words with deadlines in
Beijing time and the documents' text, the keyed check (never the phone), applications
submitted past the API, and a help request that reaches the hall's inbox and is answered."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
from sqlalchemy import Engine, text

from domain.application import ApplicationState, ApplicationStatus, ItemStatus, Submission
from domain.catalog import Catalog
from domain.notices import local_time
from domain.progress import ITEM_WORDS, STATUS_WORDS, result_page
from starter.api.routes.citizen_desk import RateLimit
from starter.demo import DEMO_ITEM, demo_submission
from starter.desk import eventually
from store import citizen as citizen_store
from tests.conftest import Api, new_application_id
from tests.support.api import (
    APPLICANT_PHONE,
    FORM,
    SLUG,
    TAIL,
    WRONG,
    application_when,
    as_,
    assert_error,
    case_number_of,
    decide,
    full_body,
    look_up,
    post_new,
    submitted,
    visible,
)

# -------------------------------------------------------------------------- pure


def test_a_sliding_window_per_address() -> None:
    now = [0.0]
    limit = RateLimit(attempts=3, window_s=600, keys=2, clock=lambda: now[0])
    assert [limit.allow("a") for _ in range(3)] == [None, None, None]
    wait = limit.allow("a")
    assert wait is not None and 599 <= wait <= 600
    assert limit.allow("b") is None  # another address is not held back
    now[0] = 601
    assert limit.allow("a") is None  # the window has slid past the first tries
    limit.allow("c")  # a third key: the oldest is forgotten, the table stays bounded
    assert len(limit._seen) == 2


def test_every_status_has_plain_words() -> None:
    assert set(STATUS_WORDS) == set(ApplicationStatus)
    assert set(ITEM_WORDS) == set(ItemStatus)
    for words in [*STATUS_WORDS.values(), *ITEM_WORDS.values()]:
        assert not re.search(r"[A-Za-z]", words), words


# -------------------------------------------------------------------------- the look-up


async def test_wrong_tail_and_unknown_case_get_the_same_answer(
    api: httpx.AsyncClient, catalog: Catalog, store_engine: Engine
) -> None:
    application_id = await submitted(api, catalog)
    number = await case_number_of(api, application_id)
    wrong = await look_up(api, number, WRONG)
    unknown = await look_up(api, "420684-20991231-999999", TAIL)
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.text == unknown.text and "未查到" in wrong.text
    assert wrong.headers["cache-control"] == "no-store"
    # Another caller than a browser gets the API's error body, the same for both.
    plain = {"Content-Type": "application/x-www-form-urlencoded"}
    as_json = [
        await api.post("/progress", content=f"case_number={n}&phone_tail={t}", headers=plain)
        for n, t in ((number, WRONG), ("420684-20991231-999999", TAIL))
    ]
    assert as_json[0].text == as_json[1].text
    assert_error(as_json[0], 404, "case_number")
    # Malformed fields are named (the format is public: no oracle there).
    bad = await look_up(api, "12345", TAIL)
    assert bad.status_code == 422 and "办件编号" in bad.text
    bad = await look_up(api, number, "12a4")
    assert bad.status_code == 422 and "手机号后四位" in bad.text
    # The store keeps a keyed check, never the phone or its tail.
    with store_engine.connect() as conn:
        row = conn.execute(
            text("SELECT * FROM progress_contacts WHERE application_id = :a"), {"a": application_id}
        ).one()
    assert APPLICANT_PHONE not in str(row) and re.fullmatch(r"[0-9a-f]{64}", row.check_value)
    right = await look_up(api, number, TAIL)
    assert right.status_code == 200 and number in right.text


async def test_the_rate_limit_per_address(
    served_api: Api,
) -> None:
    app = served_api.app
    saved = app.state.citizen.limit
    app.state.citizen.limit = RateLimit(attempts=3, window_s=600)
    try:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as one:
            answers = [await look_up(one, "420684-20991231-999999", TAIL) for _ in range(4)]
        assert [a.status_code for a in answers] == [404, 404, 404, 429]
        assert "查询次数过多" in answers[-1].text
        assert 500 <= int(answers[-1].headers["retry-after"]) <= 601
        other = httpx.ASGITransport(app=app, client=("203.0.113.8", 50000))
        async with httpx.AsyncClient(transport=other, base_url="http://api.test") as two:
            assert (await look_up(two, "420684-20991231-999999", TAIL)).status_code == 404
    finally:
        app.state.citizen.limit = saved


async def test_in_progress_then_completed_with_the_license(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    application_id = await submitted(api, catalog)
    number = await case_number_of(api, application_id)
    page = await look_up(api, number, TAIL)
    shown = visible(page.text)
    assert "当前状态: 已受理, 正在办理" in shown and catalog.item(DEMO_ITEM).name in shown
    # Document numbers carry the application ID (T + hex, the tests' IDs): not words.
    words = re.sub(r"\bT[0-9a-f]{12}-[A-Z]+-[0-9]+", "", shown.replace(number, ""))
    assert not SLUG.search(words), SLUG.findall(words)
    await decide(api, application_id, DEMO_ITEM, "rev-health", verdict="approve")
    await application_when(api, application_id, lambda s: s["status"] == "completed")
    page = await look_up(api, number, TAIL)
    shown = visible(page.text)
    assert "当前状态: 已办结" in shown and "证照编号" in shown
    # Its verification code, and a link to the public page that answers for it.
    state = (await api.get(f"/applications/{application_id}", headers=as_("sup"))).json()
    code = state["items"][0]["license"]["verification_code"]
    assert f"核验码 {code}" in shown and f"href='/licenses/{code}'" in page.text
    verified = await api.get(f"/licenses/{code}", headers={"Accept": "text/html"})
    assert verified.status_code == 200 and "此电子证照真实有效" in verified.text


async def test_awaiting_supplement_shows_what_and_the_beijing_deadline(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    body = full_body(catalog, "food-business-license", leave_out=("equipment-layout",), pledge=True)
    application_id = await post_new(api, body)
    state = await application_when(
        api,
        application_id,
        lambda s: (
            s["status"] == "awaiting_supplement"
            and s["case_number"]
            and (s["supplement_clock"] or {}).get("due_at")
        ),
    )
    page = await look_up(api, state["case_number"], TAIL)
    shown = visible(page.text)
    assert "等待您补齐材料" in shown and "需要您做的" in shown
    material = catalog.item("food-business-license").material("equipment-layout").name
    assert material in shown
    due = state["supplement_clock"]["due_at"]
    assert f"截止: {local_time(datetime.fromisoformat(due))} (北京时间)" in shown
    assert "容缺受理通知书" in shown  # the document, with its text on the page
    assert "<details>" in page.text and "equipment" not in shown


async def test_correction_requested_rejected_and_withdrawn(
    api: httpx.AsyncClient, catalog: Catalog
) -> None:
    asked = await submitted(api, catalog)
    number = await case_number_of(api, asked)
    reason = "学历证明复印件不清晰"
    await decide(api, asked, DEMO_ITEM, "rev-health", verdict="request_correction", reason=reason)
    shown = visible((await look_up(api, number, TAIL)).text)
    assert "需要您补正材料" in shown and reason in shown

    rejected = await submitted(api, catalog)
    number = await case_number_of(api, rejected)
    why = "不符合执业注册条件"
    await decide(api, rejected, DEMO_ITEM, "rev-health", verdict="reject", reason=why)
    await application_when(api, rejected, lambda s: s["status"] == "rejected")
    page = await eventually(  # the document is written by the notify activity
        lambda: look_up(api, number, TAIL),
        lambda p: "不予许可决定书" in p.text,
        "the rejection's document shows on the page",
    )
    shown = visible(page.text)
    assert "当前状态: 不予许可" in shown and "不予许可决定书" in shown and why in shown
    assert "六十日内" in shown or "行政复议" in shown  # the rights, in the document's text

    mine = await submitted(api, catalog)
    number = await case_number_of(api, mine)
    r = await api.post(
        f"/applications/{mine}/withdrawal", json={"reason": "不再需要"}, headers=as_("app-demo")
    )
    assert r.status_code == 200, r.text
    await application_when(api, mine, lambda s: s["status"] == "withdrawn")
    assert "您已撤回申请" in visible((await look_up(api, number, TAIL)).text)


async def test_each_status_renders_without_slugs(api: httpx.AsyncClient, catalog: Catalog) -> None:
    application_id = await submitted(api, catalog)
    await case_number_of(api, application_id)
    raw = (await api.get(f"/applications/{application_id}", headers=as_("sup"))).json()
    state = ApplicationState.model_validate(raw)
    for status in ApplicationStatus:
        html = result_page(
            state.model_copy(update={"status": status}),
            "420684-20261128-000001",
            [],
            hall_name="大厅",
        )
        shown = visible(html)
        assert STATUS_WORDS[status] in shown
        assert not SLUG.search(shown), (status, SLUG.findall(shown))


async def test_an_application_submitted_past_the_api_is_checked_from_its_start_input(
    served_api: Api, catalog: Catalog, store_engine: Engine
) -> None:
    api, client = served_api.http, served_api.client
    submission: Submission = demo_submission(catalog, new_application_id())
    await client.submit(submission)  # as the CLI or a backend service does
    number = await case_number_of(api, submission.application_id)
    assert citizen_store.contact_of(store_engine, submission.application_id) is None
    assert (await look_up(api, number, WRONG)).status_code == 404
    kept = citizen_store.contact_of(store_engine, submission.application_id)
    assert kept is not None and APPLICANT_PHONE not in kept.check_value
    assert (await look_up(api, number, TAIL)).status_code == 200


# -------------------------------------------------------------------------- help


async def test_a_help_request_reaches_the_halls_inbox_and_is_answered(
    api: httpx.AsyncClient, store_engine: Engine
) -> None:
    form = "name=张三&phone=13912345678&hall=yicheng-center&item=open-convenience-store"
    form += "&preferred_time=工作日上午&note=不会填表"
    r = await api.post("/help", content=form.encode(), headers=FORM)
    assert r.status_code == 201, r.text
    assert "已收到您的帮办代办申请" in r.text and "北京时间" in r.text
    request_id = re.search(r"help-[0-9a-f]{16}", r.text)
    assert request_id is not None
    rid = request_id.group(0)

    inbox = await api.get("/tasks", params={"kind": "help_request"}, headers=as_("clerk-yc"))
    assert inbox.status_code == 200, inbox.text
    [task] = [t for t in inbox.json()["items"] if t["task_id"] == rid]
    assert task["hall"] == "yicheng-center" and task["role"] == "window_clerk"
    assert task["due_at"] and task["status"] == "open"
    assert "13912345678" not in inbox.text and "张三" not in inbox.text  # not in the task
    other = await api.get("/tasks", params={"kind": "help_request"}, headers=as_("clerk-xh"))
    assert rid not in other.text

    assert_error(await api.get(f"/help-requests/{rid}", headers=as_("clerk-xh")), 403)
    assert_error(await api.get(f"/help-requests/{rid}", headers=as_("app-demo")), 403)
    read = await api.get(f"/help-requests/{rid}", headers=as_("clerk-yc"))
    assert read.status_code == 200, read.text
    assert read.json()["phone"] == "13912345678" and read.json()["name"] == "张三"
    assert read.json()["due_at"] > read.json()["created_at"]

    path = f"/help-requests/{rid}/answer"
    assert_error(await api.post(path, json={"answer": ""}, headers=as_("clerk-yc")), 422, "answer")
    done = await api.post(
        path, json={"answer": "已电话联系, 约定周一上午到窗口"}, headers=as_("clerk-yc")
    )
    assert done.status_code == 200, done.text
    assert done.json()["answered_by"] == "clerk-yc"
    assert_error(await api.post(path, json={"answer": "再答"}, headers=as_("clerk-yc")), 409)
    closed = await api.get(
        "/tasks", params={"kind": "help_request", "status": "closed"}, headers=as_("clerk-yc")
    )
    [task] = [t for t in closed.json()["items"] if t["task_id"] == rid]
    assert task["outcome"] == "answered" and task["closed_by"] == "clerk-yc"
    assert_error(await api.get("/help-requests/help-0000000000000000", headers=as_("sup")), 404)


async def test_a_help_request_with_a_bad_phone_names_the_field(api: httpx.AsyncClient) -> None:
    form = "name=张三&phone=12345&hall=yicheng-center"
    r = await api.post("/help", content=form.encode(), headers=FORM)
    assert r.status_code == 422 and "手机号" in r.text
    r = await api.post("/help", content=b"name=a&phone=13912345678&hall=nowhere", headers=FORM)
    assert r.status_code == 422 and "大厅" in r.text
