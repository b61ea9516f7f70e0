"""Activity of the case register: the 办件编号 an application gets at acceptance."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from temporalio import activity

from activities.notify import Notice, Outlet, record_notice
from activities.store_errors import store_errors
from domain import notices
from domain.application import application_workflow_id
from domain.bundle import as_bundle
from domain.case_number import REGION_CODE_PATTERN
from domain.catalog_models import CatalogError
from store import case_numbers
from store.catalog import get_catalog


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
        carries it (受理通知书, Art. 32); idempotent by application ID."""
        number = str(
            case_numbers.allocate(
                self._engine,
                application_id=request.application_id,
                hall=request.hall,
                region_code=request.region_code,
                accepted_at=request.accepted_at,
            )
        )
        matter, items, promised_days = self._what_was_accepted(request)
        record_notice(
            self._engine,
            self._outlet,
            Notice(
                key=f"{application_workflow_id(request.application_id)}/accepted",
                application_id=request.application_id,
                recipient="applicant",
                kind="accepted",
                message=notices.acceptance_receipt(
                    number, matter, items, promised_days, request.accepted_at
                ),
                at=request.accepted_at,
            ),
        )
        return number

    def _what_was_accepted(self, request: NumberCase) -> tuple[str | None, list[str], int | None]:
        """The bundle's (or item's) name, its items' names and the promised working days,
        as the application's pinned catalog version states them."""
        if request.target is None or request.catalog_version is None:
            return None, [], None
        try:
            catalog = get_catalog(self._engine, request.catalog_version)
            bundle = as_bundle(catalog, request.target)
        except (CatalogError, KeyError):  # the receipt still carries the number and date
            return None, [], None
        names = [catalog.item(m.item).name for m in bundle.members]
        return bundle.name, names, bundle.promised_days
