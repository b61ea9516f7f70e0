"""`onething`: the command line for operators, staff and scripts."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from domain.application import ReviewDecision, ReviewVerdict, Submission
from domain.catalog import load_seed_catalog
from domain.people import Role, Staff
from onething.settings import Settings, SettingsError, load_settings
from starter.client import ClientError, OnethingClient

app = typer.Typer(
    name="onething",
    help="高效办成一件事: run and drive applications at the service center.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)
T = TypeVar("T")


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(make())  # type: ignore[arg-type]
    except ClientError as exc:
        raise fail(str(exc)) from None


def show(model: BaseModel, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(model.model_dump_json(indent=2) + "\n")
        return
    table = Table(show_header=False, box=None)
    for key, value in model.model_dump(mode="json").items():
        table.add_row(
            f"[bold]{key}[/]",
            json.dumps(value, ensure_ascii=False)
            if isinstance(value, (dict, list))
            else str(value),
        )
    console.print(table)


async def _client() -> OnethingClient:
    from onething.runtime import open_codec
    from onething.temporal import connect

    settings = settings_or_exit()
    client = await connect(settings, open_codec(settings))
    return OnethingClient(client, settings.task_queue, load_seed_catalog())


JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command()
def dev() -> None:
    """Everything `make run` starts: dev server, Web UI, codec endpoint, worker, a demo."""
    from onething.embedded import run_embedded

    settings = settings_or_exit()
    asyncio.run(run_embedded(settings))


@app.command()
def worker() -> None:
    """Run a worker for every workflow and activity against the configured Temporal."""
    from worker import run_worker

    settings_or_exit()
    asyncio.run(run_worker())


@app.command()
def submit(
    file: Annotated[Path, typer.Argument(help="A JSON submission (see README).", exists=True)],
    as_json: JsonOpt = False,
) -> None:
    """Submit an application; submitting the same application ID again starts nothing new."""
    try:
        submission = Submission.model_validate_json(file.read_bytes())
    except ValidationError as exc:
        raise fail(_validation_line(exc)) from None

    async def go() -> Any:
        client = await _client()
        return await client.submit(submission)

    receipt = run_async(go)
    if as_json:
        sys.stdout.write(json.dumps(receipt.__dict__) + "\n")
    else:
        word = "submitted" if receipt.created else "already submitted (nothing new started)"
        console.print(f"{receipt.application_id}: {word}; workflow {receipt.workflow_id}")


@app.command()
def status(application_id: str, as_json: JsonOpt = False) -> None:
    """The application's status, items, notice and decision trail."""

    async def go() -> BaseModel:
        return await (await _client()).state(application_id)

    show(run_async(go), as_json)


@app.command()
def decide(
    application_id: str,
    item_code: str,
    verdict: Annotated[ReviewVerdict, typer.Argument(help="approve or reject")],
    reviewer: Annotated[str, typer.Option(help="Reviewer's staff ID.")],
    department: Annotated[str, typer.Option(help="Reviewer's department code.")],
    reason: Annotated[str | None, typer.Option(help="Required for a rejection.")] = None,
) -> None:
    """A department reviewer approves or rejects an item."""
    try:
        decision = ReviewDecision(
            reviewer=Staff(staff_id=reviewer, role=Role.REVIEWER, department=department),
            verdict=verdict,
            reason=reason,
        )
    except ValidationError as exc:
        raise fail(_validation_line(exc)) from None

    async def go() -> Any:
        return await (await _client()).decide(application_id, item_code, decision)

    console.print(f"{application_id}/{item_code}: {run_async(go)}")


def _validation_line(exc: ValidationError) -> str:
    """One line per problem: the field and what is wrong, never the value (may be personal)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    )


def main() -> None:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    app()


if __name__ == "__main__":
    main()
