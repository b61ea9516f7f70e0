"""One whole 开办便利店 application over real HTTP, then its documents read in headless
Chromium as the applicant reads them: the printable page's title, number, Beijing time and
language, no code names, set in a Chinese font; printed to A4; screenshots kept for a person
(`.data/screenshots/`, outside git).

The application: submitted without the proof of premises (补正材料通知书), corrected online,
accepted (受理通知书, with the case number); the business
registration approved by the market reviewer, the food filing recorded on the spot, the
tobacco retail license issued on commitment; its site check after issuance fails
(责令整改通知书), the re-inspection passes; completed.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from io import BytesIO
from typing import Any

import httpx
import pytest_asyncio
from playwright.async_api import Browser, ViewportSize
from pypdf import PdfReader
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from domain.documents import DOCUMENT_KINDS
from starter.auth import applicant_ref
from starter.desk import made_up_applicant
from tests.browser import browser, decode_qr, screenshot_path
from tests.support.api import SUBJECT_KEYS, api_on_a_port, as_, full_body, registry, token, until

STORE = "open-convenience-store"
BUSINESS, FOOD, TOBACCO = (
    "business-license-individual",
    "food-filing-prepackaged",
    "tobacco-retail-license",
)
LEFT_OUT = "premises-proof"
FINDINGS = "店内未设置不向未成年人售烟标志"
APPLICANT = made_up_applicant("documents-in-a-browser")  # a clean credit record: commitment
REGISTRY = registry(
    {"name": "insp-tobacco", "role": "inspector", "department": "tobacco"},
    {
        "name": "app-store",
        "role": "applicant",
        "applicant_ref": applicant_ref(SUBJECT_KEYS, APPLICANT.id_number),
    },
)
USES_FIXTURES = (browser,)  # pytest finds the Chromium fixture by its name in this module
A4_AT_96_DPI = ViewportSize(width=794, height=1123)
TIMINGS: dict[str, float] = {}
# How many distinct characters the node's text has, and how many distinct images they make
# when drawn in the node's font: fewer images than characters means boxes (tofu).
DRAWN_APART = """(selector) => {
  const node = document.querySelector(selector);
  const chars = [...new Set(node.textContent.trim())];
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 64;
  const g = canvas.getContext('2d');
  const drawn = new Set();
  for (const ch of chars) {
    g.clearRect(0, 0, 64, 64);
    g.font = getComputedStyle(node).font;
    g.textBaseline = 'top';
    g.fillText(ch, 0, 0);
    drawn.add(g.getImageData(0, 0, 64, 64).data.filter((_, i) => i % 4 === 3).join(''));
  }
  return [chars.length, drawn.size];
}"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def served(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> AsyncIterator[str]:
    """The API over a real worker, served by uvicorn on a free local port; its base URL."""
    async with api_on_a_port(ts_env, store_engine, catalog, REGISTRY) as url:
        yield url


async def post(http: httpx.AsyncClient, path: str, body: dict[str, Any], who: str) -> Any:
    r = await http.post(path, json=body, headers=as_(who))
    assert r.status_code in (200, 201), r.text
    return r.json()


