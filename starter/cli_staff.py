"""`onething tasks|take|release|reassign|decide|inspect|extend|extend-joint|refuse|cancel|
terminate`: the staff inbox and what reviewers, inspectors, heads of department, clerks,
supervisors and operators decide. Mounted by `register(app)` (starter/cli.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, TypeVar

import typer
from rich.measure import Measurement
from rich.table import Table

import domain.staff_words as words
from domain.application import (
    Cancellation,
    InspectionReport,
    InspectionResult,
    ItemStatus,
    LimitExtension,
    Refusal,
    RefusalGround,
    ReviewDecision,
    ReviewVerdict,
    Termination,
)
from domain.notices import local_time, step_name
from domain.people import Role, Staff
from starter.cli_common import (
    JsonOpt,
    console,
    emit,
    fail,
    settings_or_exit,
    staff,
    store,
    validated,
    with_client,
    with_desk,
)
from starter.client import OnethingClient
from store.db import in_utc
from store.tasks import StaffTask

M = TypeVar("M")


def tasks(
    department: Annotated[str | None, typer.Option()] = None,
    role: Annotated[Role | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open tasks in the staff inbox, soonest due first."""
    from activities.catalog import current_catalog
    from store.tasks import open_tasks

    with store() as engine:
        rows = open_tasks(engine, department=department, role=role.value if role else None)
        items = current_catalog(engine).items if rows and not as_json else {}
    if as_json:
        emit([r.model_dump(mode="json") for r in rows], as_json=True)
        return
    if not rows:
        console.print("没有待办任务", highlight=False)
        return
    table = Table("到期 (北京时间)", "任务", "事项", "部门", "办理", "角色", "承办人")
    described = []
    for r in rows:
        item = items.get(r.item_code) if r.item_code else None
        cells = (
            local_time(r.due_at) if r.due_at else "",
            r.task_id,  # what `onething take` and the desk name it by
            item.name if item else r.item_code or "",
            item.department_name if item else r.department or "",
            step_name(r.kind),
            words.ROLE.get(r.role, r.role),
            r.taken_by or "",
        )
        table.add_row(*cells)
        described.append(cells)
    unbounded = console.options.update_width(10_000)  # the table's own width, uncut
    if Measurement.get(console, unbounded, table).maximum <= console.width:
        console.print(table)
        return
    # Too narrow for the table: it would cut the task IDs, which staff copy to take a task.
    for due, task_id, item_name, department_name, step, role_words, taken_by in described:
        console.print(task_id, soft_wrap=True, highlight=False)
        said = [
            f"{due} 到期" if due else "",
            item_name,
            department_name,
            step,
            role_words,
            f"承办人 {taken_by}" if taken_by else "",
        ]
        console.print("  " + " · ".join(word for word in said if word), highlight=False)


def emit_task(task: StaffTask, as_json: bool) -> None:
    """Who has the task and its last handover; times in Beijing time (ISO with --json)."""

    def when(at: datetime | None) -> str | None:
        if at is None:
            return None
        at = in_utc(at)
        return at.isoformat() if as_json else local_time(at)

    held = {
        "task_id": task.task_id,
        "taken_by": task.taken_by,
        "taken_at": when(task.taken_at),
        "handed_over_by": task.handed_over_by,
        "handed_over_at": when(task.handed_over_at),
        "handed_over_from": task.handed_over_from,
    }
    if as_json:
        emit(held, as_json=True)
        return
    emit({_TASK_WORDS[key]: value or "" for key, value in held.items()}, as_json=False)


# What staff read of a task's hands, for the keys --json gives.
_TASK_WORDS = {
    "task_id": "任务",
    "taken_by": "承办人",
    "taken_at": "领取时间 (北京时间)",
    "handed_over_by": "交接决定人",
    "handed_over_at": "交接时间 (北京时间)",
    "handed_over_from": "原承办人",
}


def take(
    task_id: str,
    staff_id: Annotated[str, typer.Option("--staff", help="Your staff ID.")],
    as_json: JsonOpt = False,
) -> None:
    """Take a task from the inbox: it is yours now (a task taken by another is refused)."""
    emit_task(with_desk(lambda desk: desk.take(task_id, staff_id)), as_json)


def release(
    task_id: str,
    supervisor: Annotated[str, typer.Option(help="Supervisor's staff ID.")],
    as_json: JsonOpt = False,
) -> None:
    """A supervisor releases a taken task: any colleague may take it or decide on it."""
    by = staff(supervisor, Role.SUPERVISOR)
    emit_task(with_desk(lambda desk: desk.release(task_id, by)), as_json)


def reassign(
    task_id: str,
    to: Annotated[str, typer.Option(help="Staff ID of the new taker (from the token document).")],
    supervisor: Annotated[str, typer.Option(help="Supervisor's staff ID.")],
    as_json: JsonOpt = False,
) -> None:
    """A supervisor gives a task to another member of staff of its role and department."""
    from starter.auth import AuthConfigError, load_api_tokens

    by = staff(supervisor, Role.SUPERVISOR)
    try:
        settings = settings_or_exit()
        directory = load_api_tokens(settings.data_dir, env=settings)
    except AuthConfigError as exc:
        raise fail(str(exc)) from None
    new = directory.staff_member(to)
    emit_task(with_desk(lambda desk: desk.reassign(task_id, new, by)), as_json)


def on_held_task(
    application_id: str,
    item_code: str,
    by: Staff,
    entry: M,
    send: Callable[[OnethingClient, str, str, M], Awaitable[ItemStatus]],
) -> None:
    """`send` the decision once the item's task is held for `by`: another member of staff
    who took the task is the one to decide on it."""
    with_desk(lambda desk: desk.hold(application_id, item_code, by))
    emit(with_client(lambda c: send(c, application_id, item_code, entry)), False)


