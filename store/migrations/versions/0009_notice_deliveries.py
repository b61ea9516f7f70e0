"""Delivery of notices: a status per notice and channel (e-mail, SMS), attempts, last
attempt, next attempt, reason, and the delivery loop's lease.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A store made by init_db after the model existed has it already.
    if sa.inspect(op.get_bind()).has_table("notice_deliveries"):
        return
    op.create_table(
        "notice_deliveries",
        sa.Column("notice_key", sa.String(250), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=True),
        sa.Column("last_attempt_at", UTC_TIME, nullable=True),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("claimed_until", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["notice_key"], ["notifications.key"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("notice_key", "channel"),
    )
    op.create_index("ix_notice_deliveries_due", "notice_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notice_deliveries_due", table_name="notice_deliveries")
    op.drop_table("notice_deliveries")
