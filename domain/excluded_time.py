"""Excluded time (不计入时限, 行政许可法 Art. 45).

When a decision needs a hearing, bidding, an auction, testing, inspection by a third
party, quarantine, appraisal or expert review, the time it takes is not counted in the
limits: the clock pauses. The applicant is told in writing what is done and how long it
is expected to take; the pause ends with the result.

Not excluded time: the applicant's correction (补正). Until the materials are complete
the limit has not started at all (Art. 32); that wait is no pause of a running limit.

Pure code: importable inside the Temporal workflow sandbox.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.people import Role, Staff


class ExcludedTimeKind(StrEnum):
    """What the time is spent on (the list of Art. 45)."""

    HEARING = "hearing"  # 听证
    BIDDING = "bidding"  # 招标
    AUCTION = "auction"  # 拍卖
    TESTING = "testing"  # 检验
    INSPECTION = "inspection"  # 检测, by a third party (not the office's on-site check)
    QUARANTINE = "quarantine"  # 检疫
    APPRAISAL = "appraisal"  # 鉴定
    EXPERT_REVIEW = "expert_review"  # 专家评审

    @property
    def label(self) -> str:
        """The Chinese name, for the notice the applicant reads."""
        return EXCLUDED_TIME_LABELS[self]


EXCLUDED_TIME_LABELS: dict[ExcludedTimeKind, str] = {
    ExcludedTimeKind.HEARING: "听证",
    ExcludedTimeKind.BIDDING: "招标",
    ExcludedTimeKind.AUCTION: "拍卖",
    ExcludedTimeKind.TESTING: "检验",
    ExcludedTimeKind.INSPECTION: "检测",
    ExcludedTimeKind.QUARANTINE: "检疫",
    ExcludedTimeKind.APPRAISAL: "鉴定",
    ExcludedTimeKind.EXPERT_REVIEW: "专家评审",
}

# Who decides that a decision needs such a step: the item's department (its reviewer or
# its head), never the applicant or the window.
EXCLUDED_TIME_DECIDERS: frozenset[Role] = frozenset({Role.REVIEWER, Role.DEPARTMENT_HEAD})

# A pause is told in working days; more than about a year is a typing error, not a plan.
MAX_EXCLUDED_DAYS = 250

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ExcludedTimeStart(BaseModel):
    """The decision to pause a limit: what is done, why, and how long it should take
    (the applicant's written notice says all three)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ExcludedTimeKind
    expected_days: int = Field(ge=1, le=MAX_EXCLUDED_DAYS)  # working days
    reason: Text
    decided_by: Staff


class ExcludedTimeEnd(BaseModel):
    """The result that ends the pause (e.g. the test report's conclusion)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    result: Text
    decided_by: Staff
