"""The guide a citizen opens by scanning a doorplate: a phone page in headless Chromium
(renders at 390 px, key text, no code slugs or versions, works without JavaScript, the
location offer sorts halls), its QR codes decoded with zbarimg to the one public base URL,
and that URL read from one setting by the API and the CLI alike."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from domain.catalog import Catalog
from domain.guide import build_guide, guide_url
from domain.guide_page import render_guide_page
from onething.settings import Settings, SettingsError, load_settings
from starter.doorplate import is_loopback_url
from store import migrate
from store.db import make_engine
from tests.browser import PHONE, browser, decode_qr, screenshot_path
from tests.conftest import new_application_id
from tests.support.api import api_on_a_port, as_, body_of, case_number_of, phone_page

USES_FIXTURES = (browser,)  # pytest finds the Chromium fixture by its name in this module

PUBLIC = "https://zwfw.example.gov.cn/yc"
STORE = "open-convenience-store"
# What must never reach a citizen: codes, dotted form keys, English labels, versions.
SLUG = re.compile(r"[a-z]+(?:[-_.][a-z]+)+|\b20\d\d\.\d+\.\d+\b|[A-Za-z]{3,}")


def visible_slugs(text: str) -> list[str]:
    return SLUG.findall(text)


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('citizen') / 'onething.db'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def site(
    ts_env: WorkflowEnvironment, sqlite_engine: Engine, catalog: Catalog
) -> AsyncIterator[str]:
    async with api_on_a_port(ts_env, sqlite_engine, catalog, base_url=PUBLIC) as url:
        yield url


# -------------------------------------------------------------------------- pure


def test_every_guide_page_is_chinese_without_slugs(catalog: Catalog) -> None:
    for code in [*catalog.items, *catalog.bundles]:
        html = render_guide_page(build_guide(catalog, code, base_url=PUBLIC), catalog)
        text = re.sub(r"<script>.*?</script>|<style>.*?</style>|<[^>]+>", " ", html, flags=re.S)
        assert '<html lang="zh-CN">' in html
        assert not visible_slugs(text), (code, visible_slugs(text))
        assert catalog.version not in text and "核心" not in text
        for words in ("需要准备的材料", "在哪里办", "帮办代办", "12345", "承诺时限", "收费"):
            assert words in text, (code, words)


def test_a_doorplate_url_carries_its_hall_or_location() -> None:
    assert guide_url(STORE, PUBLIC) == f"{PUBLIC}/guides/{STORE}"
    assert guide_url(STORE, PUBLIC + "/", hall="xiaohe") == f"{PUBLIC}/guides/{STORE}?hall=xiaohe"
    near = guide_url(STORE, PUBLIC, near=(31.643, 112.13))
    assert near.endswith("?latitude=31.64300&longitude=112.13000")


def test_one_public_url_setting_old_names_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ONETHING_API_PUBLIC_URL", "ONETHING_GUIDE_BASE_URL", "ONETHING_PUBLIC_URL"):
        for other in ("ONETHING_API_PUBLIC_URL", "ONETHING_GUIDE_BASE_URL", "ONETHING_PUBLIC_URL"):
            monkeypatch.delenv(other, raising=False)
        monkeypatch.setenv(name, PUBLIC + "/")
        assert Settings().public_base_url == PUBLIC, name
    for other in ("ONETHING_API_PUBLIC_URL", "ONETHING_GUIDE_BASE_URL", "ONETHING_PUBLIC_URL"):
        monkeypatch.delenv(other, raising=False)
    loopback = Settings(ONETHING_API_PORT=8123).public_base_url
    assert loopback == "http://127.0.0.1:8123" and is_loopback_url(loopback)
    assert not is_loopback_url(PUBLIC)
    assert is_loopback_url("http://localhost:8000") and is_loopback_url("http://[::1]:8000")
    monkeypatch.setenv("ONETHING_PUBLIC_URL", "zwfw.example.gov.cn")
    with pytest.raises(SettingsError, match="ONETHING_PUBLIC_URL"):
        load_settings()


def test_cli_doorplate_decodes_to_the_public_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starter.cli import app

    monkeypatch.setenv("ONETHING_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("ONETHING_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    seed = Path(__file__).resolve().parents[2] / "domain" / "data" / "catalog.json"
    cases = (("plate.png", ["--hall", "xiaohe"]), ("near.png", ["--near", "31.6,112.1"]))
    for name, extra in cases:
        out = tmp_path / name
        args = ["guide", STORE, "--catalog", str(seed), "--qr", str(out), *extra]
        done = runner.invoke(app, args)
        assert done.exit_code == 0, done.output
        wanted = guide_url(
            STORE,
            PUBLIC,
            hall="xiaohe" if "--hall" in extra else None,
            near=(31.6, 112.1) if "--near" in extra else None,
        )
        assert decode_qr(out) == wanted
    bad = runner.invoke(app, ["guide", STORE, "--catalog", str(seed), "--hall", "nowhere"])
    assert bad.exit_code != 0 and "--hall" in bad.output


# -------------------------------------------------------------------------- in Chromium


async def test_the_guide_on_a_phone(site: str, browser: Any, catalog: Catalog) -> None:
    context, page = await phone_page(browser)
    try:
        response = await page.goto(f"{site}/guides/{STORE}?hall=xiaohe")
        assert response is not None and response.status == 200
        assert await page.get_attribute("html", "lang") == "zh-CN"
        assert await page.inner_text("h1") == catalog.bundles[STORE].name
        text = await page.inner_text("body")
        for words in (
            "需要准备的材料",
            "原件",
            "不用带",
            "办理步骤",
            "在哪里办",
            "本门牌所在的宜城市小河镇政务服务中心不办理此事项",
            "帮办代办",
            "查询办理进度",
            "投诉电话",
            "12345",
            "跑动次数",
            "当场",
        ):
            assert words in text, words
        assert not visible_slugs(text), visible_slugs(text)
        assert catalog.version not in text and "核心" not in text
        # Halls nearest the doorplate first; the page fits the phone's width.
        first = await page.inner_text(".hall")
        assert first.startswith(catalog.halls["yicheng-center"].name) and "距本门牌约" in first
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        # Steps are one numbered list: no number twice.
        steps = await page.locator("h2:has-text('办理步骤') + ol > li").count()
        assert steps >= 4
        assert await page.is_visible("#locate")  # offered, with JavaScript
        await page.screenshot(path=str(screenshot_path("guide-phone")), full_page=True)
        # A doorplate in a town hall that handles the item: that hall first, 0 km.
        await page.goto(f"{site}/guides/food-filing-prepackaged?hall=xiaohe")
        first = await page.inner_text(".hall")
        assert first.startswith(catalog.halls["xiaohe"].name + " (本门牌所在大厅)"), first
        assert "距本门牌约0.0公里" in first
    finally:
        await context.close()


async def test_the_guide_without_javascript(site: str, browser: Any) -> None:
    context, page = await phone_page(browser, java_script_enabled=False)
    try:
        await page.goto(f"{site}/guides/food-business-license")
        text = await page.inner_text("body")
        assert "需要准备的材料" in text and "帮办代办" in text
        assert not await page.is_visible("#locate")  # nothing offered that cannot work
        assert not visible_slugs(text), visible_slugs(text)
    finally:
        await context.close()


async def test_the_location_is_asked_and_sorts_the_halls(
    site: str, browser: Any, catalog: Catalog
) -> None:
    zhengji = catalog.halls["zhengji"]
    context, page = await phone_page(
        browser,
        geolocation={"latitude": zhengji.latitude, "longitude": zhengji.longitude},
        permissions=["geolocation"],
    )
    try:
        await page.goto(f"{site}/guides/food-filing-prepackaged")
        before = await page.inner_text(".hall h3")
        assert before.startswith(catalog.halls["yicheng-center"].name)  # catalog order
        async with page.expect_navigation():
            await page.click("#locate")
        assert "latitude=" in page.url and "longitude=" in page.url
        first = page.locator(".hall").first
        assert (await first.inner_text()).startswith(zhengji.name)
        assert "距您约0.0公里" in await first.inner_text()
        await page.screenshot(path=str(screenshot_path("guide-nearest")), full_page=True)
    finally:
        await context.close()


async def test_the_qr_codes_decode_to_the_public_url(
    site: str, browser: Any, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=site) as http:
        png = await http.get(f"/guides/{STORE}/qr.png")
        svg = await http.get(f"/guides/{STORE}/qr.svg")
        as_json = (await http.get(f"/guides/{STORE}")).json()
    assert as_json["url"] == f"{PUBLIC}/guides/{STORE}"
    (tmp_path / "qr.png").write_bytes(png.content)
    assert decode_qr(tmp_path / "qr.png") == f"{PUBLIC}/guides/{STORE}"
    # The SVG as a browser draws it, and a doorplate with the name under the code.
    from domain.guide import doorplate_svg

    context, page = await phone_page(browser)
    try:
        for name, markup in (
            ("qr-svg", svg.text),
            ("doorplate-svg", doorplate_svg(guide_url(STORE, PUBLIC, hall="xiaohe"), "开办便利店")),
        ):
            body = markup.split("?>", 1)[-1]
            await page.set_content(f"<body style='margin:20px;background:#fff'>{body}</body>")
            shot = screenshot_path(name)
            await page.screenshot(path=str(shot))
            expected = f"{PUBLIC}/guides/{STORE}" + ("?hall=xiaohe" if "door" in name else "")
            assert decode_qr(shot) == expected
        assert "开办便利店" in await page.inner_text("body")
    finally:
        await context.close()


async def test_progress_and_help_on_a_phone(site: str, browser: Any, catalog: Catalog) -> None:
    from starter.demo import demo_applicant

    application_id = new_application_id()
    async with httpx.AsyncClient(base_url=site) as http:
        r = await http.post(
            "/applications", json=body_of(catalog, application_id), headers=as_("clerk-yc")
        )
        assert r.status_code == 201, r.text
        number = await case_number_of(http, application_id)

    context, page = await phone_page(browser)
    try:
        await page.goto(f"{site}/progress")
        await page.fill("#case_number", number)
        await page.fill("#phone_tail", "0000" if demo_applicant().phone[-4:] != "0000" else "1111")
        await page.click("button[type=submit]")
        assert "未查到" in await page.inner_text("[role=alert]")
        await page.fill("#case_number", number)
        await page.fill("#phone_tail", demo_applicant().phone[-4:])
        await page.click("button[type=submit]")
        text = await page.inner_text("body")
        assert "当前状态: 已受理, 正在办理" in text and number in text
        assert "受理通知书" in text or "您收到的文书" in text
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await page.screenshot(path=str(screenshot_path("progress-phone")), full_page=True)

        # Help from the guide's link: the item and hall come along; it reaches the inbox.
        await page.goto(f"{site}/guides/{STORE}")
        await page.click("text=申请帮办代办")
        await page.fill("#name", "李四")
        await page.fill("#phone", "13712345678")
        await page.click("button[type=submit]")
        done = await page.inner_text("body")
        assert "已收到您的帮办代办申请" in done and "北京时间" in done
        await page.screenshot(path=str(screenshot_path("help-phone")), full_page=True)
    finally:
        await context.close()
    rid = re.search(r"help-[0-9a-f]{16}", done)
    assert rid is not None
    async with httpx.AsyncClient(base_url=site) as http:
        inbox = await http.get("/tasks", params={"kind": "help_request"}, headers=as_("clerk-yc"))
    assert rid.group(0) in [t["task_id"] for t in inbox.json()["items"]]
