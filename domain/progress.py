"""Progress by case number (办件进度查询): what a citizen reads after giving the case
number and the last four digits of the phone: the status in plain words, what is awaited
from them and by when (Beijing time), and the documents issued to them, with their text.

Pure code: the page is built from the application's state and its documents; the check of
the phone, the rate limit and the reads are the caller's (`starter.api.routes.citizen`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html import escape

from domain.application import ApplicationState, ApplicationStatus, ItemStatus
from domain.case_number import parse_case_number
from domain.documents import verification_url
from domain.guide_page import HELP_PATH, HOTLINE, PROGRESS_PATH, page
from domain.notices import RIGHTS, local_time

PHONE_TAIL_PATTERN = r"^[0-9]{4}$"

STATUS_WORDS: dict[ApplicationStatus, str] = {
    ApplicationStatus.SUBMITTED: "已提交, 等待窗口受理",
    ApplicationStatus.AWAITING_CORRECTION: "材料不齐, 等待您补正后受理",
    ApplicationStatus.LAPSED: "未在期限内补正, 申请已视为撤回",
    ApplicationStatus.REFUSED: "不予受理",
    ApplicationStatus.AWAITING_SUPPLEMENT: "已受理 (容缺受理), 等待您补齐材料",
    ApplicationStatus.IN_PROGRESS: "已受理, 正在办理",
    ApplicationStatus.COMPLETED: "已办结",
    ApplicationStatus.REJECTED: "不予许可",
    ApplicationStatus.STOPPED: "已终止办理",
    ApplicationStatus.WITHDRAWN: "您已撤回申请",
    ApplicationStatus.CANCELLED: "已取消办理",
    ApplicationStatus.REVOKED: "已撤销",
}

ITEM_WORDS: dict[ItemStatus, str] = {
    ItemStatus.WAITING: "等待前一事项办结",
    ItemStatus.IN_PROGRESS: "办理中",
    ItemStatus.UNDER_REVIEW: "审查中",
    ItemStatus.CORRECTION_REQUESTED: "需要您补正材料",
    ItemStatus.APPROVED: "已批准, 补齐材料后发证",
    ItemStatus.ISSUED: "已发证",
    ItemStatus.INSPECTING: "已发证, 等待现场核查",
    ItemStatus.RECTIFYING: "现场核查发现问题, 整改中",
    ItemStatus.CLOSED: "已办结",
    ItemStatus.REJECTED: "不予许可",
    ItemStatus.REVOKED: "已撤销",
    ItemStatus.STOPPED: "已终止",
}


class FormError(ValueError):
    """A field of the look-up form is not well formed; `field` is the form's label."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def check_form(case_number: str, phone_tail: str) -> tuple[str, str]:
    """The two fields, trimmed; a `FormError` naming the field when one is malformed."""
    number, tail = case_number.strip(), phone_tail.strip()
    try:
        parse_case_number(number)
    except ValueError:
        raise FormError("办件编号", "格式应如 420684-20261128-000042") from None
    if not re.match(PHONE_TAIL_PATTERN, tail):
        raise FormError("手机号后四位", "应为4位数字") from None
    return number, tail


@dataclass(frozen=True)
class IssuedDocument:
    """A document (文书) as the applicant received it."""

    number: str
    title: str
    issuer: str
    issued_at: datetime
    content: str
    legal_basis: str
    decision: bool = False  # a decision tells the applicant's rights (Art. 38)


def awaited(state: ApplicationState) -> list[tuple[str, datetime | None]]:
    """What is awaited from the applicant now, each with its deadline if it has one."""
    names = "、".join(m.name for m in state.outstanding)
    found: list[tuple[str, datetime | None]] = []
    if state.status is ApplicationStatus.AWAITING_SUPPLEMENT and names:
        clock = state.supplement_clock
        due = clock.due_at if clock and clock.due_at else None
        if due is None and state.notice is not None:
            due = state.notice.supplement_by
        found.append((f"补齐材料: {names}", due))
    if state.status is ApplicationStatus.AWAITING_CORRECTION and names:
        clock = state.correction_clock
        found.append((f"补正材料: {names}", clock.due_at if clock else None))
    for item in state.items:
        if item.status is ItemStatus.CORRECTION_REQUESTED:
            why = f" ({item.reason})" if item.reason else ""
            found.append((f"{item.name}: 补正材料{why}, 补正后继续办理", None))
    return found


