"""The outbox of notices: reminders to staff, notices to applicants.

The workflow only records what must be said, to whom, and why. Delivery (e-mail, SMS:
`onething.delivery`) reads this table; each notice's delivery per channel is in
`store.deliveries`, written with the notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from store import documents
from store.db import session

if TYPE_CHECKING:
    from store.deliveries import Channel


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"

    key: str = Field(primary_key=True, max_length=250)  # idempotency: one notice per key
    application_id: str = Field(index=True, max_length=64)
    recipient: str = Field(max_length=64)  # "applicant", or a role/department, e.g. reviewer:market
    kind: str = Field(max_length=32)
    message: str = Field(max_length=1000)
    created_at: datetime


def notify(
    engine: Engine,
    notification: Notification,
    channels: Iterable[Channel] = (),
    now: datetime | None = None,
) -> bool:
    """Record a notice once per key, with a pending delivery per channel (due at `now`);
    False when the key was recorded before (then nothing changes)."""
    with session(engine) as s:
        return notify_in(s, [(notification, list(channels))], now)[0]


def notify_in(
    s: Session, notices: Sequence[tuple[Notification, Sequence[Channel]]], now: datetime | None
) -> list[bool]:
    """`notify` for each notice inside the caller's transaction: which ones are new."""
    from store.deliveries import add_pending  # that module reads this one's table

    keys = [n.key for n, _ in notices]
    known = set(s.exec(select(Notification.key).where(col(Notification.key).in_(keys))))
    recorded = []
    for notification, _ in notices:
        recorded.append(notification.key not in known)
        if recorded[-1]:
            s.add(notification)
            known.add(notification.key)
    pending = [
        (n.key, channels) for (n, channels), new in zip(notices, recorded, strict=True) if new
    ]
    if any(channels for _, channels in pending):
        if now is None:
            raise ValueError("now: pending deliveries need the time they are due")
        s.flush()  # the notices first: their deliveries refer to them
        for key, channels in pending:
            add_pending(s, key, channels, now)
    return recorded


@dataclass(frozen=True)
class Written:
    """A notice to record, the channels it goes out on and the document it is, if any."""

    notification: Notification
    channels: Sequence[Channel] = ()
    document: documents.Draft | None = None


def record(
    engine: Engine, written: Sequence[Written], now: datetime | None = None
) -> list[tuple[bool, documents.Document | None]]:
    """Each notice (as `notify`) with its document (as `documents.issue`), all in one
    transaction, retried whole when it collides with a concurrent writer: per notice,
    whether it is new and its document. Idempotent by the notice keys, and a notice
    recorded before without its document gets it."""

    def write(s: Session) -> list[tuple[bool, documents.Document | None]]:
        # Copies: a rolled-back attempt must not leave the caller's rows in its session.
        rows = [Notification.model_validate(w.notification.model_dump()) for w in written]
        recorded = notify_in(s, [(r, w.channels) for r, w in zip(rows, written, strict=True)], now)
        drafts = [w.document for w in written if w.document is not None]
        issued = iter(documents.issue_in(s, drafts) if drafts else [])
        return [
            (new, next(issued) if w.document is not None else None)
            for new, w in zip(recorded, written, strict=True)
        ]

    return documents.retried(engine, write)


def notifications_of(engine: Engine, application_id: str) -> list[Notification]:
    with session(engine) as s:
        return list(
            s.exec(
                select(Notification)
                .where(Notification.application_id == application_id)
                # Notices of one instant (a decision and its license) in a stable order.
                .order_by(col(Notification.created_at), col(Notification.key))
            )
        )
