"""Documents (文书) issued to applicants: one row per document notice, numbered per
application (`domain.documents`).

Idempotent by the notice key: a retried notify finds the document it issued. The next
sequence is the application's highest + 1; two writers taking the same sequence collide on
the unique constraint and the loser takes the next.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine, UniqueConstraint, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col
from sqlmodel import select as sm_select

from domain.documents import BASIS_LENGTH, DocumentKind, document_number
from store.db import session

_ATTEMPTS = 50


class Document(SQLModel, table=True):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("application_id", "sequence"),)

    number: str = Field(primary_key=True, max_length=80)
    notice_key: str = Field(max_length=250, unique=True)  # one document per notice
    application_id: str = Field(index=True, max_length=64)
    sequence: int
    kind: str = Field(max_length=32)  # the notice's kind
    title: str = Field(max_length=64)
    issuer: str = Field(max_length=128)
    issued_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    legal_basis: str = Field(max_length=BASIS_LENGTH)
    content: str = Field(max_length=1000)
    recipient: str = Field(max_length=64)

    def issued(self) -> datetime:
        """SQLite hands back naive instants; they were written in UTC."""
        at = self.issued_at
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class DocumentsExhausted(RuntimeError):
    """Could not take a sequence after many tries (never expected)."""


def by_notice(engine: Engine, notice_key: str) -> Document | None:
    with session(engine) as s:
        return s.exec(sm_select(Document).where(Document.notice_key == notice_key)).first()


def issue(
    engine: Engine,
    *,
    notice_key: str,
    application_id: str,
    notice_kind: str,
    kind: DocumentKind,
    issuer: str,
    issued_at: datetime,
    content: str,
    recipient: str,
    title: str | None = None,
    basis: str | None = None,
) -> Document:
    """The notice's document: a new one with the application's next number, or the one
    issued for this notice key before. `title` and `basis` replace the kind's where one act
    has several names (a license's name, a registration's notice) or rests on more law."""
    for _ in range(_ATTEMPTS):
        found = by_notice(engine, notice_key)
        if found is not None:
            return found
        with session(engine) as s:
            taken = s.exec(
                sm_select(func.coalesce(func.max(col(Document.sequence)), 0)).where(
                    Document.application_id == application_id
                )
            ).one()
        sequence = int(taken) + 1
        document = Document(
            number=document_number(application_id, kind, sequence),
            notice_key=notice_key,
            application_id=application_id,
            sequence=sequence,
            kind=notice_kind,
            title=title or kind.title,
            issuer=issuer,
            issued_at=issued_at,
            legal_basis=basis or kind.basis,
            content=content,
            recipient=recipient,
        )
        try:
            with session(engine) as s:
                s.add(document)
        except IntegrityError:
            continue  # this notice's document was written meanwhile, or the sequence taken
        return document
    raise DocumentsExhausted(f"no document sequence free after {_ATTEMPTS} tries")


def documents_of(engine: Engine, application_id: str) -> list[Document]:
    with session(engine) as s:
        return list(
            s.exec(
                sm_select(Document)
                .where(Document.application_id == application_id)
                .order_by(col(Document.sequence))
            )
        )


def find(engine: Engine, application_id: str, number: str) -> Document | None:
    with session(engine) as s:
        row = s.get(Document, number)
        return row if row is not None and row.application_id == application_id else None
