"""Written acts (文书) the applicant receives: which notices are documents, their titles,
legal bases and numbers, and the printable page of one.

A notice to the applicant whose kind is in `DOCUMENT_KINDS` is also issued as a document
(`store.documents`); reminders and staff warnings are not documents.

Document number: `<application ID>-<kind code>-<sequence>`, the sequence per application
from 001 in the order the documents were issued, e.g. `demo-0001-BZ-001`.

Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html import escape

from domain.guide import qr_svg
from domain.notices import RIGHTS, local_time, verification_url_in

SERVICE_CENTER = "宜城市政务服务中心"  # the issuer of the application's own acts
BASIS_LENGTH = 200  # what the store keeps of a legal basis
LAW = "《中华人民共和国行政许可法》"
VERIFY_CAPTION = "扫码核验"  # under a license's QR code


@dataclass(frozen=True)
class DocumentKind:
    code: str  # in the document number
    title: str
    basis: str  # the article the act rests on
    decision: bool = False  # a decision: carries the applicant's rights (Art. 38)


DOCUMENT_KINDS: dict[str, DocumentKind] = {
    "correction_notice": DocumentKind("BZ", "补正材料通知书", f"{LAW}第三十二条第一款第(四)项"),
    "deficiency_notice": DocumentKind(
        "RQ", "容缺受理通知书", f"{LAW}第三十二条; 本中心容缺受理规定"
    ),
    "refused": DocumentKind(
        "BSL", "不予受理决定书", f"{LAW}第三十二条第一款、第三十八条第二款", decision=True
    ),
    "rejected": DocumentKind("BXK", "不予许可决定书", f"{LAW}第三十八条第二款", decision=True),
    "revoked": DocumentKind("CX", "撤销决定书", f"{LAW}第六十九条", decision=True),
    "extension": DocumentKind("YQ", "延长期限告知书", f"{LAW}第四十二条"),
    "stopped": DocumentKind("ZZ", "终止办理通知书", "本中心容缺受理规定"),
    "lapsed": DocumentKind(
        "CH", "视为撤回申请告知书", f"{LAW}第三十二条第一款第(四)项; 本中心规定"
    ),
    "rectification": DocumentKind("ZG", "责令整改通知书", f"{LAW}第三十四条第三款"),
    "deadline_moved": DocumentKind("QX", "期限变更告知书", f"{LAW}第八十二条"),
    "excluded_time": DocumentKind("BJR", "不计入办理时限告知书", f"{LAW}第四十五条"),
    "excluded_time_ended": DocumentKind("HF", "恢复计算办理时限告知书", f"{LAW}第四十五条"),
    # Written by the activities that act (the case register, the license registry).
    "accepted": DocumentKind("SL", "受理通知书", f"{LAW}第三十二条第一款第(五)项、第二款"),
    "granted": DocumentKind("ZY", "准予行政许可决定书", f"{LAW}第三十八条第一款"),
    "license": DocumentKind("ZS", "电子证照", f"{LAW}第三十九条、第四十四条"),
    # Written by the credit system when it records (告知 before a record bars: 国办发〔2020〕
    # 49号 asks that the subject be told; how to object is the center's rule, local).
    "credit_recorded": DocumentKind(
        "XY", "信用记录告知书", "国办发〔2020〕49号; 本中心信用管理规定"
    ),
    # A license's renewal (延续, Art. 50): written by the term's activities.
    "renewal_accepted": DocumentKind("YXSL", "延续申请受理通知书", f"{LAW}第三十二条、第五十条"),
    "renewed": DocumentKind("YX", "准予延续决定书", f"{LAW}第五十条"),
    "deemed_renewed": DocumentKind("SWYX", "视为准予延续通知书", f"{LAW}第五十条第二款"),
    "renewal_refused": DocumentKind(
        "BYX", "不予延续决定书", f"{LAW}第五十条、第三十八条第二款", decision=True
    ),
}

# A positive act's title by the item's kind (domain.catalog_models.ItemKind's value): a
# registration is 准予登记, a filing 备案; the act rests on the item's own law too.
GRANT_TITLES = {
    "license": "准予行政许可决定书",
    "confirmation": "准予登记通知书",
    "filing": "备案通知书",
    "public_service": "办结通知书",
}


def grant_basis(kind: DocumentKind, item_basis: str, item_kind: str = "license") -> str:
    """What a positive act (the grant, the license itself) rests on. A license: the
    Administrative License Law's article, then the item's own law when the catalog names
    one. A registration, a filing or a public service is no administrative license (that
    law governs licenses only, Art. 2): the item's own law alone."""
    if item_kind != "license" and item_basis:
        return item_basis[:BASIS_LENGTH]
    basis = f"{kind.basis}; {item_basis}" if item_basis else kind.basis
    return basis[:BASIS_LENGTH]


