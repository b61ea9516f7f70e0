"""What the citizen's side keeps: the progress look-up's check per application, and the
help requests (帮办代办) citizens leave for a hall.

The check is `HMAC(subject key, application ID + last four phone digits)` with the key's
id (`onething.keys`, purpose progress-check): the store never holds the phone, and without
the key its ten thousand possible tails cannot be tried against a stolen table. A help
request keeps the name and phone in the store, as the hall's staff must call back; they
never reach a log, a search attribute or a task row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Engine
from sqlmodel import Field, SQLModel, col, select

from domain.case_number import CaseNumber
from store.case_numbers import CaseNumberRow
from store.db import session


class ProgressContact(SQLModel, table=True):
    __tablename__ = "progress_contacts"

    application_id: str = Field(primary_key=True, max_length=64)
    key_id: str = Field(max_length=64)
    check_value: str = Field(max_length=64)  # HMAC-SHA256 hex
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class HelpRequest(SQLModel, table=True):
    __tablename__ = "help_requests"

    request_id: str = Field(primary_key=True, max_length=64)
    hall: str = Field(index=True, max_length=64)
    item_code: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=64)
    phone: str = Field(max_length=16)
    preferred_time: str = Field(default="", max_length=64)
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    answered_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    answered_by: str | None = Field(default=None, max_length=64)
    answer: str | None = Field(default=None, max_length=500)


def application_of(engine: Engine, number: CaseNumber) -> str | None:
    """The application a case number was given to, if any."""
    with session(engine) as s:
        row = s.exec(
            select(CaseNumberRow).where(
                col(CaseNumberRow.region_code) == number.region_code,
                col(CaseNumberRow.day) == f"{number.day:%Y%m%d}",
                col(CaseNumberRow.sequence) == number.sequence,
            )
        ).first()
        return row.application_id if row else None


def contact_of(engine: Engine, application_id: str) -> ProgressContact | None:
    with session(engine) as s:
        return s.get(ProgressContact, application_id)


def remember_contact(
    engine: Engine, application_id: str, key_id: str, check_value: str, at: datetime
) -> None:
    """Keep the application's check once; a second call (a retried submit) changes nothing."""
    with session(engine) as s:
        if s.get(ProgressContact, application_id) is None:
            s.add(
                ProgressContact(
                    application_id=application_id,
                    key_id=key_id,
                    check_value=check_value,
                    created_at=at,
                )
            )


def add_help_request(engine: Engine, request: HelpRequest) -> HelpRequest:
    with session(engine) as s:
        s.add(request)
    return request


def get_help_request(engine: Engine, request_id: str) -> HelpRequest | None:
    with session(engine) as s:
        return s.get(HelpRequest, request_id)


def answer_help_request(
    engine: Engine, request_id: str, *, answer: str, by: str, at: datetime
) -> HelpRequest | None:
    """Record the answer once; None when there is no such request. Answering again keeps
    the first answer (the caller tells the second caller so)."""
    with session(engine) as s:
        row = s.get(HelpRequest, request_id, with_for_update=True)
        if row is None:
            return None
        if row.answered_at is None:
            row.answer, row.answered_by, row.answered_at = answer, by, at
            s.add(row)
        return row
