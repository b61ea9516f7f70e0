"""The KPI read model summed per Beijing day and month (`kpi_sums`, `kpi_days`), the
state that says whether the sums match the facts (`kpi_state`) and the triggers that count
every change to the facts in it, and an index for the open items past their due instant.
The sums are built here for the rows that exist (`store.case_sums.rebuild`).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FACTS = ("kpi_cases", "kpi_items")
_EVENTS = ("insert", "update", "delete")
_COUNTERS = (
    "cases",
    "accepted",
    "refused",
    "lapsed",
    "corrected",
    "open",
    "case_esc_1",
    "case_esc_2",
    "trips",
    "materials",
    "steps",
    "pledges_kept",
    "pledges_broken",
    "pledges_open",
    "items",
    "items_decided",
    "promised_hits",
    "promised_of",
    "statutory_hits",
    "statutory_of",
    "promised_sum",
    "statutory_sum",
    "item_esc_1",
    "item_esc_2",
    "commitment_items",
    "inspections_passed",
    "inspections_failed",
    "false_commitments",
    "revoked",
)


def _key() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("span", sa.String(8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hall", sa.String(64), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("is_bundle", sa.Boolean(), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("item_code", sa.String(64), nullable=False),
    ]


_KEY = ("span", "day", "hall", "target", "is_bundle", "department", "item_code")


def _triggers(bind: sa.Connection) -> None:
    """Every change to the facts counted in kpi_state.facts (the sums compare with it)."""
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION kpi_facts_changed() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "UPDATE kpi_state SET facts = facts + 1 WHERE id = 1; RETURN NULL; END $$"
        )
        for table in _FACTS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_changed ON {table}")
            op.execute(
                f"CREATE TRIGGER {table}_changed "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION kpi_facts_changed()"
            )
        return
    for table in _FACTS:
        for event in _EVENTS:
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_{event}d AFTER {event.upper()} "
                f"ON {table} BEGIN UPDATE kpi_state SET facts = facts + 1 WHERE id = 1; END"
            )


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    # A store made by init_db after the models existed has the tables already.
    if not inspector.has_table("kpi_sums"):
        op.create_table(
            "kpi_sums",
            *_key(),
            *[sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTERS],
            sa.PrimaryKeyConstraint(*_KEY),
        )
    if not inspector.has_table("kpi_days"):
        op.create_table(
            "kpi_days",
            *_key(),
            sa.Column("working_days", sa.Integer(), nullable=False),
            sa.Column("items", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint(*_KEY, "working_days"),
        )
    if not inspector.has_table("kpi_state"):
        op.create_table(
            "kpi_state",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("facts", sa.Integer(), nullable=False),
            sa.Column("summed", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    indexes = {i["name"] for i in inspector.get_indexes("kpi_items")}
    if "ix_kpi_items_open_due" not in indexes:
        op.create_index("ix_kpi_items_open_due", "kpi_items", ["outcome", "promised_due_at"])
    state = sa.table("kpi_state", sa.column("id"), sa.column("facts"), sa.column("summed"))
    if bind.execute(sa.select(state.c.id)).first() is None:
        bind.execute(sa.insert(state).values(id=1, facts=1, summed=0))
    _triggers(bind)
    from store import case_sums

    case_sums.rebuild(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in _FACTS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_changed ON {table}")
        op.execute("DROP FUNCTION IF EXISTS kpi_facts_changed()")
    else:
        for table in _FACTS:
            for event in _EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}d")
    op.drop_index("ix_kpi_items_open_due", table_name="kpi_items")
    op.drop_table("kpi_state")
    op.drop_table("kpi_days")
    op.drop_table("kpi_sums")
