"""The outbox of notices: reminders to staff, notices to applicants.

Delivery (SMS, the portal, the window system) reads this table; the workflow only
records what must be said, to whom, and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Field, SQLModel, col, select

from store.db import session


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"

    key: str = Field(primary_key=True, max_length=250)  # idempotency: one notice per key
    application_id: str = Field(index=True, max_length=64)
    recipient: str = Field(max_length=64)  # "applicant", or a role/department, e.g. reviewer:market
    kind: str = Field(max_length=32)
    message: str = Field(max_length=1000)
    created_at: datetime


def notify(engine: Engine, notification: Notification) -> None:
    with session(engine) as s:
        if s.get(Notification, notification.key) is None:
            s.add(notification)


def notifications_of(engine: Engine, application_id: str) -> list[Notification]:
    with session(engine) as s:
        return list(
            s.exec(
                select(Notification)
                .where(Notification.application_id == application_id)
                .order_by(col(Notification.created_at))
            )
        )
