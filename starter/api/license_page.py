"""The public page that answers a license's verification code (`GET /licenses/{code}` from a
browser, as after reading the code off the license or its decision): is it real, in force,
until when, in Chinese and Beijing time. Never the holder's personal data: the name masked
as the JSON answer masks it."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from domain.documents import SERVICE_CENTER
from domain.notices import license_name, local_day, local_time

if TYPE_CHECKING:
    from starter.api.routes.licenses import LicenseVerification

VERDICTS = {
    "issued": ("此电子证照真实有效。", "ok"),
    "expired": ("此电子证照已过期失效。", "bad"),
    "revoked": ("此电子证照已被撤销, 不再有效。", "bad"),
}
STYLE = (
    "body{font-family:sans-serif;max-width:36em;margin:1.5em auto;padding:0 1em;"
    "line-height:1.7}h1{text-align:center;font-size:1.4em}"
    ".verdict{font-size:1.2em;font-weight:bold;padding:.6em;text-align:center;border-radius:4px}"
    ".ok{background:#e6f4ea;color:#0b6b2b}.bad{background:#fde8e8;color:#a11}"
    "dt{color:#555;margin-top:.6em}dd{margin:0 0 0 1em}.note{color:#666;font-size:.9em}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n"
        f"</head>\n<body>\n<h1>电子证照核验</h1>\n{body}"
        f'<p class="note">本页由{escape(SERVICE_CENTER)}提供。</p>\n'
        "</body>\n</html>\n"
    )


def _validity(v: LicenseVerification) -> str:
    if v.valid_through is not None:
        return local_day(v.valid_through)
    return "证照未载明有效期" if v.validity_known else "以证照载明的有效期为准"


UNSURE = ("此电子证照的状态无法确认, 请向发证部门核实。", "bad")


def verification_rows(v: LicenseVerification) -> list[tuple[str, str]]:
    """The license as a verifier reads it (this page, `onething license show`)."""
    rows: list[tuple[str, str]] = [
        ("证照名称", license_name(v.license_kind)),
        ("证照编号", v.number),
        ("许可事项", v.item_name or "以证照载明为准"),
        ("持证人", v.holder_hint),
        ("发证日期", f"{local_time(v.valid_from)} (北京时间)"),
        ("有效期至", _validity(v)),
    ]
    if v.term > 1:
        how = f", {v.renewed_as_label}" if v.renewed_as_label else ""
        rows.append(("有效期次", f"第{v.term}个有效期{how}"))
    if v.renewal_window is not None:
        opens, closes = v.renewal_window.opens_on, v.renewal_window.closes_on
        rows.append(("延续申请期", f"{local_day(opens)} 至 {local_day(closes)}"))
    if v.revoked_at is not None:
        rows.append(("撤销日期", f"{local_time(v.revoked_at)} (北京时间)"))
        if v.revocation_ground_label:
            rows.append(("撤销原因", v.revocation_ground_label))
    return rows


def verification_page(v: LicenseVerification, checked_at: datetime) -> str:
    """What anyone reads after entering or scanning the code."""
    verdict, tone = VERDICTS.get(v.status, UNSURE)
    rows = verification_rows(v)
    listed = "".join(f"<dt>{escape(k)}</dt><dd>{escape(val)}</dd>\n" for k, val in rows)
    body = (
        f'<p class="verdict {tone}">{escape(verdict)}</p>\n<dl>\n{listed}</dl>\n'
        f'<p class="note">核验时间 {escape(local_time(checked_at))} (北京时间)</p>\n'
    )
    return _page(f"电子证照核验 {v.number}", body)


def not_found_page() -> str:
    """A code no license has: mistyped, or not a code of this center."""
    body = (
        '<p class="verdict bad">未找到与此核验码对应的电子证照。</p>\n'
        "<p>请核对核验码是否输入有误 (区分大小写), 或向发证部门核实。</p>\n"
    )
    return _page("电子证照核验 未找到", body)
