"""办件编号: the number each accepted application is given, unique per region, day and
sequence, and one per application.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A store made by init_db after the model existed has it already.
    if sa.inspect(op.get_bind()).has_table("case_numbers"):
        return
    op.create_table(
        "case_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("hall", sa.String(64), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id"),
        sa.UniqueConstraint("region_code", "day", "sequence"),
    )


def downgrade() -> None:
    op.drop_table("case_numbers")
