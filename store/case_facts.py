"""What happened, per case and per item: the read model the KPI report counts.

One row per application (`kpi_cases`, keyed by application ID) and one per item of it
(`kpi_items`, keyed by application ID and item code), written by the projector
(`onething.case_facts`) from the application's Temporal histories. Each case row keeps the
digest of the histories it was read from (every workflow's last event ID): a refresh that
finds the same digest writes nothing, one that finds a longer history replaces the case's
rows in one transaction. So a case is counted once however often it is projected, and a
worker killed and replayed adds no event, hence nothing to count twice.

No personal data: codes, instants, counts. Instants are kept in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Column, DateTime, Engine, Index, Table, delete
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, select

from store.db import in_utc, session


def _instant(*, index: bool = False, nullable: bool = True) -> object:
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index),
    )


class CaseFact(SQLModel, table=True):
    __tablename__ = "kpi_cases"

    application_id: str = Field(primary_key=True, max_length=64)
    source_digest: str = Field(max_length=64)  # sha256 of every workflow's last event ID
    last_event_id: int  # the application workflow's own
    case_number: str | None = Field(default=None, max_length=32)
    target: str = Field(max_length=64, index=True)  # bundle or item code
    is_bundle: bool = False
    hall: str = Field(max_length=64, index=True)
    channel: str = Field(max_length=16)
    assisted: bool = False
    catalog_version: str | None = Field(default=None, max_length=32)
    status: str = Field(max_length=32)
    received_at: datetime = _instant(index=True, nullable=False)  # type: ignore[assignment]
    accepted_at: datetime | None = _instant()  # type: ignore[assignment]
    ended_at: datetime | None = _instant()  # type: ignore[assignment]
    corrected: bool = False  # a correction notice (补正) before acceptance
    correction_rounds: int = 0  # materials handed in while the correction was awaited
    deficiency: bool = False  # accepted with deficiency (容缺受理)
    pledge: str | None = Field(default=None, max_length=16)  # kept / broken / open
    trips: int = 0
    materials: int = 0  # distinct materials the applicant handed in
    steps: int = 0
    escalations_1: int = 0  # the application's own limits (correction, supplement, joint)
    escalations_2: int = 0


class ItemFact(SQLModel, table=True):
    __tablename__ = "kpi_items"
    # The open items past their due instant: counted live, since as_of varies per report.
    __table_args__ = (Index("ix_kpi_items_open_due", "outcome", "promised_due_at"),)

    application_id: str = Field(primary_key=True, max_length=64)
    item_code: str = Field(primary_key=True, max_length=64)
    department: str = Field(max_length=64, index=True)
    path: str | None = Field(default=None, max_length=16)
    outcome: str = Field(max_length=16)  # approved / rejected / stopped / open
    promised_days: int
    statutory_days: int
    extension_days: int = 0
    started_at: datetime | None = _instant()  # type: ignore[assignment]
    decided_at: datetime | None = _instant()  # type: ignore[assignment]
    licensed_at: datetime | None = _instant()  # type: ignore[assignment]
    decision_days: int | None = None  # working days, acceptance -> decision, less paused
    license_days: int | None = None  # working days, acceptance -> license, less paused
    paused_days: int = 0  # working days paused: the applicant's correction, excluded time
    corrections: int = 0  # a reviewer's correction requests
    excluded: int = 0  # excluded time (Art. 45) periods
    promised_due_at: datetime | None = _instant()  # type: ignore[assignment]
    statutory_due_at: datetime | None = _instant()  # type: ignore[assignment]
    promised_met: bool | None = None  # None: not decided yet (or no limit)
    statutory_met: bool | None = None
    escalations_1: int = 0
    escalations_2: int = 0
    inspections_passed: int = 0
    inspections_failed: int = 0
    false_commitment: bool = False
    revoked: bool = False


def digest_of(application_id: str, engine: Engine) -> str | None:
    with session(engine) as s:
        row = s.get(CaseFact, application_id)
        return row.source_digest if row else None


def digests(engine: Engine) -> dict[str, str]:
    """Every projected case's digest, to skip unchanged cases without reading them."""
    with session(engine) as s:
        return dict(s.exec(select(CaseFact.application_id, CaseFact.source_digest)).all())


def write(engine: Engine, case: CaseFact, items: list[ItemFact]) -> bool:
    """Write a case and its items unless the same digest is stored; True when written.

    The per-day sums (`store.case_sums`) change in the same transaction: the case's old
    rows taken out, its new ones added; when they were stale, all summed again."""
    from store import case_sums  # it sums these tables: imported here, not in a cycle

    case.received_at = in_utc(case.received_at) or case.received_at
    try:
        with session(engine) as s:
            conn = s.connection()
            summed = case_sums.lock(conn)
            stored = s.get(CaseFact, case.application_id)
            if stored is not None and stored.source_digest == case.source_digest:
                return False
            if summed and stored is not None:
                case_sums.add(conn, case.application_id, -1)
            s.exec(delete(ItemFact).where(ItemFact.application_id == case.application_id))  # type: ignore[arg-type]
            if stored is not None:
                s.delete(stored)
                s.flush()
            s.add(case)
            s.add_all(items)
            s.flush()
            if not summed:
                case_sums.rebuild(conn)
                return True
            case_sums.add(conn, case.application_id, 1)
            if stored is not None:
                case_sums.prune(conn, stored.received_at)
            case_sums.settle(conn)
    except IntegrityError:  # another refresh wrote the same case meanwhile: one row stands
        return False
    return True


def cases(engine: Engine, application_id: str) -> tuple[CaseFact | None, list[ItemFact]]:
    with session(engine) as s:
        case = s.get(CaseFact, application_id)
        items = s.exec(select(ItemFact).where(ItemFact.application_id == application_id)).all()
        return case, sorted(items, key=lambda i: i.item_code)


def open_item_dues(
    engine: Engine, *, received_from: datetime, received_before: datetime, hall: str | None
) -> list[tuple[str, datetime, int, int]]:
    """(department, promised due instant in UTC, promised days, extension days) of every
    open item with a promised due instant, of the cases received in [received_from,
    received_before) (at `hall`): the dashboard's clock states are read from these."""
    item = cast(Table, ItemFact.__table__).c  # type: ignore[attr-defined]
    case = cast(Table, CaseFact.__table__).c  # type: ignore[attr-defined]
    where: list[Any] = [
        item.outcome == "open",
        item.promised_due_at.is_not(None),
        case.received_at >= received_from,
        case.received_at < received_before,
    ]
    if hall is not None:
        where.append(case.hall == hall)
    query = (
        sa_select(item.department, item.promised_due_at, item.promised_days, item.extension_days)
        .join_from(
            item.application_id.table,
            case.application_id.table,
            item.application_id == case.application_id,
        )
        .where(*where)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [(d, in_utc(due), days, ext) for d, due, days, ext in rows]


__all__ = ["CaseFact", "ItemFact", "cases", "digest_of", "digests", "open_item_dues", "write"]
