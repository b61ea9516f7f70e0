"""Activities of the license registry (电子证照)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from activities.store_errors import store_errors
from domain.application import LicenseRecord, RevocationGround
from store import licenses


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
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="issue_license")
    @store_errors
    def issue_license(self, request: IssueLicense) -> LicenseRecord:
        """Idempotent: one license per application and item, however often retried."""
        issued = licenses.issue_license(
            self._engine,
            application_id=request.application_id,
            item_code=request.item_code,
            license_kind=request.license_kind,
            holder_name=request.holder_name,
            valid_from=request.issued_at,
        )
        activity.logger.info(
            "license issued", extra={"item_code": issued.item_code, "number": issued.number}
        )
        return LicenseRecord(
            number=issued.number,
            item_code=issued.item_code,
            license_kind=issued.license_kind,
            verification_code=issued.verification_code,
            valid_from=issued.valid_from,
            status=issued.status,
        )

    @activity.defn(name="revoke_license")
    @store_errors
    def revoke_license(self, request: RevokeLicense) -> None:
        """Idempotent: the registry keeps the first revocation's reason and time."""
        licenses.revoke(
            self._engine,
            application_id=request.application_id,
            item_code=request.item_code,
            reason=request.reason,
            at=request.revoked_at,
            ground=request.ground.value if request.ground else None,
        )
