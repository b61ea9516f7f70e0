"""Credit records (信用记录): broken pledges, false commitments, revocations; objections
to them (异议) and their repair (信用修复), each an event (who, when, why).

Callers pass the credit subject as the workflow computes it (`credit_subject()`, an
unkeyed digest of the ID number or credit code); this module keeps only its HMAC under
the subject keyring (`onething.keys`) and the key's id, so a copy of the table cannot be
reversed to ID numbers by enumerating them. Look-ups try every key of the ring and rewrite
rows found under an older key to the active one.

A record bars while its status is active or objected (`domain.credit.RecordStatus`); a
change of status is a conditional update, so two supervisors deciding at once cannot
both succeed.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import Column, DateTime, Engine, UniqueConstraint, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from domain.credit import (
    BARRING_STATUSES,
    CreditAction,
    CreditActionRefused,
    CreditEntry,
    CreditEventFacts,
    CreditRecordFacts,
    CreditRecordKind,
    RecordStatus,
    after,
)
from onething.keys import Purpose, SubjectKeys, configured_subject_keys
from store.db import in_utc, session


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
    # active | objected | repaired | corrected (domain.credit.RecordStatus)
    status: str = Field(default=RecordStatus.ACTIVE.value, max_length=16)


class CreditRecordEvent(SQLModel, table=True):
    """An objection, its decision, or a repair of one record (append only)."""

    __tablename__ = "credit_record_events"

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(index=True)
    action: str = Field(max_length=32)  # domain.credit.CreditAction
    actor: str = Field(max_length=64)  # staff ID, or the applicant's token name
    role: str = Field(max_length=32)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reason: str = Field(max_length=500)


class RecordNotFound(LookupError):
    """No such record, or not under the subject given."""


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


def _rows_of(
    s: Session, keys: SubjectKeys, subject: str, *, barring_only: bool = True
) -> list[CreditRecord]:
    """The subject's rows (those that bar, or all) under any key of the ring, each
    rewritten under the active key if it was not (the session's commit writes them)."""
    candidates = keys.candidates(Purpose.CREDIT_SUBJECT, subject)
    query = select(CreditRecord).where(col(CreditRecord.subject).in_(list(candidates.values())))
    if barring_only:
        query = query.where(col(CreditRecord.status).in_([st.value for st in BARRING_STATUSES]))
    rows = [
        row
        for row in s.exec(query.order_by(col(CreditRecord.id)))
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
        return [CreditRecordKind(r.kind) for r in _rows_of(s, keys, subject)]


def records_of(engine: Engine, application_id: str) -> list[CreditRecord]:
    with session(engine) as s:
        return list(
            s.exec(select(CreditRecord).where(CreditRecord.application_id == application_id))
        )


def repair(engine: Engine, subject: str, at: datetime, keys: SubjectKeys | None = None) -> int:
    """信用修复: close every open record of the subject; returns how many."""
    keys = keys or configured_subject_keys()
    with session(engine) as s:
        rows = _rows_of(s, keys, subject)
        for row in rows:
            row.repaired_at, row.status = at, RecordStatus.REPAIRED.value
            s.add(row)
        return len(rows)


def rows_by_key_id(engine: Engine) -> dict[str, int]:
    """How many records each subject key id still keys: an old key may leave the ring
    only when it keys none."""
    with session(engine) as s:
        return dict(Counter(s.exec(select(CreditRecord.subject_key_id))))


# -- what staff and the applicant read, objections and repairs ------------------------------


def _events_by_record(s: Session, record_ids: list[int]) -> dict[int, list[CreditEventFacts]]:
    out: dict[int, list[CreditEventFacts]] = {i: [] for i in record_ids}
    if not record_ids:
        return out
    rows = s.exec(
        select(CreditRecordEvent)
        .where(col(CreditRecordEvent.record_id).in_(record_ids))
        .order_by(col(CreditRecordEvent.id))
    )
    for e in rows:
        out[e.record_id].append(
            CreditEventFacts(
                action=CreditAction(e.action),
                by=e.actor,
                role=e.role,
                at=in_utc(e.at),
                reason=e.reason,
            )
        )
    return out


def _facts(row: CreditRecord, events: list[CreditEventFacts]) -> CreditRecordFacts:
    assert row.id is not None
    return CreditRecordFacts(
        id=row.id,
        kind=CreditRecordKind(row.kind),
        application_id=row.application_id,
        item_code=row.item_code or None,
        recorded_at=in_utc(row.recorded_at),
        detail=row.detail,
        status=RecordStatus(row.status),
        events=events,
    )


def records_of_subject(
    engine: Engine, subject: str, keys: SubjectKeys | None = None
) -> list[CreditRecordFacts]:
    """Every record of the subject, whatever its status, oldest first, with its events."""
    keys = keys or configured_subject_keys()
    with session(engine) as s:
        rows = _rows_of(s, keys, subject, barring_only=False)
        events = _events_by_record(s, [r.id for r in rows if r.id is not None])
        return [_facts(r, events[r.id]) for r in rows if r.id is not None]


def record_facts(engine: Engine, record_id: int) -> CreditRecordFacts | None:
    with session(engine) as s:
        row = s.get(CreditRecord, record_id)
        if row is None:
            return None
        return _facts(row, _events_by_record(s, [record_id])[record_id])


def _belongs_to(row: CreditRecord, subject: str, keys: SubjectKeys) -> bool:
    return keys.candidates(Purpose.CREDIT_SUBJECT, subject).get(row.subject_key_id) == row.subject


def act_on(
    engine: Engine,
    record_id: int,
    action: CreditAction,
    *,
    by: str,
    role: str,
    reason: str,
    at: datetime,
    subject: str | None = None,
    keys: SubjectKeys | None = None,
) -> CreditRecordFacts:
    """Object to a record, decide the objection, or repair it: the status changes as
    `domain.credit.after` says and the event is written, in one transaction.

    `subject` (the objector's `credit_subject()`): the record must be theirs, else it is
    RecordNotFound as for an unknown id. CreditActionRefused: what the status does not
    allow, also when someone else changed it a moment before."""
    with session(engine) as s:
        row = s.get(CreditRecord, record_id)
        if row is None or (
            subject is not None and not _belongs_to(row, subject, keys or configured_subject_keys())
        ):
            raise RecordNotFound(f"there is no credit record {record_id}")
        events = _events_by_record(s, [record_id])[record_id]
        rejected_before = any(e.action is CreditAction.OBJECTION_REJECTED for e in events)
        before = RecordStatus(row.status)
        status = after(before, action, rejected_before=rejected_before)
        changes: dict[str, object] = {"status": status.value}
        if status is RecordStatus.REPAIRED:
            changes["repaired_at"] = at
        changed = s.connection().execute(
            update(CreditRecord)
            .where(col(CreditRecord.id) == record_id, col(CreditRecord.status) == before.value)
            .values(**changes)
        )
        if changed.rowcount != 1:
            raise CreditActionRefused("the record changed a moment ago; read it again")
        s.add(
            CreditRecordEvent(
                record_id=record_id, action=action.value, actor=by, role=role, at=at, reason=reason
            )
        )
        s.flush()
        s.expire(row)
        s.refresh(row)
        return _facts(row, _events_by_record(s, [record_id])[record_id])
