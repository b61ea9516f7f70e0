"""`onething submit|status|supplement|correct|withdraw`: what the window does for the
applicant and what the applicant does. Mounted by `register(app)` (starter/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import domain.staff_words as words
from domain.application import (
    ApplicationState,
    Channel,
    Correction,
    Submission,
    Supplement,
    Withdrawal,
)
from domain.notices import local_time
from domain.people import Role
from starter.cli_common import (
    JsonOpt,
    console,
    emit,
    read_json,
    staff,
    validated,
    with_client,
)
from starter.client import OnethingClient


def submit(
    file: Annotated[Path, typer.Argument(help="A JSON submission (see docs/api.md).", exists=True)],
    as_json: JsonOpt = False,
) -> None:
    """Submit an application; the same application ID again starts nothing new."""
    data = read_json(file)
    submission = validated(lambda: Submission.model_validate(data))
    receipt = with_client(lambda c: c.submit(submission))
    if as_json:
        emit(receipt.__dict__, as_json=True)
    else:
        word = "submitted" if receipt.created else "already submitted (nothing new started)"
        console.print(f"{receipt.application_id}: {word}; workflow {receipt.workflow_id}")


def status(
    application_id: str,
    item: Annotated[str | None, typer.Option(help="One item's state instead.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The application's status, items, notice, trips and decision trail."""
    if item is not None:
        emit(with_client(lambda c: c.item_state(application_id, item)), as_json)
        return

    async def read(c: OnethingClient) -> tuple[ApplicationState, dict[str, str]]:
        """The state, and the names of its hall and departments in the catalog in force."""
        state = await c.state(application_id)
        items, halls = c.catalog.items, c.catalog.halls
        known = [items[r.item_code] for r in state.items if r.item_code in items]
        names = {i.department: i.department_name for i in known}
        if state.hall in halls:
            names[state.hall] = halls[state.hall].name
        return state, names

    state, names = with_client(read)
    if as_json:
        emit(state, as_json=True)
        return
    console.print(
        f"[bold]{state.application_id}[/] {state.name or state.target}: "
        f"[bold]{words.APPLICATION_STATUS[state.status]}[/]"
    )
    console.print(
        f"办件编号 {state.case_number or '(未受理)'} · 目录版本 {state.catalog_version or ''} · "
        f"{names.get(state.hall, state.hall)} · 跑动 {state.trips} 次"
    )
    items = Table("事项", "部门", "办理方式", "状态", "证照编号")
    for ref in state.items:
        items.add_row(
            ref.name,
            names.get(ref.department, ref.department),
            words.path_words(ref.path),
            words.ITEM_STATUS[ref.status],
            ref.license.number if ref.license else "",
        )
    console.print(items)
    if state.outstanding:
        console.print("待补材料: " + "、".join(m.name for m in state.outstanding))
    trail = Table("时间 (北京时间)", "事项", "办理", "办理人", "角色", "说明")
    names = {ref.item_code: ref.name for ref in state.items}
    for entry in state.trail:
        trail.add_row(
            local_time(entry.at),
            names.get(entry.item_code, entry.item_code) if entry.item_code else "",
            words.action_words(entry.action),
            words.actor_words(entry.actor),
            words.ROLE.get(entry.role, entry.role),
            words.detail_words(entry.detail),
        )
    console.print(trail)


def supplement(
    application_id: str,
    materials: Annotated[list[str], typer.Argument(help="Material codes that arrived.")],
    channel: Annotated[Channel, typer.Option(help="window, mail or online")] = Channel.WINDOW,
    clerk: Annotated[
        str | None, typer.Option(help="Staff ID of the clerk who received them.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record deficient materials that arrived; prints what is still awaited."""
    received_by = staff(clerk, Role.WINDOW_CLERK) if clerk else None
    arrived = validated(
        lambda: Supplement(materials=materials, channel=channel, received_by=received_by)
    )
    emit({"awaited": with_client(lambda c: c.supplement(application_id, arrived))}, as_json)


def correct(
    application_id: str,
    item_code: str,
    note: Annotated[str, typer.Option(help="What was corrected.")],
    channel: Annotated[Channel, typer.Option()] = Channel.ONLINE,
) -> None:
    """The applicant answers a reviewer's correction request; the item's clock resumes."""
    correction = validated(lambda: Correction(channel=channel, note=note))
    emit(with_client(lambda c: c.correct(application_id, item_code, correction)), False)


def withdraw(application_id: str, reason: Annotated[str, typer.Option()]) -> None:
    """The applicant withdraws; licenses already issued stay valid."""
    withdrawal = validated(lambda: Withdrawal(reason=reason))
    emit(with_client(lambda c: c.withdraw(application_id, withdrawal)), False)


def register(app: typer.Typer) -> None:
    """Mount these commands on `onething`, in the order `--help` lists them."""
    app.command("submit")(submit)
    app.command("status")(status)
    app.command("supplement")(supplement)
    app.command("correct")(correct)
    app.command("withdraw")(withdraw)
