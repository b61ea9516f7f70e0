"""Activities of the license registry (电子证照)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from activities.license_terms import TermStarter, validity_until
from activities.notify import Notice, Outlet, Written, record_notices
from activities.store_errors import store_errors
from domain import notices
from domain.application import LicenseRecord, RevocationGround, item_workflow_id
from domain.catalog_models import Item
from domain.documents import (
    DOCUMENT_KINDS,
    GRANT_TITLES,
    grant_basis,
    issuer_of,
    verification_url,
)
from domain.license_term import last_valid_day
from store import licenses
from store.catalog import get_latest_catalog


class IssueLicense(BaseModel):
    application_id: str
    item_code: str
    license_kind: str
    holder_name: str
    issued_at: datetime  # the workflow's decision instant, never the wall clock


class RevokeLicense(BaseModel):
    application_id: str
    item_code: str
    reason: str
    revoked_at: datetime
    ground: RevocationGround | None = None  # recorded before grounds existed: None


class LicensingActivities:
    def __init__(
        self,
        engine: Engine,
        outlet: Outlet | None = None,
        terms: TermStarter | None = None,
        public_url: str = "",
    ) -> None:
        self._engine = engine
        self._outlet = outlet  # None: the outbox only (the embedded default)
        self._terms = terms  # None: no term workflows (a license's validity is still kept)
        # Where the public verifies a license ("": its code alone is told).
        self._public_url = public_url

    @activity.defn(name="issue_license")
    @store_errors
    def issue_license(self, request: IssueLicense) -> LicenseRecord:
        """Idempotent: one license per application and item, however often retried."""
        # The catalog read once: the license's term, the documents' names and issuer.
        catalog = get_latest_catalog(self._engine)
        item = catalog.items.get(request.item_code) if catalog is not None else None
        issued = licenses.issue_license(
            self._engine,
            application_id=request.application_id,
            item_code=request.item_code,
            license_kind=request.license_kind,
            holder_name=request.holder_name,
            valid_from=request.issued_at,
            valid_until=validity_until(item, request.issued_at),
        )
        activity.logger.info(
            "license issued", extra={"item_code": issued.item_code, "number": issued.number}
        )
        self._deliver(request, issued, item)
        if self._terms is not None and issued.valid_until is not None:
            self._terms.start(issued.number)  # its validity, renewal window and renewal
        return LicenseRecord(
            number=issued.number,
            item_code=issued.item_code,
            license_kind=issued.license_kind,
            verification_code=issued.verification_code,
            valid_from=issued.valid_from,
            status=issued.status,
        )

    def _deliver(self, request: IssueLicense, issued: licenses.License, item: Item | None) -> None:
        """The decision and the license itself, in writing, the moment they are issued
        (Art. 38, Art. 44: within 10 days): two documents, each once however often retried,
        written together in one transaction."""
        item_name = item.name if item is not None else notices.license_name(issued.license_kind)
        item_kind = item.kind.value if item is not None else "license"
        key = item_workflow_id(request.application_id, request.item_code)
        granted = DOCUMENT_KINDS["granted"]
        code = issued.verification_code
        url = verification_url(self._public_url, code) if self._public_url else None
        verification = notices.license_verification(code, url)
        decision = Notice(
            key=f"{key}/granted",
            application_id=request.application_id,
            recipient="applicant",
            kind="granted",
            message=notices.grant_decision(
                item_kind,
                item_name,
                issued.license_kind,
                issued.number,
                request.issued_at,
                verification,
            ),
            at=request.issued_at,
        )
        certificate = Notice(
            key=f"{key}/license",
            application_id=request.application_id,
            recipient="applicant",
            kind="license",
            message=notices.license_certificate(
                issued.license_kind,
                issued.number,
                issued.holder_name,
                item_name,
                request.issued_at,  # the store may hand back a naive instant
                verification,
                last_valid_day(expires) if (expires := issued.expires()) else None,
                item_kind,
            ),
            at=request.issued_at,
        )
        item_basis = item.legal_basis if item is not None else ""
        # A license's certificate rests on Art. 39 and 44 (its document kind's basis, None
        # here); a registration's or a filing's on the item's own law (`grant_basis`).
        certificate_basis = (
            None
            if item_kind == "license"
            else grant_basis(DOCUMENT_KINDS["license"], item_basis, item_kind)
        )
        record_notices(
            self._engine,
            self._outlet,
            [
                Written(
                    decision,
                    title=GRANT_TITLES.get(item_kind, granted.title),
                    basis=grant_basis(granted, item_basis, item_kind),
                ),
                Written(
                    certificate,
                    title=notices.license_name(issued.license_kind),
                    basis=certificate_basis,
                ),
            ],
            # The item's department, as record_notice would read it from the catalog again.
            issuer=issuer_of(item.department_name if item is not None else None),
        )

    @activity.defn(name="revoke_license")
    @store_errors
    def revoke_license(self, request: RevokeLicense) -> None:
        """Idempotent: the registry keeps the first revocation's reason and time."""
        revoked = licenses.revoke(
            self._engine,
            application_id=request.application_id,
            item_code=request.item_code,
            reason=request.reason,
            at=request.revoked_at,
            ground=request.ground.value if request.ground else None,
        )
        if self._terms is not None and revoked is not None and revoked.valid_until is not None:
            self._terms.revoked(revoked.number)  # its term ends (a pending renewal with it)
