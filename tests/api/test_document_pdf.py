"""Documents as PDF: the page model the HTML and the PDF share, the PDF read back with pypdf
(its Chinese text, Beijing time, the rights on a decision, a long text over several pages),
and the API serving it by Accept or `?format=pdf` to whoever may read the document only."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from io import BytesIO

import httpx
import pytest
import pytest_asyncio
from pypdf import PdfReader

from domain.catalog import Catalog
from domain.documents import DocumentPage, document_page, page_html, render_html
from domain.notices import RIGHTS
from starter.document_pdf import page_pdf
from tests.support.api import as_, documents_when, refused_after_a_correction_notice

AT = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 2026-12-02 00:30 in Beijing
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def unfooted(text: str, number: str) -> str:
    """The page's words without each page's foot (number and page, drawn first)."""
    return re.sub(rf"{re.escape(number)}\s+第 \d+ 页", "", text)


def flat(text: str) -> str:
    """Text as read, whatever the line breaks: wrapping splits Chinese lines anywhere."""
    return re.sub(r"\s+", "", text)


REASON = "不予许可。理由: 经营场所不符合要求"


def rejection(content: str = REASON, **changes: object) -> DocumentPage:
    fields: dict[str, object] = {
        "title": "不予许可决定书",
        "number": "demo-0001-BXK-002",
        "issuer": "市场监督管理局",
        "issued_at": AT,
        "content": content,
        "basis": "《中华人民共和国行政许可法》第三十八条第二款",
        "decision": True,
        **changes,
    }
    return document_page(**fields)  # type: ignore[arg-type]


# -------------------------------------------------------------------------- the page


def page_lines(page: DocumentPage) -> list[str]:
    case = [page.case_line] if page.case_line else []
    return [page.title, page.number, *case, page.addressee, *page.paragraphs, page.basis]


def test_the_html_and_the_pdf_say_the_same_lines_in_the_same_order() -> None:
    page = rejection(case_number="420684-20261128-000042")
    html = unescape(re.sub(r"<[^>]+>", "\n", page_html(page).split("<body>")[1]))
    _, text = pdf_text(page_pdf(page))
    text = unfooted(text, page.number)
    lines = [*page_lines(page), page.issuer, page.date]
    assert page.date == "2026-12-02 00:30 (北京时间)"
    assert lines[2] == "办件编号: 420684-20261128-000042"
    for said in (html, text):
        at = [flat(said).find(flat(line)) for line in lines]
        assert all(i >= 0 for i in at), (lines, said)
        assert at == sorted(at), said
    assert RIGHTS in page.paragraphs and html.count("六十日内") == 1
    # The keyword form the API used before renders the very same page.
    old = render_html(
        title=page.title,
        number=page.number,
        issuer=page.issuer,
        issued_at=AT,
        content=page.paragraphs[0],
        basis="《中华人民共和国行政许可法》第三十八条第二款",
        decision=True,
        case_number="420684-20261128-000042",
    )
    assert old == page_html(page)


def test_no_case_number_no_line_and_a_notice_carries_no_rights() -> None:
    page = rejection(decision=False, title="补正材料通知书", number="demo-0001-BZ-001")
    assert page.case_line is None and page.paragraphs == (page.paragraphs[0],)
    _, text = pdf_text(page_pdf(page))
    assert "办件编号" not in text and "办件编号" not in page_html(page)
    assert "六十日内" not in flat(text)


def test_the_pdf_is_chinese_a4_dated_in_beijing_time_and_the_same_every_time() -> None:
    page = rejection()
    data = page_pdf(page)
    reader, text = pdf_text(data)
    assert data.startswith(b"%PDF-") and data == page_pdf(page)  # invariant: same bytes
    [one] = reader.pages
    assert (round(float(one.mediabox.width)), round(float(one.mediabox.height))) == (595, 842)
    assert "不予许可决定书" in text and "demo-0001-BXK-002" in text
    assert "2026-12-02 00:30 (北京时间)" in text
    assert flat(RIGHTS) in flat(text)  # a decision: 行政复议 60 days, 行政诉讼 6 months
    assert b"STSong-Light" in data and b"FontFile" not in data  # referenced, not embedded
    info = reader.metadata
    assert info is not None and info.title == "不予许可决定书 demo-0001-BXK-002"
    assert info.author == "市场监督管理局"
    assert str(info["/CreationDate"]) == "D:20261202003000+08'00'"


def test_markup_in_a_text_is_printed_as_written() -> None:
    content = '理由: <b>加粗</b> & <script>alert("x")</script>'
    _, text = pdf_text(page_pdf(rejection(content)))
    assert flat(content) in flat(text)


def test_a_long_text_wraps_per_character_onto_several_pages() -> None:
    reason = "".join(f"第{i}项: 经现场核实消毒间面积不足、布局不合理。" for i in range(1, 121))
    page = rejection(f"不予许可。理由: {reason}")
    reader, _ = pdf_text(page_pdf(page))
    assert len(reader.pages) >= 3
    texts = [p.extract_text() for p in reader.pages]
    for n, t in enumerate(texts, start=1):
        assert re.search(rf"demo-0001-BXK-002\s+第 {n} 页", t)  # every page: number, page
    body = flat("".join(unfooted(t, page.number) for t in texts))
    assert flat(reason) in body  # every character, in order, across the page breaks
    assert body.index(flat(reason)) < body.index(flat(RIGHTS)) < body.index("2026-12-02")
    lines = [line for t in texts for line in t.splitlines() if "经现场核实" in line]
    # Wrapped inside A4's 160 mm of text: 37.8 full-width characters of 12 pt a line (a
    # closing mark such as 。 may hang past the margin, as Chinese typesetting lets it).
    widths = [sum(0.5 if c.isascii() else 1 for c in line) for line in lines]
    assert len(lines) > 50 and 30 <= max(widths) <= 39


# -------------------------------------------------------------------------- the API


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def refused(api: httpx.AsyncClient, catalog: Catalog) -> list[dict[str, object]]:
    """A correction notice, then a clerk's refusal (a decision): its two documents."""
    application_id = await refused_after_a_correction_notice(api, catalog)
    return await documents_when(api, application_id, 2, who="app-demo")


