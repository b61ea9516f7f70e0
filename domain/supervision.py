"""Referral to supervision (移送监管): a case handed to the supervision office on purpose.

An overdue limit escalates (`domain.clock.EscalationRequest`); a referral is something else:
the procedure itself hands the case over, e.g. after a revocation (a false commitment, a
failed re-inspection) so that supervision during and after (事中事后监管) follows it up.

Pure code: importable inside the Temporal workflow sandbox.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("instants must carry a time zone")
    return value.astimezone(UTC)


class ReferralKind(StrEnum):
    REVOCATION = "revocation"  # a license was revoked: follow the holder up

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {ReferralKind.REVOCATION: "撤销许可后移送监管"}


class Referral(BaseModel):
    """Input of the activity that refers a case; no personal data in it."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str = Field(min_length=1, max_length=200)
    kind: ReferralKind
    department: str = Field("", max_length=64)
    subject: str = Field("", max_length=200)  # application/item reference, never a person
    reason: str = Field(min_length=1, max_length=500)
    referred_at: Annotated[datetime, AfterValidator(_aware)]


class ReferralRef(BaseModel):
    referral_id: int
    created: bool  # False: referred already (a retried activity)
