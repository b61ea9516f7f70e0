"""Credit records (信用记录) and notifications.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    bind = op.get_bind()
    # A store made by init_db after these models existed has them already.
    if not sa.inspect(bind).has_table("credit_records"):
        op.create_table(
            "credit_records",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("subject", sa.String(64), nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("application_id", sa.String(64), nullable=False),
            sa.Column("item_code", sa.String(64), nullable=False),
            sa.Column("recorded_at", UTC_TIME, nullable=False),
            sa.Column("detail", sa.String(500), nullable=False),
            sa.Column("repaired_at", UTC_TIME, nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("application_id", "item_code", "kind"),
        )
        op.create_index("ix_credit_records_subject", "credit_records", ["subject"])
    if not sa.inspect(bind).has_table("notifications"):
        op.create_table(
            "notifications",
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("application_id", sa.String(64), nullable=False),
            sa.Column("recipient", sa.String(64), nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("message", sa.String(1000), nullable=False),
            sa.Column("created_at", UTC_TIME, nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
        op.create_index("ix_notifications_application_id", "notifications", ["application_id"])


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("credit_records")
