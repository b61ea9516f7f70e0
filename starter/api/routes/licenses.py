"""HTTP routes of licenses, mounted by `starter.api.create_app`: public verification with the
license's validity, and its term and renewal (延续, Art. 50) for the holder and staff.

- `GET /licenses/{verification_code}` (public): real, in force, until when; the renewal
  window by the catalog in force; never the holder's personal data.
- `GET /licenses/by-number/{license_number}/term`: the term workflow's state (the holder,
  a window clerk, the item's department, supervisors, auditors, operators).
- `POST …/renewal`: the holder applies (online or by mail), or a window clerk receives it
  at their hall: the same roles as submitting an application (`auth.may_submit`).
- `POST …/renewal/decision`: a reviewer of the item's department (`auth.may_decide`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from domain.application import Channel, RevocationGround
from domain.calendar import WorkingCalendar
from domain.catalog import Catalog
from domain.license_term import (
    HALL_PATTERN,
    LICENSE_NUMBER_PATTERN,
    LicenseTermState,
    RenewalApplication,
    RenewalDecision,
    RenewalVerdict,
    RenewedAs,
    last_valid_day,
    renewal_window,
)
from domain.people import Role
from domain.text import Text
from starter import auth
from starter.api.deps import Caller
from starter.api.license_page import not_found_page, verification_page
from starter.auth import DEPARTMENT_ROLES, Principal
from starter.client import Conflict, NotFound
from starter.errors import ApiError, error_responses
from starter.license_terms import LicenseTerms
from store import licenses as license_store
from store.db import in_utc
from store.licenses import License

T = TypeVar("T")

VerificationCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-]{4,32}$")]
LicenseNumber = Annotated[
    str, Path(pattern=LICENSE_NUMBER_PATTERN, description="The license's number (编号).")
]
STATUS_LABELS = {"issued": "有效", "expired": "已过期", "revoked": "已撤销"}


class RenewalWindowOut(BaseModel):
    opens_on: date = Field(description="First day to apply (Beijing time).")
    closes_on: date = Field(description="Last day to apply (Beijing time).")


class LicenseVerification(BaseModel):
    """What a verifier needs: is this license real and in force, and until when. No holder's
    personal data."""

    number: str
    item_code: str
    item_name: str | None
    license_kind: str
    status: str = Field(description="issued (in force), expired or revoked.")
    status_label: str = Field(description="The status in Chinese: 有效, 已过期, 已撤销.")
    valid: bool
    valid_from: datetime
    valid_until: datetime | None = Field(
        None,
        description="The instant the current term ends (exclusive); null when the license "
        "has no validity, or was issued before the registry kept it.",
    )
    valid_through: date | None = Field(None, description="Its last valid day, Beijing time.")
    validity_known: bool = Field(
        description="False: issued before validity was kept; see the license itself."
    )
    term: int = Field(description="1 for the first term, 2 after one renewal, ...")
    renewed_as: RenewedAs | None = Field(
        None, description="How the current term came about: renewed or deemed_renewed."
    )
    renewed_as_label: str | None = Field(None, description="准予延续 or 视为准予延续.")
    renewal_window: RenewalWindowOut | None = Field(
        None, description="When the holder may apply for renewal, by the catalog in force."
    )
    revoked_at: datetime | None
    revocation_ground: RevocationGround | None = Field(
        None, description="Why it was revoked, as a category; the case's details stay in it."
    )
    revocation_ground_label: str | None = Field(None, description="The same, in Chinese.")
    holder_hint: str = Field(description="The holder's name, all but its first character masked.")


class RenewalIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"hall": "yicheng-center"}]}
    )

    hall: str | None = Field(
        None,
        pattern=HALL_PATTERN,
        description="The hall it is applied at (required of the holder; a clerk's own hall).",
    )
    channel: Channel | None = Field(None, description="online or mail; a clerk: window or mail.")
    note: Text | None = Field(None, max_length=500)


class RenewalDecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"verdict": "approve"}]}
    )

    verdict: RenewalVerdict
    reason: Text | None = Field(
        None, max_length=500, description="Required to refuse: the applicant is told why."
    )


def _mask(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 0)


def verification_of(
    found: License, catalog: Catalog, calendar: WorkingCalendar, now: datetime | None = None
) -> LicenseVerification:
    item = catalog.items.get(found.item_code)
    ground = RevocationGround(found.revocation_ground) if found.revocation_ground else None
    expires = found.expires()
    # Past its term's end it is expired, by law, before the term's workflow records it (a
    # worker down at that moment must not make a verifier read "in force").
    status = found.status
    if status == "issued" and expires is not None and (now or datetime.now(UTC)) >= expires:
        status = "expired"
    window = None
    rule = item.renewal_rule if item is not None else None
    if expires is not None and rule is not None and status == "issued":
        w = renewal_window(expires, rule, calendar)
        window = RenewalWindowOut(opens_on=w.opens_on, closes_on=w.closes_on)
    renewed_as = RenewedAs(found.renewed_as) if found.renewed_as else None
    return LicenseVerification(
        number=found.number,
        item_code=found.item_code,
        item_name=item.name if item else None,
        license_kind=found.license_kind,
        status=status,
        status_label=STATUS_LABELS.get(status, status),
        valid=status == "issued",
        valid_from=in_utc(found.valid_from),
        valid_until=expires,
        valid_through=last_valid_day(expires) if expires is not None else None,
        validity_known=expires is not None or (item is not None and item.validity_years is None),
        term=found.term,
        renewed_as=renewed_as,
        renewed_as_label=renewed_as.label if renewed_as else None,
        renewal_window=window,
        revoked_at=found.revoked_at,
        revocation_ground=ground,
        revocation_ground_label=ground.label if ground else None,
        holder_hint=_mask(found.holder_name),
    )


def add_routes(
    router: APIRouter,
    engine: Engine,
    catalog: Catalog,
    terms: LicenseTerms,
    applicant_ref: Callable[[str], Awaitable[str | None]],
    query_timeout: float = 10.0,
    calendar: WorkingCalendar | None = None,
) -> None:
    calendar = calendar or WorkingCalendar.from_file()

    @router.get(
        "/licenses/{verification_code}",
        tags=["licenses"],
        response_model=LicenseVerification,
        summary="Verify an electronic license by its verification code (public): in force, "
        "until when",
        description=(
            "The address a license and its decision give with their code. A browser "
            "(`Accept: text/html`) gets a page in Chinese, an unknown code a page saying so."
        ),
        responses={
            200: {"content": {"text/html": {"schema": {"type": "string"}}}},
            **error_responses(404, 422),
        },
    )
    async def verify_license(request: Request, verification_code: VerificationCode) -> Any:
        found = await run_in_threadpool(license_store.verify, engine, verification_code)
        browser = "text/html" in request.headers.get("accept", "")
        if found is None:
            if browser:
                return HTMLResponse(not_found_page(), status_code=404)
            raise ApiError.field(404, "verification_code", "no license has this code")
        verification = verification_of(found, catalog, calendar)
        if browser:
            return HTMLResponse(verification_page(verification, datetime.now(UTC)))
        return verification

    async def license_of(number: str) -> License:
        found = await run_in_threadpool(license_store.get, engine, number)
        if found is None:
            raise ApiError.field(404, "license_number", "no license has this number")
        return found

    def department_of(found: License) -> str:
        item = catalog.items.get(found.item_code)
        return item.department if item is not None else ""

    async def answered(query: Awaitable[T]) -> T:
        """A term read: a worker answers it within `query_timeout`, or 503."""
        try:
            return await carried_out(asyncio.wait_for(query, query_timeout))
        except TimeoutError:
            raise ApiError(
                503, "no worker answered in time: is a onething worker running?", code="unavailable"
            ) from None

    async def carried_out(call: Awaitable[T]) -> T:
        """A request to the term's workflow. An update is not cut short here: the client
        waits its own deadline, then says it may still be carried out (`Unanswered`, 503)."""
        try:
            return await call
        except NotFound:
            raise ApiError.field(
                404,
                "license_number",
                "no term is kept for this license (it has no validity, or it is being issued)",
            ) from None
        except Conflict as exc:
            raise ApiError.field(409, exc.field, exc.problem) from None

    async def may_read(principal: Principal, found: License) -> None:
        if principal.reads_all or principal.role is Role.WINDOW_CLERK:
            return
        if principal.role in DEPARTMENT_ROLES:
            auth.may_read_item(principal, item_department=department_of(found))
            return
        if principal.role is Role.APPLICANT:
            if principal.is_applicant_of(await applicant_ref(found.application_id)):
                return
            raise auth.forbid(principal, "an applicant may read only their own licenses")
        raise auth.forbid(principal, "may not read licenses' terms")

    errors = error_responses(401, 403, 404, 409, 422, 503)

    @router.get(
        "/licenses/by-number/{license_number}/term",
        tags=["licenses"],
        response_model=LicenseTermState,
        summary="A license's term: validity, renewal window, renewal case (holder and staff)",
        responses=errors,
    )
    async def license_term(license_number: LicenseNumber, principal: Caller) -> Any:
        found = await license_of(license_number)
        await may_read(principal, found)
        return await answered(terms.state(license_number))

    @router.post(
        "/licenses/by-number/{license_number}/renewal",
        tags=["licenses"],
        response_model=LicenseTermState,
        summary="Apply for renewal (延续) within the renewal window; answers the case",
        description=(
            "The holder (online or by mail, naming the hall) or a window clerk at their hall. "
            "The case gets its number (办件编号) and the holder a receipt. 409 outside the "
            "window, or when this term's renewal was applied for already."
        ),
        responses=errors,
    )
    async def apply_for_renewal(
        license_number: LicenseNumber, body: RenewalIn, principal: Caller
    ) -> Any:
        found = await license_of(license_number)
        clerk = principal.role is Role.WINDOW_CLERK
        hall = principal.hall if clerk else body.hall
        if hall is None:
            raise ApiError.field(422, "hall", "name the hall the renewal is applied at")
        ref = await applicant_ref(found.application_id) if principal.role is Role.APPLICANT else ""
        auth.may_submit(principal, hall=hall, applicant_ref=ref or "")
        if clerk and body.channel is Channel.ONLINE:
            raise ApiError.field(422, "channel", "a window clerk receives at the window or by mail")
        if not clerk and body.channel is Channel.WINDOW:
            raise ApiError.field(
                422, "channel", "what arrives at a window is recorded by its clerk"
            )
        channel = body.channel or (Channel.WINDOW if clerk else Channel.ONLINE)
        application = RenewalApplication(
            hall=hall,
            channel=channel,
            note=body.note,
            received_by=principal.staff() if clerk else None,
        )
        return await carried_out(terms.apply(license_number, application))

    @router.post(
        "/licenses/by-number/{license_number}/renewal/decision",
        tags=["staff"],
        response_model=LicenseTermState,
        summary="A reviewer of the item's department decides a renewal (refusal: reasons)",
        description=(
            "Approved: a new term from the old expiry (准予延续决定书). Refused: the license "
            "expires at its expiry (不予延续决定书 with the applicant's rights). Not decided "
            "before the expiry: deemed renewed (Art. 50), after which this answers 409."
        ),
        responses=errors,
    )
    async def decide_renewal(
        license_number: LicenseNumber, body: RenewalDecisionIn, principal: Caller
    ) -> Any:
        if principal.role is not Role.REVIEWER:
            auth.may_decide(principal, item_department="")
        found = await license_of(license_number)
        auth.may_decide(principal, item_department=department_of(found))
        if body.verdict is RenewalVerdict.REFUSE and not (body.reason or "").strip():
            raise ApiError.field(422, "reason", "a refusal must give the reason")
        decision = RenewalDecision(
            reviewer=principal.staff(), verdict=body.verdict, reason=body.reason
        )
        return await carried_out(terms.decide(license_number, decision))
