"""Licenses: the ground of a revocation, which a verifier may be told.

Revocations recorded before carry their ground at the head of the reason (the workflows
wrote "承诺不实: …", "整改后复查仍不合格: …", "容缺材料逾期未补齐: …"): it is read from there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, not imported: this revision keeps its meaning if the domain changes.
GROUNDS = {
    "承诺不实": "false_commitment",
    "整改后复查仍不合格": "failed_reinspection",
    "容缺材料逾期未补齐": "broken_pledge",
}


def upgrade() -> None:
    # A store made by init_db after the model gained the column has it already.
    existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("licenses")}
    if "revocation_ground" not in existing:
        with op.batch_alter_table("licenses") as batch:
            batch.add_column(sa.Column("revocation_ground", sa.String(32), nullable=True))
    licenses = sa.table(
        "licenses",
        sa.column("revoked_reason", sa.String),
        sa.column("revocation_ground", sa.String),
    )
    for prefix, ground in GROUNDS.items():
        op.execute(
            licenses.update()
            .where(licenses.c.revocation_ground.is_(None))
            .where(licenses.c.revoked_reason.like(f"{prefix}%"))
            .values(revocation_ground=ground)
        )


def downgrade() -> None:
    with op.batch_alter_table("licenses") as batch:
        batch.drop_column("revocation_ground")
