"""Department task queues: a workflow worker and department workers, each on its own queues."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from domain.application import (
    ApplicationStatus,
    InspectionResult,
    ItemStatus,
    application_workflow_id,
    item_workflow_id,
)
from domain.catalog import Catalog
from onething.costs import local_activity_types
from starter.client import OnethingClient
from store import licenses
from tests.desk import approve, inspect, item_in
from tests.support.lifecycle import submission
from worker import all_departments, build_workers, running


async def test_split_workers_complete_a_bundle_each_on_its_own_queues(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    queue = f"split-{uuid.uuid4().hex[:8]}"
    client = OnethingClient(fresh_ts_env.client, queue, catalog)
    departments = all_departments(store_engine)
    market_and_tobacco = ["market", "tobacco"]
    workflow_workers = build_workers(fresh_ts_env.client, queue, store_engine, departments=[])
    market_workers = build_workers(
        fresh_ts_env.client, queue, store_engine, workflows=False, departments=market_and_tobacco
    )
    rest = build_workers(
        fresh_ts_env.client,
        queue,
        store_engine,
        workflows=False,
        departments=[d for d in departments if d not in market_and_tobacco],
    )
    assert [w.task_queue for w in workflow_workers] == [queue]
    assert sorted(w.task_queue for w in market_workers) == [
        f"{queue}.dept.market",
        f"{queue}.dept.tobacco",
    ]

    sub = submission(catalog, "open-convenience-store", commitment=True, applicant_seed="split")
    app = sub.application_id
    tobacco = "tobacco-retail-license"
    async with running(workflow_workers + market_workers + rest):
        await client.submit(sub)
        await approve(client, catalog, app, "business-license-individual")
        await item_in(client, app, tobacco, ItemStatus.INSPECTING)  # issued on commitment
        await inspect(client, catalog, app, tobacco, InspectionResult.PASSED)
        outcome = await client.result(app)
        histories = {
            code: await fresh_ts_env.client.get_workflow_handle(
                item_workflow_id(app, code)
            ).fetch_history()
            for code in ("business-license-individual", tobacco)
        }
        parent = await fresh_ts_env.client.get_workflow_handle(
            application_workflow_id(app)
        ).fetch_history()

    assert outcome.status is ApplicationStatus.COMPLETED
    # Each member's license from its department's queue; the pre-packaged food filing is
    # recorded on the spot with its receipt (catalog 2026.12.3).
    assert {lic.item_code for lic in licenses.licenses_of(store_engine, app)} == {
        "business-license-individual",
        "food-filing-prepackaged",
        tobacco,
    }

    def queues(history: WorkflowHistory) -> dict[str, str]:
        return {
            e.activity_task_scheduled_event_attributes.activity_type.name: (
                e.activity_task_scheduled_event_attributes.task_queue.name
            )
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        }

    def started_on(history: WorkflowHistory) -> str:
        return history.events[0].workflow_execution_started_event_attributes.task_queue.name

    # The application on the workflows' queue; each item on its department's, where its
    # license is issued by the department's own system, locally (no round trip).
    assert started_on(parent) == queue
    assert started_on(histories["business-license-individual"]) == f"{queue}.dept.market"
    assert started_on(histories[tobacco]) == f"{queue}.dept.tobacco"
    for history in histories.values():
        assert "issue_license" in local_activity_types(history)
    # The central systems run locally too, wherever the workflow runs.
    scheduled = {name for h in (*histories.values(), parent) for name in queues(h)}
    assert "receive_application" not in scheduled and "open_staff_task" not in scheduled
    assert "issue_license" not in scheduled
    assert "receive_application" in local_activity_types(parent)
    assert {"open_staff_task", "close_task"} <= set(local_activity_types(histories[tobacco]))
