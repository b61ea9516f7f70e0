"""`onething credit`: an applicant's credit standing, objections (异议) to records, their
decision, and credit repair (信用修复), against the store.

The ID number (or, with `--enterprise`, the unified social credit code) is read from
stdin or a prompt, never from the arguments: argv lands in shell histories and process
lists. It is never printed back. The staff ID given is recorded as who acted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rich.table import Table
from sqlalchemy import Engine

from domain.credit import (
    CreditAction,
    CreditActionRefused,
    CreditIdentity,
    CreditRecordView,
    ObjectionVerdict,
    credit_subject,
    record_view,
    standing_report,
)
from domain.people import Role
from domain.text import Text
from starter.cli_common import JsonOpt, console, emit, fail, staff, store, validated

credit_app = typer.Typer(
    name="credit",
    help="Credit standing, objections (异议) and credit repair (信用修复).",
    no_args_is_help=True,
)

EnterpriseOpt = Annotated[
    bool,
    typer.Option(
        "--enterprise", help="Read a unified social credit code (统一社会信用代码) instead."
    ),
]
RecordArg = Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The record's id.")]
SupervisorOpt = Annotated[str, typer.Option(help="Supervisor's staff ID.")]
# Catches an ID number typed as an argument, to refuse it without printing it back.
StrayArgs = Annotated[list[str] | None, typer.Argument(hidden=True, show_default=False)]


class _Said(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=400, pattern=r"\S")


def _identity(enterprise: bool, stray: list[str] | None) -> CreditIdentity:
    """One line from stdin, or a prompt on a terminal (the prompt goes to stderr, so
    `--json` output stays clean)."""
    what = "credit_code" if enterprise else "id_number"
    if stray:
        raise fail(
            f"{what}: not as an argument (it would stay in the shell's history); "
            "give it on stdin or at the prompt"
        )
    label = "统一社会信用代码" if enterprise else "身份证号码"
    if sys.stdin.isatty():
        value = typer.prompt(label, err=True)
    else:
        value = sys.stdin.readline()
        if not value.strip():
            raise fail(f"{what}: give it on stdin or at the prompt, not as an argument")
    return validated(lambda: CreditIdentity.model_validate({what: value}))


def _said(text: str, field: str) -> str:
    try:
        return _Said(reason=text).reason
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise fail(f"{field}: {problem}") from None


def _item_names(engine: Engine) -> Callable[[str], str | None]:
    from activities.catalog import current_catalog

    items = current_catalog(engine).items
    return lambda code: items[code].name if code in items else None


def _show_record(view: CreditRecordView, as_json: bool) -> None:
    if as_json:
        emit(view, as_json=True)
        return
    item = f" {view.item_name or view.item_code}" if view.item_code else ""
    console.print(
        f"记录 {view.id}: {view.kind_text}（{view.recorded_at_local}，申请 "
        f"{view.application_id}{item}）— {view.status_text}"
        + ("，限制容缺受理和告知承诺" if view.bars else "，不再限制容缺受理和告知承诺"),
        highlight=False,
    )
    for e in view.events:
        console.print(f"  {e.at_local} {e.action_text}（{e.by}）：{e.reason}", highlight=False)


@credit_app.command("standing")
def standing(
    stray: StrayArgs = None, enterprise: EnterpriseOpt = False, as_json: JsonOpt = False
) -> None:
    """Records and whether deficiency acceptance and commitment approval are barred."""
    from store import credit

    identity = _identity(enterprise, stray)
    with store() as engine:
        records = credit.records_of_subject(engine, credit_subject(identity))
        names = _item_names(engine)
    report = standing_report(identity.kind, records, names)
    if as_json:
        emit(report, as_json=True)
        return
    console.print(report.explanation, highlight=False)
    if not report.records:
        return
    table = Table("编号", "记录 (北京时间)", "类型", "申请", "事项", "状态", "限制")
    for r in report.records:
        table.add_row(
            str(r.id),
            r.recorded_at_local,
            r.kind_text,
            r.application_id,
            r.item_name or r.item_code or "",
            r.status_text,
            "是" if r.bars else "否",
        )
    console.print(table)


@credit_app.command("object")
def object_to(
    record_id: RecordArg,
    reason: Annotated[str, typer.Option(help="Why the record is wrong (异议理由).")],
    clerk: Annotated[str, typer.Option(help="Staff ID of the window clerk recording it.")],
    stray: StrayArgs = None,
    enterprise: EnterpriseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Record the applicant's objection (异议) to one of their records; the bar stays until
    a supervisor decides. The ID number is read from stdin or a prompt."""
    by = staff(clerk, Role.WINDOW_CLERK)
    said = _said(reason, "reason")
    identity = _identity(enterprise, stray)
    _run(record_id, CreditAction.OBJECTED, by.staff_id, by.role, said, as_json, identity)


@credit_app.command("decide-objection")
def decide_objection(
    record_id: RecordArg,
    verdict: Annotated[
        ObjectionVerdict,
        typer.Option(help="upheld (the record was wrong: corrected) or rejected (it stands)."),
    ],
    reason: Annotated[str, typer.Option(help="Why.")],
    supervisor: SupervisorOpt,
    as_json: JsonOpt = False,
) -> None:
    """A supervisor decides a pending objection."""
    by = staff(supervisor, Role.SUPERVISOR)
    said = _said(reason, "reason")
    action = (
        CreditAction.OBJECTION_UPHELD
        if verdict is ObjectionVerdict.UPHELD
        else CreditAction.OBJECTION_REJECTED
    )
    _run(record_id, action, by.staff_id, by.role, said, as_json)


@credit_app.command("repair")
def repair(
    record_id: RecordArg,
    basis: Annotated[str, typer.Option(help="The basis of the repair (修复依据).")],
    supervisor: SupervisorOpt,
    as_json: JsonOpt = False,
) -> None:
    """A supervisor repairs a record (信用修复): it bars no more."""
    by = staff(supervisor, Role.SUPERVISOR)
    said = _said(basis, "basis")
    _run(record_id, CreditAction.REPAIRED, by.staff_id, by.role, said, as_json)


def _run(
    record_id: int,
    action: CreditAction,
    by: str,
    role: Role,
    reason: str,
    as_json: bool,
    identity: CreditIdentity | None = None,
) -> None:
    from store import credit

    with store() as engine:
        try:
            facts = credit.act_on(
                engine,
                record_id,
                action,
                by=by,
                role=role.value,
                reason=reason,
                at=datetime.now(UTC),
                subject=credit_subject(identity) if identity is not None else None,
            )
        except credit.RecordNotFound as exc:
            raise fail(f"record_id: {exc}") from None
        except CreditActionRefused as exc:
            raise fail(f"record_id: {exc}") from None
        names = _item_names(engine)
    _show_record(record_view(facts, names), as_json)
