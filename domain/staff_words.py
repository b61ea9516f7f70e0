"""What staff read of an application's state: its statuses, roles and decision trail in
Chinese (`onething status` at the window, the inbox, referrals, license terms, the
auditor's trail). The state keeps its codes (machine fields, the API's JSON, `--json`);
these are their words, one place for all of them.

Pure code. A trail action the workflows write is a code or a short English phrase, some with
a limit, a verdict or a count in them; `action_words` knows each of them, and says an
unknown one as it is rather than hiding it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from domain.acceptance import AcceptanceVerdict
from domain.application import (
    ON_THE_SPOT_LABEL,
    ApplicationStatus,
    ApprovalPath,
    Channel,
    ExtensionReceipt,
    InspectionResult,
    ItemStatus,
    RefusalGround,
    ReviewVerdict,
)
from domain.catalog import Catalog
from domain.clock import ClockSnapshot, ClockState, EscalationLevel
from domain.credit import CreditRecordKind
from domain.license_term import LicenseTermState, RenewalStatus, TermPhase, last_valid_day
from domain.notices import STATUTORY_LIMIT, license_name, local_day, local_time
from domain.people import Role
from domain.rating import FollowUpOutcome

APPLICATION_STATUS: dict[ApplicationStatus, str] = {
    ApplicationStatus.SUBMITTED: "已提交, 待受理",
    ApplicationStatus.AWAITING_CORRECTION: "待申请人补正",
    ApplicationStatus.LAPSED: "逾期未补正, 视为撤回",
    ApplicationStatus.REFUSED: "不予受理",
    ApplicationStatus.AWAITING_SUPPLEMENT: "容缺受理, 待补齐材料",
    ApplicationStatus.IN_PROGRESS: "已受理, 办理中",
    ApplicationStatus.COMPLETED: "已办结",
    ApplicationStatus.REJECTED: "不予许可",
    ApplicationStatus.STOPPED: "已终止办理",
    ApplicationStatus.WITHDRAWN: "申请人已撤回",
    ApplicationStatus.CANCELLED: "已取消办理",
    ApplicationStatus.REVOKED: "许可已全部撤销",
}

ITEM_STATUS: dict[ItemStatus, str] = {
    ItemStatus.WAITING: "待前一事项办结",
    ItemStatus.IN_PROGRESS: "办理中",
    ItemStatus.UNDER_REVIEW: "审查中",
    ItemStatus.CORRECTION_REQUESTED: "待申请人补正",
    ItemStatus.APPROVED: "已批准, 待补齐材料后发证",
    ItemStatus.ISSUED: "已发证",
    ItemStatus.INSPECTING: "现场核查中",
    ItemStatus.RECTIFYING: "整改中, 待复查",
    ItemStatus.CLOSED: "已办结",
    ItemStatus.REJECTED: "不予许可",
    ItemStatus.REVOKED: "已撤销",
    ItemStatus.STOPPED: "已终止",
}

ROLE: dict[str, str] = {
    Role.APPLICANT: "申请人",
    Role.WINDOW_CLERK: "窗口受理人员",
    Role.REVIEWER: "审查人员",
    Role.INSPECTOR: "核查人员",
    Role.SUPERVISOR: "监督人员",
    Role.DEPARTMENT_HEAD: "部门负责人",
    Role.AUDITOR: "审计人员",
    Role.OPERATOR: "运维人员",
    "system": "系统",
}

CHANNEL: dict[str, str] = {Channel.WINDOW: "窗口", Channel.ONLINE: "网上", Channel.MAIL: "邮寄"}

# The limits the clocks count, by the name the workflows give them.
LIMIT: dict[str, str] = {
    "review": "审查时限",
    "inspection": "现场核查时限",
    "re-inspection": "复查时限",
    STATUTORY_LIMIT: "法定办理时限",
    "promised": "承诺办理时限",
    "joint": "联合办理时限",
    "joint limit": "联合办理时限",
    "correction": "补正期限",
    "supplement": "容缺补齐期限",
}

CLOCK_STATE: dict[ClockState, str] = {
    ClockState.NORMAL: "正常",
    ClockState.WARNING: "预警",
    ClockState.OVERDUE: "逾期",
}

ESCALATION_LEVEL: dict[str, str] = {
    EscalationLevel.DEPARTMENT_SUPERVISOR: "部门督办",
    EscalationLevel.SUPERVISION_OFFICE: "效能督办",
}

REVIEW_VERDICT: dict[str, str] = {
    ReviewVerdict.APPROVE: "审查决定: 准予许可",
    ReviewVerdict.REJECT: "审查决定: 不予许可",
    ReviewVerdict.REQUEST_CORRECTION: "审查中要求补正",
}

INSPECTION_RESULT: dict[str, str] = {
    InspectionResult.PASSED: "现场核查: 通过",
    InspectionResult.FAILED: "现场核查: 未通过",
    InspectionResult.FALSE_COMMITMENT: "现场核查: 承诺不实",
}

_EXACT: dict[str, str] = {
    AcceptanceVerdict.ACCEPTED: "受理",
    AcceptanceVerdict.ACCEPTED_WITH_DEFICIENCY: "容缺受理",
    ApplicationStatus.REFUSED: "不予受理",
    ApplicationStatus.LAPSED: "逾期未补正, 视为撤回",
    ApplicationStatus.COMPLETED: "办结",
    ApplicationStatus.REJECTED: "不予许可",
    ApplicationStatus.STOPPED: "终止办理",
    ApplicationStatus.WITHDRAWN: "撤回申请",
    ApplicationStatus.CANCELLED: "取消办理",
    ApplicationStatus.REVOKED: "许可已全部撤销",
    "submitted by an agent (帮办代办)": "帮办代办人代为申请",
    "commitment not offered": "信用原因, 不适用告知承诺",
    "correction requested": "一次性告知补正",
    "correction reminder": "补正期限提醒",
    "correction received": "收到补正材料",
    "materials complete": "材料已补齐",
    "supplement reminder": "容缺补齐期限提醒",
    "escalated: supplement overdue": "容缺补齐逾期, 督办",
    "approved on commitment": "告知承诺, 当场批准",
    "filing received": "收到备案",
    "filing recorded": "备案完成",
    "license issued": "发证",
    "license revoked": "撤销许可",
    "stop order noted: license stays, inspection goes on": (
        "收到终止通知: 许可继续有效, 现场核查照常进行"
    ),
    "rectification ordered": "责令整改",
    "rejected after inspection": "现场核查未通过, 不予许可",
    "referred to supervision": "移送监管",
    "statutory warning": "法定办理时限预警",
    "excluded time started": "开始计算不计入时限的时间",
    "excluded time ended": "不计入时限的时间结束",
    # What the audit trail reads from history besides (`onething audit trail`): the
    # requests people sent (Updates, by name), outcomes, license terms and follow-ups.
    "accepted with deficiency": "容缺受理",
    "correction requested (补正)": "一次性告知补正",
    "lapsed: the correction did not arrive in time": "逾期未补正, 视为撤回",
    "revoked: none of its licenses stands": "许可已全部撤销",
    "in_progress": "办理中",
    "cancel": "请求取消办理",
    "correct": "提交补正材料",
    "extend": "请求延长时限",
    "supplement": "补齐容缺材料",
    "withdraw": "申请撤回",
    "renewal application accepted": "受理延续申请",
    "renewal approved": "准予延续",
    "renewal refused": "不予延续",
    "term ended: expired": "有效期届满",
    "term ended: the license was revoked": "许可已撤销, 有效期终止",
    "rating excluded: the department's appeal upheld": "申诉成立, 该评价不予计入",
}


_RECEIVED = {"correction": "补正", "supplement": "容缺补齐"}


def _limit(name: str) -> str:
    return LIMIT.get(name, name)


_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"^(.+) warning$"), lambda m: f"{_limit(m[1])}预警"),  # before "review ..."
    (re.compile(r"^review (\w+)$"), lambda m: REVIEW_VERDICT.get(m[1], m[0])),
    (re.compile(r"^inspection (\w+)$"), lambda m: INSPECTION_RESULT.get(m[1], m[0])),
    (
        re.compile(r"^(correction|supplement) received by (\w+)$"),
        lambda m: (
            f"收到{'补正' if m[1] == 'correction' else '容缺补齐'}材料 ({CHANNEL.get(m[2], m[2])})"
        ),
    ),
    (
        re.compile(r"^(.+) extended by (\d+) working days$"),
        lambda m: f"{_limit(m[1])}延长{m[2]}个工作日",
    ),
    (re.compile(r"^escalated stage (\d+)$"), lambda m: f"超期督办 (第{m[1]}阶段)"),
    (re.compile(r"^(.+) deadline moved later$"), lambda m: f"{_limit(m[1])}顺延"),
    # The audit trail's
    (re.compile(r"^inspect: (\w+)$"), lambda m: INSPECTION_RESULT.get(m[1], m[0])),
    (re.compile(r"^license issued \((\w+)\)$"), lambda m: f"发证: {license_name(m[1])}"),
    (
        re.compile(r"^refused: (\w+)$"),
        lambda m: f"不予受理: {_label(RefusalGround, m[1])}",
    ),
    (
        re.compile(r"^credit record: (\w+)$"),
        lambda m: f"记入信用记录: {_label(CreditRecordKind, m[1])}",
    ),
    (
        re.compile(r"^escalation stage (\d+) to (\w+)$"),
        lambda m: f"超期督办 (第{m[1]}阶段, {ESCALATION_LEVEL.get(m[2], m[2])})",
    ),
    (
        re.compile(r"^excluded time (started|ended): (.+)$"),
        lambda m: f"不计入时限的时间{'开始' if m[1] == 'started' else '结束'}: {m[2]}",
    ),
    (
        re.compile(r"^referred to supervision: (.+)$"),
        lambda m: m[1] if "移送监管" in m[1] else f"移送监管: {m[1]}",
    ),
    (re.compile(r"^answer: (\w+)$"), lambda m: f"差评整改答复: {_label(FollowUpOutcome, m[1])}"),
    (re.compile(r"^term (\d+): valid through (\S+)$"), lambda m: f"第{m[1]}个有效期, 至 {m[2]}"),
    (
        re.compile(r"^term (\d+): holder reminded to renew$"),
        lambda m: f"第{m[1]}个有效期: 已提醒持证人申请延续",
    ),
    (
        re.compile(r"^term (\d+) closed: the next term runs on$"),
        lambda m: f"第{m[1]}个有效期结束, 下一有效期接续",
    ),
    (
        re.compile(r"^renewed: term (\d+) valid through (\S+)$"),
        lambda m: f"已延续: 第{m[1]}个有效期, 至 {m[2]}",
    ),
    (
        re.compile(r"^deemed renewed, undecided at expiry: term (\d+) through (\S+)$"),
        lambda m: f"期满未作决定, 视为准予延续: 第{m[1]}个有效期, 至 {m[2]}",
    ),
]


def _label(kind: type[RefusalGround | CreditRecordKind | FollowUpOutcome], code: str) -> str:
    """A code's label by its kind; a code this version does not know, as it is."""
    try:
        return kind(code).label
    except ValueError:
        return code


