"""Documents (文书) issued to applicants: one row per document notice, numbered per
application (`domain.documents`).

Idempotent by the notice key: a retried notify finds the document it issued. The next
sequence is the application's highest + 1; two writers taking the same sequence collide on
the unique constraint and the loser takes the next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Column, DateTime, Engine, UniqueConstraint, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col
from sqlmodel import select as sm_select

from domain.documents import BASIS_LENGTH, DocumentKind, document_number
from store.db import in_utc, session

_ATTEMPTS = 50

T = TypeVar("T")


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
        return in_utc(self.issued_at)


class DocumentsExhausted(RuntimeError):
    """Could not take a sequence after many tries (never expected)."""


def by_notice(engine: Engine, notice_key: str) -> Document | None:
    with session(engine) as s:
        return s.exec(sm_select(Document).where(Document.notice_key == notice_key)).first()


@dataclass(frozen=True)
class Draft:
    """A notice's document as `issue` takes it, numbered when it is written."""

    notice_key: str
    application_id: str
    notice_kind: str
    kind: DocumentKind
    issuer: str
    issued_at: datetime
    content: str
    recipient: str
    title: str | None = None
    basis: str | None = None


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
    draft = Draft(
        notice_key=notice_key,
        application_id=application_id,
        notice_kind=notice_kind,
        kind=kind,
        issuer=issuer,
        issued_at=issued_at,
        content=content,
        recipient=recipient,
        title=title,
        basis=basis,
    )
    return retried(engine, lambda s: issue_in(s, [draft]))[0]


def issue_in(s: Session, drafts: Sequence[Draft]) -> list[Document]:
    """`issue` for each draft inside the caller's transaction, new ones numbered in this
    order; the transaction must be retried whole (`retried`) when its commit meets a
    document of the same notice key or sequence written meanwhile."""
    found = {
        d.notice_key: d
        for d in s.exec(
            sm_select(Document).where(col(Document.notice_key).in_([d.notice_key for d in drafts]))
        )
    }
    taken: dict[str, int] = {}  # the highest sequence per application, as read and written
    issued = []
    for draft in drafts:
        document = found.get(draft.notice_key)
        if document is None:
            if draft.application_id not in taken:
                taken[draft.application_id] = int(
                    s.exec(
                        sm_select(func.coalesce(func.max(col(Document.sequence)), 0)).where(
                            Document.application_id == draft.application_id
                        )
                    ).one()
                )
            taken[draft.application_id] += 1
            document = _numbered(draft, taken[draft.application_id])
            s.add(document)
            found[draft.notice_key] = document
        issued.append(document)
    return issued


def _numbered(draft: Draft, sequence: int) -> Document:
    return Document(
        number=document_number(draft.application_id, draft.kind, sequence),
        notice_key=draft.notice_key,
        application_id=draft.application_id,
        sequence=sequence,
        kind=draft.notice_kind,
        title=draft.title or draft.kind.title,
        issuer=draft.issuer,
        issued_at=draft.issued_at,
        legal_basis=draft.basis or draft.kind.basis,
        content=draft.content,
        recipient=draft.recipient,
    )


def retried(engine: Engine, work: Callable[[Session], T]) -> T:
    """`work` in a transaction of its own, again in a new one while its writes collide with
    a concurrent writer's (the loser of a sequence takes the next)."""
    collided: IntegrityError | None = None
    for _ in range(_ATTEMPTS):
        try:
            with session(engine) as s:
                done = work(s)
        except IntegrityError as exc:
            collided = exc  # this notice's document was written meanwhile, or the sequence taken
            continue
        return done
    raise DocumentsExhausted(f"no document sequence free after {_ATTEMPTS} tries") from collided


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
