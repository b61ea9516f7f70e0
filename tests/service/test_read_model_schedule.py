"""The KPI read model kept current by itself (`onething.read_model_schedule`): on the dev
server, the worker's schedule runs `ReadModelRefreshWorkflow` every second. A case run to its
end appears in the KPI report with no refresh called; the next run writes nothing; a workflow
that is no application's is skipped, named, and the others are written all the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import pytest
from sqlalchemy import Engine
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.read_model import ScheduledRefresh
from domain.application import application_workflow_id
from domain.catalog import Catalog
from onething.read_model_schedule import keep_schedule
from starter.demo import DEMO_ITEM
from starter.kpis import kpi_report
from store import case_facts
from tests.conftest import new_application_id, onething_client
from tests.desk import complete_demo, eventually
from workflows.read_model_refresh import ReadModelRefreshWorkflow

RUNS = 'WorkflowType = "ReadModelRefreshWorkflow" AND ExecutionStatus = "Completed"'


async def finished_runs(client: Client) -> list[tuple[datetime, ScheduledRefresh]]:
    """Every completed scheduled run's result, by when it began."""
    runs = []
    async for execution in client.list_workflows(RUNS):
        handle = client.get_workflow_handle_for(
            ReadModelRefreshWorkflow.run, execution.id, run_id=execution.run_id
        )
        runs.append(await handle.result())
    return sorted(((r.started_at, r) for r in runs), key=lambda pair: pair[0])


@asynccontextmanager
async def not_an_application(client: Client) -> AsyncIterator[str]:
    """A workflow under an application's ID that is none (no worker serves its type), deleted
    afterwards so no other listing on the shared server meets it."""
    application_id = new_application_id()
    workflow_id = application_workflow_id(application_id)
    await client.start_workflow(
        "NotAnApplication", {"note": "no application"}, id=workflow_id, task_queue="nobody"
    )
    try:
        yield application_id
    finally:
        await client.workflow_service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(
                namespace=client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            )
        )


@pytest.mark.parametrize("store_engine", ["sqlite"], indirect=True)
async def test_the_schedule_keeps_the_read_model_current(
    dev_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    temporal = dev_env.client
    async with (
        onething_client(dev_env, store_engine, catalog) as client,
        not_an_application(temporal) as broken,
    ):
        done = new_application_id()
        await complete_demo(client, catalog, done)
        assert await keep_schedule(temporal, client.task_queue, 1) == "created"
        try:
            # No refresh called: the scheduled runs project it.
            row = await eventually(
                lambda: _case_row(store_engine, done),
                lambda r: r.status == "completed",
                "the scheduled run projects the completed case",
                attempts=200,
            )
            report = kpi_report(store_engine)
            assert report.by_item[DEMO_ITEM].cases >= 1
            assert report.by_item[DEMO_ITEM].items_decided >= 1

            # The run that wrote it met the broken one, named it, and went on.
            wrote = await eventually(
                lambda: _run_after(temporal, None), lambda r: True, "the first run", attempts=200
            )
            assert broken in wrote.result.failed
            assert "not an application's history" in wrote.result.failed[broken]
            assert wrote.result.written >= 1 and wrote.listed_since is None

            # The next run starts from the last one and finds nothing changed.
            after = await eventually(
                lambda: _run_after(temporal, wrote.started_at),
                lambda r: True,
                "a second scheduled run",
                attempts=200,
            )
            assert after.listed_since is not None
            assert after.listed_since < wrote.started_at
            assert after.result.written == 0, after.result
            assert after.result.unchanged >= 1 and broken in after.result.failed
            assert case_facts.digest_of(done, store_engine) == row.source_digest
        finally:
            assert await keep_schedule(temporal, client.task_queue, 0) == "removed"
    assert await keep_schedule(temporal, "unused", 0) == "off"


async def _case_row(engine: Engine, application_id: str) -> case_facts.CaseFact | None:
    return case_facts.cases(engine, application_id)[0]


async def _run_after(client: Client, than: datetime | None) -> ScheduledRefresh | None:
    """The first finished run that began after `than` (None: the first of all)."""
    later = [r for at, r in await finished_runs(client) if than is None or at > than]
    return later[0] if later else None
