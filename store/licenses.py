"""The license registry: one license per application and item, however often issued."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Engine, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, select

from store.db import session


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


def _find(engine: Engine, application_id: str, item_code: str) -> License | None:
    with session(engine) as s:
        return s.exec(
            select(License).where(
                License.application_id == application_id, License.item_code == item_code
            )
        ).first()


def issue_license(
    engine: Engine,
    *,
    application_id: str,
    item_code: str,
    license_kind: str,
    holder_name: str,
    valid_from: datetime,
) -> License:
    """Issue the license, or return the one already issued for this application and item."""
    existing = _find(engine, application_id, item_code)
    if existing is not None:
        return existing
    number = f"YC{valid_from:%Y%m%d}-{secrets.token_hex(4).upper()}"
    license = License(
        number=number,
        application_id=application_id,
        item_code=item_code,
        license_kind=license_kind,
        holder_name=holder_name,
        verification_code=secrets.token_urlsafe(9),
        valid_from=valid_from,
    )
    try:
        with session(engine) as s:
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
