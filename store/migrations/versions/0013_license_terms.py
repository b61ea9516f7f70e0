"""Licenses: the end of the current term, its number and how it came about; renewal cases.

Licenses issued before keep `valid_until` NULL: their validity is unknown to the registry,
not derived. The catalog versions in force when they were issued stated no validity, and
the date printed on an issued license is a fact of that license: the registry records it
when it is known, it does not guess it from today's catalog. They get no renewal reminder
and no deemed renewal; the verification page says the expiry is not registered.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    # A store made by init_db after the model gained the columns has them already.
    existing = {c["name"] for c in inspector.get_columns("licenses")}
    added: list[sa.Column[object]] = [
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("term", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("renewed_as", sa.String(16), nullable=True),
    ]
    missing = [column for column in added if column.name not in existing]
    if missing:
        with op.batch_alter_table("licenses") as batch:
            for column in missing:
                batch.add_column(column)
    if inspector.has_table("license_renewals"):
        return
    op.create_table(
        "license_renewals",
        sa.Column("renewal_id", sa.String(64), nullable=False),
        sa.Column("license_number", sa.String(64), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(32), nullable=False),
        sa.Column("hall", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(64), nullable=True),
        sa.Column("decision_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("renewal_id"),
        sa.UniqueConstraint("license_number", "term"),
    )
    op.create_index("ix_license_renewals_license_number", "license_renewals", ["license_number"])


def downgrade() -> None:
    op.drop_index("ix_license_renewals_license_number", table_name="license_renewals")
    op.drop_table("license_renewals")
    with op.batch_alter_table("licenses") as batch:
        batch.drop_column("renewed_as")
        batch.drop_column("term")
        batch.drop_column("valid_until")
