"""`onething db ...`: the store's schema.

    onething db upgrade          -> apply every migration (DATABASE_URL, else the SQLite file)
    onething db current          -> the store's revision and the code's newest one
    onething db current --check  -> exit 1 unless the store is at the newest revision

Mounted by starter/cli.py: `app.add_typer(db_app, name="db")`. Errors are one line on
stderr (exit 2 for a wrong setting, 1 when the database refuses), never a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from onething.settings import Settings, SettingsError, load_settings

db_app = typer.Typer(
    name="db",
    help="The store's schema: Alembic migrations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _where(settings: Settings) -> str:
    """The store's URL without its password."""
    return make_url(settings.store_url).render_as_string(hide_password=True)


def _database_error(settings: Settings, exc: SQLAlchemyError) -> typer.Exit:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    typer.echo(f"error: store {_where(settings)}: {reason}", err=True)
    return typer.Exit(1)


@db_app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Bring the store to the newest migration (or to REVISION); safe to run again."""
    from store import migrate

    settings = _settings()
    try:
        before = migrate.current(settings.store_url)
        after = migrate.upgrade(settings.store_url, revision)
    except SQLAlchemyError as exc:
        raise _database_error(settings, exc) from None
    if before == after:
        typer.echo(f"store {_where(settings)} already at revision {after}")
    else:
        typer.echo(f"store {_where(settings)} upgraded from {before or 'nothing'} to {after}")


@db_app.command()
def current(
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 unless the store is at the newest revision.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The store's revision and the newest one this code knows."""
    from store import migrate

    settings = _settings()
    try:
        revision = migrate.current(settings.store_url)
    except SQLAlchemyError as exc:
        raise _database_error(settings, exc) from None
    heads = migrate.heads()
    up_to_date = revision in heads
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "store": _where(settings),
                    "current": revision,
                    "head": heads[0] if len(heads) == 1 else heads,
                    "up_to_date": up_to_date,
                }
            )
            + "\n"
        )
    else:
        state = "up to date" if up_to_date else "needs `onething db upgrade`"
        typer.echo(
            f"store {_where(settings)}: revision {revision or 'none'}, "
            f"newest {', '.join(heads)} ({state})"
        )
    if check and not up_to_date:
        raise typer.Exit(1)
