"""Credit records (信用记录): broken pledges, false commitments, revocations.

Callers pass the credit subject as the workflow computes it (`credit_subject()`, an
unkeyed digest of the ID number); this module keeps only its HMAC under the subject
keyring (`onething.keys`) and the key's id, so a copy of the table cannot be reversed
to ID numbers by enumerating them. Look-ups try every key of the ring and rewrite rows
found under an older key to the active one.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import Engine, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from domain.credit import CreditEntry, CreditRecordKind
from onething.keys import Purpose, SubjectKeys, configured_subject_keys
from store.db import session


class CreditRecord(SQLModel, table=True):
    __tablename__ = "credit_records"
    __table_args__ = (UniqueConstraint("application_id", "item_code", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    # HMAC of credit_subject() under the key `subject_key_id`: neither the ID nor its digest.
    subject: str = Field(index=True, max_length=64)
    subject_key_id: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    application_id: str = Field(max_length=64)
    item_code: str = Field(default="", max_length=64)
    recorded_at: datetime
    detail: str = Field(max_length=500)
    repaired_at: datetime | None = None


def record(engine: Engine, entry: CreditEntry, keys: SubjectKeys | None = None) -> CreditRecord:
    """Write the record once per application, item and kind; a retry returns it."""
    keyed = (keys or configured_subject_keys()).keyed(Purpose.CREDIT_SUBJECT, entry.subject)
    row = CreditRecord(
        subject=keyed.value,
        subject_key_id=keyed.key_id,
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


def _open_rows_of(s: Session, keys: SubjectKeys, subject: str) -> list[CreditRecord]:
    """The subject's open rows under any key of the ring, each rewritten under the active
    key if it was not (the session's commit writes them)."""
    candidates = keys.candidates(Purpose.CREDIT_SUBJECT, subject)
    rows = [
        row
        for row in s.exec(
            select(CreditRecord).where(
                col(CreditRecord.subject).in_(list(candidates.values())),
                col(CreditRecord.repaired_at).is_(None),
            )
        )
        if candidates.get(row.subject_key_id) == row.subject
    ]
    active = keys.keyed(Purpose.CREDIT_SUBJECT, subject)
    for row in rows:
        if row.subject_key_id != active.key_id:
            row.subject, row.subject_key_id = active.value, active.key_id
            s.add(row)
    return rows


def open_records(
    engine: Engine, subject: str, keys: SubjectKeys | None = None
) -> list[CreditRecordKind]:
    keys = keys or configured_subject_keys()
    with session(engine) as s:
        return [CreditRecordKind(r.kind) for r in _open_rows_of(s, keys, subject)]


def records_of(engine: Engine, application_id: str) -> list[CreditRecord]:
    with session(engine) as s:
        return list(
            s.exec(select(CreditRecord).where(CreditRecord.application_id == application_id))
        )


def repair(engine: Engine, subject: str, at: datetime, keys: SubjectKeys | None = None) -> int:
    """信用修复: close every open record of the subject; returns how many."""
    keys = keys or configured_subject_keys()
    with session(engine) as s:
        rows = _open_rows_of(s, keys, subject)
        for row in rows:
            row.repaired_at = at
            s.add(row)
        return len(rows)


def rows_by_key_id(engine: Engine) -> dict[str, int]:
    """How many records each subject key id still keys: an old key may leave the ring
    only when it keys none."""
    with session(engine) as s:
        return dict(Counter(s.exec(select(CreditRecord.subject_key_id))))
