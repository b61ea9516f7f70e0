"""Applicants, agents and staff: who acts on an application.

Names, ID numbers and phone numbers are personal data: they travel only inside
encrypted payloads and the store, never in logs or search attributes. `redacted()`
gives the form that may be shown anywhere.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.text import Line
from domain.uscc import CreditCode

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _resident_id(value: str) -> str:
    """A mainland resident ID number (GB 11643): 17 digits, a birth date, a check digit."""
    value = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise ValueError("must be 18 characters: 17 digits and a check digit (0-9 or X)")
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValueError("contains an impossible birth date") from None
    if value[17] != resident_id_check_digit(value[:17]):
        raise ValueError("check digit does not match (mistyped number?)")
    return value


def _mobile(value: str) -> str:
    value = value.strip().replace(" ", "").replace("-", "")
    if not re.fullmatch(r"1[3-9]\d{9}", value):
        raise ValueError("must be an 11-digit mainland mobile number starting with 13-19")
    return value


ResidentId = Annotated[str, AfterValidator(_resident_id)]
MobilePhone = Annotated[str, AfterValidator(_mobile)]
PersonName = Annotated[Line, Field(min_length=1, max_length=64)]  # one line, no bidi tricks


def resident_id_check_digit(first17: str) -> str:
    """The check digit for 17 leading digits (for tests and sample data)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


class Person(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: PersonName
    id_number: ResidentId
    phone: MobilePhone

    def redacted(self) -> str:
        """Safe to show in logs and the Web UI: surname and the last four ID digits."""
        return f"{self.name[0]}** (…{self.id_number[-4:]})"


class Applicant(Person):
    """The natural or legal person the application is for (for a legal person: its
    legal representative)."""

    enterprise_name: Line | None = Field(None, max_length=128)
    # A legal person's credit subject (GB 32100-2015); optional, so older payloads parse.
    credit_code: CreditCode | None = None


class Agent(Person):
    """Someone who applies on the applicant's behalf (帮办代办)."""

    organisation: Line | None = Field(None, max_length=128)


class Role(StrEnum):
    APPLICANT = "applicant"
    WINDOW_CLERK = "window_clerk"
    REVIEWER = "reviewer"
    INSPECTOR = "inspector"
    SUPERVISOR = "supervisor"
    DEPARTMENT_HEAD = "department_head"  # approves an Art. 42 extension of a limit
    AUDITOR = "auditor"
    OPERATOR = "operator"


class Staff(BaseModel):
    """A member of staff acting on an application; no personal data, only a staff ID."""

    model_config = ConfigDict(frozen=True)

    staff_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._\-]+$")
    role: Role
    department: str | None = Field(None, max_length=64)
    hall: str | None = Field(None, max_length=64)
