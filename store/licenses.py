"""The license registry: one license per application and item, however often issued.

A license with a validity carries the end of its current term (`valid_until`, the instant
it stops being valid), the term's number and how the term came about (renewed, or deemed
renewed under Art. 50). Licenses issued before validity was kept have none: unknown, not
guessed (see migration 0013). A renewal application (延续) is a case of its own
(`LicenseRenewal`), one per license and term.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Column, DateTime, Engine, Integer, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from store.db import in_utc, session


class License(SQLModel, table=True):
    __tablename__ = "licenses"
    __table_args__ = (UniqueConstraint("application_id", "item_code"),)

    number: str = Field(primary_key=True, max_length=64)
    application_id: str = Field(index=True, max_length=64)
    item_code: str = Field(max_length=64)
    license_kind: str = Field(max_length=64)
    holder_name: str = Field(max_length=128)
    verification_code: str = Field(unique=True, max_length=32)
    valid_from: datetime
    status: str = Field(default="issued", max_length=16)
    revoked_at: datetime | None = None
    revoked_reason: str | None = Field(default=None, max_length=500)
    # What a verifier may be told of why (domain.application.RevocationGround's value).
    revocation_ground: str | None = Field(default=None, max_length=32)
    # The end of the current term (exclusive); None: no validity, or unknown (issued before
    # the registry kept it).
    valid_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    term: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    renewed_as: str | None = Field(default=None, max_length=16)  # RenewedAs of the term

    def expires(self) -> datetime | None:
        """`valid_until` with its offset."""
        return in_utc(self.valid_until)


class LicenseRenewal(SQLModel, table=True):
    """A renewal application (延续): its case number, its limit, its decision."""

    __tablename__ = "license_renewals"
    __table_args__ = (UniqueConstraint("license_number", "term"),)

    renewal_id: str = Field(primary_key=True, max_length=64)
    license_number: str = Field(index=True, max_length=64)
    term: int  # the term it would extend
    case_number: str = Field(max_length=32)
    hall: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    received_by: str | None = Field(default=None, max_length=64)  # a staff ID
    decision_due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(default="accepted", max_length=16)
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    decided_by: str | None = Field(default=None, max_length=64)  # a staff ID
    reason: str | None = Field(default=None, max_length=500)


def _find(engine: Engine, application_id: str, item_code: str) -> License | None:
    with session(engine) as s:
        return _find_in(s, application_id, item_code)


def _find_in(s: Session, application_id: str, item_code: str) -> License | None:
    return s.exec(
        select(License).where(
            License.application_id == application_id, License.item_code == item_code
        )
    ).first()


# A verification code (核验码) is read off a license and typed by people: capitals and digits
# without the look-alikes (0 O 1 I), 14 of them (70 bits). Codes issued before, of URL-safe
# characters, stay valid.
VERIFICATION_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
VERIFICATION_LENGTH = 14


def new_verification_code() -> str:
    return "".join(secrets.choice(VERIFICATION_ALPHABET) for _ in range(VERIFICATION_LENGTH))


def issue_license(
    engine: Engine,
    *,
    application_id: str,
    item_code: str,
    license_kind: str,
    holder_name: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> License:
    """Issue the license, or return the one already issued for this application and item."""
    try:
        with session(engine) as s:  # the look-up and the insert in one transaction
            existing = _find_in(s, application_id, item_code)
            if existing is not None:
                return existing
            license = License(
                number=f"YC{valid_from:%Y%m%d}-{secrets.token_hex(4).upper()}",
                application_id=application_id,
                item_code=item_code,
                license_kind=license_kind,
                holder_name=holder_name,
                verification_code=new_verification_code(),
                valid_from=valid_from,
                valid_until=valid_until,
            )
            s.add(license)
    except IntegrityError:
        # A concurrent retry won the race: the registry keeps the first one.
        found = _find(engine, application_id, item_code)
        if found is None:
            raise
        return found
    return license


def licenses_of(engine: Engine, application_id: str) -> list[License]:
    with session(engine) as s:
        return list(s.exec(select(License).where(License.application_id == application_id)))


def verify(engine: Engine, verification_code: str) -> License | None:
    with session(engine) as s:
        return s.exec(select(License).where(License.verification_code == verification_code)).first()


def revoke(
    engine: Engine,
    *,
    application_id: str,
    item_code: str,
    reason: str,
    at: datetime,
    ground: str | None = None,
) -> License | None:
    """Mark the license revoked (once; a retry keeps the first reason and time)."""
    with session(engine) as s:
        license = s.exec(
            select(License).where(
                License.application_id == application_id, License.item_code == item_code
            )
        ).first()
        if license is None or license.status == "revoked":
            return license
        license.status, license.revoked_at, license.revoked_reason = "revoked", at, reason
        license.revocation_ground = ground
        s.add(license)
        return license


def get(engine: Engine, number: str) -> License | None:
    with session(engine) as s:
        return s.get(License, number)


def renew(
    engine: Engine, number: str, *, term: int, valid_until: datetime, renewed_as: str
) -> License | None:
    """Begin term `term + 1`, ending at `valid_until`. Idempotent: a license already past
    `term`, or no longer valid (revoked meanwhile), is left as it is."""
    with session(engine) as s:
        license = s.get(License, number)
        if license is None or license.status != "issued" or license.term != term:
            return license
        license.term, license.valid_until, license.renewed_as = term + 1, valid_until, renewed_as
        s.add(license)
        return license


def expire(engine: Engine, number: str, *, term: int) -> License | None:
    """Term `term` ended without renewal: the license is expired (once; a revoked one stays
    revoked, a renewed one valid)."""
    with session(engine) as s:
        license = s.get(License, number)
        if license is None or license.status != "issued" or license.term != term:
            return license
        license.status = "expired"
        s.add(license)
        return license


def open_renewal(engine: Engine, renewal: LicenseRenewal) -> LicenseRenewal:
    """Record the renewal application, or return the one recorded for this license and term
    (a retry, or a second application the workflow let through by mistake)."""
    try:
        with session(engine) as s:
            s.add(renewal)
    except IntegrityError:
        with session(engine) as s:
            found = s.exec(
                select(LicenseRenewal).where(
                    LicenseRenewal.license_number == renewal.license_number,
                    LicenseRenewal.term == renewal.term,
                )
            ).first()
        if found is None:
            raise
        return found
    return renewal


def decide_renewal(
    engine: Engine,
    renewal_id: str,
    *,
    status: str,
    at: datetime,
    decided_by: str | None = None,
    reason: str | None = None,
) -> LicenseRenewal | None:
    """Record how the renewal ended (once: a retry keeps the first)."""
    with session(engine) as s:
        renewal = s.get(LicenseRenewal, renewal_id)
        if renewal is None or renewal.status != "accepted":
            return renewal
        renewal.status, renewal.decided_at = status, at
        renewal.decided_by, renewal.reason = decided_by, reason
        s.add(renewal)
        return renewal


def renewals_of(engine: Engine, number: str) -> list[LicenseRenewal]:
    with session(engine) as s:
        return list(
            s.exec(
                select(LicenseRenewal)
                .where(LicenseRenewal.license_number == number)
                .order_by(col(LicenseRenewal.term))
            )
        )
