"""Whether the store answers (the API's /healthz)."""

from __future__ import annotations

from sqlalchemy import Engine, text


def ping(engine: Engine) -> None:
    """Run a trivial query; raises whatever the driver raises when the store is down."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
