"""办件编号 in the application: given at acceptance (after a correction too), never to an
application that was not accepted; shown in its state, its outcome, the trail's acceptance
entry and the Web UI's current details."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import Engine
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from domain.application import (
    ApplicationStatus,
    Channel,
    ItemStatus,
    Refusal,
    RefusalGround,
    Supplement,
    Withdrawal,
    application_workflow_id,
    item_workflow_id,
)
from domain.case_number import parse_case_number
from domain.catalog import Catalog
from store import case_numbers
from tests.conftest import onething_client
from tests.desk import item_in
from tests.support.lifecycle import (
    CLERK,
    MISSING,
    SALON,
    awaiting_correction,
    salon_awaiting_correction,
    submission,
)

NUMBER = re.compile(r"^420684-20[0-9]{6}-[0-9]{6}$")
NURSE = "nurse-practice-registration"


async def test_an_accepted_application_has_its_number_everywhere(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, NURSE)
    app = sub.application_id
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await item_in(client, app, NURSE, ItemStatus.UNDER_REVIEW)
        state = await client.state(app)
        handle = ts_env.client.get_workflow_handle(application_workflow_id(app))
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        item = ts_env.client.get_workflow_handle(item_workflow_id(app, NURSE))
        item_details = (
            await item.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        ).current_details
        await client.withdraw(app, Withdrawal(reason="test over"))
        outcome = await client.result(app)

    number = state.case_number
    assert number is not None and NUMBER.match(number)
    assert str(case_numbers.find(store_engine, app)) == number
    assert parse_case_number(number).sequence >= 1
    [accepted] = [e for e in state.trail if e.action == "accepted"]
    assert accepted.detail is not None and accepted.detail.startswith(f"办件编号 {number}")
    assert metadata.current_details.startswith(f"{number} {app} ")
    # What an operator reads in the Web UI, in words: the status, the items in hand.
    assert metadata.current_details == f"{number} {app} 已受理, 办理中: 在办 护士执业注册; 已发证 -"
    assert item_details.startswith("护士执业注册: 审查时限: 正常, "), item_details
    assert item_details.endswith(" 到期"), item_details
    assert outcome.case_number == number


async def test_numbers_only_when_accepted_after_a_correction(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    async with salon_awaiting_correction(ts_env, store_engine, catalog) as (client, waiting):
        app = waiting.application_id
        numbered_while_waiting = case_numbers.find(store_engine, app)
        await client.supplement(app, Supplement(materials=list(MISSING), channel=Channel.MAIL))
        business = catalog.bundles[SALON].members[0].item
        await item_in(client, app, business, ItemStatus.UNDER_REVIEW)
        accepted = await client.state(app)
        await client.withdraw(app, Withdrawal(reason="test over"))

    assert waiting.case_number is None and numbered_while_waiting is None
    assert accepted.case_number is not None and NUMBER.match(accepted.case_number)


async def test_refused_withdrawn_or_lapsed_before_acceptance_has_none(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    refused, withdrawn, lapsed = (submission(catalog, SALON, leave_out=MISSING) for _ in range(3))
    refusal = Refusal(ground=RefusalGround.NOT_LICENSABLE, reason="无需许可", refused_by=CLERK)
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        for sub in (refused, withdrawn, lapsed):
            await client.submit(sub)
            await awaiting_correction(client, sub.application_id)
        await client.refuse(refused.application_id, refusal)
        await client.withdraw(withdrawn.application_id, Withdrawal(reason="材料找不到了"))
        await fresh_ts_env.sleep(timedelta(days=60))
        outcomes = [await client.result(s.application_id) for s in (refused, withdrawn, lapsed)]

    assert [o.status for o in outcomes] == [
        ApplicationStatus.REFUSED,
        ApplicationStatus.WITHDRAWN,
        ApplicationStatus.LAPSED,
    ]
    assert [o.case_number for o in outcomes] == [None, None, None]
    for sub in (refused, withdrawn, lapsed):
        assert case_numbers.find(store_engine, sub.application_id) is None
