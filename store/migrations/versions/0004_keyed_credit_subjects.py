"""Credit subjects keyed: HMAC-SHA256 under the subject keyring, and the key's id.

Rows written before hold `credit_subject()`, an unkeyed SHA-256 that enumerating ID
numbers reverses. Each becomes HMAC(active key, "credit-subject" NUL old value), which is
what the store computes from the same workflow value today, so old and new records of a
person meet. The HMAC is written out here, not imported, so this revision keeps meaning
what it meant when it ran.

The key: `config.attributes["subject_keys"]` (a `onething.keys.SubjectKeys`, handed over
by `store.migrate.upgrade(..., subject_keys=...)`), else the process's configured subject
keyring; it is read only when there are rows to rewrite.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PURPOSE = b"credit-subject"


def _subject_keys() -> Any:
    given = context.config.attributes.get("subject_keys")
    if given is not None:
        return given
    from onething.keys import configured_subject_keys

    return configured_subject_keys()


def upgrade() -> None:
    bind = op.get_bind()
    existing = {c["name"] for c in sa.inspect(bind).get_columns("credit_records")}
    if "subject_key_id" not in existing:
        with op.batch_alter_table("credit_records") as batch:
            batch.add_column(sa.Column("subject_key_id", sa.String(64), nullable=True))
    table = sa.table(
        "credit_records",
        sa.column("id", sa.Integer()),
        sa.column("subject", sa.String(64)),
        sa.column("subject_key_id", sa.String(64)),
    )
    legacy = bind.execute(
        sa.select(table.c.id, table.c.subject).where(table.c.subject_key_id.is_(None))
    ).all()
    if legacy:
        keyring = _subject_keys().keyring
        kid = keyring.active_key_id
        key = keyring.key(kid)
        for row_id, old in legacy:
            keyed = hmac.new(key, _PURPOSE + b"\x00" + old.encode(), hashlib.sha256).hexdigest()
            bind.execute(
                table.update().where(table.c.id == row_id).values(subject=keyed, subject_key_id=kid)
            )
    if "subject_key_id" not in existing or any(
        c["name"] == "subject_key_id" and c["nullable"]
        for c in sa.inspect(bind).get_columns("credit_records")
    ):
        with op.batch_alter_table("credit_records") as batch:
            batch.alter_column("subject_key_id", existing_type=sa.String(64), nullable=False)


def downgrade() -> None:
    bind = op.get_bind()
    count = bind.execute(sa.text("SELECT COUNT(*) FROM credit_records")).scalar_one()
    if count:
        raise RuntimeError(
            f"credit_records holds {count} keyed subjects, which cannot be turned back into "
            "the unkeyed digests revision 0003 expects; restore a backup taken before 0004"
        )
    with op.batch_alter_table("credit_records") as batch:
        batch.drop_column("subject_key_id")
