"""What the general window looks up as an application arrives, in one activity (under
"lighter-histories-2026-12"): the catalog version it is handled under, and, when the
applicant asks for a trust path (deficiency acceptance, commitment), their credit standing.

Before the patch these were two activities, `pin_catalog` and `credit_standing`; as local
activities of one workflow task they cost one billable action either way, and one marker
here instead of two. Each part is the same call as before, so a retry pins the same version
and reads the standing afresh.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from temporalio import activity

from activities.catalog import CatalogActivities, CatalogSnapshot, PinCatalog
from activities.credit import CreditActivities
from domain.credit import CreditStanding


class Receive(BaseModel):
    model_config = ConfigDict(frozen=True)

    catalog: PinCatalog
    # The digest `credit_subject()` gives, when a trust path is asked for; None: no look-up.
    credit_subject: str | None = None


class Reception(BaseModel):
    model_config = ConfigDict(frozen=True)

    snapshot: CatalogSnapshot
    standing: CreditStanding | None = None


class ReceptionActivities:
    def __init__(self, catalog: CatalogActivities, credit: CreditActivities) -> None:
        self._catalog = catalog
        self._credit = credit

    @activity.defn(name="receive_application")
    def receive_application(self, request: Receive) -> Reception:
        snapshot = self._catalog.pin_catalog(request.catalog)
        standing = (
            self._credit.credit_standing(request.credit_subject)
            if request.credit_subject is not None
            else None
        )
        return Reception(snapshot=snapshot, standing=standing)