def decide(
    application_id: str,
    item_code: str,
    verdict: Annotated[ReviewVerdict, typer.Argument(help="approve, reject or request_correction")],
    reviewer: Annotated[str, typer.Option(help="Reviewer's staff ID.")],
    department: Annotated[str, typer.Option(help="Reviewer's department code.")],
    reason: Annotated[str | None, typer.Option(help="Required unless approving.")] = None,
) -> None:
    """A department reviewer decides on an item."""
    decision = validated(
        lambda: ReviewDecision(
            reviewer=staff(reviewer, Role.REVIEWER, department), verdict=verdict, reason=reason
        )
    )
    on_held_task(application_id, item_code, decision.reviewer, decision, OnethingClient.decide)


def inspect(
    application_id: str,
    item_code: str,
    result: Annotated[InspectionResult, typer.Argument(help="passed, failed or false_commitment")],
    inspector: Annotated[str, typer.Option(help="Inspector's staff ID.")],
    department: Annotated[str, typer.Option(help="Inspector's department code.")],
    findings: Annotated[str | None, typer.Option(help="Required unless passed.")] = None,
) -> None:
    """An inspector records the on-site inspection."""
    report = validated(
        lambda: InspectionReport(
            inspector=staff(inspector, Role.INSPECTOR, department), result=result, findings=findings
        )
    )
    on_held_task(application_id, item_code, report.inspector, report, OnethingClient.inspect)


def extend(
    application_id: str,
    item_code: str,
    days: Annotated[int, typer.Argument(help="Working days to add.")],
    reason: Annotated[str, typer.Option(help="Why (the applicant is told).")],
    head: Annotated[
        str | None, typer.Option(help="Staff ID of the head of the item's department.")
    ] = None,
    department: Annotated[str | None, typer.Option(help="Their department code.")] = None,
    supervisor: Annotated[
        str | None,
        typer.Option(help="A supervisor's staff ID: applications begun before revision 2026-12."),
    ] = None,
) -> None:
    """The head of the item's department extends its running limit, once (Art. 42: at most
    the item's cap, 10 working days by the law)."""
    if (head is None) == (supervisor is None):
        raise fail("give --head (the head of the item's department) or --supervisor")
    by = (
        staff(head, Role.DEPARTMENT_HEAD, department)
        if head is not None
        else staff(supervisor or "", Role.SUPERVISOR, department)
    )
    extension = validated(lambda: LimitExtension(decided_by=by, days=days, reason=reason))
    emit(with_client(lambda c: c.extend(application_id, item_code, extension)), False)


def extend_joint(
    application_id: str,
    days: int,
    reason: Annotated[str, typer.Option()],
    supervisor: Annotated[str, typer.Option(help="Supervisor's staff ID.")],
) -> None:
    """A bundle's joint limit, once by up to 15 working days (Art. 42 (2))."""
    extension = validated(
        lambda: LimitExtension(
            decided_by=staff(supervisor, Role.SUPERVISOR), days=days, reason=reason
        )
    )
    emit(with_client(lambda c: c.extend_joint_limit(application_id, extension)), False)


def refuse(
    application_id: str,
    ground: Annotated[RefusalGround, typer.Option()],
    reason: Annotated[str, typer.Option()],
    clerk: Annotated[str, typer.Option(help="Window clerk's staff ID.")],
    competent_office: Annotated[str | None, typer.Option(help="For outside_powers.")] = None,
) -> None:
    """不予受理, before acceptance: no license needed, or outside the office's powers."""
    refusal = validated(
        lambda: Refusal(
            ground=ground,
            reason=reason,
            competent_office=competent_office,
            refused_by=staff(clerk, Role.WINDOW_CLERK),
        )
    )
    emit(with_client(lambda c: c.refuse(application_id, refusal)), False)


def cancel(
    application_id: str,
    reason: Annotated[str, typer.Option()],
    operator: Annotated[str, typer.Option(help="Operator's staff ID.")],
) -> None:
    """An operator cancels the application; licenses already issued stay valid."""
    cancellation = validated(
        lambda: Cancellation(operator=staff(operator, Role.OPERATOR), reason=reason)
    )
    emit(with_client(lambda c: c.cancel(application_id, cancellation)), False)


def terminate(
    application_id: str,
    reason: Annotated[
        str, typer.Option(help="Why, in one line; history keeps it in plain text: name no person.")
    ],
    operator: Annotated[str, typer.Option(help="Operator's staff ID.")],
) -> None:
    """An operator ends an application whose workflow cannot run (it answers no query and
    takes no update): Temporal terminates it and its items, history records the reason and
    the operator, its open staff tasks are closed."""
    from starter.termination import close_open_tasks

    termination = validated(
        lambda: Termination(operator=staff(operator, Role.OPERATOR), reason=reason)
    )
    workflow_id = with_client(lambda c: c.terminate(application_id, termination))
    with store() as engine:
        closed = close_open_tasks(engine, application_id, by=operator)
    tasks = f", 关闭待办任务 {len(closed)} 项" if closed else ""
    console.print(
        f"{application_id}: 已由 {operator} 终止 (工作流 {workflow_id}){tasks}", highlight=False
    )


def register(app: typer.Typer) -> None:
    """Mount these commands on `onething`, in the order `--help` lists them."""
    app.command("tasks")(tasks)
    app.command("take")(take)
    app.command("release")(release)
    app.command("reassign")(reassign)
    app.command("decide")(decide)
    app.command("inspect")(inspect)
    app.command("extend")(extend)
    app.command("extend-joint")(extend_joint)
    app.command("refuse")(refuse)
    app.command("cancel")(cancel)
    app.command("terminate")(terminate)
