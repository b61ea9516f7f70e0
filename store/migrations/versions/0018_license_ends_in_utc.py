"""A license's term end (`licenses.valid_until`) as the instant it is, on SQLite.

A term ends at 00:00 Beijing time. SQLite kept that value's wall time without its offset,
and the registry reads what SQLite hands back as UTC: every term end written so far on
SQLite reads eight hours late (the term expiring, and a renewal deemed granted, at 08:00
instead of 00:00). Since `store.db` writes every instant in UTC; here the ends already
written move back eight hours: a value at exactly 00:00:00 is such a Beijing midnight (an
end written in UTC is 16:00:00). PostgreSQL kept the instant: nothing to do there.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        sa.text(
            "UPDATE licenses SET valid_until = strftime('%Y-%m-%d %H:%M:%f000', valid_until,"
            " '-8 hours') WHERE valid_until IS NOT NULL AND time(valid_until) = '00:00:00'"
        )
    )


def downgrade() -> None:
    """Nothing: the code before read these UTC values right (it wrote them wrong)."""
