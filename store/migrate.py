"""The store's schema, created and upgraded by Alembic migrations (store/migrations/versions).

`upgrade(engine_or_url)` brings a store to the newest revision: an empty database, one
at an older revision, or one that the old `init_db` (create_all) made before migrations
existed — the first revision creates only the tables that are missing, so such a store
is adopted without losing a row. Processes that start together (API and workers) may
all call it: a PostgreSQL advisory lock, or a lock file beside a SQLite file, lets one
migrate while the others wait and then find nothing left to do.

Adding a table or column: change the model, then write a revision (`alembic revision
--autogenerate` with this package's configuration: `python -m store.migrate revision
"message"`), read it, and commit both; tests/store/test_migrations.py fails while the models
and the migrations disagree.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import pkgutil
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, Table, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from onething.files import ensure_private_file, make_private_parent

if TYPE_CHECKING:
    from onething.keys import SubjectKeys

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Modules of the store package that define no tables.
_NOT_TABLES = {"db", "migrate", "migrations"}
# pg_advisory_lock key: any constant the store's database does not use for something else.
_PG_LOCK_KEY = 0x6F6E657468696E67 & 0x7FFFFFFFFFFFFFFF  # "onething"


def table_metadata() -> MetaData:
    """The tables of every module in `store/`, copied into a metadata of their own.

    A copy, so tables that tests or other packages register on SQLModel's shared
    metadata never count as the store's.
    """
    import store

    modules = [
        f"store.{info.name}"
        for info in pkgutil.iter_modules(store.__path__)
        if info.name not in _NOT_TABLES
    ]
    for module in modules:
        importlib.import_module(module)
    ours = MetaData()
    for mapper in SQLModel._sa_registry.mappers:
        table = mapper.local_table
        if not isinstance(table, Table) or mapper.class_.__module__ not in modules:
            continue
        if table.name not in ours.tables:
            table.to_metadata(ours)
    return ours


def alembic_config(
    connection: Connection | None = None, subject_keys: SubjectKeys | None = None
) -> Config:
    """`subject_keys` (a `onething.keys.SubjectKeys`): the key a data migration keys
    people's references with; None lets it read the configured one, if it needs one."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    config.attributes["subject_keys"] = subject_keys
    return config


def heads() -> list[str]:
    """The newest revision(s) the code knows (one, unless two branches were merged badly)."""
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def _engine(target: Engine | str) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    from store.db import make_engine

    return make_engine(target), True


@contextlib.contextmanager
def _locked_connection(engine: Engine) -> Iterator[Connection]:
    """A connection held under the store's migration lock."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
            connection.commit()
            try:
                yield connection
            finally:
                connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
                connection.commit()
        return
    database = make_url(str(engine.url)).database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        with engine.connect() as connection:
            yield connection
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    make_private_parent(lock_path)
    with ensure_private_file(lock_path).open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(
    target: Engine | str, revision: str = "head", *, subject_keys: SubjectKeys | None = None
) -> str | None:
    """Apply every migration up to `revision`; return the store's revision afterwards."""
    engine, owned = _engine(target)
    try:
        with _locked_connection(engine) as connection:
            command.upgrade(alembic_config(connection, subject_keys), revision)
            connection.commit()
            return _current(connection)
    finally:
        if owned:
            engine.dispose()


def current(target: Engine | str) -> str | None:
    """The store's revision; None for an empty store or one made by the old `init_db`."""
    engine, owned = _engine(target)
    try:
        with engine.connect() as connection:
            return _current(connection)
    finally:
        if owned:
            engine.dispose()


def _revision(message: str) -> None:
    """Autogenerate a revision against a scratch SQLite store at head (developers only)."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/scratch.db"
        engine, _ = _engine(url)
        upgrade(engine)
        with engine.connect() as connection:
            config = alembic_config(connection)
            known = list(ScriptDirectory.from_config(config).walk_revisions())
            script = command.revision(
                config, message=message, autogenerate=True, rev_id=f"{len(known) + 1:04d}"
            )
            connection.commit()
        engine.dispose()
    # Leave the new file as `make lint` wants it.
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    paths = [s.path for s in (script if isinstance(script, list) else [script]) if s is not None]
    if ruff and paths:
        subprocess.run([ruff, "check", "--fix", "--quiet", *paths], check=False)
        subprocess.run([ruff, "format", "--quiet", *paths], check=False)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "revision":
        _revision(sys.argv[2])
    else:
        sys.exit('usage: python -m store.migrate revision "what changed"')
