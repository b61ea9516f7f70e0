"""Activity of the case register: the 办件编号 an application gets at acceptance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from activities.notify import Outlet
from activities.store_errors import store_errors
from domain import notices
from domain.application import application_workflow_id
from domain.bundle import as_bundle
from domain.case_number import REGION_CODE_PATTERN, CaseNumber
from domain.catalog_models import CatalogError
from domain.documents import DOCUMENT_KINDS, issuer_of
from store import case_numbers, documents, notifications
from store.catalog import get_catalog_in

if TYPE_CHECKING:
    from store.deliveries import Channel

RECEIPT = DOCUMENT_KINDS["accepted"]  # 受理通知书


class NumberCase(BaseModel):
    model_config = ConfigDict(frozen=True)

    application_id: str = Field(min_length=1, max_length=64)
    hall: str = Field(min_length=1, max_length=64)
    region_code: str = Field(pattern=REGION_CODE_PATTERN)
    accepted_at: datetime  # the acceptance instant (workflow time); its Beijing date counts
    # What was accepted, for the receipt; numbering asked before receipts existed has none.
    target: str | None = Field(default=None, max_length=64)
    catalog_version: str | None = Field(default=None, max_length=32)


class CaseNumberActivities:
    def __init__(self, engine: Engine, outlet: Outlet | None = None) -> None:
        self._engine = engine
        self._outlet = outlet  # None: the outbox only (the embedded default)

    @activity.defn(name="assign_case_number")
    @store_errors
    def assign_case_number(self, request: NumberCase) -> str:
        """The next number of the region and day, and the dated written receipt that
        carries it (受理通知书, Art. 32), written together in one transaction (the receipt
        is never missing beside its number, nor recorded twice); idempotent by application
        ID, also where an earlier version wrote the number and not yet the receipt."""
        channels = self._outlet.channels_for("applicant") if self._outlet else []

        def with_receipt(s: Session, number: CaseNumber) -> tuple[str, bool]:
            return str(number), _record_receipt(s, request, str(number), channels)

        number, new = case_numbers.allocate_with(
            self._engine,
            with_receipt,
            application_id=request.application_id,
            hall=request.hall,
            region_code=request.region_code,
            accepted_at=request.accepted_at,
        )
        if new and channels and self._outlet is not None:
            self._outlet.wake()
        return number


def _record_receipt(
    s: Session, request: NumberCase, number: str, channels: Sequence[Channel]
) -> bool:
    """The receipt in the outbox (a pending delivery per channel) and as a document, as
    `activities.notify.record_notice` writes them, in the caller's transaction: whether the
    notice is new."""
    key = f"{application_workflow_id(request.application_id)}/accepted"
    matter, items, promised_days = _what_was_accepted(s, request)
    message = notices.acceptance_receipt(number, matter, items, promised_days, request.accepted_at)
    notice = notifications.Notification(
        key=key,
        application_id=request.application_id,
        recipient="applicant",
        kind="accepted",
        message=message,
        created_at=request.accepted_at,
    )
    # The wall clock, not the workflow's instant: the delivery loop compares with it.
    [new] = notifications.notify_in(s, [(notice, channels)], datetime.now(UTC))
    receipt = documents.Draft(
        notice_key=key,
        application_id=request.application_id,
        notice_kind="accepted",
        kind=RECEIPT,
        issuer=issuer_of(None),  # the application's act: the service center's
        issued_at=request.accepted_at,
        content=message,
        recipient="applicant",
    )
    documents.issue_in(s, [receipt])  # found, not issued again, when it was before
    return new


def _what_was_accepted(s: Session, request: NumberCase) -> tuple[str | None, list[str], int | None]:
    """The bundle's (or item's) name, its items' names and the promised working days,
    as the application's pinned catalog version states them."""
    if request.target is None or request.catalog_version is None:
        return None, [], None
    try:
        catalog = get_catalog_in(s, request.catalog_version)
        bundle = as_bundle(catalog, request.target)
    except (CatalogError, KeyError):  # the receipt still carries the number and date
        return None, [], None
    names = [catalog.item(m.item).name for m in bundle.members]
    return bundle.name, names, bundle.promised_days