def action_words(action: str) -> str:
    """A trail action as staff read it; an action it does not know, as it is."""
    if action in _EXACT:
        return _EXACT[action]
    for pattern, words in _PATTERNS:
        if match := pattern.match(action):
            return words(match)
    return action


_OVERDUE = re.compile(r"^(.+) overdue → (\w+)$")


def detail_words(detail: str | None) -> str:
    """A trail detail as staff read it: the escalation's own line in words; any other detail
    (a reason, a number, a due instant told in Chinese) as it is."""
    if detail is None:
        return ""
    if match := _OVERDUE.match(detail):
        level = ESCALATION_LEVEL.get(match[2], match[2])
        return f"{_limit(match[1])}已超期, {level}"
    return detail


def answer_words(answer: object) -> str | None:
    """The answer to a staff command, in words: a status after a decision, an extension's
    receipt. None for anything else (the caller shows it as it is)."""
    if isinstance(answer, ApplicationStatus):
        return APPLICATION_STATUS[answer]
    if isinstance(answer, ItemStatus):
        return ITEM_STATUS[answer]
    if isinstance(answer, ExtensionReceipt):
        return action_words(f"{answer.limit} extended by {answer.days} working days")
    return None


def actor_words(actor: str) -> str:
    """Who acted: a staff ID as it is; the system, or the applicant by a channel, in words."""
    if actor == "system":
        return ROLE["system"]
    return CHANNEL.get(actor, actor)


