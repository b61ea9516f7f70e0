"""Activities that tell people things: reminders to staff, notices to applicants."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from activities.store_errors import store_errors
from domain.application import application_workflow_id, item_workflow_id
from domain.documents import document_kind, issuer_of
from store import documents, notifications
from store.catalog import get_latest_catalog

if TYPE_CHECKING:
    from store.deliveries import Channel


class Notice(BaseModel):
    key: str  # one notice per key, however often retried
    application_id: str
    recipient: str
    kind: str
    message: str
    at: datetime


class Outlet(Protocol):
    """Delivery beside the outbox (onething.delivery.Deliverer): which channels a recipient
    gets, and a nudge that a notice is waiting."""

    def channels_for(self, recipient: str) -> Sequence[Channel]: ...

    def wake(self) -> None: ...


class NotifyActivities:
    def __init__(self, engine: Engine, outlet: Outlet | None = None) -> None:
        self._engine = engine
        self._outlet = outlet  # None: the outbox only (the embedded default)

    @activity.defn(name="notify")
    @store_errors
    def notify(self, notice: Notice) -> None:
        """Record the notice and its pending deliveries in one transaction; sending is the
        delivery loop's, so this stays fast and a retry records nothing twice."""
        channels = self._outlet.channels_for(notice.recipient) if self._outlet else []
        recorded = notifications.notify(
            self._engine,
            notifications.Notification(
                key=notice.key,
                application_id=notice.application_id,
                recipient=notice.recipient,
                kind=notice.kind,
                message=notice.message,
                created_at=notice.at,
            ),
            channels,
            # The wall clock, not the workflow's instant: the loop compares with it.
            now=datetime.now(UTC),
        )
        kind = document_kind(notice.kind, notice.recipient)
        if kind is not None:  # also when recorded before: a retry finishes what failed
            documents.issue(
                self._engine,
                notice_key=notice.key,
                application_id=notice.application_id,
                notice_kind=notice.kind,
                kind=kind,
                issuer=issuer_of(self._department_name(notice)),
                issued_at=notice.at,
                content=notice.message,
                recipient=notice.recipient,
            )
        if recorded and channels and self._outlet is not None:
            self._outlet.wake()

    def _department_name(self, notice: Notice) -> str | None:
        """The department of the item whose workflow sent the notice (its key starts with
        the item's workflow ID, `workflows.common.notify`); None for the application's."""
        items = item_workflow_id(notice.application_id, "")
        assert items.startswith(application_workflow_id(notice.application_id))
        if not notice.key.startswith(items):
            return None
        code = notice.key.removeprefix(items).split("/", 1)[0]
        catalog = get_latest_catalog(self._engine)
        item = catalog.items.get(code) if catalog is not None else None
        return item.department_name if item is not None else None
