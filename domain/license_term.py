"""A license's term (有效期), its renewal window and its renewal (延续, 行政许可法 Art. 50).

A term of N years starts on the Beijing day the license is issued (or, renewed, on the day
its previous term ended) and is valid through the day before the same date N years later:
`expires_at` is 00:00 Beijing time of that date, the instant it stops being valid. The
renewal window is counted back from the last valid day in the catalog's unit (working or
calendar days): it opens at 00:00 of its first day and closes at 24:00 of its last.

The models are what the `LicenseTermWorkflow` exchanges with its activities and callers.
Pure: imported inside the workflow sandbox; the calendar is passed in.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from domain.application import Channel
from domain.calendar import WorkingCalendar
from domain.catalog_models import DayUnit, RenewalRule
from domain.notices import SERVICE_CENTER_TIMEZONE
from domain.people import Staff
from domain.text import Text

_BEIJING = ZoneInfo(SERVICE_CENTER_TIMEZONE)
_ONE_DAY = timedelta(days=1)
HALL_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
LICENSE_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9\-]{2,40}$"


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("instants must carry a time zone")
    return value


Instant = Annotated[datetime, AfterValidator(_aware)]


def term_workflow_id(license_number: str) -> str:
    """One term workflow per license, whatever its term: a repeated start finds it."""
    return f"license-term-{license_number}"


def renewal_id(license_number: str, term: int) -> str:
    """The renewal case of `term` (the term it would extend): its own record and number."""
    return f"{license_number}-R{term}"


def beijing_day(instant: datetime) -> date:
    return instant.astimezone(_BEIJING).date()


def start_of(day: date) -> datetime:
    """00:00 Beijing time of `day`."""
    return datetime.combine(day, time(0), tzinfo=_BEIJING)


def _anniversary(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year: the term ends with February
        return date(day.year + years, 3, 1)


def expiry_after(start: datetime, years: int) -> datetime:
    """The end of a term of `years` that starts at `start` (see the module's docstring)."""
    if years < 1:
        raise ValueError(f"validity_years: must be 1 or more, got {years}")
    return start_of(_anniversary(beijing_day(start), years))


def last_valid_day(expires_at: datetime) -> date:
    return beijing_day(expires_at) - _ONE_DAY


class RenewalWindow(BaseModel):
    """When the holder may apply for renewal; `closes_at` is the first instant after it."""

    model_config = ConfigDict(frozen=True)

    opens_on: date
    closes_on: date  # the last day to apply
    opens_at: Instant
    closes_at: Instant


def _days_before(day: date, days: int, unit: DayUnit, calendar: WorkingCalendar) -> date:
    if unit is DayUnit.WORKING:
        return calendar.subtract_working_days(day, days)
    return day - timedelta(days=days)


def renewal_window(
    expires_at: datetime, rule: RenewalRule, calendar: WorkingCalendar
) -> RenewalWindow:
    """The window of a term ending at `expires_at`: e.g. food, from the working day 90
    working days before its last valid day to the one 15 working days before it."""
    last = last_valid_day(expires_at)
    opens_on = _days_before(last, rule.opens_days_before, rule.unit, calendar)
    closes_on = _days_before(last, rule.closes_days_before, rule.unit, calendar)
    return RenewalWindow(
        opens_on=opens_on,
        closes_on=closes_on,
        opens_at=start_of(opens_on),
        closes_at=start_of(closes_on + _ONE_DAY),
    )


# --------------------------------------------------------------------------- the workflow's


class TermPhase(StrEnum):
    PLANNING = "planning"  # the term is being read from the registry
    VALID = "valid"  # before the renewal window
    WINDOW_OPEN = "window_open"  # the holder was reminded and may apply
    WINDOW_CLOSED = "window_closed"  # no renewal applied for: it expires at expiry
    RENEWAL_PENDING = "renewal_pending"  # applied for, awaiting the department's decision
    RENEWAL_REFUSED = "renewal_refused"  # refused: it expires at expiry
    RENEWED = "renewed"  # a new term (the workflow continues with it)
    EXPIRED = "expired"
    REVOKED = "revoked"
    NO_TERM = "no_term"  # the registry knows no expiry (issued before validity was kept)


class RenewedAs(StrEnum):
    """How the current term came about, when it is not the first."""

    RENEWED = "renewed"  # 准予延续
    DEEMED_RENEWED = "deemed_renewed"  # 视为准予延续: undecided at expiry (Art. 50)

    @property
    def label(self) -> str:
        return {"renewed": "准予延续", "deemed_renewed": "视为准予延续"}[self.value]


class RenewalStatus(StrEnum):
    ACCEPTED = "accepted"  # 受理, awaiting the decision
    APPROVED = "approved"
    REFUSED = "refused"
    DEEMED_RENEWED = "deemed_renewed"
    ENDED = "ended"  # the license was revoked before a decision


class RenewalVerdict(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"


class TermStart(BaseModel):
    """The term workflow's input: the license (its number, no personal data) and the term."""

    model_config = ConfigDict(frozen=True)

    license_number: str = Field(pattern=LICENSE_NUMBER_PATTERN)
    term: int = Field(default=1, ge=1)


class PlanTerm(BaseModel):
    model_config = ConfigDict(frozen=True)

    license_number: str
    term: int


class TermPlan(BaseModel):
    """A term as the registry, the catalog in force and the calendar make it."""

    model_config = ConfigDict(frozen=True)

    license_number: str
    application_id: str  # the application the license was issued on: the holder's
    item_code: str
    item_name: str
    license_kind: str
    department: str
    term: int
    status: str  # the registry's: issued, revoked, expired
    valid_from: Instant
    expires_at: Instant | None  # None: the registry knows no expiry
    validity_years: int | None
    window: RenewalWindow | None
    decision_days: int  # working days
    catalog_version: str | None
    provisional_years: list[int] = Field(default_factory=list)
    renewed_as: RenewedAs | None = None  # how this term came about (term 2 on)


class RenewalApplication(BaseModel):
    """The holder applies for renewal (延续): at a hall's window (a clerk receives it), online
    or by mail. `received_by`: the clerk, from the caller's token, never from the body."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hall: str = Field(pattern=HALL_PATTERN)
    channel: Channel = Channel.ONLINE
    note: Text | None = Field(default=None, max_length=500)
    received_by: Staff | None = None


class RenewalDecision(BaseModel):
    """The department's decision on a renewal; a refusal gives its reasons (Art. 38)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reviewer: Staff
    verdict: RenewalVerdict
    reason: Text | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _reason_required(self) -> RenewalDecision:
        if self.verdict is RenewalVerdict.REFUSE and not (self.reason or "").strip():
            raise ValueError("reason: a refusal must give the reason")
        return self


class AcceptRenewal(BaseModel):
    model_config = ConfigDict(frozen=True)

    renewal_id: str
    license_number: str
    term: int
    application_id: str
    item_code: str
    hall: str
    channel: Channel
    received_at: Instant
    received_by: str | None  # a staff ID
    decision_days: int
    expires_at: Instant


class RenewalCase(BaseModel):
    """A renewal application's own record: its 办件编号 and the decision's limit."""

    model_config = ConfigDict(frozen=True)

    renewal_id: str
    case_number: str
    hall: str
    channel: Channel
    received_at: Instant
    decision_due_at: Instant  # the limit, never after the expiry (then Art. 50 decides)
    status: RenewalStatus = RenewalStatus.ACCEPTED
    decided_at: Instant | None = None
    decided_by: str | None = None  # a staff ID
    reason: str | None = None


class ConcludeTerm(BaseModel):
    """What the term workflow records in the registry, in the renewal case and in writing."""

    model_config = ConfigDict(frozen=True)

    license_number: str
    term: int
    phase: TermPhase  # RENEWED, RENEWAL_REFUSED, EXPIRED or REVOKED
    renewed_as: RenewedAs | None = None
    validity_years: int | None = None  # of the new term, when renewed
    at: Instant
    renewal_id: str | None = None
    decided_by: str | None = None
    reason: str | None = None


class TermConcluded(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: str  # the registry's, after
    expires_at: Instant | None  # the new term's end when renewed
    term: int  # the registry's term, after


class LicenseTermState(BaseModel):
    """What the term workflow answers to a Query and to its Updates."""

    license_number: str
    term: int
    phase: TermPhase
    valid_from: Instant | None = None
    expires_at: Instant | None = None
    window: RenewalWindow | None = None
    renewal: RenewalCase | None = None
    reminded_at: Instant | None = None
    renewed_as: RenewedAs | None = None  # how this term came about (term 2 on)
