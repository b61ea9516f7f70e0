"""CLI of the procedure the law prescribes (revision 2026-12): `exclude-time`,
`end-excluded-time` (Art. 45), `referrals` and `close-referral` (移送监管).

Mounted into the main app by `register(app)` (starter/cli.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ConfigDict, Field
from rich.table import Table

import domain.staff_words as words
from domain.application import ItemStatus
from domain.excluded_time import ExcludedTimeEnd, ExcludedTimeKind, ExcludedTimeStart
from domain.notices import local_time
from domain.people import Role
from domain.supervision import ReferralKind
from domain.text import Text
from starter.cli_common import JsonOpt, console, emit, fail, staff, store, validated, with_client
from starter.client import OnethingClient
from store.supervision import Status, SupervisionReferral


class Decider(StrEnum):
    """Who decides on excluded time: the item's department (`EXCLUDED_TIME_DECIDERS`)."""

    REVIEWER = Role.REVIEWER.value
    DEPARTMENT_HEAD = Role.DEPARTMENT_HEAD.value


class Shown(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    ALL = "all"


SHOWN: dict[Shown, Status] = {Shown.OPEN: "open", Shown.CLOSED: "closed", Shown.ALL: "all"}

StaffOpt = Annotated[str, typer.Option("--staff", help="Your staff ID.")]
DepartmentOpt = Annotated[str, typer.Option(help="Your department code (the item's).")]
RoleOpt = Annotated[
    Decider, typer.Option(help="reviewer, or department_head (the head of the department)")
]


def exclude_time(
    application_id: str,
    item_code: str,
    kind: Annotated[
        ExcludedTimeKind,
        typer.Option(
            help="hearing, bidding, auction, testing, inspection (third party), "
            "quarantine, appraisal or expert_review"
        ),
    ],
    days: Annotated[int, typer.Option(help="Working days it is expected to take.")],
    reason: Annotated[str, typer.Option(help="Why (the applicant is told in writing).")],
    staff_id: StaffOpt,
    department: DepartmentOpt,
    role: RoleOpt = Decider.REVIEWER,
    as_json: JsonOpt = False,
) -> None:
    """Excluded time starts (Art. 45): the item's running limits pause; the applicant gets
    a notice saying what is done and how long it takes."""
    start = validated(
        lambda: ExcludedTimeStart(
            kind=kind,
            expected_days=days,
            reason=reason,
            decided_by=staff(staff_id, Role(role.value), department),
        )
    )

    async def starting(c: OnethingClient) -> tuple[ItemStatus, str]:
        status = await c.exclude_time(application_id, item_code, start)
        return status, words.item_words(c.catalog, item_code)

    status, name = with_client(starting)
    done = _action(application_id, item_code, "excluded time started", staff_id, status.value)
    if as_json:
        emit(done, as_json=True)
        return
    console.print(
        f"{application_id} {name}: {words.action_words('excluded time started')} "
        f"({kind.label}, 预计{days}个工作日), 时限暂停计算; 事项: {words.ITEM_STATUS[status]}",
        highlight=False,
    )


def end_excluded_time(
    application_id: str,
    item_code: str,
    result: Annotated[str, typer.Option(help="The result that ends it (the applicant is told).")],
    staff_id: StaffOpt,
    department: DepartmentOpt,
    role: RoleOpt = Decider.REVIEWER,
    as_json: JsonOpt = False,
) -> None:
    """Excluded time ends with its result: the limits run again."""
    end = validated(
        lambda: ExcludedTimeEnd(
            result=result, decided_by=staff(staff_id, Role(role.value), department)
        )
    )

    async def ending(c: OnethingClient) -> tuple[str | None, ItemStatus, str]:
        running = (await c.item_state(application_id, item_code)).excluded_time
        status = await c.end_excluded_time(application_id, item_code, end)
        named = words.item_words(c.catalog, item_code)
        return (running.kind.label if running else None), status, named

    what, status, name = with_client(ending)
    if as_json:
        ended = _action(application_id, item_code, "excluded time ended", staff_id, status.value)
        emit(ended, True)
        return
    console.print(
        f"{application_id} {name}: {words.action_words('excluded time ended')} "
        f"({what + ': ' if what else ''}{end.result}), 时限恢复计算; "
        f"事项: {words.ITEM_STATUS[status]}",
        highlight=False,
    )


def _action(
    application_id: str, item_code: str, action: str, by: str, status: str
) -> dict[str, str]:
    return {
        "application_id": application_id,
        "item_code": item_code,
        "action": action,
        "by": by,
        "status": status,
    }


def referrals(
    department: Annotated[str | None, typer.Option(help="Only this department's.")] = None,
    status: Annotated[Shown, typer.Option(help="open, closed or all.")] = Shown.OPEN,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Page size.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Rows to skip.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Referrals to supervision (移送监管), e.g. after a revocation, oldest first."""
    from activities.catalog import current_catalog
    from store import supervision

    with store() as engine:
        rows, total = supervision.referrals_page(
            engine,
            status=SHOWN[status],
            department=department,
            limit=limit,
            offset=offset,
        )
        catalog = current_catalog(engine)  # to name departments and items by
    if as_json:
        following = offset + limit
        emit(
            {
                "items": [_referral_json(r) for r in rows],
                "total": total,
                "limit": limit,
                "offset": offset,
                "next_offset": following if following < total else None,
            },
            as_json=True,
        )
        return
    if not rows:
        console.print(f"没有移送监管的案件 (共 {total} 件)", highlight=False)
        return
    table = Table("移送时间 (北京时间)", "编号", "类别", "部门", "案件", "理由", "状态")
    for r in rows:
        table.add_row(
            local_time(r.referred_at),
            str(r.id),  # what `onething close-referral` names it by
            ReferralKind(r.kind).label,
            words.department_words(catalog, r.department),
            words.case_words(catalog, r.subject),
            r.reason,
            words.REFERRAL_STATUS.get(r.status, r.status),
        )
    console.print(table)
    console.print(f"共 {total} 件, 本页 {len(rows)} 件", highlight=False)


class _Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Text = Field(min_length=1, max_length=400, pattern=r"\S")


def close_referral(
    referral_id: Annotated[int, typer.Argument(min=1, help="The referral's id.")],
    resolution: Annotated[str, typer.Option(help="What supervision did about it.")],
    supervisor: Annotated[str, typer.Option(help="Supervisor's staff ID.")],
    as_json: JsonOpt = False,
) -> None:
    """A supervisor closes a referral with its resolution."""
    from activities.catalog import current_catalog
    from store import supervision

    by = staff(supervisor, Role.SUPERVISOR)
    said = validated(lambda: _Resolution(resolution=resolution)).resolution
    with store() as engine:
        row = supervision.get_referral(engine, referral_id)
        if row is None:
            raise fail(f"referral_id: there is no supervision referral {referral_id}")
        if row.status == "closed":
            raise fail("referral_id: the referral is closed already")
        closed = supervision.close_referral(
            engine, referral_id, f"{by.staff_id}: {said}", datetime.now(UTC)
        )
        catalog = current_catalog(engine)
    if as_json:
        emit(_referral_json(closed), as_json=True)
        return
    emit(
        {
            "编号": closed.id,
            "类别": ReferralKind(closed.kind).label,
            "部门": words.department_words(catalog, closed.department),
            "案件": words.case_words(catalog, closed.subject),
            "理由": closed.reason,
            "移送时间 (北京时间)": local_time(closed.referred_at),
            "状态": words.REFERRAL_STATUS.get(closed.status, closed.status),
            "办结时间 (北京时间)": local_time(closed.closed_at) if closed.closed_at else "",
            "处理结果": closed.resolution or "",
        },
        as_json=False,
    )


def _referral_json(row: SupervisionReferral) -> dict[str, Any]:
    return {
        "id": row.id,
        "workflow_id": row.workflow_id,
        "kind": row.kind,
        "kind_label": ReferralKind(row.kind).label,
        "department": row.department,
        "subject": row.subject,
        "reason": row.reason,
        "referred_at": row.referred_at.isoformat(),
        "status": row.status,
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "resolution": row.resolution,
    }


def register(app: typer.Typer) -> None:
    """Mount the commands on the main `onething` app."""
    app.command("exclude-time")(exclude_time)
    app.command("end-excluded-time")(end_excluded_time)
    app.command("referrals")(referrals)
    app.command("close-referral")(close_referral)
