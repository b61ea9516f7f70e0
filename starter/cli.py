"""`onething`: the command line for operators, staff and scripts.

Every operation a person at a window, a reviewer, an inspector or a supervisor performs is
here; tables on a terminal, `--json` for scripts. Bad input gets one line naming the field.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from domain.application import (
    Cancellation,
    Channel,
    Correction,
    InspectionReport,
    InspectionResult,
    LimitExtension,
    Refusal,
    RefusalGround,
    ReviewDecision,
    ReviewVerdict,
    Submission,
    Supplement,
    Termination,
    Withdrawal,
)
from domain.notices import local_time
from domain.people import Role, Staff
from onething.settings import Settings, SettingsError, load_settings
from starter.bench import bench_app
from starter.cli_audit import app as audit_app
from starter.cli_calendar import calendar_app
from starter.cli_catalog import register as register_catalog_commands
from starter.cli_credit import credit_app
from starter.cli_db import db_app
from starter.cli_keys import subjects_app
from starter.cli_licenses import license_app
from starter.cli_procedure import register as register_procedure_commands
from starter.cli_ratings import register as register_rating_commands
from starter.cli_reports import register as register_report_commands
from starter.client import ClientError, OnethingClient, TaskDesk
from store.tasks import StaffTask

app = typer.Typer(
    name="onething",
    help="高效办成一件事: run and drive applications at the service center.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
register_catalog_commands(app)
register_procedure_commands(app)
register_rating_commands(app)
register_report_commands(app)
app.add_typer(calendar_app, name="calendar")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
app.add_typer(credit_app, name="credit")
app.add_typer(license_app, name="license")

console = Console()
err = Console(stderr=True)
T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None


def validated(make: Callable[[], T]) -> T:
    """Build an input model; a bad value is one line naming the field, never echoing it."""
    try:
        return make()
    except ValidationError as exc:
        from starter.errors import field_path, lift_fields

        problems = [
            problem
            for e in exc.errors()
            for problem in lift_fields(
                field_path(e["loc"]) if e["loc"] else "input",
                e["msg"].removeprefix("Value error, "),
            )
        ]
        raise fail("; ".join(f"{f}: {p}" for f, p in problems)) from None


def read_json(file: Path) -> Any:
    """A JSON file as Python values, so models check it as input (not as recorded history)."""
    try:
        return json.loads(file.read_bytes())
    except RecursionError:
        raise fail(f"{file}: nests too deeply") from None
    except json.JSONDecodeError as exc:
        raise fail(f"{file}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except ValueError:
        raise fail(f"{file}: not valid JSON (UTF-8 expected)") from None


@contextmanager
def store() -> Iterator[Engine]:
    from onething.runtime import open_store

    engine = open_store(settings_or_exit())
    try:
        yield engine
    finally:
        engine.dispose()


def with_client(action: Callable[[OnethingClient], Awaitable[T]]) -> T:
    """Connect as a backend service would, run `action`, turn refusals into one line."""
    from activities.catalog import current_catalog
    from onething.runtime import open_codec
    from onething.temporal import connect

    settings = settings_or_exit()

    async def go() -> T:
        with store() as engine:
            client = await connect(settings, open_codec(settings))
            return await action(
                OnethingClient(client, settings.task_queue, current_catalog(engine))
            )

    try:
        return asyncio.run(go())
    except ClientError as exc:
        raise fail(str(exc)) from None
    except RuntimeError as exc:  # Temporal not reachable
        raise fail(f"Temporal at {settings.temporal_address}: {exc}") from None


def emit(value: Any, as_json: bool) -> None:
    """A model or a plain value, as JSON or as a readable table."""
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    if not isinstance(data, dict):
        console.print(str(data), highlight=False)
        return
    table = Table(show_header=False, box=None)
    for key, item in data.items():
        shown = json.dumps(item, ensure_ascii=False) if isinstance(item, dict | list) else str(item)
        table.add_row(f"[bold]{key}[/]", shown)
    console.print(table)


def staff(staff_id: str, role: Role, department: str | None = None) -> Staff:
    return validated(lambda: Staff(staff_id=staff_id, role=role, department=department))


# -- running the service ---------------------------------------------------------------------


@app.command()
def dev() -> None:
    """Everything `make run` starts: dev server, Web UI, codec endpoint, worker, a demo."""
    from starter.embedded import run_embedded

    asyncio.run(run_embedded(settings_or_exit()))


@app.command()
def worker(
    departments: Annotated[
        str | None,
        typer.Option(help="Serve only these departments' queues (e.g. market,tax), no workflows."),
    ] = None,
    workflows_only: Annotated[
        bool, typer.Option("--workflows-only", help="Only the workflows and central activities.")
    ] = False,
) -> None:
    """Run a worker; with neither option it serves the workflows and every department queue."""
    from worker import run_worker

    settings_or_exit()
    if departments is not None and workflows_only:
        raise fail("--departments and --workflows-only exclude each other")
    if departments is not None:
        chosen = [d.strip() for d in departments.split(",") if d.strip()]
        if not chosen:
            raise fail("--departments: name at least one department code")
        asyncio.run(run_worker(workflows=False, departments=chosen))
    else:
        asyncio.run(run_worker(workflows=True, departments=[] if workflows_only else None))


@app.command()
def api() -> None:
    """Serve the HTTP API (OpenAPI at /docs) against the configured Temporal and store."""
    from starter.api import serve_api

    serve_api(settings_or_exit())


# -- the window and the applicant ------------------------------------------------------------


@app.command()
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


@app.command()
def status(
    application_id: str,
    item: Annotated[str | None, typer.Option(help="One item's state instead.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The application's status, items, notice, trips and decision trail."""
    if item is not None:
        emit(with_client(lambda c: c.item_state(application_id, item)), as_json)
        return
    state = with_client(lambda c: c.state(application_id))
    if as_json:
        emit(state, as_json=True)
        return
    console.print(
        f"[bold]{state.application_id}[/] {state.name or state.target}: [bold]{state.status}[/] "
        f"(catalog {state.catalog_version}, hall {state.hall}, trips {state.trips})"
    )
    items = Table("item", "department", "path", "status", "license")
    for ref in state.items:
        items.add_row(
            ref.item_code,
            ref.department,
            ref.path or "",
            ref.status,
            ref.license.number if ref.license else "",
        )
    console.print(items)
    if state.outstanding:
        console.print("awaited: " + "、".join(m.name for m in state.outstanding))
    trail = Table("when (北京时间)", "action", "actor", "role", "detail")
    for entry in state.trail:
        trail.add_row(
            local_time(entry.at),
            entry.action,
            entry.actor,
            entry.role,
            entry.detail or "",
        )
    console.print(trail)


