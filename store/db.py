"""The relational store: a SQLite file by default, PostgreSQL when DATABASE_URL says so."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import overload

from sqlalchemy import Engine, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, create_engine

from onething.files import (
    ensure_private_file,
    make_private_parent,
    sqlite_companions,
    tighten_if_present,
)

ZERO = timedelta(0)

# Every module that defines tables; imported before create_all so all tables exist.
TABLE_MODULES = (
    "store.case_numbers",
    "store.catalog",
    "store.credit",
    "store.documents",
    "store.licenses",
    "store.notifications",
    "store.supervision",
    "store.tasks",
)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            # It holds license holders' names: folder 0700 if new, file (and -wal, -shm) 0600.
            make_private_parent(Path(database))
            tighten_if_present(*sqlite_companions(ensure_private_file(Path(database))))
        # A file: one connection per process. SQLite takes one writer at a time, and a
        # thread that finds the file locked sleeps in its busy handler (up to 100 ms a
        # try), while the pool's queue hands the connection over at once.
        one_connection = {"pool_size": 1, "max_overflow": 0} if path != ":memory:" else {}
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 5}, **one_connection
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the worker
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def init_db(engine: Engine) -> None:
    """Create every table that does not exist yet."""
    for module in TABLE_MODULES:
        importlib.import_module(module)
    SQLModel.metadata.create_all(engine)


@event.listens_for(Session, "before_flush")
def _instants_in_utc(s: Session, _context: object, _instances: object) -> None:
    """Every instant is written in UTC. SQLite keeps a datetime's wall time and drops its
    offset, and what it hands back (naive) is read as UTC: a Beijing-time value (a license's
    term ends at 00:00 Beijing time) came back eight hours late. PostgreSQL stores the same
    instant either way."""
    for row in (*s.new, *s.dirty):
        for column in sa_inspect(row).mapper.column_attrs:
            value = getattr(row, column.key, None)
            if isinstance(value, datetime) and value.utcoffset() not in (None, ZERO):
                setattr(row, column.key, value.astimezone(UTC))


@overload
def in_utc(value: datetime) -> datetime: ...
@overload
def in_utc(value: None) -> None: ...
def in_utc(value: datetime | None) -> datetime | None:
    """An instant as read back from the store, in UTC: every instant is written in UTC
    (`_instants_in_utc`), and SQLite hands it back naive."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """A unit of work: committed when the block ends, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
