"""Credit records carry a status (active, objected, repaired, corrected) and every
objection, decision and repair is an event: who, when, why.

Records repaired before (repaired_at set) become "repaired", every other "active".

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    # A store made by init_db after the model gained these has them already.
    if "status" not in {c["name"] for c in inspector.get_columns("credit_records")}:
        with op.batch_alter_table("credit_records") as batch:
            batch.add_column(sa.Column("status", sa.String(16), nullable=True))
        records = sa.table(
            "credit_records",
            sa.column("status", sa.String(16)),
            sa.column("repaired_at", UTC_TIME),
        )
        bind.execute(
            records.update().where(records.c.repaired_at.is_not(None)).values(status="repaired")
        )
        bind.execute(records.update().where(records.c.status.is_(None)).values(status="active"))
        with op.batch_alter_table("credit_records") as batch:
            batch.alter_column("status", existing_type=sa.String(16), nullable=False)
    if not inspector.has_table("credit_record_events"):
        op.create_table(
            "credit_record_events",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("record_id", sa.Integer(), nullable=False),
            sa.Column("action", sa.String(32), nullable=False),
            sa.Column("actor", sa.String(64), nullable=False),
            sa.Column("role", sa.String(32), nullable=False),
            sa.Column("at", UTC_TIME, nullable=False),
            sa.Column("reason", sa.String(500), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_credit_record_events_record_id", "credit_record_events", ["record_id"])


def downgrade() -> None:
    op.drop_index("ix_credit_record_events_record_id", table_name="credit_record_events")
    op.drop_table("credit_record_events")
    with op.batch_alter_table("credit_records") as batch:
        batch.drop_column("status")
