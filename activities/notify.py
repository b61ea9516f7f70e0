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
        record_notice(self._engine, self._outlet, notice)


def record_notice(
    engine: Engine,
    outlet: Outlet | None,
    notice: Notice,
    *,
    title: str | None = None,
    basis: str | None = None,
) -> str | None:
    """The notice in the outbox, with a pending delivery per channel of its recipient, and,
    when it is a written act to the applicant, its document; returns the document's number.
    Idempotent by the notice key: a retry finishes what failed and records nothing twice.
    `title` and `basis` as for `store.documents.issue`."""
    channels = outlet.channels_for(notice.recipient) if outlet else []
    recorded = notifications.notify(
        engine,
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
    number = None
    kind = document_kind(notice.kind, notice.recipient)
    if kind is not None:  # also when recorded before: a retry finishes what failed
        number = documents.issue(
            engine,
            notice_key=notice.key,
            application_id=notice.application_id,
            notice_kind=notice.kind,
            kind=kind,
            issuer=issuer_of(_department_name(engine, notice)),
            issued_at=notice.at,
            content=notice.message,
            recipient=notice.recipient,
            title=title,
            basis=basis,
        ).number
    if recorded and channels and outlet is not None:
        outlet.wake()
    return number


def _department_name(engine: Engine, notice: Notice) -> str | None:
    """The department of the item whose workflow sent the notice (its key starts with
    the item's workflow ID, `workflows.common.notify`); None for the application's."""
    items = item_workflow_id(notice.application_id, "")
    assert items.startswith(application_workflow_id(notice.application_id))
    if not notice.key.startswith(items):
        return None
    code = notice.key.removeprefix(items).split("/", 1)[0]
    catalog = get_latest_catalog(engine)
    item = catalog.items.get(code) if catalog is not None else None
    return item.department_name if item is not None else None
