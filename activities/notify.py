"""Activities that tell people things: reminders to staff, notices to applicants."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from activities.store_errors import store_errors
from store import notifications


class Notice(BaseModel):
    key: str  # one notice per key, however often retried
    application_id: str
    recipient: str
    kind: str
    message: str
    at: datetime


class NotifyActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="notify")
    @store_errors
    def notify(self, notice: Notice) -> None:
        notifications.notify(
            self._engine,
            notifications.Notification(
                key=notice.key,
                application_id=notice.application_id,
                recipient=notice.recipient,
                kind=notice.kind,
                message=notice.message,
                created_at=notice.at,
            ),
        )