def department_words(catalog: Catalog, code: str) -> str:
    """A department by its name in the catalog; a code it does not know, as it is."""
    named = (i.department_name for i in catalog.items.values() if i.department == code)
    return next(named, code)


def hall_words(catalog: Catalog, code: str) -> str:
    """A hall by its name in the catalog; a code it does not know, as it is."""
    return catalog.halls[code].name if code in catalog.halls else code


def item_words(catalog: Catalog, code: str) -> str:
    """An item or bundle by its name in the catalog; a code it does not know, as it is."""
    known = catalog.items.get(code) or catalog.bundles.get(code)
    return known.name if known is not None else code


def case_words(catalog: Catalog, subject: str) -> str:
    """`something/code` with the item or bundle by its name: a referral's subject
    (application/item), an audit row's basis (catalog version/item or bundle)."""
    before, _, code = subject.partition("/")
    named = item_words(catalog, code)
    return f"{before} {named}" if named != code else subject


REFERRAL_STATUS: dict[str, str] = {"open": "待办", "closed": "已办结"}

TERM_PHASE: dict[TermPhase, str] = {
    TermPhase.PLANNING: "正在读取有效期",
    TermPhase.VALID: "有效",
    TermPhase.WINDOW_OPEN: "有效, 延续申请期内 (已提醒持证人)",
    TermPhase.WINDOW_CLOSED: "有效, 延续申请期已过, 未申请延续",
    TermPhase.RENEWAL_PENDING: "有效, 延续申请审查中",
    TermPhase.RENEWAL_REFUSED: "有效, 不予延续, 期满失效",
    TermPhase.RENEWED: "已延续",
    TermPhase.EXPIRED: "有效期届满, 已失效",
    TermPhase.REVOKED: "已撤销",
    TermPhase.NO_TERM: "登记簿未载明有效期",
}

