"""An application: what is submitted, what staff decide, what the applicant gets back.

Pure models; they travel as Temporal payloads (encrypted by the codec) and as the
typed client's inputs and outputs.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.people import Agent, Applicant, Staff

APPLICATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{2,63}$"


def application_workflow_id(application_id: str) -> str:
    """One workflow per application: a repeated start with the same ID finds the same one."""
    return f"application-{application_id}"


def item_workflow_id(application_id: str, item_code: str) -> str:
    return f"application-{application_id}/item-{item_code}"


class Channel(StrEnum):
    """How the application reached the service center."""

    WINDOW = "window"
    ONLINE = "online"
    MAIL = "mail"


class Submission(BaseModel):
    """What the applicant hands in at the general window (or online, or by mail)."""

    model_config = ConfigDict(frozen=True)

    application_id: str = Field(pattern=APPLICATION_ID_PATTERN)
    item_code: str | None = Field(None, min_length=1, max_length=64)
    bundle_code: str | None = Field(None, min_length=1, max_length=64)
    applicant: Applicant
    agent: Agent | None = None
    channel: Channel = Channel.WINDOW
    hall: str = Field("yicheng-center", min_length=1, max_length=64)
    materials: list[str] = Field(default_factory=list, max_length=200)
    form: dict[str, Any] = Field(default_factory=dict)
    commitment_signed: bool = False
    deficiency_pledge_signed: bool = False
    catalog_version: str | None = None
    accepted_by: Staff | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Submission:
        if (self.item_code is None) == (self.bundle_code is None):
            raise ValueError("give exactly one of item_code or bundle_code")
        if len(set(self.materials)) != len(self.materials):
            raise ValueError("materials lists a material code twice")
        return self

    @property
    def target(self) -> str:
        return self.bundle_code or self.item_code or ""


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    REFUSED = "refused"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


class ItemStatus(StrEnum):
    WAITING = "waiting"  # for an earlier item of the bundle
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    ISSUED = "issued"


class MissingMaterial(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    item_codes: list[str]
    core: bool


class MissingMaterialsNotice(BaseModel):
    """一次性告知: one notice listing every missing material at once."""

    model_config = ConfigDict(frozen=True)

    application_id: str
    missing: list[MissingMaterial]
    issued_at: datetime

    def summary(self) -> str:
        return "缺少材料: " + "、".join(m.name for m in self.missing)


class ReviewVerdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class ReviewDecision(BaseModel):
    """A department reviewer's decision on one item."""

    model_config = ConfigDict(frozen=True)

    reviewer: Staff
    verdict: ReviewVerdict
    reason: str | None = Field(None, max_length=500)

    @model_validator(mode="after")
    def _reason_for_rejection(self) -> ReviewDecision:
        if self.verdict is ReviewVerdict.REJECT and not (self.reason and self.reason.strip()):
            raise ValueError("reason: a rejection must give the reason")
        return self


class TrailEntry(BaseModel):
    """One line of the decision trail: who decided what, when, under which rule."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    action: str
    actor: str
    role: str
    item_code: str | None = None
    rule: str | None = None  # catalog version and item code the decision stands on
    detail: str | None = None


class LicenseRecord(BaseModel):
    """An issued electronic license, as the registry holds it (no personal data here)."""

    model_config = ConfigDict(frozen=True)

    number: str
    item_code: str
    license_kind: str
    verification_code: str
    valid_from: datetime
    status: str = "issued"


class ItemOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    item_code: str
    status: ItemStatus
    license: LicenseRecord | None = None
    reason: str | None = None


class ApplicationOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    application_id: str
    status: ApplicationStatus
    catalog_version: str | None = None
    notice: MissingMaterialsNotice | None = None
    items: list[ItemOutcome] = Field(default_factory=list)
    reason: str | None = None
