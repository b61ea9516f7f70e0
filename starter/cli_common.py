"""What every `onething` command shares: settings, one-line errors, input models checked
field by field, the store, the client, and output as a table or `--json`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine
from temporalio.client import Client

from domain.people import Role, Staff
from domain.staff_words import answer_words
from onething.settings import Settings, SettingsError, load_settings
from starter.client import ClientError, OnethingClient, TaskDesk

console = Console()
err = Console(stderr=True)
T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """`error: <message>` on stderr, one line; raise what it returns (exit `code`)."""
    # A path or value in the message is text, never rich markup or an emoji code.
    err.print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True, emoji=False
    )
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


def with_temporal(action: Callable[[Client, Settings, Engine], Awaitable[T]]) -> T:
    """Open the store and connect to Temporal as a backend service would, run `action`;
    a refusal (`ClientError`) or Temporal out of reach is one line."""
    from onething.runtime import open_codec
    from onething.temporal import connect

    settings = settings_or_exit()

    async def go() -> T:
        with store() as engine:
            return await action(await connect(settings, open_codec(settings)), settings, engine)

    try:
        return asyncio.run(go())
    except ClientError as exc:
        raise fail(str(exc)) from None
    except RuntimeError as exc:  # Temporal not reachable
        raise fail(f"Temporal at {settings.temporal_address}: {exc}") from None


def with_client(action: Callable[[OnethingClient], Awaitable[T]]) -> T:
    """`with_temporal` with the typed client over the store's current catalog."""
    from activities.catalog import current_catalog

    async def typed(temporal: Client, settings: Settings, engine: Engine) -> T:
        return await action(OnethingClient(temporal, settings.task_queue, current_catalog(engine)))

    return with_temporal(typed)


def emit(value: Any, as_json: bool) -> None:
    """A model or a plain value, as JSON or as a readable table."""
    said = None if as_json else answer_words(value)
    if said is not None:  # what staff read: the words, not the codes
        console.print(said, highlight=False)
        return
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


def with_desk(action: Callable[[TaskDesk], T]) -> T:
    """The task inbox on the configured store; a refusal is one line."""
    with store() as engine:
        try:
            return action(TaskDesk(engine))
        except ClientError as exc:
            raise fail(str(exc)) from None
