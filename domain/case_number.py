"""办件编号: the number the system gives a case at acceptance (受理).

No national format was found; practice builds it from the region code, the date and a
sequence. Here: the accepting hall's region code (6 digits, GB/T 2260), the acceptance
date in Beijing time, and a sequence per region and day, zero-padded to 6 digits:
`420684-20261128-000042`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.notices import SERVICE_CENTER_TIMEZONE

REGION_CODE_PATTERN = r"^[0-9]{6}$"
MAX_SEQUENCE = 999_999
_FORMAT = re.compile(r"^(?P<region>[0-9]{6})-(?P<day>[0-9]{8})-(?P<sequence>[0-9]{6})$")
_BEIJING = ZoneInfo(SERVICE_CENTER_TIMEZONE)


class CaseNumberError(ValueError):
    """A case number, or a part of one, that does not follow the format."""


def acceptance_day(accepted_at: datetime) -> date:
    """The day a case is numbered under: the acceptance instant's date in Beijing time."""
    if accepted_at.tzinfo is None:
        raise CaseNumberError("accepted_at: needs a UTC offset")
    return accepted_at.astimezone(_BEIJING).date()


@dataclass(frozen=True)
class CaseNumber:
    region_code: str
    day: date
    sequence: int

    def __post_init__(self) -> None:
        if not re.match(REGION_CODE_PATTERN, self.region_code):
            raise CaseNumberError("region_code: must be 6 digits")
        if not 1 <= self.sequence <= MAX_SEQUENCE:
            raise CaseNumberError(f"sequence: must be from 1 to {MAX_SEQUENCE}")

    def __str__(self) -> str:
        return f"{self.region_code}-{self.day:%Y%m%d}-{self.sequence:06d}"


def format_case_number(region_code: str, accepted_at: datetime, sequence: int) -> str:
    """The number of the `sequence`th case accepted in the region on that Beijing day."""
    return str(CaseNumber(region_code, acceptance_day(accepted_at), sequence))


def parse_case_number(text: str) -> CaseNumber:
    """The parts of a case number; a clear error (without echoing it) when it is not one."""
    found = _FORMAT.match(text) if len(text) <= 32 else None
    if found is None:
        raise CaseNumberError(
            "case_number: expected region-YYYYMMDD-sequence, e.g. 420684-20261128-000042"
        )
    try:
        day = datetime.strptime(found["day"], "%Y%m%d").date()
    except ValueError:
        raise CaseNumberError("case_number: the date part is not a date") from None
    return CaseNumber(found["region"], day, int(found["sequence"]))
