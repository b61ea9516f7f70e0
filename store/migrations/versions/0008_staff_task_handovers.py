"""Staff tasks change hands: the last handover on the task, every change in its events.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    # A store made by init_db after the model gained these has them already.
    existing = {c["name"] for c in inspector.get_columns("staff_tasks")}
    if "handed_over_by" not in existing:
        with op.batch_alter_table("staff_tasks") as batch:
            batch.add_column(sa.Column("handed_over_by", sa.String(64), nullable=True))
            batch.add_column(sa.Column("handed_over_at", UTC_TIME, nullable=True))
            batch.add_column(sa.Column("handed_over_from", sa.String(64), nullable=True))
    if not inspector.has_table("staff_task_events"):
        op.create_table(
            "staff_task_events",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("task_id", sa.String(200), nullable=False),
            sa.Column("action", sa.String(16), nullable=False),
            sa.Column("actor", sa.String(64), nullable=False),
            sa.Column("from_staff", sa.String(64), nullable=True),
            sa.Column("to_staff", sa.String(64), nullable=True),
            sa.Column("at", UTC_TIME, nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_staff_task_events_task_id", "staff_task_events", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_task_events_task_id", table_name="staff_task_events")
    op.drop_table("staff_task_events")
    with op.batch_alter_table("staff_tasks") as batch:
        batch.drop_column("handed_over_from")
        batch.drop_column("handed_over_at")
        batch.drop_column("handed_over_by")
