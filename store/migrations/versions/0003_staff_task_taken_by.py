"""Staff tasks: who took the task, and when.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A store made by init_db after the model gained these columns has them already.
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("staff_tasks")}
    if "taken_by" in existing:
        return
    with op.batch_alter_table("staff_tasks") as batch:
        batch.add_column(sa.Column("taken_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("taken_at", UTC_TIME, nullable=True))
        batch.create_index("ix_staff_tasks_taken_by", ["taken_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_tasks") as batch:
        batch.drop_index("ix_staff_tasks_taken_by")
        batch.drop_column("taken_at")
        batch.drop_column("taken_by")
