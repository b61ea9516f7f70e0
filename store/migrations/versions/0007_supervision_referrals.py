"""Supervision referrals (移送监管): cases the procedure hands to supervision on purpose
(after a revocation), beside the supervision cases of overdue limits.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A store made by init_db after the model existed has the table already.
    if sa.inspect(op.get_bind()).has_table("supervision_referrals"):
        return
    op.create_table(
        "supervision_referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("referred_at", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed_at", UTC_TIME, nullable=True),
        sa.Column("resolution", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id", "kind", "subject"),
    )
    op.create_index(
        "ix_supervision_referrals_workflow_id", "supervision_referrals", ["workflow_id"]
    )
    op.create_index("ix_supervision_referrals_department", "supervision_referrals", ["department"])


def downgrade() -> None:
    op.drop_index("ix_supervision_referrals_department", table_name="supervision_referrals")
    op.drop_index("ix_supervision_referrals_workflow_id", table_name="supervision_referrals")
    op.drop_table("supervision_referrals")
