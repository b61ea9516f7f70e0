"""Ratings of cases (好差评): one per case, its items, the 差评 follow-ups by department, and
appeals (申诉复核).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    # A store made by init_db after the models existed has them already.
    if not inspector.has_table("ratings"):
        op.create_table(
            "ratings",
            sa.Column("case_number", sa.String(32), nullable=False),
            sa.Column("application_id", sa.String(64), nullable=False),
            sa.Column("hall", sa.String(64), nullable=False),
            sa.Column("level", sa.String(32), nullable=False),
            sa.Column("reason", sa.String(500), nullable=True),
            sa.Column("channel", sa.String(16), nullable=False),
            sa.Column("rater", sa.String(16), nullable=False),
            sa.Column("rater_key_id", sa.String(64), nullable=False),
            sa.Column("rater_ref", sa.String(64), nullable=False),
            sa.Column("recorded_by", sa.String(64), nullable=True),
            sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("excluded", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("case_number"),
            sa.UniqueConstraint("application_id"),
        )
        op.create_index("ix_ratings_hall", "ratings", ["hall"])
        op.create_index("ix_ratings_rated_at", "ratings", ["rated_at"])
    if not inspector.has_table("rating_items"):
        op.create_table(
            "rating_items",
            sa.Column("case_number", sa.String(32), nullable=False),
            sa.Column("item_code", sa.String(64), nullable=False),
            sa.Column("department", sa.String(64), nullable=False),
            sa.PrimaryKeyConstraint("case_number", "item_code"),
        )
        op.create_index("ix_rating_items_department", "rating_items", ["department"])
    if not inspector.has_table("rating_follow_ups"):
        op.create_table(
            "rating_follow_ups",
            sa.Column("case_number", sa.String(32), nullable=False),
            sa.Column("department", sa.String(64), nullable=False),
            sa.Column("workflow_id", sa.String(200), nullable=False),
            sa.Column("days", sa.Integer(), nullable=False),
            sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("text", sa.String(500), nullable=True),
            sa.Column("answered_by", sa.String(64), nullable=True),
            sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("in_time", sa.Boolean(), nullable=True),
            sa.PrimaryKeyConstraint("case_number", "department"),
        )
        op.create_index("ix_rating_follow_ups_status", "rating_follow_ups", ["status"])
    if not inspector.has_table("rating_appeals"):
        op.create_table(
            "rating_appeals",
            sa.Column("case_number", sa.String(32), nullable=False),
            sa.Column("department", sa.String(64), nullable=False),
            sa.Column("reason", sa.String(500), nullable=False),
            sa.Column("appealed_by", sa.String(64), nullable=False),
            sa.Column("appealed_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("decided_by", sa.String(64), nullable=True),
            sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("decision_reason", sa.String(500), nullable=True),
            sa.PrimaryKeyConstraint("case_number"),
        )
        op.create_index("ix_rating_appeals_status", "rating_appeals", ["status"])


def downgrade() -> None:
    op.drop_index("ix_rating_appeals_status", table_name="rating_appeals")
    op.drop_table("rating_appeals")
    op.drop_index("ix_rating_follow_ups_status", table_name="rating_follow_ups")
    op.drop_table("rating_follow_ups")
    op.drop_index("ix_rating_items_department", table_name="rating_items")
    op.drop_table("rating_items")
    op.drop_index("ix_ratings_rated_at", table_name="ratings")
    op.drop_index("ix_ratings_hall", table_name="ratings")
    op.drop_table("ratings")
