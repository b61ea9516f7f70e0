"""`onething submit|status|supplement|correct|withdraw`: what the window does for the
applicant and what the applicant does. Mounted by `register(app)` (starter/cli.py)."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table

import domain.staff_words as words
from domain.application import (
    ApplicationState,
    Channel,
    Correction,
    ItemState,
    Submission,
    Supplement,
    TrailEntry,
    Withdrawal,
)
from domain.catalog import Catalog
from domain.notices import local_time, step_name
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

S = TypeVar("S")


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
        word = "已提交" if receipt.created else "已提交过, 未重复启动"
        console.print(f"{receipt.application_id}: {word} (工作流 {receipt.workflow_id})")


def status(
    application_id: str,
    item: Annotated[str | None, typer.Option(help="One item's state instead.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The application's (or one item's) status and decision trail, as staff read it:
    Chinese words, Beijing time; --json: the state's codes and ISO 8601 instants."""
    if item is not None:
        item_state, catalog = with_client(
            lambda c: _with_catalog(c, c.item_state(application_id, item))
        )
        if as_json:
            emit(item_state, as_json=True)
        else:
            _print_item(item_state, catalog)
        return
    state, catalog = with_client(lambda c: _with_catalog(c, c.state(application_id)))
    if as_json:
        emit(state, as_json=True)
    else:
        _print_application(state, catalog)


async def _with_catalog(c: OnethingClient, read: Awaitable[S]) -> tuple[S, Catalog]:
    """A state, and the catalog in force to name its items, departments and hall by."""
    return await read, c.catalog


def _print_application(state: ApplicationState, catalog: Catalog) -> None:
    hall = words.hall_words(catalog, state.hall)
    console.print(
        f"[bold]{state.application_id}[/] {state.name or state.target}: "
        f"[bold]{words.APPLICATION_STATUS[state.status]}[/]"
    )
    console.print(
        f"办件编号 {state.case_number or '(未受理)'} · 目录版本 {state.catalog_version or ''} · "
        f"{hall} · 跑动 {state.trips} 次"
    )
    items = Table("事项", "部门", "办理方式", "状态", "证照编号")
    for ref in state.items:
        items.add_row(
            ref.name,
            words.department_words(catalog, ref.department),
            words.path_words(ref.path),
            words.ITEM_STATUS[ref.status],
            ref.license.number if ref.license else "",
        )
    console.print(items)
    if state.outstanding:
        console.print("待补材料: " + "、".join(m.name for m in state.outstanding))
    _print_trail(state.trail, {ref.item_code: ref.name for ref in state.items})


def _print_item(state: ItemState, catalog: Catalog) -> None:
    known = catalog.items.get(state.item_code)
    name = known.name if known else state.item_code
    where = f" ({known.department_name})" if known else ""
    console.print(f"[bold]{name}[/]{where}: [bold]{words.ITEM_STATUS[state.status]}[/]")
    console.print(f"办理方式 {words.path_words(state.path)} · 跑动 {state.trips} 次")
    if state.open_task is not None:
        task = state.open_task
        role = words.ROLE.get(task.role, task.role)
        console.print(f"待办: {step_name(task.kind)} ({role})")
    for clock in (state.clock, state.statutory_clock):
        if clock is not None and clock.stopped_at is None:
            console.print(words.clock_words(clock))
    if state.excluded_time is not None:
        excluded = state.excluded_time
        console.print(f"不计入时限: {excluded.kind.label}, 预计{excluded.expected_days}个工作日")
    if state.license is not None:
        console.print(f"证照编号 {state.license.number}")
    _print_trail(state.trail, {state.item_code: name})


def _print_trail(trail: list[TrailEntry], item_names: dict[str, str]) -> None:
    if not trail:
        console.print("暂无办理记录", highlight=False)
        return
    table = Table("时间 (北京时间)", "事项", "办理", "办理人", "角色", "说明")
    for entry in trail:
        table.add_row(
            local_time(entry.at),
            item_names.get(entry.item_code, entry.item_code) if entry.item_code else "",
            words.action_words(entry.action),
            words.actor_words(entry.actor),
            words.ROLE.get(entry.role, entry.role),
            words.detail_words(entry.detail),
        )
    console.print(table)


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

    async def send(c: OnethingClient) -> tuple[list[str], dict[str, str]]:
        awaited = await c.supplement(application_id, arrived)
        names = {m.code: m.name for i in c.catalog.items.values() for m in i.materials}
        return awaited, names

    awaited, names = with_client(send)
    if as_json:
        emit({"awaited": awaited}, as_json=True)
    else:
        console.print("待补材料: " + ("、".join(names.get(c, c) for c in awaited) or "无, 已补齐"))


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