async def a_whole_convenience_store(http: httpx.AsyncClient, catalog: Catalog) -> tuple[str, str]:
    """Submitted, corrected, accepted, registered, filed, licensed, inspected twice: done.
    The application's ID and case number."""
    body = full_body(catalog, STORE, leave_out=(LEFT_OUT,), commitment=True)
    body["applicant"] = {**body["applicant"], "id_number": APPLICANT.id_number}
    application_id: str = (await post(http, "/applications", body, "clerk-yc"))["application_id"]
    base = f"/applications/{application_id}"
    await until(http, base, lambda s: s["status"] == "awaiting_correction", what="补正")
    corrected = {"materials": [LEFT_OUT], "channel": "online"}
    assert (await post(http, f"{base}/supplement", corrected, "app-store"))["outstanding"] == []

    def item_open(status: str) -> Any:
        return lambda i: i["status"] == status and i["open_task"]

    await until(http, f"{base}/items/{BUSINESS}", item_open("under_review"), what="审查")
    approve = {"verdict": "approve"}
    await post(http, f"{base}/items/{BUSINESS}/decision", approve, "rev-market")
    await until(http, f"{base}/items/{TOBACCO}", item_open("inspecting"), what="核查")
    failed = {"result": "failed", "findings": FINDINGS}
    await post(http, f"{base}/items/{TOBACCO}/inspection", failed, "insp-tobacco")
    await until(http, f"{base}/items/{TOBACCO}", item_open("rectifying"), what="整改")
    await post(http, f"{base}/items/{TOBACCO}/inspection", {"result": "passed"}, "insp-tobacco")
    r = await http.get(f"{base}/result", params={"wait": 30}, headers=as_("sup"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed", r.json()
    food = (await http.get(f"{base}/items/{FOOD}", headers=as_("sup"))).json()
    assert food["status"] == "closed"
    state = (await http.get(base, headers=as_("sup"))).json()
    return application_id, str(state["case_number"])


def code_names(catalog: Catalog) -> set[str]:
    """Every code a person must never read: the bundle's, its items', their materials', the
    notices' kinds."""
    items = [catalog.item(m.item) for m in catalog.bundle(STORE).members]
    return {
        STORE,
        *(i.code for i in items),
        *(m.code for i in items for m in i.materials),
        *DOCUMENT_KINDS,
        "food-business",
    }


CODE_LIKE = re.compile(r"\b[a-z]+(?:[-_][a-z]+)+\b")  # kebab or snake case, lower only


async def test_a_convenience_stores_documents_read_in_chromium(
    served: str, browser: Any, catalog: Catalog
) -> None:
    assert isinstance(browser, Browser)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=served, timeout=60) as http:
        application_id, case_number = await a_whole_convenience_store(http, catalog)
        TIMINGS["application"] = time.perf_counter() - started
        wanted = {"补正材料通知书", "受理通知书", "责令整改通知书"}
        listed: list[dict[str, Any]] = await until(
            http,
            f"/applications/{application_id}/documents",
            lambda rows: wanted <= {d["title"] for d in rows},
            who="app-store",
            what="the documents",
        )
    by_title = {d["title"]: d for d in listed}
    assert [d["title"] for d in listed][:2] == ["补正材料通知书", "受理通知书"]  # as issued
    shown = [by_title[t] for t in ("补正材料通知书", "受理通知书", "责令整改通知书")]

    context = await browser.new_context(locale="zh-CN", viewport=A4_AT_96_DPI)
    try:
        page = await context.new_page()
        # The reader's token in a header on every request, never in a URL.
        await page.set_extra_http_headers(as_("app-store"))
        opened = time.perf_counter()
        for n, doc in enumerate(shown, start=1):
            url = f"{served}{doc['link']}"
            response = await page.goto(url)
            assert response is not None and response.status == 200, doc
            assert response.headers["content-type"].startswith("text/html")
            assert page.url == url and "token" not in page.url

            assert await page.get_attribute("html", "lang") == "zh-CN"
            number, title = str(doc["number"]), str(doc["title"])
            assert await page.title() == f"{title} {number}"
            assert (await page.locator("h1").inner_text()).strip() == title
            text = await page.locator("body").inner_text()
            assert number in text
            issued = datetime.fromisoformat(str(doc["issued_at"]))
            assert issued.utcoffset() == timedelta(hours=8)  # machine field: ISO, offset
            assert f"{issued:%Y-%m-%d %H:%M} (北京时间)" in text
            assert "依据" in text and "第" in text  # its legal basis
            words = text.replace(application_id, "")
            assert not [c for c in code_names(catalog) if c in words], text
            assert not CODE_LIKE.search(words), text
            if title == "责令整改通知书":
                assert FINDINGS in text
            if title == "补正材料通知书":
                assert "经营场所" in text  # the material by its name, not its code
            if title == "受理通知书":
                assert f"办件编号 {case_number}" in text  # the case number given at acceptance

            # Drawn in a font that has the characters: without one, each is the same box.
            distinct, drawn = await page.evaluate(DRAWN_APART, "h1")
            assert distinct == len(set(title)) and drawn == distinct, "no Chinese font"

            await page.screenshot(
                path=screenshot_path(f"document-{n}-{number.split('-')[-2]}"), full_page=True
            )
            printed = await page.pdf(format="A4", print_background=True)
            reader = PdfReader(BytesIO(printed))
            printed_text = "".join(p.extract_text() for p in reader.pages)
            # Chromium sets "ff", "fi", "fl" as ligatures (U+FB00...): a number with them
            # (the IDs are random hex) reads back as one glyph unless normalized.
            print_text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", printed_text))
            assert title in print_text and number in print_text
            assert len(reader.pages) == 1  # a notice fits on one A4 page
        TIMINGS["browser"] = time.perf_counter() - opened

        await the_license_verifies_in_a_browser(page, served, application_id, browser, catalog)

        # Another applicant's browser reads none of it.
        stranger = await context.new_page()
        await stranger.set_extra_http_headers({"Authorization": f"Bearer {token('app-other')}"})
        denied = await stranger.goto(f"{served}{shown[0]['link']}")
        assert denied is not None and denied.status in (403, 404)
        assert str(shown[0]["number"]) not in await stranger.locator("body").inner_text()
    finally:
        await context.close()
    TIMINGS["total"] = time.perf_counter() - started
    print(
        "documents in Chromium: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in TIMINGS.items())
        + f"; {len(shown)} documents: "
        + ", ".join(str(d["title"]) for d in shown)
        + f" of {len(listed)} ({', '.join(str(d['title']) for d in listed)})"
    )


VERIFY = re.compile(r"核验码 ([0-9A-Z]+), 在线核验: (\S+?)[)。]")


async def the_license_verifies_in_a_browser(
    page: Any, served: str, application_id: str, browser: Browser, catalog: Catalog
) -> None:
    """The tobacco license and its decision give its code and the center's page for it;
    anyone's browser (no token) opens that page: in force, until when, the holder masked,
    in Chinese; a mistyped code gets a page saying nothing matches."""
    reads = as_("app-store")
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        listed = await http.get(f"/applications/{application_id}/documents", headers=reads)
        texts, links = {}, {}
        for title in ("烟草专卖零售许可证", "准予行政许可决定书"):
            for row in [d for d in listed.json() if d["title"] == title]:
                doc = (await http.get(row["link"], headers=reads)).json()
                if "烟草" in doc["content"]:
                    texts[title], links[title] = doc["content"], row["link"]
        found = {VERIFY.search(text).groups() for text in texts.values()}  # type: ignore[union-attr]
        [(code, url)] = found  # the license and its decision give the same code and address
        assert url == f"{served}/licenses/{code}"
        hint = (await http.get(f"/licenses/{code}")).json()["holder_hint"]
        # The license's PDF carries the same address as a QR code.
        pdf = await http.get(links["烟草专卖零售许可证"], params={"format": "pdf"}, headers=reads)
        [image] = PdfReader(BytesIO(pdf.content)).pages[0].images
        printed_qr = screenshot_path("license-pdf-qr")
        printed_qr.write_bytes(image.data)
        assert decode_qr(printed_qr) == url

    # The license's page shows it as a QR code too: scanned, the same address.
    await page.goto(f"{served}{links['烟草专卖零售许可证']}")
    assert "扫码核验" in await page.locator("body").inner_text()
    await page.screenshot(path=screenshot_path("license-page"), full_page=True)
    shown_qr = screenshot_path("license-qr")
    await page.locator("figure.qr svg").screenshot(path=shown_qr)
    assert decode_qr(shown_qr) == url
    holder = re.search(r"持证人: (.+?)。", texts["烟草专卖零售许可证"]).group(1)  # type: ignore[union-attr]

    public = await browser.new_context(locale="zh-CN", viewport=ViewportSize(width=390, height=844))
    try:
        reader = await public.new_page()
        response = await reader.goto(url)
        assert response is not None and response.status == 200
        assert response.headers["content-type"].startswith("text/html")
        assert await reader.get_attribute("html", "lang") == "zh-CN"
        text = await reader.locator("body").inner_text()
        tobacco = catalog.item(TOBACCO)
        assert "此电子证照真实有效" in text and tobacco.name in text
        assert "烟草专卖零售许可证" in text and "(北京时间)" in text
        assert re.search(r"有效期至\s*\d{4}-\d{2}-\d{2}", text), text
        assert hint in text and "*" in hint and holder not in text  # the holder masked
        assert not CODE_LIKE.search(text) and TOBACCO not in text, text
        await reader.screenshot(path=screenshot_path("license-verified"), full_page=True)

        mistyped = code[:-1] + ("2" if code[-1] != "2" else "3")  # one character off
        typo = await reader.goto(f"{served}/licenses/{mistyped}")
        assert typo is not None and typo.status == 404
        assert "未找到与此核验码对应的电子证照" in await reader.locator("body").inner_text()
    finally:
        await public.close()
