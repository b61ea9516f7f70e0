"""Alembic environment: runs on the connection `store.migrate` hands over.

No alembic.ini: `store.migrate` builds the configuration in code, so the same
migrations run from `onething db upgrade`, the embedded default's start-up and
the tests. SQLite gets batch mode, so a later ALTER that SQLite lacks becomes
a table copy.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from store.migrate import table_metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=table_metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through store.migrate (it passes the connection)")
_run(connection)
