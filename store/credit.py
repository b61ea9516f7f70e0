"""Credit records (信用记录): broken pledges, false commitments, revocations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select

from domain.credit import CreditEntry, CreditRecordKind
from store.db import session


class CreditRecord(SQLModel, table=True):
    __tablename__ = "credit_records"
    __table_args__ = (UniqueConstraint("application_id", "item_code", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(index=True, max_length=64)  # credit_subject(): a digest, not the ID
    kind: str = Field(max_length=32)
    application_id: str = Field(max_length=64)
    item_code: str = Field(default="", max_length=64)
    recorded_at: datetime
    detail: str = Field(max_length=500)
    repaired_at: datetime | None = None


def record(engine: Engine, entry: CreditEntry) -> CreditRecord:
    """Write the record once per application, item and kind; a retry returns it."""
    row = CreditRecord(
        subject=entry.subject,
        kind=entry.kind.value,
        application_id=entry.application_id,
        item_code=entry.item_code or "",
        recorded_at=entry.recorded_at,
        detail=entry.detail,
    )
    try:
        with session(engine) as s:
            s.add(row)
        return row
    except IntegrityError:
        with session(engine) as s:
            found = s.exec(
                select(CreditRecord).where(
                    CreditRecord.application_id == entry.application_id,
                    CreditRecord.item_code == (entry.item_code or ""),
                    CreditRecord.kind == entry.kind.value,
                )
            ).one()
            return found


def open_records(engine: Engine, subject: str) -> list[CreditRecordKind]:
    with session(engine) as s:
        rows = s.exec(
            select(CreditRecord).where(
                CreditRecord.subject == subject, col(CreditRecord.repaired_at).is_(None)
            )
        )
        return [CreditRecordKind(r.kind) for r in rows]


def records_of(engine: Engine, application_id: str) -> list[CreditRecord]:
    with session(engine) as s:
        return list(
            s.exec(select(CreditRecord).where(CreditRecord.application_id == application_id))
        )


def repair(engine: Engine, subject: str, at: datetime) -> int:
    """信用修复: close every open record of the subject; returns how many."""
    with session(engine) as s:
        rows = list(
            s.exec(
                select(CreditRecord).where(
                    CreditRecord.subject == subject, col(CreditRecord.repaired_at).is_(None)
                )
            )
        )
        for row in rows:
            row.repaired_at = at
            s.add(row)
        return len(rows)
