"""办件编号 as allocated: one row per accepted application, its sequence per region and day.

The next sequence is taken in the statement that writes the row (INSERT ... SELECT max + 1),
so it is one transaction on SQLite and PostgreSQL alike, with what the caller writes with the
number (`allocate_with`); two workers taking the same sequence at once collide on the unique
constraint and the loser takes the next. The application ID is unique too: a retried
allocation finds the number it was given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    UniqueConstraint,
    bindparam,
    exists,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel
from sqlmodel import select as sm_select

from domain.case_number import CaseNumber, acceptance_day
from store.db import in_utc, session

# Each lost race means another worker took a number; give up (and let the activity retry
# with backoff) only after far more than a hall's workers could ever produce at once.
_ATTEMPTS = 50

T = TypeVar("T")


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


def _number_if_none() -> Any:
    """INSERT ... SELECT max + 1 of the region and day, unless the application has a number.
    Built once with its values bound per call, so SQLAlchemy compiles it once."""
    table = CaseNumberRow.__table__  # type: ignore[attr-defined]
    names = ["application_id", "hall", "region_code", "day", "accepted_at"]
    fields = {name: bindparam(name, type_=table.c[name].type) for name in names}
    after = (
        select(func.coalesce(func.max(table.c.sequence), 0) + 1)
        .where(table.c.region_code == fields["region_code"], table.c.day == fields["day"])
        .scalar_subquery()
    )
    return insert(table).from_select(
        [*names, "sequence"],
        select(*fields.values(), after).where(
            ~exists().where(table.c.application_id == fields["application_id"])
        ),
    )


# The write first, so SQLite takes its write lock at once (a read first would have to
# upgrade, and fails when another process wrote meanwhile); a retry inserts nothing.
_NUMBER_IF_NONE = _number_if_none()


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
        return row.number(), in_utc(row.accepted_at)


def allocate(
    engine: Engine, *, application_id: str, hall: str, region_code: str, accepted_at: datetime
) -> CaseNumber:
    """The application's number: the next of its region and Beijing day, or the one it has."""
    return allocate_with(
        engine,
        lambda _s, number: number,
        application_id=application_id,
        hall=hall,
        region_code=region_code,
        accepted_at=accepted_at,
    )


def allocate_with(
    engine: Engine,
    then: Callable[[Session, CaseNumber], T],
    *,
    application_id: str,
    hall: str,
    region_code: str,
    accepted_at: datetime,
) -> T:
    """`allocate`, and `then` with the number in the same transaction (what belongs to the
    number is written with it or not at all); the whole retried while it collides with a
    concurrent writer. `then` runs again on each attempt and must write idempotently."""
    day = acceptance_day(accepted_at)
    CaseNumber(region_code, day, 1)  # a bad region code fails here, naming the field
    values = {
        "application_id": application_id,
        "hall": hall,
        "region_code": region_code,
        "day": f"{day:%Y%m%d}",
        "accepted_at": accepted_at,
    }
    mine = sm_select(CaseNumberRow).where(CaseNumberRow.application_id == application_id)
    for _ in range(_ATTEMPTS):
        try:
            with session(engine) as s:
                s.execute(_NUMBER_IF_NONE, values)
                return then(s, s.exec(mine).one().number())
        except IntegrityError:
            continue  # another took this sequence, or this application was numbered meanwhile
    raise CaseNumbersExhausted("case number: no free sequence after many tries")
