"""What a crash between the store and Temporal may leave undone about ratings, done when the
worker starts (`onething.rating_follow_ups.FollowUps.reconcile`): a 差评 recorded whose
follow-up never started gets it; a follow-up whose rating an upheld appeal excluded, but
which was never told, ends; a second reconciliation changes nothing. On the time-skipping
server, with a store of its own (the reconciliation reads every open follow-up of the
store)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from domain.rating import AppealVerdict, FollowUpOutcome, RatingLevel
from store import migrate, ratings
from store.db import make_engine
from tests.support.ratings import Desk, desk_over


@pytest_asyncio.fixture(loop_scope="session")
async def desk(
    fresh_ts_env: WorkflowEnvironment, catalog: Catalog, tmp_path: Path
) -> AsyncIterator[Desk]:
    engine = make_engine(f"sqlite:///{tmp_path / 'reconcile.db'}")
    migrate.upgrade(engine)
    try:
        async with desk_over(fresh_ts_env, engine, catalog) as desk:
            yield desk
    finally:
        engine.dispose()


async def recorded_only(desk: Desk, department: str) -> ratings.Rating:
    """A 差评 in the store whose follow-up was never started (the process died)."""
    return await desk.recorded([department], RatingLevel.VERY_DISSATISFIED, "等了很久无人答复")


async def test_a_follow_up_never_started_is_started_and_an_excluded_one_ends(desk: Desk) -> None:
    lost = await recorded_only(desk, "market")
    told_late = await desk.bad_rating(["health"])  # started, then its appeal's signal is lost
    await desk.opened(told_late.case_number, "health")
    ratings.appeal(
        desk.engine,
        case_number=told_late.case_number,
        department="health",
        reason="评价对象错误",
        by="head-health",
        at=told_late.at,
    )
    ratings.decide_appeal(
        desk.engine,
        case_number=told_late.case_number,
        verdict=AppealVerdict.UPHELD,
        reason="经核实评价对象错误",
        by="supervisor",
        at=told_late.at,
    )

    assert await desk.ratings.follow_ups.reconcile() == 2
    task = await desk.opened(lost.case_number, "market")  # the lost follow-up runs now
    assert task.department == "market" and task.status == "open"
    handle = desk.handle(told_late.case_number, "health")
    ended = await handle.result()
    assert ended.outcome is FollowUpOutcome.EXCLUDED
    first_run = (await handle.describe()).run_id

    # Again: the running one is found, the ended one is not begun anew.
    assert await desk.ratings.follow_ups.reconcile() == 1
    after = await desk.env.client.get_workflow_handle(handle.id).describe()
    assert after.run_id == first_run and after.status is not None
    assert after.status.name == "COMPLETED"
