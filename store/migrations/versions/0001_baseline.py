"""Baseline: the tables the store had when migrations began.

A store made earlier by `init_db` (create_all) already has some or all of them:
only the missing ones are created, so such a store is adopted as it is.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)


def _create(
    name: str, *elements: sa.schema.SchemaItem, indexes: Sequence[tuple[str, bool]] = ()
) -> None:
    """Create the table and its single-column indexes (`ix_<table>_<column>`) unless it exists."""
    if sa.inspect(op.get_bind()).has_table(name):
        return
    op.create_table(name, *elements)
    for column, unique in indexes:
        op.create_index(f"ix_{name}_{column}", name, [column], unique=unique)


def upgrade() -> None:
    _create(
        "licenses",
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
        sa.Column("license_kind", sa.String(64), nullable=False),
        sa.Column("holder_name", sa.String(128), nullable=False),
        sa.Column("verification_code", sa.String(32), nullable=False),
        sa.Column("valid_from", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.Column("revoked_reason", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("number"),
        sa.UniqueConstraint("application_id", "item_code"),
        sa.UniqueConstraint("verification_code"),
        indexes=[("application_id", False)],
    )
    _create(
        "staff_tasks",
        sa.Column("task_id", sa.String(200), nullable=False),
        sa.Column("application_id", sa.String(64), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("hall", sa.String(64), nullable=True),
        sa.Column("due_at", UTC_TIME, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=True),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("closed_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("task_id"),
        indexes=[("application_id", False), ("department", False), ("status", False)],
    )
    _create(
        "supervision_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("limit_name", sa.String(64), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("due_at", UTC_TIME, nullable=False),
        sa.Column("boundary_at", UTC_TIME, nullable=False),
        sa.Column("escalated_at", UTC_TIME, nullable=False),
        sa.Column("total_days", sa.Integer(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed_at", UTC_TIME, nullable=True),
        sa.Column("resolution", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workflow_id", "limit_name", "stage"),
        indexes=[("department", False), ("level", False), ("workflow_id", False)],
    )
    _create(
        "catalog_versions",
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("loaded_at", UTC_TIME, nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("bundle_count", sa.Integer(), nullable=False),
        sa.Column("hall_count", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
        indexes=[("seq", True)],
    )
    _create(
        "catalog_items",
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("window", sa.String(32), nullable=False),
        sa.Column("promised_days", sa.Integer(), nullable=False),
        sa.Column("statutory_days", sa.Integer(), nullable=False),
        sa.Column("admits_deficiency", sa.Boolean(), nullable=False),
        sa.Column("admits_commitment", sa.Boolean(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["version"], ["catalog_versions.version"]),
        sa.PrimaryKeyConstraint("version", "code"),
        indexes=[("department", False)],
    )
    _create(
        "catalog_bundles",
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("promised_days", sa.Integer(), nullable=False),
        sa.Column("members", sa.String(2000), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["version"], ["catalog_versions.version"]),
        sa.PrimaryKeyConstraint("version", "code"),
    )
    _create(
        "catalog_halls",
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["version"], ["catalog_versions.version"]),
        sa.PrimaryKeyConstraint("version", "code"),
    )


def downgrade() -> None:
    for name in (
        "catalog_halls",
        "catalog_bundles",
        "catalog_items",
        "catalog_versions",
        "supervision_cases",
        "staff_tasks",
        "licenses",
    ):
        op.drop_table(name)
