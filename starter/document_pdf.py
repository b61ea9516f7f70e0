"""A document (文书) as PDF: the same page as the HTML one (`domain.documents.DocumentPage`),
A4, set in reportlab's built-in Chinese CID font.

`STSong-Light` is one of the Adobe Asian fonts every PDF reader carries: reportlab writes a
reference to it, no font file is embedded or needed, nothing is downloaded. Chinese lines
break between any two characters (`wordWrap="CJK"`); a long text runs onto more pages, each
footed with the document's number and the page's.

The output is invariant: the same document gives the same bytes (no creation time, no random
file ID), so a PDF can be compared, cached and checked against a digest.
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer

from domain.documents import VERIFY_CAPTION, DocumentPage
from domain.guide import qr_png
from domain.notices import SERVICE_CENTER_TIMEZONE

__all__ = ["FONT", "page_pdf"]

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_BODY = ParagraphStyle(
    "body",
    fontName=FONT,
    fontSize=12,
    leading=21,
    wordWrap="CJK",
    alignment=TA_JUSTIFY,
    spaceAfter=6,
)
_TITLE = ParagraphStyle(
    "title", parent=_BODY, fontSize=20, leading=30, alignment=TA_CENTER, spaceAfter=10
)
_NUMBER = ParagraphStyle("number", parent=_BODY, alignment=TA_CENTER, spaceAfter=2)
_SIGN = ParagraphStyle("sign", parent=_BODY, alignment=TA_RIGHT, spaceAfter=0)
_FOOT_SIZE = 9


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    # Paragraph reads a little markup: the text is escaped, as the HTML page escapes it.
    return Paragraph(escape(text), style)


def _pdf_date(at: datetime) -> str:
    """A PDF date (ISO 32000 7.9.4) in Beijing time: D:20261202003000+08'00'."""
    local = at.astimezone(ZoneInfo(SERVICE_CENTER_TIMEZONE))
    offset = local.strftime("%z")
    return f"D:{local:%Y%m%d%H%M%S}{offset[:3]}'{offset[3:]}'"


def page_pdf(page: DocumentPage) -> bytes:
    """The page as an A4 PDF."""
    out = BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=25 * mm,
        title=page.heading,
        author=page.issuer,
        subject=page.title,
        creator="onething",
        lang="zh-CN",
        invariant=True,
    )
    story = [_p(page.title, _TITLE), _p(page.number, _NUMBER)]
    if page.case_line:
        story.append(_p(page.case_line, _NUMBER))
    story += [Spacer(1, 6 * mm), _p(page.addressee, _BODY)]
    story += [_p(text, _BODY) for text in page.paragraphs]
    story += [_p(page.basis, _BODY), Spacer(1, 14 * mm)]
    if page.verify_url:  # a license: the code to scan, as on the HTML page
        code = Image(BytesIO(qr_png(page.verify_url, scale=4)), width=30 * mm, height=30 * mm)
        code.hAlign = "LEFT"
        story += [code, _p(VERIFY_CAPTION, _BODY)]
    story += [_p(page.issuer, _SIGN), _p(page.date, _SIGN)]

    def foot(canvas: Canvas, template: SimpleDocTemplate) -> None:
        # The file's creation date is the document's date (invariant would write 2000-01-01).
        canvas.setDateFormatter(lambda *_: _pdf_date(page.issued_at))
        canvas.saveState()
        canvas.setFont(FONT, _FOOT_SIZE)
        canvas.drawCentredString(
            A4[0] / 2, 12 * mm, f"{page.number}  第 {canvas.getPageNumber()} 页"
        )
        canvas.restoreState()

    doc.build(story, onFirstPage=foot, onLaterPages=foot)
    return out.getvalue()
