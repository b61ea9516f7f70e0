"""An item workflow keeps what its application told it before its own code first ran.

The application signals `supplemented` to an item that holds its license until the
deficient materials arrive. When the last material arrives just as the item starts, the
signal is delivered in the item's first workflow task, before `run` begins.
"""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import (
    ApprovalPath,
    ItemCase,
    ItemStatus,
    application_workflow_id,
    item_workflow_id,
)
from domain.catalog import Catalog
from domain.credit import credit_subject
from store import licenses
from tests.conftest import new_application_id, running_worker
from tests.desk import eventually, made_up_applicant
from workflows.item import ItemWorkflow


async def test_supplemented_before_the_item_first_runs_is_not_lost(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    application_id = new_application_id()
    item = catalog.item("food-business-license")
    case = ItemCase(
        application_id=application_id,
        application_workflow_id=application_workflow_id(application_id),
        item=item,
        catalog_version=catalog.version,
        hall="yicheng-center",
        holder_name="测试便利店",
        credit_subject=credit_subject(made_up_applicant("signals").id_number),
        path=ApprovalPath.COMMITMENT,
        hold_until_supplemented=True,  # issue only once the materials are in
        central_activities_local=True,
    )
    async with running_worker(ts_env.client, store_engine) as task_queue:
        handle = await ts_env.client.start_workflow(
            ItemWorkflow.run,
            case,
            id=item_workflow_id(application_id, item.code),
            task_queue=task_queue,
            start_signal="supplemented",  # in the same workflow task as the start
        )
        state = await eventually(
            lambda: handle.query(ItemWorkflow.state),
            lambda s: s.license is not None,
            "the license issued",
            attempts=200,
        )

    assert state.license is not None
    assert state.status is ItemStatus.INSPECTING  # issued on commitment, inspection next
    issued = licenses.licenses_of(store_engine, application_id)
    assert [lic.number for lic in issued] == [state.license.number]
