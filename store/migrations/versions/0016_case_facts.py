"""The KPI read model: what happened per case (`kpi_cases`) and per item (`kpi_items`),
projected from the applications' histories (`onething.case_facts`).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    # A store made by init_db after the models existed has them already.
    if not inspector.has_table("kpi_cases"):
        op.create_table(
            "kpi_cases",
            sa.Column("application_id", sa.String(64), nullable=False),
            sa.Column("source_digest", sa.String(64), nullable=False),
            sa.Column("last_event_id", sa.Integer(), nullable=False),
            sa.Column("case_number", sa.String(32), nullable=True),
            sa.Column("target", sa.String(64), nullable=False),
            sa.Column("is_bundle", sa.Boolean(), nullable=False),
            sa.Column("hall", sa.String(64), nullable=False),
            sa.Column("channel", sa.String(16), nullable=False),
            sa.Column("assisted", sa.Boolean(), nullable=False),
            sa.Column("catalog_version", sa.String(32), nullable=True),
            sa.Column("status", sa.String(32), nullable=False),
            _instant("received_at", nullable=False),
            _instant("accepted_at"),
            _instant("ended_at"),
            sa.Column("corrected", sa.Boolean(), nullable=False),
            sa.Column("correction_rounds", sa.Integer(), nullable=False),
            sa.Column("deficiency", sa.Boolean(), nullable=False),
            sa.Column("pledge", sa.String(16), nullable=True),
            sa.Column("trips", sa.Integer(), nullable=False),
            sa.Column("materials", sa.Integer(), nullable=False),
            sa.Column("steps", sa.Integer(), nullable=False),
            sa.Column("escalations_1", sa.Integer(), nullable=False),
            sa.Column("escalations_2", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("application_id"),
        )
        op.create_index("ix_kpi_cases_target", "kpi_cases", ["target"])
        op.create_index("ix_kpi_cases_hall", "kpi_cases", ["hall"])
        op.create_index("ix_kpi_cases_received_at", "kpi_cases", ["received_at"])
    if not inspector.has_table("kpi_items"):
        op.create_table(
            "kpi_items",
            sa.Column("application_id", sa.String(64), nullable=False),
            sa.Column("item_code", sa.String(64), nullable=False),
            sa.Column("department", sa.String(64), nullable=False),
            sa.Column("path", sa.String(16), nullable=True),
            sa.Column("outcome", sa.String(16), nullable=False),
            sa.Column("promised_days", sa.Integer(), nullable=False),
            sa.Column("statutory_days", sa.Integer(), nullable=False),
            sa.Column("extension_days", sa.Integer(), nullable=False),
            _instant("started_at"),
            _instant("decided_at"),
            _instant("licensed_at"),
            sa.Column("decision_days", sa.Integer(), nullable=True),
            sa.Column("license_days", sa.Integer(), nullable=True),
            sa.Column("paused_days", sa.Integer(), nullable=False),
            sa.Column("corrections", sa.Integer(), nullable=False),
            sa.Column("excluded", sa.Integer(), nullable=False),
            _instant("promised_due_at"),
            _instant("statutory_due_at"),
            sa.Column("promised_met", sa.Boolean(), nullable=True),
            sa.Column("statutory_met", sa.Boolean(), nullable=True),
            sa.Column("escalations_1", sa.Integer(), nullable=False),
            sa.Column("escalations_2", sa.Integer(), nullable=False),
            sa.Column("inspections_passed", sa.Integer(), nullable=False),
            sa.Column("inspections_failed", sa.Integer(), nullable=False),
            sa.Column("false_commitment", sa.Boolean(), nullable=False),
            sa.Column("revoked", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("application_id", "item_code"),
        )
        op.create_index("ix_kpi_items_department", "kpi_items", ["department"])


def downgrade() -> None:
    op.drop_index("ix_kpi_items_department", table_name="kpi_items")
    op.drop_table("kpi_items")
    op.drop_index("ix_kpi_cases_received_at", table_name="kpi_cases")
    op.drop_index("ix_kpi_cases_hall", table_name="kpi_cases")
    op.drop_index("ix_kpi_cases_target", table_name="kpi_cases")
    op.drop_table("kpi_cases")