async def test_a_refusal_as_pdf_by_accept_and_by_link(
    api: httpx.AsyncClient, refused: list[dict[str, object]]
) -> None:
    listed = refused[1]
    link, number = str(listed["link"]), str(listed["number"])
    assert listed["title"] == "不予受理决定书"
    by_accept = await api.get(link, headers={**as_("app-demo"), "Accept": "application/pdf"})
    by_link = await api.get(f"{link}?format=pdf", headers=as_("app-demo"))
    for r in (by_accept, by_link):
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        assert r.headers["content-disposition"] == f'inline; filename="{number}.pdf"'
        assert r.content == by_accept.content
    _, text = pdf_text(by_accept.content)
    issued = datetime.fromisoformat(str(listed["issued_at"]))
    assert "不予受理决定书" in text and number in text
    assert f"{issued:%Y-%m-%d %H:%M} (北京时间)" in text
    assert "不属本中心受理" in text and "某局" in text
    assert "六十日内" in flat(text) and "六个月内" in flat(text)  # the rights line
    html = (await api.get(link, headers={**as_("app-demo"), "Accept": "text/html"})).text
    assert flat(unescape(re.sub(r"<[^>]+>", "", html.split("<body>")[1]))) == flat(
        unfooted(text, number)
    )  # the same words as the printable page


async def test_the_pdf_only_for_whoever_may_read_the_document(
    api: httpx.AsyncClient, refused: list[dict[str, object]]
) -> None:
    link = str(refused[1]["link"])
    for who in ("app-other",):
        for headers in ({"Accept": "application/pdf"}, {}):
            r = await api.get(f"{link}?format=pdf", headers={**as_(who), **headers})
            assert r.status_code in (403, 404) and not r.content.startswith(b"%PDF")
    anonymous = await api.get(f"{link}?format=pdf")
    assert anonymous.status_code == 401 and not anonymous.content.startswith(b"%PDF")
    missing = await api.get(link[:-3] + "009?format=pdf", headers=as_("app-demo"))
    assert missing.status_code == 404 and missing.json()["error"]["fields"][0]["field"] == "number"


@pytest.mark.parametrize(
    ("accept", "query", "form"),
    [
        (None, "", "application/json"),
        ("*/*", "", "application/json"),
        (BROWSER_ACCEPT, "", "text/html"),
        ("application/pdf", "", "application/pdf"),
        ("application/*", "", "application/json"),
        ("application/pdf;q=0.5, text/html;q=0.9", "", "text/html"),
        ("application/pdf, application/json;q=0.1", "", "application/pdf"),
        ("image/png", "", "application/json"),
        ("application/pdf", "?format=html", "text/html"),
        ("text/html", "?format=json", "application/json"),
        (BROWSER_ACCEPT, "?format=pdf", "application/pdf"),
    ],
)
async def test_the_form_by_accept_with_format_winning(
    api: httpx.AsyncClient,
    refused: list[dict[str, object]],
    accept: str | None,
    query: str,
    form: str,
) -> None:
    headers = as_("app-demo") if accept is None else {**as_("app-demo"), "Accept": accept}
    r = await api.get(f"{refused[0]['link']}{query}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == form
    assert "Accept" in [v.strip() for v in r.headers["vary"].split(",")]


async def test_an_unknown_format_is_422_naming_it(
    api: httpx.AsyncClient, refused: list[dict[str, object]]
) -> None:
    r = await api.get(f"{refused[0]['link']}?format=docx", headers=as_("app-demo"))
    assert r.status_code == 422 and "format" in r.text


async def test_openapi_documents_the_pdf(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    op = spec["paths"]["/applications/{application_id}/documents/{number}"]["get"]
    assert "application/pdf" in op["responses"]["200"]["content"]
    assert "?format=json|html|pdf" in op["description"]
    [param] = [p for p in op["parameters"] if p["name"] == "format"]
    assert param["in"] == "query"