_CODES = "|".join(sorted({k.code for k in DOCUMENT_KINDS.values()}, key=lambda c: (-len(c), c)))
DOCUMENT_NUMBER_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9._\-]{{2,63}}-(?:{_CODES})-[0-9]{{3,6}}$"


def document_kind(notice_kind: str, recipient: str) -> DocumentKind | None:
    """The document a notice is issued as; None for reminders and notices to staff."""
    return DOCUMENT_KINDS.get(notice_kind) if recipient == "applicant" else None


def document_number(application_id: str, kind: DocumentKind, sequence: int) -> str:
    if sequence < 1:
        raise ValueError(f"sequence: must be 1 or more, got {sequence}")
    number = f"{application_id}-{kind.code}-{sequence:03d}"
    if not re.match(DOCUMENT_NUMBER_PATTERN, number):
        raise ValueError("application_id: not an application ID")
    return number


def verification_url(base_url: str, code: str) -> str:
    """Where anyone verifies an electronic license by its code: the public page of
    `GET /licenses/{verification_code}` under the center's public address."""
    return f"{base_url.rstrip('/')}/licenses/{code}"


def issuer_of(department_name: str | None) -> str:
    """An item's acts are its department's; the application's, the service center's."""
    return department_name or SERVICE_CENTER


@dataclass(frozen=True)
class DocumentPage:
    """What a document's printed page says, line by line, in reading order: one model for
    the HTML page and the PDF (`starter.document_pdf`), so the two cannot drift."""

    title: str
    number: str
    case_number: str | None  # 办件编号, once the application was accepted
    addressee: str
    paragraphs: tuple[str, ...]  # the text, then the rights where the text has none
    basis: str  # "依据: ..."
    issuer: str
    date: str  # "2026-12-02 00:30 (北京时间)"
    issued_at: datetime  # the instant, for what reads it by machine (a PDF's dates)
    verify_url: str | None = None  # a license's verification address: a QR code beside it

    @property
    def heading(self) -> str:
        return f"{self.title} {self.number}"

    @property
    def case_line(self) -> str | None:
        return f"办件编号: {self.case_number}" if self.case_number else None


def document_page(
    *,
    title: str,
    number: str,
    issuer: str,
    issued_at: datetime,
    content: str,
    basis: str,
    decision: bool = False,
    case_number: str | None = None,
    license: bool = False,
) -> DocumentPage:
    """A decision tells the applicant's rights (Art. 38): the line its text carries, or,
    where the text has none (a rejection, a revocation), the same line after it. A license
    carries a QR code of the verification address its text gives."""
    rights = (RIGHTS,) if decision and RIGHTS not in content else ()
    return DocumentPage(
        title=title,
        number=number,
        case_number=case_number or None,
        addressee="申请人:",
        paragraphs=(content, *rights),
        basis=f"依据: {basis}",
        issuer=issuer,
        date=f"{local_time(issued_at)} (北京时间)",
        issued_at=issued_at,
        verify_url=verification_url_in(content) if license else None,
    )


def render_html(
    *,
    title: str,
    number: str,
    issuer: str,
    issued_at: datetime,
    content: str,
    basis: str,
    decision: bool = False,
    case_number: str | None = None,
) -> str:
    """The printable page: title, number, case number, issuer, Beijing date, the text, the
    rights on a decision and its basis."""
    page = document_page(
        title=title,
        number=number,
        issuer=issuer,
        issued_at=issued_at,
        content=content,
        basis=basis,
        decision=decision,
        case_number=case_number,
    )
    return page_html(page)


def page_html(page: DocumentPage) -> str:
    e = escape
    case = f'<p class="no">{e(page.case_line)}</p>\n' if page.case_line else ""
    text = "".join(f"<p>{e(p)}</p>\n" for p in page.paragraphs)
    qr = (
        f'<figure class="qr">{qr_svg(page.verify_url, scale=3, xmldecl=False)}'
        f"<figcaption>{VERIFY_CAPTION}</figcaption></figure>\n"
        if page.verify_url
        else ""
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(page.heading)}</title>\n"
        "<style>body{font-family:serif;max-width:42em;margin:2em auto;line-height:1.8}"
        "h1{text-align:center;letter-spacing:.2em}.no{text-align:center}"
        ".sign{text-align:right;margin-top:3em}.qr{float:left;margin:2em 0 0;text-align:center}"
        ".qr figcaption{font-size:.8em}@media print{body{margin:0}}</style>\n"
        "</head>\n<body>\n"
        f"<h1>{e(page.title)}</h1>\n"
        f'<p class="no">{e(page.number)}</p>\n{case}'
        f"<p>{e(page.addressee)}</p>\n{text}"
        f"<p>{e(page.basis)}</p>\n{qr}"
        f'<p class="sign">{e(page.issuer)}<br>{e(page.date)}</p>\n'
        "</body>\n</html>\n"
    )
