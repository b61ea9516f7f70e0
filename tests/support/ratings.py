"""Ratings for the tests: a seeded set of rated cases and follow-ups counted by hand
(`seeded`, read `AS_OF`), and the desk that records 差评 and watches their follow-ups over the
production worker (`Desk`, `desk_over`)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from domain.people import Role
from domain.rating import (
    FollowUpAnswer,
    FollowUpFact,
    FollowUpOutcome,
    FollowUpState,
    RatedCase,
    Rater,
    RatingChannel,
    RatingLevel,
    follow_up_workflow_id,
)
from onething.keys import SubjectKeys
from starter.ratings import Ratings
from store import ratings, tasks
from tests.conftest import running_worker
from tests.desk import eventually, skip_to, staff
from workflows.rating_follow_up import RatingFollowUpWorkflow

# -- the seeded set, counted by hand in tests/domain/test_rating_rules.py

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 Beijing time, a Tuesday


def _case(
    n: int,
    level: RatingLevel,
    *,
    days: int = 0,
    hall: str = "yicheng-center",
    items: tuple[tuple[str, str], ...] = (("biz", "market"),),
    excluded: bool = False,
) -> RatedCase:
    return RatedCase(
        case_number=f"420684-20261201-{n:06d}",
        hall=hall,
        level=level,
        rated_at=T0 + timedelta(days=days),
        items=items,
        excluded=excluded,
    )


def _fu(
    n: int, dept: str, *, due: int, answered: int | None, outcome: FollowUpOutcome | None = None
) -> FollowUpFact:
    return FollowUpFact(
        case_number=f"420684-20261201-{n:06d}",
        department=dept,
        due_at=T0 + timedelta(days=due),
        answered_at=T0 + timedelta(days=answered) if answered is not None else None,
        outcome=outcome,
    )


BOTH = (("biz", "market"), ("tobacco", "tobacco"))


def seeded() -> tuple[list[RatedCase], list[FollowUpFact]]:
    """Ten ratings: 4 非常满意, 2 满意, 1 基本满意, 3 差评 (+1 excluded on appeal, +1 elsewhere)."""
    lv = RatingLevel
    cases = [
        _case(1, lv.VERY_SATISFIED),
        _case(2, lv.VERY_SATISFIED),
        _case(3, lv.VERY_SATISFIED, items=BOTH),
        _case(4, lv.VERY_SATISFIED, items=(("tobacco", "tobacco"),)),
        _case(5, lv.SATISFIED),
        _case(6, lv.SATISFIED, items=BOTH),
        _case(7, lv.BASICALLY_SATISFIED),
        _case(8, lv.DISSATISFIED, items=BOTH),  # market fixed in time, tobacco late
        _case(9, lv.VERY_DISSATISFIED),  # market explained in time
        _case(10, lv.DISSATISFIED),  # open, not yet due: pending
        _case(11, lv.VERY_DISSATISFIED, excluded=True),  # appeal upheld
        _case(12, lv.DISSATISFIED, hall="yicheng-town"),  # another hall, overdue and open
        _case(13, lv.SATISFIED, days=40),  # another period
    ]
    F = FollowUpOutcome
    follow = [
        _fu(8, "market", due=20, answered=10, outcome=F.FIXED),
        _fu(8, "tobacco", due=20, answered=25, outcome=F.FIXED),
        _fu(9, "market", due=20, answered=20, outcome=F.EXPLAINED),
        _fu(10, "market", due=40, answered=None),
        _fu(11, "market", due=20, answered=None, outcome=None),
        _fu(12, "market", due=20, answered=None),
    ]
    return cases, follow


AS_OF = T0 + timedelta(days=30)


# -- the ratings desk

BEIJING = ZoneInfo("Asia/Shanghai")
KEYS = SubjectKeys.generate("k1")
ID_SHA = hashlib.sha256(b"420684199001011234").hexdigest()


@dataclass
class Desk:
    env: WorkflowEnvironment
    engine: Engine
    ratings: Ratings

    async def recorded(
        self,
        departments: list[str],
        level: RatingLevel = RatingLevel.DISSATISFIED,
        reason: str = "补正材料说了三次才说清楚",
    ) -> ratings.Rating:
        """A 差评 of a case of `departments` in the store, its follow-ups not started."""
        now = await self.env.get_current_time()
        case = f"420684-{now.astimezone(BEIJING):%Y%m%d}-{uuid.uuid4().int % 1_000_000:06d}"
        return ratings.record_rating(
            self.engine,
            case_number=case,
            application_id=f"R{uuid.uuid4().hex[:10]}",
            hall="yicheng-center",
            level=level,
            reason=reason,
            channel=RatingChannel.ONLINE,
            rater=Rater.APPLICANT,
            rater_id_sha256=ID_SHA,
            recorded_by=None,
            rated_at=now,
            items=[(f"item-{d}", d) for d in departments],
            follow_ups=[(d, follow_up_workflow_id(case, d), 15) for d in departments],
            keys=KEYS,
        )

    async def answer(
        self,
        case: str,
        department: str,
        outcome: FollowUpOutcome,
        text: str,
        *,
        by_department: str | None = None,
    ) -> FollowUpState:
        """A reviewer of `by_department` (default: the follow-up's own) answers it."""
        reviewer = staff(Role.REVIEWER, by_department or department)
        answer = FollowUpAnswer(outcome=outcome, text=text, answered_by=reviewer)
        return await self.ratings.answer(case, department, answer)

    async def bad_rating(self, departments: list[str]) -> ratings.Rating:
        """A 差评 of a case of `departments`, recorded and its follow-ups started."""
        row = await self.recorded(departments)
        await self.ratings.follow_ups.start_open(row)
        return row

    def handle(
        self, case: str, department: str
    ) -> WorkflowHandle[RatingFollowUpWorkflow, FollowUpState]:
        return self.env.client.get_workflow_handle_for(
            RatingFollowUpWorkflow.run, follow_up_workflow_id(case, department)
        )

    async def opened(self, case: str, department: str) -> tasks.StaffTask:
        task_id = f"{follow_up_workflow_id(case, department)}/rating_follow_up"

        async def task() -> tasks.StaffTask | None:
            return tasks.get_task(self.engine, task_id)

        def recorded(t: tasks.StaffTask | None) -> bool:
            # The activity writes the task, then the follow-up row's due: wait for both.
            kept = ratings.follow_up(self.engine, case, department)
            return (
                t is not None
                and t.due_at is not None
                and kept is not None
                and kept.due_at is not None
            )

        opened = await eventually(task, recorded, "task opens and its due is recorded")
        # The staff see the task once the activity wrote it; the workflow takes answers once
        # it has that activity's result (its clock then has a due instant).
        handle = self.handle(case, department)

        async def state() -> FollowUpState:
            return await handle.query(RatingFollowUpWorkflow.state)

        await eventually(state, lambda s: s.due_at is not None, "the workflow knows it opened")
        return opened

    async def skip_to(self, at: datetime) -> None:
        await skip_to(self.env, at)


@asynccontextmanager
async def desk_over(
    env: WorkflowEnvironment, engine: Engine, catalog: Catalog
) -> AsyncIterator[Desk]:
    """The desk over the production worker of `env`, on `engine`."""
    async with running_worker(env.client, engine) as queue:
        yield Desk(env, engine, Ratings(env.client, queue, engine, catalog, keys=KEYS))