RENEWAL_STATUS: dict[RenewalStatus, str] = {
    RenewalStatus.ACCEPTED: "已受理, 待决定",
    RenewalStatus.APPROVED: "准予延续",
    RenewalStatus.REFUSED: "不予延续",
    RenewalStatus.DEEMED_RENEWED: "期满未作决定, 视为准予延续",
    RenewalStatus.ENDED: "许可已撤销, 不再决定",
}


def term_rows(state: LicenseTermState, catalog: Catalog) -> dict[str, str]:
    """A license's term as staff read it (`onething license term`, `renew`, `decide-renewal`):
    Chinese, Beijing time, the hall by its name."""
    rows = {
        "证照编号": state.license_number,
        "有效期次": f"第{state.term}个有效期"
        + (f", {state.renewed_as.label}" if state.renewed_as else ""),
        "状态": TERM_PHASE[state.phase],
    }
    if state.valid_from is not None:
        rows["本期起始 (北京时间)"] = local_time(state.valid_from)
    if state.expires_at is not None:
        rows["有效期至"] = local_day(last_valid_day(state.expires_at))
    if state.window is not None:
        rows["延续申请期"] = (
            f"{local_day(state.window.opens_on)} 至 {local_day(state.window.closes_on)}"
        )
    if state.reminded_at is not None:
        rows["提醒持证人 (北京时间)"] = local_time(state.reminded_at)
    if (case := state.renewal) is not None:
        hall = hall_words(catalog, case.hall)
        rows["延续申请"] = (
            f"办件编号 {case.case_number} · {hall} · {CHANNEL.get(case.channel, case.channel)}"
        )
        rows["受理时间 (北京时间)"] = local_time(case.received_at)
        rows["决定期限 (北京时间)"] = local_time(case.decision_due_at)
        rows["延续申请状态"] = RENEWAL_STATUS[case.status]
        if case.decided_at is not None:
            by = f" ({case.decided_by})" if case.decided_by else ""
            rows["决定时间 (北京时间)"] = local_time(case.decided_at) + by
        if case.reason:
            rows["理由"] = case.reason
    return rows


def path_words(path: ApprovalPath | None) -> str:
    """How an item is decided: 审查, 告知承诺, or, with no path, 当场办结."""
    return path.label if path is not None else ON_THE_SPOT_LABEL


def clock_words(snap: ClockSnapshot) -> str:
    """One line of a running limit, in the service center's time: for the Web UI's current
    details and `onething status`."""
    limit = _limit(snap.limit)
    if snap.due_at is None:
        return f"{limit}: 未开始"
    due = local_time(snap.due_at, snap.timezone)
    text = f"{limit}: {CLOCK_STATE[snap.state]}, {due} 到期"
    if snap.provisional:
        text += " (暂定)"
    if snap.paused:
        text += ", 已暂停"
    if snap.escalation_stage:
        text += f", 已督办 (第{snap.escalation_stage}阶段)"
    return text
