"""The outbox of notices: reminders to staff, notices to applicants.

The workflow only records what must be said, to whom, and why. Delivery (e-mail, SMS:
`onething.delivery`) reads this table; each notice's delivery per channel is in
`store.deliveries`, written with the notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Field, SQLModel, col, select

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
    from store.deliveries import add_pending  # that module reads this one's table

    with session(engine) as s:
        if s.get(Notification, notification.key) is not None:
            return False
        s.add(notification)
        channels = list(channels)
        if channels:
            if now is None:
                raise ValueError("now: pending deliveries need the time they are due")
            s.flush()  # the notice first: its deliveries refer to it
            add_pending(s, notification.key, channels, now)
        return True


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
