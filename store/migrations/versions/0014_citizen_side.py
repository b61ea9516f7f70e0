"""The citizen's side: the progress look-up's keyed check per application, and help
requests (帮办代办) left for a hall.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    # A store made by init_db after the models existed has them already.
    if not inspector.has_table("progress_contacts"):
        op.create_table(
            "progress_contacts",
            sa.Column("application_id", sa.String(64), nullable=False),
            sa.Column("key_id", sa.String(64), nullable=False),
            sa.Column("check_value", sa.String(64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("application_id"),
        )
    if not inspector.has_table("help_requests"):
        op.create_table(
            "help_requests",
            sa.Column("request_id", sa.String(64), nullable=False),
            sa.Column("hall", sa.String(64), nullable=False),
            sa.Column("item_code", sa.String(64), nullable=True),
            sa.Column("name", sa.String(64), nullable=False),
            sa.Column("phone", sa.String(16), nullable=False),
            sa.Column("preferred_time", sa.String(64), nullable=False),
            sa.Column("note", sa.String(500), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("answered_by", sa.String(64), nullable=True),
            sa.Column("answer", sa.String(500), nullable=True),
            sa.PrimaryKeyConstraint("request_id"),
        )
        op.create_index("ix_help_requests_hall", "help_requests", ["hall"])


def downgrade() -> None:
    op.drop_index("ix_help_requests_hall", table_name="help_requests")
    op.drop_table("help_requests")
    op.drop_table("progress_contacts")
