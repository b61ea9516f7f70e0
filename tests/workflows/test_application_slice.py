"""One application end to end on the time-skipping server: accept or refuse, review, license."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.licensing import IssueLicense, LicensingActivities
from domain.application import (
    ApplicationStatus,
    ItemStatus,
    ReviewDecision,
    ReviewVerdict,
    Withdrawal,
    application_workflow_id,
)
from domain.catalog import Catalog
from domain.people import Role, Staff
from starter.client import ClientError, Conflict
from starter.demo import DEMO_ITEM, demo_submission
from store import licenses, tasks
from tests.conftest import new_application_id, onething_client
from tests.desk import eventually, reviewer, wait_for_review


async def test_accepted_reviewed_approved_and_licensed(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    application_id = new_application_id()
    async with onething_client(ts_env, store_engine, catalog) as client:
        receipt = await client.submit(demo_submission(catalog, application_id))
        assert receipt.created
        await wait_for_review(client, application_id)
        inbox = [t for t in tasks.open_tasks(store_engine) if t.application_id == application_id]
        assert [(t.kind, t.department) for t in inbox] == [
            ("review", catalog.item(DEMO_ITEM).department)
        ]

        status = await client.decide(
            application_id,
            DEMO_ITEM,
            ReviewDecision(reviewer=reviewer(catalog), verdict=ReviewVerdict.APPROVE),
        )
        assert status is ItemStatus.APPROVED  # the state after the decision
        outcome = await client.result(application_id)

    assert outcome.status is ApplicationStatus.COMPLETED
    [item] = outcome.items
    assert item.status is ItemStatus.CLOSED and item.license is not None
    [registered] = licenses.licenses_of(store_engine, application_id)
    assert registered.number == item.license.number
    assert registered.holder_name == demo_submission(catalog).applicant.name
    assert not [t for t in tasks.open_tasks(store_engine) if t.application_id == application_id]


async def test_missing_core_materials_get_one_correction_notice_listing_all(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    application_id = new_application_id()
    full = demo_submission(catalog, application_id)
    item = catalog.item(DEMO_ITEM)
    core = [m.code for m in item.materials if m.core and m.asked_for]
    assert len(core) >= 2, "the demo item needs two core materials for this test"
    submission = full.model_copy(update={"materials": [c for c in full.materials if c not in core]})
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(submission)
        state = await eventually(
            lambda: client.state(application_id),
            lambda s: s.notice is not None,
            "the correction notice",
            attempts=200,
            poll_s=0.02,
        )
        await client.withdraw(application_id, Withdrawal(reason="test over"))

    assert state.status is ApplicationStatus.AWAITING_CORRECTION  # 补正, not 不予受理
    assert state.notice is not None
    assert sorted(m.code for m in state.notice.missing) == sorted(core)
    assert state.items == []  # nothing runs before acceptance
    assert [e.action for e in state.trail] == ["correction requested"]
    assert licenses.licenses_of(store_engine, application_id) == []


async def test_rejection_and_invalid_decisions_never_enter_history(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    application_id = new_application_id()
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(demo_submission(catalog, application_id))
        await wait_for_review(client, application_id)

        with pytest.raises(Conflict, match=r"reviewer\.department"):
            await client.decide(
                application_id,
                DEMO_ITEM,
                ReviewDecision(
                    reviewer=reviewer(catalog, department="tax"), verdict=ReviewVerdict.APPROVE
                ),
            )
        with pytest.raises(Conflict, match=r"reviewer\.role"):
            await client.decide(
                application_id,
                DEMO_ITEM,
                ReviewDecision(
                    reviewer=Staff(staff_id="x", role=Role.INSPECTOR, department="health"),
                    verdict=ReviewVerdict.APPROVE,
                ),
            )
        with pytest.raises(ValueError, match="reason"):
            ReviewDecision(reviewer=reviewer(catalog), verdict=ReviewVerdict.REJECT)

        await client.decide(
            application_id,
            DEMO_ITEM,
            ReviewDecision(
                reviewer=reviewer(catalog), verdict=ReviewVerdict.REJECT, reason="执业证书已过期"
            ),
        )
        outcome = await client.result(application_id)
        with pytest.raises(ClientError):  # the review is closed now
            await client.decide(
                application_id,
                DEMO_ITEM,
                ReviewDecision(reviewer=reviewer(catalog), verdict=ReviewVerdict.APPROVE),
            )
        item_handle = ts_env.client.get_workflow_handle(
            f"{application_workflow_id(application_id)}/item-{DEMO_ITEM}"
        )
        history = await item_handle.fetch_history()

    assert outcome.status is ApplicationStatus.REJECTED
    assert outcome.items[0].reason == "执业证书已过期"
    accepted_updates = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert len(accepted_updates) == 1, "only the valid decision is in history"
    assert licenses.licenses_of(store_engine, application_id) == []


async def test_same_application_id_twice_starts_one_application(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    application_id = new_application_id()
    async with onething_client(ts_env, store_engine, catalog) as client:
        first = await client.submit(demo_submission(catalog, application_id))
        again = await client.submit(demo_submission(catalog, application_id))
        assert (first.created, again.created) == (True, False)
        assert first.workflow_id == again.workflow_id
        # Closed applications stay unique too.
        await ts_env.client.get_workflow_handle(first.workflow_id).terminate("test over")
        after_close = await client.submit(demo_submission(catalog, application_id))
        assert after_close.created is False


async def test_bad_submissions_refused_before_anything_starts(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    application_id = new_application_id()
    good = demo_submission(catalog, application_id)
    async with onething_client(ts_env, store_engine, catalog) as client:
        with pytest.raises(ClientError, match=r"materials\[0\]: 'passport' is not a material"):
            await client.submit(good.model_copy(update={"materials": ["passport"]}))
        with pytest.raises(ClientError, match=r"item_code: 'no-such-item'"):
            await client.submit(good.model_copy(update={"item_code": "no-such-item"}))
        with pytest.raises(ClientError, match="hall"):
            await client.submit(good.model_copy(update={"hall": "atlantis"}))
        with pytest.raises(ClientError, match="does not exist"):
            await client.state(application_id)


def test_license_activity_is_idempotent_under_retries(
    store_engine: Engine, catalog: Catalog
) -> None:
    from datetime import UTC, datetime

    request = IssueLicense(
        application_id=new_application_id(),
        item_code=DEMO_ITEM,
        license_kind="nurse_practice_certificate",
        holder_name="王演示",
        issued_at=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
    )
    activities = LicensingActivities(store_engine)
    env = ActivityEnvironment()
    first = env.run(activities.issue_license, request)
    retried = env.run(activities.issue_license, request)
    assert first == retried
    assert len(licenses.licenses_of(store_engine, request.application_id)) == 1
    assert licenses.verify(store_engine, first.verification_code) is not None
