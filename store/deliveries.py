"""Delivery of the outbox's notices: one row per notice and channel (e-mail, SMS).

A row is written with its notice, in the same transaction, for each channel that applies
when the notice is recorded; none when delivery is not configured (the notice stays in the
outbox only). A delivery loop claims due rows for a short lease (so two worker processes
never send the same row at once), tries, and records the attempt: sent, pending again with
the next attempt's time (backoff), or failed with a short reason. Rows hold no address and
no text: the notice has the text, and the address is looked up at sending time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Column, DateTime, Engine, ForeignKey, Index, String, func, or_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel, col, select

from store.db import in_utc, session
from store.notifications import Notification


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


# A notice's summary when no channel applies to it: recorded, not sent anywhere.
OUTBOX_ONLY = "outbox_only"
REASON_MAX = 200


class NoticeDelivery(SQLModel, table=True):
    __tablename__ = "notice_deliveries"
    __table_args__ = (Index("ix_notice_deliveries_due", "status", "next_attempt_at"),)

    notice_key: str = Field(
        sa_column=Column(
            String(250), ForeignKey("notifications.key", ondelete="CASCADE"), primary_key=True
        )
    )
    channel: str = Field(primary_key=True, max_length=8)
    status: str = Field(max_length=16)
    attempts: int = 0
    # Pending: when the next attempt is due. Sent or failed: None.
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    last_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    reason: str | None = Field(default=None, max_length=REASON_MAX)  # never personal data
    # A delivery loop holds the row until then while it tries.
    claimed_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )

    def normalized(self) -> NoticeDelivery:
        for name in ("next_attempt_at", "last_attempt_at", "claimed_until"):
            setattr(self, name, in_utc(getattr(self, name)))
        return self


def add_pending(s: Session, notice_key: str, channels: Iterable[Channel], now: datetime) -> None:
    """Rows for a notice's channels, due at once; inside the transaction that records it."""
    for channel in channels:
        s.add(
            NoticeDelivery(
                notice_key=notice_key,
                channel=channel.value,
                status=DeliveryStatus.PENDING.value,
                next_attempt_at=now,
            )
        )


def deliveries_of(engine: Engine, keys: Sequence[str]) -> dict[str, list[NoticeDelivery]]:
    """Each notice's delivery rows (channels in name order); a notice without any is absent."""
    found: dict[str, list[NoticeDelivery]] = {}
    if not keys:
        return found
    with session(engine) as s:
        rows = s.exec(
            select(NoticeDelivery)
            .where(col(NoticeDelivery.notice_key).in_(list(keys)))
            .order_by(col(NoticeDelivery.notice_key), col(NoticeDelivery.channel))
        ).all()
    # Normalized once the session has ended: in it, the UTC instants SQLite hands back naive
    # made the rows dirty, and its commit wrote back what it had read over a delivery loop's
    # later attempt (a retry left claimed for the lease's 90 s).
    for row in rows:
        found.setdefault(row.notice_key, []).append(row.normalized())
    return found


def summary(rows: Sequence[NoticeDelivery]) -> str:
    """One word for a notice: outbox_only (no channel), pending while any channel is, else
    failed when any channel failed, else sent."""
    if not rows:
        return OUTBOX_ONLY
    statuses = {r.status for r in rows}
    for status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED):
        if status.value in statuses:
            return status.value
    return DeliveryStatus.SENT.value


def _free(now: datetime) -> ColumnElement[bool]:
    """Held by no loop: never claimed, or the claim's lease has run out."""
    return or_(col(NoticeDelivery.claimed_until).is_(None), col(NoticeDelivery.claimed_until) < now)


@dataclass(frozen=True)
class Claim:
    """A due delivery a loop holds: the row's identity, its attempts so far, and the notice."""

    notice_key: str
    channel: Channel
    attempts: int
    application_id: str
    recipient: str
    kind: str
    message: str


def claim_due(engine: Engine, now: datetime, lease: timedelta, limit: int = 20) -> list[Claim]:
    """Take up to `limit` pending rows that are due and not held by another loop, for
    `lease`. Each row is taken by a conditional UPDATE, so of two loops only one wins it."""
    free = _free(now)
    with session(engine) as s:
        candidates = s.exec(
            select(NoticeDelivery, Notification)
            .join(Notification, col(Notification.key) == col(NoticeDelivery.notice_key))
            .where(
                NoticeDelivery.status == DeliveryStatus.PENDING.value,
                col(NoticeDelivery.next_attempt_at) <= now,
                free,
            )
            .order_by(col(NoticeDelivery.next_attempt_at))
            .limit(limit)
        ).all()
    claims = []
    for row, notice in candidates:
        with session(engine) as s:
            taken = s.connection().execute(
                update(NoticeDelivery)
                .where(
                    col(NoticeDelivery.notice_key) == row.notice_key,
                    col(NoticeDelivery.channel) == row.channel,
                    col(NoticeDelivery.status) == DeliveryStatus.PENDING.value,
                    free,
                )
                .values(claimed_until=now + lease)
            )
        if taken.rowcount == 1:
            claims.append(
                Claim(
                    notice_key=row.notice_key,
                    channel=Channel(row.channel),
                    attempts=row.attempts,
                    application_id=notice.application_id,
                    recipient=notice.recipient,
                    kind=notice.kind,
                    message=notice.message,
                )
            )
    return claims


def record_attempt(
    engine: Engine,
    claim: Claim,
    *,
    at: datetime,
    status: DeliveryStatus,
    reason: str | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    """One attempt: sent; pending again (`next_attempt_at`); or failed, with its reason."""
    if status is DeliveryStatus.PENDING and next_attempt_at is None:
        raise ValueError("next_attempt_at: a pending row needs the time of its next attempt")
    with session(engine) as s:
        s.connection().execute(
            update(NoticeDelivery)
            .where(
                col(NoticeDelivery.notice_key) == claim.notice_key,
                col(NoticeDelivery.channel) == claim.channel.value,
                col(NoticeDelivery.status) == DeliveryStatus.PENDING.value,
            )
            .values(
                status=status.value,
                attempts=claim.attempts + 1,
                last_attempt_at=at,
                next_attempt_at=next_attempt_at if status is DeliveryStatus.PENDING else None,
                reason=reason[:REASON_MAX] if reason else None,
                claimed_until=None,
            )
        )


def next_due_at(engine: Engine, now: datetime) -> datetime | None:
    """When the earliest pending row that no loop holds is due."""
    with session(engine) as s:
        due = s.exec(
            select(func.min(NoticeDelivery.next_attempt_at)).where(
                NoticeDelivery.status == DeliveryStatus.PENDING.value,
                _free(now),
            )
        ).one()
    return in_utc(due)
