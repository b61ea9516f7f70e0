"""A 差评's follow-up (回访) on the legal clock, on the time-skipping server with the
production worker: the department's task opens with its due day; answered in time it counts
as fixed; unanswered it escalates to supervision after the limit and an answer then counts
late; an appeal upheld ends it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.calendar import WorkingCalendar
from domain.catalog import Catalog
from domain.rating import (
    AppealVerdict,
    FollowUpOutcome,
    follow_up_workflow_id,
)
from starter.client import Conflict
from store import notifications, ratings, supervision, tasks
from tests.desk import eventually
from tests.support.ratings import BEIJING, Desk, desk_over
from workflows.rating_follow_up import RatingFollowUpWorkflow


@pytest_asyncio.fixture(loop_scope="session")
async def desk(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> AsyncIterator[Desk]:
    async with desk_over(fresh_ts_env, store_engine, catalog) as desk:
        yield desk


async def test_a_bad_rating_opens_a_task_due_in_15_working_days_answered_in_time_is_fixed(
    desk: Desk,
) -> None:
    row = await desk.bad_rating(["market", "tobacco"])
    task = await desk.opened(row.case_number, "market")
    assert task.kind == "rating_follow_up" and task.role == "reviewer"
    assert task.department == "market" and task.application_id == row.application_id
    due = task.due_at if task.due_at.tzinfo else task.due_at.replace(tzinfo=UTC)
    # Its due day: 15 working days after the Beijing day of the rating, at the day's end.
    calendar = WorkingCalendar.from_file()
    rated_day = row.at.astimezone(BEIJING).date()
    assert due.astimezone(BEIJING).date() == calendar.add_working_days(rated_day, 15)
    assert due.astimezone(BEIJING).strftime("%H:%M") == "17:30"
    kept = ratings.follow_up(desk.engine, row.case_number, "market")
    assert kept is not None and kept.fact().due_at == due
    await desk.opened(row.case_number, "tobacco")  # each department of the case its own

    # Another department's reviewer may not answer; the right one does, in time.
    with pytest.raises(Conflict) as wrong:
        await desk.answer(
            row.case_number, "market", FollowUpOutcome.FIXED, "x", by_department="tax"
        )
    assert wrong.value.field == "answered_by.department"
    await desk.skip_to(due - timedelta(days=1))
    state = await desk.answer(
        row.case_number, "market", FollowUpOutcome.FIXED, "已回访申请人, 补正告知改为一次性清单"
    )
    assert state.outcome is FollowUpOutcome.FIXED and state.in_time is True
    assert state.answered_by == "reviewer-market" and state.escalation_stage == 0
    fact = ratings.follow_up(desk.engine, row.case_number, "market")
    assert fact is not None and fact.status == "fixed" and fact.in_time is True
    closed = tasks.get_task(desk.engine, task.task_id)
    assert closed is not None and closed.status == "closed" and closed.outcome == "fixed"
    [told] = [
        n
        for n in notifications.notifications_of(desk.engine, row.application_id)
        if n.kind == "rating_follow_up"
    ]
    assert told.recipient == "applicant" and "已整改" in told.message
    assert row.case_number in told.message and "market" not in told.message
    # Answered once.
    with pytest.raises(Conflict) as again:
        await desk.answer(row.case_number, "market", FollowUpOutcome.EXPLAINED, "y")
    assert again.value.field in ("case_number", "status")
    assert supervision.cases_of(desk.engine, follow_up_workflow_id(row.case_number, "market")) == []


async def test_unanswered_it_escalates_to_supervision_after_the_limit_and_counts_late(
    desk: Desk,
) -> None:
    row = await desk.bad_rating(["health"])
    task = await desk.opened(row.case_number, "health")
    due = task.due_at if task.due_at.tzinfo else task.due_at.replace(tzinfo=UTC)
    workflow_id = follow_up_workflow_id(row.case_number, "health")
    await desk.skip_to(due - timedelta(hours=1))
    assert supervision.cases_of(desk.engine, workflow_id) == []
    # The reminder came before the due instant, to the department's reviewers.
    warned = [
        n
        for n in notifications.notifications_of(desk.engine, row.application_id)
        if n.kind == "warning"
    ]
    assert warned and warned[0].recipient == "reviewer:health" and "差评回访" in warned[0].message
    await desk.skip_to(due + timedelta(hours=2))

    async def cases() -> list[supervision.SupervisionCase]:
        return supervision.cases_of(desk.engine, workflow_id)

    [stage1] = await eventually(cases, lambda c: len(c) >= 1, "escalated to supervision")
    assert stage1.department == "health" and stage1.subject == row.case_number
    assert stage1.limit_name == "rating_follow_up"
    state = await desk.handle(row.case_number, "health").query(RatingFollowUpWorkflow.state)
    assert state.clock_state == "overdue" and state.escalation_stage >= 1
    # The answer is still taken; it counts late.
    late = await desk.answer(row.case_number, "health", FollowUpOutcome.EXPLAINED, "已电话说明")
    assert late.outcome is FollowUpOutcome.EXPLAINED and late.in_time is False
    fact = ratings.follow_up(desk.engine, row.case_number, "health")
    assert fact is not None and fact.in_time is False and not fact.fact().settled_in_time()


async def test_an_upheld_appeal_ends_the_follow_up(desk: Desk) -> None:
    row = await desk.bad_rating(["market"])
    await desk.opened(row.case_number, "market")
    await desk.ratings.appeal(row.case_number, "market", "评价对象错误", by="head-market")
    with pytest.raises(Conflict) as other:
        await desk.ratings.appeal(row.case_number, "tax", "x", by="head-tax")
    assert other.value.field == "department"
    await desk.ratings.decide_appeal(
        row.case_number, AppealVerdict.UPHELD, "经核实评价对象错误", by="supervisor"
    )
    result = await desk.handle(row.case_number, "market").result()
    assert result.outcome is FollowUpOutcome.EXCLUDED
    kept = ratings.get(desk.engine, row.case_number)
    assert kept is not None and kept.excluded
    fact = ratings.follow_up(desk.engine, row.case_number, "market")
    assert fact is not None and fact.status == "excluded"
    await asyncio.sleep(0)


async def test_an_answer_sent_the_moment_the_rating_is_recorded_waits_for_the_task(
    desk: Desk,
) -> None:
    # No wait for the inbox or the workflow: the answer reaches the follow-up while its task
    # may still be opening, and is taken once it has opened (never "retry").
    row = await desk.bad_rating(["market"])
    state = await desk.answer(row.case_number, "market", FollowUpOutcome.FIXED, "当日已回访")
    assert state.outcome is FollowUpOutcome.FIXED and state.in_time is True
    assert state.due_at is not None
    closed = tasks.get_task(
        desk.engine, f"{desk.handle(row.case_number, 'market').id}/rating_follow_up"
    )
    assert closed is not None and closed.status == "closed" and closed.outcome == "fixed"
