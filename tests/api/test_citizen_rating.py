"""Rating the case (好差评) from the citizen's progress page, over a real worker on the
time-skipping server and both stores: the form only when the case may be rated; a rating
recorded online as the applicant's; a missing reason or level named on the page with the
form kept and nothing stored; a second rating refused; the rating post checked and
rate-limited as the look-up (a wrong tail: the look-up's own answer); a 差评's follow-up
day; and one rating submitted in headless Chromium at phone size."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from domain.progress_rating import RATING_PATH
from domain.rating import RatingLevel
from starter.api.routes.citizen_desk import RateLimit
from starter.demo import DEMO_ITEM, demo_applicant
from store import ratings as ratings_store
from tests.browser import PHONE, browser, screenshot_path
from tests.conftest import Api
from tests.support.api import (
    FORM,
    SLUG,
    TAIL,
    WRONG,
    api_on_a_port,
    application_when,
    as_,
    assert_error,
    case_number_of,
    decide,
    look_up,
    phone_page,
    submitted,
    visible,
)

USES_FIXTURES = (browser,)  # pytest finds the Chromium fixture by its name in this module


async def decided(api: httpx.AsyncClient, catalog: Catalog) -> tuple[str, str]:
    """A case accepted and approved (completed): it may be rated. (ID, case number)."""
    application_id = await submitted(api, catalog)
    number = await case_number_of(api, application_id)
    await decide(api, application_id, DEMO_ITEM, "rev-health", verdict="approve")
    await application_when(api, application_id, lambda s: s["status"] == "completed")
    return application_id, number


async def rate(
    api: httpx.AsyncClient, number: str, tail: str, headers: dict[str, str] = FORM, **fields: str
) -> httpx.Response:
    form = urlencode({"case_number": number, "phone_tail": tail, **fields})
    return await api.post(RATING_PATH, content=form, headers=headers)


def alert(html: str) -> str:
    found = re.search(r'role="alert">([^<]*)<', html)
    assert found is not None, html
    return found.group(1)


async def test_the_form_appears_only_when_the_case_may_be_rated(
    api: httpx.AsyncClient, catalog: Catalog, store_engine: Engine
) -> None:
    application_id = await submitted(api, catalog)
    number = await case_number_of(api, application_id)
    running = await look_up(api, number, TAIL)
    assert running.status_code == 200
    assert "评价本次办理" not in running.text and 'name="level"' not in running.text
    # Posted anyway (a stale page): refused, nothing stored.
    early = await rate(api, number, TAIL, level="very_satisfied")
    assert early.status_code == 409 and "办结" in alert(early.text)
    assert ratings_store.of_application(store_engine, application_id) is None

    await decide(api, application_id, DEMO_ITEM, "rev-health", verdict="approve")
    await application_when(api, application_id, lambda s: s["status"] == "completed")
    page = await look_up(api, number, TAIL)
    shown = visible(page.text)
    assert "评价本次办理" in shown
    assert page.text.count('type="radio" name="level"') == 5
    for level in RatingLevel:
        assert level.label in shown
    assert "选择基本满意、不满意、非常不满意时必须填写理由" in shown
    assert 'method="post" action="/progress/rating#rate"' in page.text
    # No code slugs in the rating's part (document and license numbers carry codes).
    part = visible(page.text.split('id="rate"', 1)[1].split("需要帮助", 1)[0])
    assert not SLUG.search(part), SLUG.findall(part)


async def test_a_rating_through_the_page_is_the_applicants_online_and_only_one(
    api: httpx.AsyncClient, catalog: Catalog, store_engine: Engine
) -> None:
    application_id, number = await decided(api, catalog)
    done = await rate(api, number, TAIL, level="satisfied", reason="窗口人员很耐心")
    assert done.status_code == 201, done.text
    assert done.headers["cache-control"] == "no-store"
    shown = visible(done.text)
    assert "感谢您的评价" in shown and "满意程度 满意" in re.sub(r"\s+", " ", shown)
    assert "北京时间" in shown and 'name="level"' not in done.text

    row = ratings_store.of_application(store_engine, application_id)
    assert row is not None and row.case_number == number
    assert (row.level, row.channel, row.rater, row.recorded_by) == (
        "satisfied",
        "online",
        "applicant",
        None,
    )
    assert row.reason == "窗口人员很耐心"
    # The rater is the applicant as the API's applicant tokens know them (ID digest, keyed).
    id_sha = hashlib.sha256(demo_applicant().id_number.encode()).hexdigest()
    assert ratings_store.rated_by(row, id_sha)
    as_api = await api.get(f"/applications/{application_id}/rating", headers=as_("app-demo"))
    assert as_api.status_code == 200 and as_api.json()["channel"] == "online"

    # The look-up now shows the rating instead of the form.
    again = await look_up(api, number, TAIL)
    assert "您的评价" in again.text and 'name="level"' not in again.text

    # A second rating (an old page, another tab): refused on the page, the first kept.
    second = await rate(api, number, TAIL, level="very_dissatisfied", reason="重新评价")
    assert second.status_code == 409
    assert "评价: " in alert(second.text) and "只能评价一次" in alert(second.text)
    assert "满意" in visible(second.text)
    kept = ratings_store.of_application(store_engine, application_id)
    assert kept is not None and kept.level == "satisfied"
    plain = {"Content-Type": "application/x-www-form-urlencoded"}
    assert_error(await rate(api, number, TAIL, plain, level="satisfied"), 409, "case_number")


async def test_a_missing_reason_or_level_is_named_and_the_form_kept(
    api: httpx.AsyncClient, catalog: Catalog, store_engine: Engine
) -> None:
    application_id, number = await decided(api, catalog)
    for level in ("basically_satisfied", "dissatisfied", "very_dissatisfied"):
        r = await rate(api, number, TAIL, level=level, reason="  ")
        assert r.status_code == 422
        message = alert(r.text)
        assert message.startswith("评价理由: ") and RatingLevel(level).label in message
        assert f'value="{level}" checked' in r.text  # the form, as it was filled in
        assert "评价本次办理" in r.text
    r = await rate(api, number, TAIL, reason="写了理由但没选")
    assert r.status_code == 422 and alert(r.text).startswith("满意程度: ")
    assert "写了理由但没选" in r.text  # the reason kept in its textarea
    r = await rate(api, number, TAIL, level="satisfied", reason="长" * 501)
    assert r.status_code == 422 and alert(r.text).startswith("评价理由: ")
    plain = {"Content-Type": "application/x-www-form-urlencoded"}
    assert_error(await rate(api, number, TAIL, plain, level="dissatisfied"), 422, "reason")
    assert ratings_store.of_application(store_engine, application_id) is None


async def test_a_wrong_tail_gets_the_look_ups_answer_and_a_bad_rating_its_follow_up_day(
    api: httpx.AsyncClient, catalog: Catalog, store_engine: Engine
) -> None:
    application_id, number = await decided(api, catalog)
    wrong = await rate(api, number, WRONG, level="very_satisfied")
    looked = await look_up(api, number, WRONG)
    unknown = await rate(api, "420684-20991231-999999", TAIL, level="very_satisfied")
    assert wrong.status_code == looked.status_code == unknown.status_code == 404
    assert wrong.text == looked.text == unknown.text and "未查到" in wrong.text
    plain = {"Content-Type": "application/x-www-form-urlencoded"}
    assert_error(await rate(api, number, WRONG, plain, level="satisfied"), 404, "case_number")
    assert ratings_store.of_application(store_engine, application_id) is None

    bad = await rate(api, number, TAIL, level="very_dissatisfied", reason="等了两个小时")
    assert bad.status_code == 201, bad.text
    shown = visible(bad.text)
    day = re.search(r"相关部门将在 (\d{4}-\d{2}-\d{2}) \(北京时间\) 前回访您", shown)
    assert day is not None, shown
    row = ratings_store.of_application(store_engine, application_id)
    assert row is not None and row.level == "very_dissatisfied" and row.channel == "online"
    assert ratings_store.follow_ups_of(store_engine, number)  # the 差评 opened its follow-up


async def test_the_rating_post_counts_against_the_look_up_limit(
    served_api: Api, catalog: Catalog, store_engine: Engine
) -> None:
    app, api = served_api.app, served_api.http
    application_id, number = await decided(api, catalog)
    saved = app.state.citizen.limit
    app.state.citizen.limit = RateLimit(attempts=2, window_s=600)
    try:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as one:
            assert (await look_up(one, number, TAIL)).status_code == 200
            assert (await rate(one, number, WRONG, level="satisfied")).status_code == 404
            held = await rate(one, number, TAIL, level="satisfied")
        assert held.status_code == 429 and "查询次数过多" in held.text
        assert "retry-after" in held.headers
    finally:
        app.state.citizen.limit = saved
    assert ratings_store.of_application(store_engine, application_id) is None


# -------------------------------------------------------------------------- Chromium


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    async with (
        api_on_a_port(ts_env, store_engine, catalog) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        yield url, http


async def test_rating_on_a_phone(
    site: tuple[str, httpx.AsyncClient], browser: Any, catalog: Catalog, store_engine: Engine
) -> None:
    url, http = site
    application_id, number = await decided(http, catalog)
    context, page = await phone_page(browser, java_script_enabled=False)
    try:
        await page.goto(f"{url}/progress")
        await page.fill("#case_number", number)
        await page.fill("#phone_tail", TAIL)
        await page.click("button[type=submit]")
        assert "评价本次办理" in await page.inner_text("body")
        await page.get_by_label("不满意", exact=True).check()
        await page.click("text=提交评价")
        assert (await page.inner_text("[role=alert]")).startswith("评价理由")
        assert await page.is_checked("input[value=dissatisfied]")  # the form as it was
        await page.screenshot(
            path=str(screenshot_path("progress-rating-form-phone")), full_page=True
        )
        await page.fill("#reason", "材料清单与窗口要求不一致")
        await page.click("text=提交评价")
        text = await page.inner_text("body")
        assert "感谢您的评价" in text and "不满意" in text and "前回访您" in text
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await page.screenshot(path=str(screenshot_path("progress-rating-phone")), full_page=True)
    finally:
        await context.close()
    row = ratings_store.of_application(store_engine, application_id)
    assert row is not None and (row.level, row.channel) == ("dissatisfied", "online")