_FORM = """
<form method="post" action="{action}">
<label for="case_number">办件编号</label>
<input id="case_number" name="case_number" required maxlength="32" inputmode="numeric"
 autocomplete="off" placeholder="如 420684-20261128-000042">
<label for="phone_tail">申请时所留手机号的后四位</label>
<input id="phone_tail" name="phone_tail" required maxlength="4" inputmode="numeric"
 pattern="[0-9]{{4}}" autocomplete="off">
<button type="submit">查询</button>
</form>
<p class="soft">办件编号印在受理通知书上。为保护您的信息, 同一网络短时间内只能查询几次。</p>
"""


def form_page(message: str = "", *, error: bool = False) -> str:
    """The look-up form; `message` above it (an error, or the not-found answer)."""
    note = ""
    if message:
        cls = "error" if error else "notice"
        note = f'<p class="{cls}" role="alert">{escape(message)}</p>'
    return page(
        "办理进度查询", note + _FORM.format(action=PROGRESS_PATH), subtitle="输入办件编号查询"
    )


NOT_FOUND = "未查到相符的办件。请核对办件编号和手机号后四位; 刚受理的办件可能稍后才能查到。"
TOO_MANY = "查询次数过多, 请{minutes}分钟后再试。如有疑问请拨打" + HOTLINE + "。"


def result_page(
    state: ApplicationState,
    case_number: str,
    documents: list[IssuedDocument],
    *,
    hall_name: str,
    rating: str = "",
) -> str:
    """What the citizen reads once the case number and phone tail matched; `rating`: the
    rating form or the rating given (`domain.progress_rating`), HTML already escaped."""
    out = ['<dl class="facts">']
    out.append(f"<dt>办件编号</dt><dd>{escape(case_number)}</dd>")
    if state.name:
        out.append(f"<dt>事项</dt><dd>{escape(state.name)}</dd>")
    out.append(f"<dt>受理大厅</dt><dd>{escape(hall_name)}</dd></dl>")
    words = STATUS_WORDS[state.status]
    cls = "ok" if state.status is ApplicationStatus.COMPLETED else "notice"
    out.append(f'<p class="{cls}"><strong>当前状态: {escape(words)}</strong></p>')

    todo = awaited(state)
    if todo:
        out.append("<h2>需要您做的</h2><ul>")
        for what, due in todo:
            by = f"<br><strong>截止: {local_time(due)} (北京时间)</strong>" if due else ""
            out.append(f"<li>{escape(what)}{by}</li>")
        out.append(
            "</ul><p class='soft'>材料可送到受理大厅窗口、邮寄或网上提交, 以送达之日为准。</p>"
        )

    if state.items:
        out.append("<h2>各事项</h2><ul>")
        for item in state.items:
            line = escape(f"{item.name}: {ITEM_WORDS[item.status]}")
            if item.license is not None and item.status.has_license:
                found = item.license
                line += escape(f" (证照编号 {found.number}, 核验码 {found.verification_code})")
                verify = escape(verification_url("", found.verification_code), quote=True)
                line += f" <a href='{verify}'>在线核验</a>"
            out.append(f"<li>{line}</li>")
        out.append("</ul>")

    out.append("<h2>您收到的文书</h2>")
    if not documents:
        out.append("<p class='soft'>暂无。</p>")
    for d in documents:
        when = local_time(d.issued_at)
        out.append(
            f"<details><summary>{escape(d.title)} · {when}</summary>"
            f"<p class='soft'>文号 {escape(d.number)} · {escape(d.issuer)}</p>"
            f"<pre>{escape(d.content)}</pre>"
            + (f"<p>{escape(RIGHTS)}</p>" if d.decision and RIGHTS not in d.content else "")
            + f"<p class='soft'>依据: {escape(d.legal_basis)}</p></details>"
        )
    out.append(rating)
    out.append(
        f"<h2>需要帮助</h2><p><a class='button' href='{HELP_PATH}'>申请帮办代办</a>"
        f"<a class='button' href='{PROGRESS_PATH}'>查询其他办件</a></p>"
        f"<p>咨询、投诉: <a href='tel:{HOTLINE}'>{HOTLINE}</a> (政务服务便民热线)</p>"
    )
    return page("办理进度", "".join(out), subtitle="时间均为北京时间")
