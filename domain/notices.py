"""What applicants and staff are told, in one place for the center's legal staff to review.

Every text here is Chinese, gives instants in the service center's local time (Beijing
time unless the hall's clock policy says otherwise) and names things by their Chinese
names, never by code. Machine fields (ISO 8601 with offset) stay in the models.

Pure: imported inside the workflow sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

SERVICE_CENTER_TIMEZONE = "Asia/Shanghai"

# What a staff step is called where people read it.
STEP_NAMES = {
    "review": "审查",
    "inspection": "现场核查",
    "re-inspection": "整改复查",
    "supplement": "容缺材料补齐",
    "rating_follow_up": "差评回访",
}

DEFICIENCY_CONSEQUENCE = "逾期未补齐的, 终止办理, 已先行发放的许可予以撤销, 并记入信用记录"


def local_time(instant: datetime, timezone: str = SERVICE_CENTER_TIMEZONE) -> str:
    """An instant as people at the service center read it: `2026-12-04 17:30`."""
    return instant.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def step_name(kind: str) -> str:
    return STEP_NAMES.get(kind, kind)


def _names(names: Iterable[str]) -> str:
    return "、".join(names)


# Where a decision can be challenged (行政许可法 Art. 38; 行政复议法 Art. 20: 60 days;
# 行政诉讼法 Art. 46: 6 months). The bodies are the service center's: a local fact.
LOCAL_REVIEW_BODY = "宜城市人民政府"
LOCAL_COURT = "宜城市人民法院"
RIGHTS = (
    f"如不服本决定, 可自收到之日起六十日内向{LOCAL_REVIEW_BODY}申请行政复议, "
    f"或者自收到之日起六个月内向{LOCAL_COURT}提起行政诉讼。"
)
CORRECTION_CONSEQUENCE = "逾期未补正的, 视为撤回申请(本中心规定)"


def refusal(reason: str, missing_summary: str) -> str:
    """Before the revision: incomplete materials were refused (no longer the procedure)."""
    return f"不予受理: {reason}。{missing_summary}"


def correction_notice(missing_summary: str, due: datetime) -> str:
    """补正材料通知书 (Art. 32(4)): everything missing, at once; the case stays open."""
    return (
        f"补正材料通知: 您的申请材料不齐全, {missing_summary}。请于 {local_time(due)} 前一次性"
        f"补正(窗口、邮寄或网上提交), 材料齐全之日起受理并计算办理时限。{CORRECTION_CONSEQUENCE}"
    )


def deadline_moved_later(missing_summary: str, before: datetime, after: datetime) -> str:
    """A deadline told before moved later (e.g. the year's holidays were published)."""
    return (
        f"期限变更通知: 因法定节假日安排公布, 原定 {local_time(before)} 的期限顺延至 "
        f"{local_time(after)}。{missing_summary}"
    )


def correction_reminder(missing: Iterable[str], due: datetime) -> str:
    return f"请于 {local_time(due)} 前补正: {_names(missing)}"


def lapsed(missing: Iterable[str]) -> str:
    return f"逾期未补正({_names(missing)}), 申请视为撤回。如需办理, 请重新提交申请。"


def refusal_decision(ground: str, reason: str, competent_office: str | None) -> str:
    """不予受理通知书 (Art. 32(1)(2), Art. 38): the ground, the reasons and the rights."""
    turn_to = f"请向{competent_office}申请。" if competent_office else ""
    return f"不予受理决定: {ground}。理由: {reason}。{turn_to}{RIGHTS}"


def deficiency_notice(missing_summary: str, due: datetime) -> str:
    return (
        f"容缺受理通知: {missing_summary}; 请于 {local_time(due)} 前补齐"
        f"(窗口、邮寄或网上提交)。{DEFICIENCY_CONSEQUENCE}"
    )


def supplement_reminder(missing: Iterable[str], due: datetime) -> str:
    return f"请于 {local_time(due)} 前补齐: {_names(missing)}"


def stopped_for_broken_pledge(reason: str) -> str:
    return f"终止办理: {reason}。已记入信用记录。"


def broken_pledge_reason(missing: Iterable[str]) -> str:
    return "容缺材料逾期未补齐: " + _names(missing)


def rejection(item_name: str, reason: str | None) -> str:
    return f"{item_name}: 不予许可。理由: {reason}"


def rectification_order(item_name: str, days: int, findings: str | None) -> str:
    return f"{item_name}: 现场核查未通过, 责令在{days}个工作日内整改, 届时复查。问题: {findings}"


def revocation(item_name: str, reason: str, license: tuple[str, str] | None = None) -> str:
    """撤销决定 (Art. 69): the license by its own title and number (`license`: its kind and
    number) where the item knows them, else the item."""
    if license is None:
        return f"{item_name}: 许可证已撤销。理由: {reason}"
    kind, number = license
    return (
        f"撤销决定: 您的{license_name(kind)}(编号 {number})予以撤销, 自即日起失效。理由: {reason}"
    )


def staff_warning(item_name: str, kind: str, due: datetime) -> str:
    return f"{item_name} {step_name(kind)} 即将到期 ({local_time(due)})"


def due_detail(due: datetime) -> str:
    """The decision trail's note of a reminder: the limit's due instant, local time."""
    return f"到期 {local_time(due)}"


# -- limits: the statutory limit, extensions (Art. 42) and excluded time (Art. 45) ----------

STATUTORY_LIMIT = "statutory"  # the item's statutory limit, counted beside the step limits


def limit_name(limit: str) -> str:
    """A limit as people read it: `法定办理时限`, `审查时限`."""
    if limit == STATUTORY_LIMIT:
        return "法定办理时限"
    return f"{step_name(limit)}时限"


def statutory_warning(item_name: str, due: datetime) -> str:
    return f"{item_name} 法定办理时限即将届满 ({local_time(due)})"


def extension_notice(item_name: str, days: int, reason: str, due: datetime | None) -> str:
    """延长期限告知 (Art. 42): approved by the head of the department, the reason told."""
    until = f", 延长后的期限为 {local_time(due)}" if due is not None else ""
    return (
        f"延长办理期限告知: 经本部门负责人批准, {item_name}的办理期限延长{days}个工作日"
        f"{until}。理由: {reason}"
    )


def joint_extension_notice(bundle_name: str, days: int, reason: str) -> str:
    """延长期限告知 for a bundle handled jointly (Art. 42 (2))."""
    return (
        f"延长办理期限告知: 经本级人民政府批准, {bundle_name}的联合办理期限延长{days}个"
        f"工作日。理由: {reason}"
    )


def excluded_time_notice(item_name: str, what: str, expected_days: int, reason: str) -> str:
    """不计入办理时限告知 (Art. 45): what is done and how long it is expected to take."""
    return (
        f"不计入办理时限告知: {item_name}需进行{what}, 预计需要{expected_days}个工作日, "
        f"所需时间不计入办理时限。原因: {reason}。{what}结果将书面告知。"
    )


def excluded_time_ended(item_name: str, what: str, result: str, due: datetime | None) -> str:
    until = f", 期限届满为 {local_time(due)}" if due is not None else ""
    return f"{item_name}: {what}已结束, 结果: {result}。办理时限自即日起恢复计算{until}。"


# -- acceptance and issuance: the receipt (Art. 32), the decision (Art. 38), the license --

# What each license kind is called on paper (行政许可法 Art. 39: the certificate's name).
LICENSE_NAMES = {
    "business_license": "营业执照",
    "food_business_license": "食品经营许可证",
    "tobacco_retail_license": "烟草专卖零售许可证",
    "hygiene_license": "公共场所卫生许可证",
    "fire_safety_permit": "公众聚集场所投入使用、营业前消防安全检查合格证",
    "road_transport_license": "道路运输经营许可证",
    "road_transport_certificate": "道路运输证",
    "company_seal": "印章刻制备案凭证",
    "food_filing": "食品经营备案凭证",
    "nurse_practice_certificate": "护士执业证书",
}


def license_name(license_kind: str) -> str:
    return LICENSE_NAMES.get(license_kind, "电子证照")


def acceptance_receipt(
    case_number: str,
    matter: str | None,
    items: Iterable[str],
    promised_days: int | None,
    accepted_at: datetime,
) -> str:
    """受理通知书 (Art. 32 (5), Art. 32 (2nd para.): a dated written receipt)."""
    what = f"您申请办理的{matter}" if matter else "您的申请"
    covering = _names(items)
    covering = f"(含{covering})" if covering and covering != matter else ""
    if promised_days is None:
        limit = "本中心将在法定时限内办结"
    elif promised_days == 0:
        limit = "本中心承诺当场办结"
    else:
        limit = f"本中心承诺于受理之日起{promised_days}个工作日内办结"
    return (
        f"受理通知: {what}{covering}, 申请材料齐全、符合法定形式, 本中心决定予以受理。"
        f"办件编号 {case_number}, 受理时间 {local_time(accepted_at)}。{limit}, "
        "可凭办件编号查询办理进度。"
    )


# What an item's positive act says, by the item's kind (domain.catalog_models.ItemKind's value).
GRANTS = {
    "license": "经审查, 您申请的{item}符合法定条件、标准, 决定准予行政许可。",
    "confirmation": "经审核, 您申请的{item}符合法定条件, 准予登记。",
    "filing": "您提交的{item}材料齐全, 已予备案。",
    "public_service": "您申请的{item}已办结。",
}


# How a positive act and what it issues speak, by the item's kind: the matter's label, the
# holder's, and what the act comes with. Only a license is an administrative license (行政
# 许可); a registration's act is a notice (准予登记通知书), a filing's too (备案通知书).
ACT_WORDS = {
    "license": ("许可事项", "持证人", "电子证照与本决定同时送达"),
    "confirmation": ("登记事项", "持证人", "电子证照与本通知同时送达"),
    "filing": ("备案事项", "备案人", "备案凭证与本通知同时送达"),
    "public_service": ("办理事项", "申请人", "办理结果与本通知同时送达"),
}


VERIFY_AT = "在线核验: "
_VERIFY_URL = re.compile(rf"{VERIFY_AT}(\S+?)(?=[)。]|$)")


def license_verification(code: str, url: str | None) -> str:
    """How anyone checks an electronic license (电子证照): its verification code (核验码)
    and, where the center's public address is known, the page that answers for it."""
    return f"核验码 {code}, {VERIFY_AT}{url}" if url else f"核验码 {code}"


def verification_url_in(text: str) -> str | None:
    """The verification address a license's text gives (`license_verification`), if any."""
    found = _VERIFY_URL.search(text)
    return found.group(1) if found else None


def grant_decision(
    item_kind: str,
    item_name: str,
    license_kind: str,
    number: str,
    granted_at: datetime,
    verification: str,
) -> str:
    """准予许可决定书 (Art. 38 (1)) and its like for registrations and filings;
    `verification`: `license_verification` of the license."""
    act = GRANTS.get(item_kind, GRANTS["license"]).format(item=item_name)
    _, _, delivered = ACT_WORDS.get(item_kind, ACT_WORDS["license"])
    return (
        f"{act}{license_name(license_kind)}编号 {number}, 自 {local_time(granted_at)} 起生效, "
        f"{delivered}({verification})。"
    )


def license_certificate(
    license_kind: str,
    number: str,
    holder_name: str,
    item_name: str,
    valid_from: datetime,
    verification: str,
    last_valid_day: date | None = None,
    item_kind: str = "license",
) -> str:
    """The license itself (Art. 39: name, holder, scope, issuer, date, and its term), or a
    registration's or a filing's certificate in its own words (`ACT_WORDS`), with how to
    verify it (`license_verification`)."""
    # No validity in the catalog: nothing is said (the catalog does not know it is 长期).
    term = f"有效期至 {local_day(last_valid_day)}。" if last_valid_day is not None else ""
    matter, holder, _ = ACT_WORDS.get(item_kind, ACT_WORDS["license"])
    return (
        f"{license_name(license_kind)} 编号 {number}。{holder}: {holder_name}。"
        f"{matter}: {item_name}。发证日期 {local_time(valid_from)}。{term}{verification}。"
    )


# -- a license's term and its renewal (延续, Art. 50) -----------------------------------------
# Each text names the license by its own title (`license_name`: 食品经营许可证, 护士执业证书),
# not by the item that issued it (食品经营许可, 护士执业注册).

RENEWAL_LAW = "《中华人民共和国行政许可法》第五十条"


def local_day(day: date) -> str:
    """A day as people read it: `2031-11-30`."""
    return f"{day:%Y-%m-%d}"


def renewal_reminder(
    license_title: str, number: str, opens_on: date, closes_on: date, last: date
) -> str:
    """The holder is reminded when the renewal window opens (not a written act)."""
    return (
        f"延续提醒: 您的{license_title}(编号 {number})有效期至 {local_day(last)}。如需继续"
        f"从事许可事项, 请于 {local_day(opens_on)} 至 {local_day(closes_on)} 期间申请延续"
        f"(窗口、网上或邮寄)。未申请延续的, 有效期届满后{license_title}失效。"
    )


def renewal_accepted(
    license_title: str, number: str, case_number: str, due: datetime, expires_at: datetime
) -> str:
    """延续申请受理通知书: the case number, the limit, and Art. 50's deemed renewal."""
    return (
        f"延续申请受理通知: 您申请延续{license_title}(编号 {number})的申请已受理, 办件编号 "
        f"{case_number}。本机关将于 {local_time(due)} 前作出是否准予延续的决定; 在有效期"
        f"届满({local_time(expires_at)})前未作出决定的, 视为准予延续({RENEWAL_LAW})。"
    )


def renewal_to_decide(license_title: str, number: str, due: datetime) -> str:
    return f"{license_title}(编号 {number})延续申请待决定, 请于 {local_time(due)} 前作出决定"


def renewed(license_title: str, number: str, last: date) -> str:
    """准予延续决定书: the new term runs on from the old one's end."""
    return (
        f"准予延续决定: 经审查, 准予延续{license_title}(编号 {number})的有效期, 延续后"
        f"有效期至 {local_day(last)}。"
    )


def deemed_renewed(license_title: str, number: str, last: date) -> str:
    """视为准予延续 (Art. 50 (2)): the office did not decide before the expiry."""
    return (
        f"视为准予延续通知: 您的{license_title}(编号 {number})延续申请, 本机关在有效期届满前"
        f"未作出决定, 依照{RENEWAL_LAW}第二款视为准予延续, 延续后有效期至 {local_day(last)}。"
    )


def renewal_refused(license_title: str, number: str, reason: str, last: date) -> str:
    """不予延续决定书: reasons and the applicant's rights (Art. 38 (2))."""
    return (
        f"不予延续决定: 经审查, 不予延续{license_title}(编号 {number})的有效期。理由: "
        f"{reason}。原有效期至 {local_day(last)}, 届满后失效。{RIGHTS}"
    )


def license_expired(license_title: str, number: str, last: date) -> str:
    return (
        f"有效期届满通知: 您的{license_title}(编号 {number})有效期已于 {local_day(last)} "
        f"届满, 未获延续, 自即日起失效。如需继续从事许可事项, 请重新申请。"
    )


# -- credit: the record's notice (告知), the objection (异议) and repair (信用修复) ----------


def credit_recorded(label: str, recorded_at: datetime) -> str:
    """信用记录告知书: what was recorded, what it closes, and how to object or repair."""
    return (
        f"信用记录告知: 因{label}, 已于 {local_time(recorded_at)} 记入信用记录。记录存续期间, "
        "您的申请不适用容缺受理和告知承诺审批。如认为记录有误, 可向本中心提出异议"
        "(窗口或网上), 异议处理期间记录标注为异议中; 已纠正失信行为的, 可申请信用修复。"
    )


# -- ratings (好差评): the 差评 follow-up (回访) and its answer ------------------------------


def rating_follow_up_task(case_number: str, level: str, due: datetime) -> str:
    """The department's task: a 差评 to follow up, fix or explain, by its due instant."""
    return (
        f"差评回访: 办件 {case_number} 获评价\u201c{level}\u201d。请回访申请人, 核实后整改或"
        f"解释说明, 并于 {local_time(due)} 前答复。"
    )


def rating_follow_up_warning(case_number: str, due: datetime) -> str:
    return f"差评回访即将到期: 办件 {case_number} 请于 {local_time(due)} 前答复 (整改或解释说明)"


def rating_follow_up_answered(
    case_number: str, department_name: str, outcome: str, text: str
) -> str:
    """What the applicant is told of the follow-up of their 差评."""
    return f"评价回访: 您对办件 {case_number} 的评价, {department_name}已回访并{outcome}: {text}"