@app.command()
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


@app.command()
def correct(
    application_id: str,
    item_code: str,
    note: Annotated[str, typer.Option(help="What was corrected.")],
    channel: Annotated[Channel, typer.Option()] = Channel.ONLINE,
) -> None:
    """The applicant answers a reviewer's correction request; the item's clock resumes."""
    correction = validated(lambda: Correction(channel=channel, note=note))
    emit(with_client(lambda c: c.correct(application_id, item_code, correction)), False)


@app.command()
def withdraw(application_id: str, reason: Annotated[str, typer.Option()]) -> None:
    """The applicant withdraws; licenses already issued stay valid."""
    withdrawal = validated(lambda: Withdrawal(reason=reason))
    emit(with_client(lambda c: c.withdraw(application_id, withdrawal)), False)


# -- staff -----------------------------------------------------------------------------------


@app.command()
def tasks(
    department: Annotated[str | None, typer.Option()] = None,
    role: Annotated[Role | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open tasks in the staff inbox, soonest due first."""
    from store.tasks import open_tasks

    with store() as engine:
        rows = open_tasks(engine, department=department, role=role.value if role else None)
    if as_json:
        emit([r.model_dump(mode="json") for r in rows], as_json=True)
        return
    table = Table("due (北京时间)", "task", "department", "role", "taken by")
    for r in rows:
        due = local_time(r.due_at) if r.due_at else ""
        table.add_row(due, r.task_id, r.department or "", r.role, r.taken_by or "")
    console.print(table)


def with_desk(action: Callable[[TaskDesk], T]) -> T:
    """The task inbox on the configured store; a refusal is one line."""
    with store() as engine:
        try:
            return action(TaskDesk(engine))
        except ClientError as exc:
            raise fail(str(exc)) from None


def emit_task(task: StaffTask, as_json: bool) -> None:
    """Who has the task and its last handover; times in Beijing time (ISO with --json)."""

    def when(at: datetime | None) -> str | None:
        if at is None:
            return None
        at = at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
        return at.isoformat() if as_json else local_time(at)

    emit(
        {
            "task_id": task.task_id,
            "taken_by": task.taken_by,
            "taken_at": when(task.taken_at),
            "handed_over_by": task.handed_over_by,
            "handed_over_at": when(task.handed_over_at),
            "handed_over_from": task.handed_over_from,
        },
        as_json,
    )


@app.command()
def take(
    task_id: str,
    staff_id: Annotated[str, typer.Option("--staff", help="Your staff ID.")],
    as_json: JsonOpt = False,
) -> None:
    """Take a task from the inbox: it is yours now (a task taken by another is refused)."""
    emit_task(with_desk(lambda desk: desk.take(task_id, staff_id)), as_json)


@app.command()
def release(
    task_id: str,
    supervisor: Annotated[str, typer.Option(help="Supervisor's staff ID.")],
    as_json: JsonOpt = False,
) -> None:
    """A supervisor releases a taken task: any colleague may take it or decide on it."""
    by = staff(supervisor, Role.SUPERVISOR)
    emit_task(with_desk(lambda desk: desk.release(task_id, by)), as_json)


@app.command()
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


@app.command()
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
    # Another member of staff who took the task is the one to decide on it.
    with_desk(lambda desk: desk.hold(application_id, item_code, decision.reviewer))
    emit(with_client(lambda c: c.decide(application_id, item_code, decision)), False)


@app.command()
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
    # Another member of staff who took the task is the one to decide on it.
    with_desk(lambda desk: desk.hold(application_id, item_code, report.inspector))
    emit(with_client(lambda c: c.inspect(application_id, item_code, report)), False)


@app.command()
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


@app.command("extend-joint")
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


@app.command()
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


@app.command()
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


@app.command()
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
    tasks = f"; {len(closed)} open tasks closed" if closed else ""
    console.print(f"{application_id}: terminated by {operator} (workflow {workflow_id}){tasks}")


keys_app = typer.Typer(help="The payload keyring: key IDs and rotation (key material never shown).")
app.add_typer(keys_app, name="keys")
keys_app.add_typer(subjects_app, name="subjects")


@keys_app.command("show")
def keys_show(as_json: JsonOpt = False) -> None:
    """Where the keyring comes from, its key IDs, and the active one."""
    from onething.runtime import open_codec

    keyring = open_codec(settings_or_exit()).keyring
    emit(
        {"source": keyring.source, "active": keyring.active_key_id, "keys": keyring.key_ids},
        as_json,
    )


@keys_app.command("rotate")
def keys_rotate(
    file: Annotated[
        Path | None, typer.Option(help="Keyring file (default: the configured one).")
    ] = None,
) -> None:
    """Add a new active key to the keyring file; old keys stay to decode old histories.

    Restart workers, the API and the codec endpoint afterwards: keys are read at start-up.
    """
    from onething.codec import KeyringError, rotate_keyring_file

    settings = settings_or_exit()
    path = file or settings.local_codec_keys_path
    if settings.codec_keys and file is None:
        raise fail("ONETHING_CODEC_KEYS holds the keys: rotate them where that value is kept")
    try:
        keyring = rotate_keyring_file(path)
    except (KeyringError, OSError) as exc:
        raise fail(f"{path}: {exc}") from None
    console.print(f"{path}: active key {keyring.active_key_id}; keys {', '.join(keyring.key_ids)}")


def main() -> None:
    """The console script: a configuration problem anywhere is one line, exit code 2."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        app()
    except SettingsError as exc:
        fail(str(exc))
        sys.exit(2)


if __name__ == "__main__":
    main()
