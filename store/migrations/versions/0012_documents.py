"""Documents (文书) issued to applicants: numbered per application, one per notice.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A store made by init_db after the model existed has it already.
    if sa.inspect(op.get_bind()).has_table("documents"):
        return
    op.create_table(
        "documents",
        sa.Column("number", sa.String(80), nullable=False),
        sa.Column("notice_key", sa.String(250), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(64), nullable=False),
        sa.Column("issuer", sa.String(128), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("legal_basis", sa.String(200), nullable=False),
        sa.Column("content", sa.String(1000), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("number"),
        sa.UniqueConstraint("notice_key"),
        sa.UniqueConstraint("application_id", "sequence"),
    )
    op.create_index("ix_documents_application_id", "documents", ["application_id"])


def downgrade() -> None:
    op.drop_index("ix_documents_application_id", table_name="documents")
    op.drop_table("documents")
