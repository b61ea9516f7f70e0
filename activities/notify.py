"""Activities that tell people things: reminders to staff, notices to applicants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Written:
    """A notice, and the title and legal basis of its document (as for
    `store.documents.issue`) where they are not its kind's."""

    notice: Notice
    title: str | None = None
    basis: str | None = None


def record_notice(
    engine: Engine,
    outlet: Outlet | None,
    notice: Notice,
    *,
    title: str | None = None,
    basis: str | None = None,
    issuer: str | None = None,
) -> str | None:
    """The notice in the outbox, with a pending delivery per channel of its recipient, and,
    when it is a written act to the applicant, its document; returns the document's number.
    Idempotent by the notice key: a retry finishes what failed and records nothing twice.
    `title` and `basis` as for `store.documents.issue`; `issuer` as for `record_notices`."""
    [number] = record_notices(engine, outlet, [Written(notice, title, basis)], issuer=issuer)
    return number


def record_notices(
    engine: Engine,
    outlet: Outlet | None,
    written: Sequence[Written],
    *,
    issuer: str | None = None,
) -> list[str | None]:
    """`record_notice` for several notices in one transaction (all or none, the documents
    numbered in this order); each one's document number. `issuer`: the documents' issuer
    when the caller has read it from the catalog already, else the department of the
    item whose workflow sent each notice."""
    # The wall clock, not the workflow's instant: the delivery loop compares with it.
    now = datetime.now(UTC)
    rows = [
        notifications.Written(
            notifications.Notification(
                key=w.notice.key,
                application_id=w.notice.application_id,
                recipient=w.notice.recipient,
                kind=w.notice.kind,
                message=w.notice.message,
                created_at=w.notice.at,
            ),
            outlet.channels_for(w.notice.recipient) if outlet else [],
            _draft(engine, w, issuer),
        )
        for w in written
    ]
    recorded = notifications.record(engine, rows, now)
    new_with_channels = [new for row, (new, _) in zip(rows, recorded, strict=True) if row.channels]
    if outlet is not None and any(new_with_channels):
        outlet.wake()
    return [document.number if document else None for _, document in recorded]


def _draft(engine: Engine, written: Written, issuer: str | None) -> documents.Draft | None:
    """Its document, when the notice is a written act to the applicant (also when the
    notice was recorded before: a retry finishes what failed)."""
    notice = written.notice
    kind = document_kind(notice.kind, notice.recipient)
    if kind is None:
        return None
    return documents.Draft(
        notice_key=notice.key,
        application_id=notice.application_id,
        notice_kind=notice.kind,
        kind=kind,
        issuer=issuer if issuer is not None else issuer_of(_department_name(engine, notice)),
        issued_at=notice.at,
        content=notice.message,
        recipient=notice.recipient,
        title=written.title,
        basis=written.basis,
    )


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
