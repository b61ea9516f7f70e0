"""`onething decide` and `onething inspect` over a real worker and the time-skipping server:
a task another member of staff took is theirs to decide on (one error line, exit 2, nothing
sent); its taker's decision goes through, and an untaken task is the decider's from then on."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from bench.paths import deferrable_material
from domain.application import ApplicationStatus, ItemStatus
from domain.catalog import Catalog
from domain.staff_words import ITEM_STATUS
from starter.client import TaskDesk
from starter.demo import DEMO_ITEM, demo_submission
from starter.desk import full_submission, item_in, made_up_applicant
from store.tasks import StaffTask, open_tasks
from tests.conftest import cli, cli_reaches, new_application_id, onething_client
from tests.desk import eventually

FOOD = "food-business-license"  # on commitment: issued at once, inspected afterwards


async def task_of(engine: Engine, application_id: str, kind: str) -> StaffTask:
    """The application's open task of `kind`, once the activity has written its row."""

    async def row() -> StaffTask | None:
        found = [t for t in open_tasks(engine) if t.application_id == application_id]
        return next((t for t in found if t.kind == kind), None)

    return await eventually(row, bool, f"the {kind} task of {application_id}")


async def test_a_decision_on_the_command_line_is_the_takers(
    ts_env: WorkflowEnvironment,
    store_engine: Engine,
    catalog: Catalog,
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with onething_client(ts_env, store_engine, catalog) as client:
        cli_reaches(monkeypatch, ts_env, store_engine, client.task_queue)
        department = catalog.item(DEMO_ITEM).department

        # A review taken by rev-2: rev-1 is refused, rev-2 decides.
        application_id = new_application_id()
        await client.submit(demo_submission(catalog, application_id))
        await item_in(client, application_id, DEMO_ITEM, ItemStatus.UNDER_REVIEW)
        review = await task_of(store_engine, application_id, "review")
        await cli("take", review.task_id, "--staff", "rev-2", "--json")
        decide = ["decide", application_id, DEMO_ITEM, "approve", "--department", department]
        refused = await cli(*decide, "--reviewer", "rev-1", code=2)
        assert refused.stderr.startswith("error: ") and "rev-2" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        state = await client.item_state(application_id, DEMO_ITEM)
        assert state.status is ItemStatus.UNDER_REVIEW
        decided = await cli(*decide, "--reviewer", "rev-2")
        # The state after the decision, in the words staff read (not its code).
        assert decided.stdout.strip() in ITEM_STATUS.values(), decided.stdout
        await eventually(
            lambda: client.item_state(application_id, DEMO_ITEM),
            lambda s: s.status is not ItemStatus.UNDER_REVIEW,
            "the review decided",
        )
        # A bad verdict's reason is one line naming the field; nothing is held or sent.
        missing = await cli(*decide[:3], "reject", *decide[4:], "--reviewer", "rev-2", code=2)
        assert missing.stderr.startswith("error: ") and "reason" in missing.stderr

        # An inspection nobody took: the inspector's decision holds it, then goes through.
        food = new_application_id()
        applicant = made_up_applicant(food)
        await client.submit(full_submission(catalog, FOOD, food, applicant, commitment=True))
        await item_in(client, food, FOOD, ItemStatus.INSPECTING)
        inspection = await task_of(store_engine, food, "inspection")
        assert inspection.taken_by is None
        market = catalog.item(FOOD).department
        await cli("inspect", food, FOOD, "passed", "--inspector", "insp-1", "--department", market)
        await eventually(
            lambda: client.item_state(food, FOOD),
            lambda s: s.status is not ItemStatus.INSPECTING,
            "the inspection recorded",
        )
        row = await eventually(
            lambda: asyncio.to_thread(TaskDesk(store_engine).task, inspection.task_id),
            lambda t: t.status == "closed",
            "the inspection task closed",
        )
        assert row.taken_by == "insp-1"


async def test_materials_supplemented_at_the_window_say_what_is_still_awaited_by_name(
    ts_env: WorkflowEnvironment,
    store_engine: Engine,
    catalog: Catalog,
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`onething supplement`: the clerk reads what is still awaited by its name; none left,
    the application has all its materials."""
    deferred = deferrable_material(catalog, FOOD)
    async with onething_client(ts_env, store_engine, catalog) as client:
        cli_reaches(monkeypatch, ts_env, store_engine, client.task_queue)
        food = new_application_id()
        applicant = made_up_applicant(food)
        sub = full_submission(catalog, FOOD, food, applicant, leave_out=(deferred,), pledge=True)
        await client.submit(sub)
        await eventually(
            lambda: client.state(food),
            lambda s: s.status is ApplicationStatus.AWAITING_SUPPLEMENT,
            "the deficiency recorded",
        )
        supplemented = await cli("supplement", food, deferred, "--channel", "mail")

    assert supplemented.stdout.strip() == "待补材料: 无, 已补齐", supplemented.stdout
