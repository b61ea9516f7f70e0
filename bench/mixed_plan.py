"""The mixed soak's plan: the kinds of application in the issue's mix (and the status each must
end in), how many of each a run has, in which seeded order, and each case as the driver
follows it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, Field

from bench.paths import BenchPath
from domain.application import (
    ApplicationStatus,
    Submission,
)
from onething.settings import DEFAULT_CACHED_WORKFLOWS

STORE = "open-convenience-store"
FOOD = "food-business-license"


class Kind(StrEnum):
    """One kind of application in the mix, and the status it must end in."""

    COMMITMENT = "commitment"  # 开办便利店 on commitment, inspected after issuance
    REVIEW = "review"  # a food license reviewed and approved
    DEFICIENCY = "deficiency"  # a deferrable material supplemented by mail after acceptance
    CORRECTION = "correction"  # the reviewer asks for a correction, the applicant corrects
    WITHDRAWN = "withdrawn"  # the applicant withdraws while the review is open
    REJECTED = "rejected"  # the reviewer rejects

    @property
    def expected(self) -> ApplicationStatus:
        if self is Kind.WITHDRAWN:
            return ApplicationStatus.WITHDRAWN
        if self is Kind.REJECTED:
            return ApplicationStatus.REJECTED
        return ApplicationStatus.COMPLETED

    @property
    def target(self) -> str:
        return STORE if self is Kind.COMMITMENT else FOOD

    @property
    def path(self) -> BenchPath:
        if self is Kind.COMMITMENT:
            return BenchPath.COMMITMENT
        return BenchPath.DEFICIENCY if self is Kind.DEFICIENCY else BenchPath.REVIEW


# The mix, in percent; the counts of a run by largest remainder (`plan_mix`).
MIX: dict[Kind, int] = {
    Kind.COMMITMENT: 40,
    Kind.REVIEW: 25,
    Kind.DEFICIENCY: 15,
    Kind.CORRECTION: 10,
    Kind.WITHDRAWN: 5,
    Kind.REJECTED: 5,
}


def mix_counts(n: int) -> dict[Kind, int]:
    """How many of each kind among n: the mix's shares by largest remainder, at least one of
    each kind when n allows, so a small run still has every outcome."""
    exact = {kind: n * share / 100 for kind, share in MIX.items()}
    counts = {kind: int(value) for kind, value in exact.items()}
    by_remainder = sorted(MIX, key=lambda k: (-(exact[k] - counts[k]), list(MIX).index(k)))
    for kind in by_remainder[: n - sum(counts.values())]:
        counts[kind] += 1
    if n >= len(MIX):
        for kind in MIX:
            while counts[kind] == 0:  # take one from the largest
                largest = max(counts, key=lambda k: counts[k])
                counts[largest] -= 1
                counts[kind] += 1
    return counts


def plan_mix(n: int, seed: int) -> list[Kind]:
    """The kinds in submission order: the counts of `mix_counts`, shuffled by the seed."""
    kinds = [kind for kind, count in mix_counts(n).items() for _ in range(count)]
    random.Random(seed).shuffle(kinds)
    return kinds


class MixedConfig(BaseModel):
    applications: int = Field(2000, ge=1)
    concurrency: int = Field(40, ge=1)  # applications in flight at once
    seed: int = 18
    staff_delay_s: float = Field(2.0, ge=0)  # each act waits uniform(0, this) seconds
    rss_every_s: float = Field(5.0, gt=0)
    stuck_after_s: float = Field(120.0, gt=0)  # still running this long after the last act
    poll_s: float = Field(0.1, gt=0)  # how often the desk reads its inbox
    # The worker's sticky cache (ONETHING_MAX_CACHED_WORKFLOWS): what bounds its memory.
    max_cached_workflows: int = Field(DEFAULT_CACHED_WORKFLOWS, ge=1)
    database_url: str | None = None
    in_memory_server: bool = False


@dataclass
class Case:
    """One application of the mix as the driver follows it."""

    index: int
    kind: Kind
    submission: Submission
    submitted_at: float = 0.0  # wall clock, for the histories' event times
    submitted_mono: float = 0.0
    last_act: float = 0.0  # monotonic: the last time anyone acted on it
    ended_mono: float | None = None
    status: str = "not submitted"  # an ApplicationStatus value, or what went wrong
    stuck: bool = False
    lost: bool = False

    @property
    def application_id(self) -> str:
        return self.submission.application_id
