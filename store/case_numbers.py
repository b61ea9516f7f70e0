"""办件编号 as allocated: one row per accepted application, its sequence per region and day.

The next sequence is taken in the statement that writes the row (INSERT ... SELECT max + 1),
so it is one transaction on SQLite and PostgreSQL alike; two workers taking the same
sequence at once collide on the unique constraint and the loser takes the next. The
application ID is unique too: a retried allocation finds the number it was given.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine, UniqueConstraint, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel
from sqlmodel import select as sm_select

from domain.case_number import CaseNumber, acceptance_day
from store.db import session

# Each lost race means another worker took a number; give up (and let the activity retry
# with backoff) only after far more than a hall's workers could ever produce at once.
_ATTEMPTS = 50


class CaseNumberRow(SQLModel, table=True):
    __tablename__ = "case_numbers"
    __table_args__ = (UniqueConstraint("region_code", "day", "sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: str = Field(max_length=64, unique=True)
    hall: str = Field(max_length=64)
    region_code: str = Field(max_length=6)
    day: str = Field(max_length=8)  # YYYYMMDD, Beijing time
    sequence: int
    accepted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))

    def number(self) -> CaseNumber:
        day = datetime.strptime(self.day, "%Y%m%d").date()
        return CaseNumber(self.region_code, day, self.sequence)


class CaseNumbersExhausted(RuntimeError):
    """Could not take a sequence after many tries (never expected)."""


def find(engine: Engine, application_id: str) -> CaseNumber | None:
    with session(engine) as s:
        query = sm_select(CaseNumberRow).where(CaseNumberRow.application_id == application_id)
        row = s.exec(query).first()
        return row.number() if row else None


def accepted(engine: Engine, application_id: str) -> tuple[CaseNumber, datetime] | None:
    """The application's number and the instant it was accepted under it, if it was."""
    with session(engine) as s:
        query = sm_select(CaseNumberRow).where(CaseNumberRow.application_id == application_id)
        row = s.exec(query).first()
        if row is None:
            return None
        at = row.accepted_at
        return row.number(), at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def allocate(
    engine: Engine, *, application_id: str, hall: str, region_code: str, accepted_at: datetime
) -> CaseNumber:
    """The application's number: the next of its region and Beijing day, or the one it has."""
    day = acceptance_day(accepted_at)
    CaseNumber(region_code, day, 1)  # a bad region code fails here, naming the field
    key = f"{day:%Y%m%d}"
    table = CaseNumberRow.__table__  # type: ignore[attr-defined]
    for _ in range(_ATTEMPTS):
        found = find(engine, application_id)
        if found is not None:
            return found
        after = (
            select(func.coalesce(func.max(table.c.sequence), 0) + 1)
            .where(table.c.region_code == region_code, table.c.day == key)
            .scalar_subquery()
        )
        statement = insert(table).from_select(
            ["application_id", "hall", "region_code", "day", "sequence", "accepted_at"],
            select(
                literal(application_id),
                literal(hall),
                literal(region_code),
                literal(key),
                after,
                literal(accepted_at, DateTime(timezone=True)),
            ),
        )
        try:
            with session(engine) as s:
                s.execute(statement)
        except IntegrityError:
            continue  # another took this sequence, or this application was numbered meanwhile
    found = find(engine, application_id)
    if found is not None:
        return found
    raise CaseNumbersExhausted("case number: no free sequence after many tries")
