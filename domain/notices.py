"""What applicants and staff are told, in one place for the center's legal staff to review.

Every text here is Chinese, gives instants in the service center's local time (Beijing
time unless the hall's clock policy says otherwise) and names things by their Chinese
names, never by code. Machine fields (ISO 8601 with offset) stay in the models.

Pure: imported inside the workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

SERVICE_CENTER_TIMEZONE = "Asia/Shanghai"

# What a staff step is called where people read it.
STEP_NAMES = {
    "review": "审查",
    "inspection": "现场核查",
    "re-inspection": "整改复查",
    "supplement": "容缺材料补齐",
}

DEFICIENCY_CONSEQUENCE = "逾期未补齐的, 终止办理, 已先行发放的许可予以撤销, 并记入信用记录"


def local_time(instant: datetime, timezone: str = SERVICE_CENTER_TIMEZONE) -> str:
    """An instant as people at the service center read it: `2026-12-04 17:30`."""
    return instant.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def step_name(kind: str) -> str:
    return STEP_NAMES.get(kind, kind)


def _names(names: Iterable[str]) -> str:
    return "、".join(names)


def refusal(reason: str, missing_summary: str) -> str:
    return f"不予受理: {reason}。{missing_summary}"


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


def revocation(item_name: str, reason: str) -> str:
    return f"{item_name}: 许可证已撤销。理由: {reason}"


def staff_warning(item_name: str, kind: str, due: datetime) -> str:
    return f"{item_name} {step_name(kind)} 即将到期 ({local_time(due)})"


def due_detail(due: datetime) -> str:
    """The decision trail's note of a reminder: the limit's due instant, local time."""
    return f"到期 {local_time(due)}"
