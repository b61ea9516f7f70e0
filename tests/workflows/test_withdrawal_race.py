"""A withdrawal that crosses the application's steps: sent with its start (before the workflow
has run a line), or crossing an item's last step (the item has ended before the stop order
reaches it). Neither is a failure of the application. On the dev server, what production runs.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import ApplicationStatus, Withdrawal
from domain.catalog import Catalog
from starter.client import OnethingClient
from tests.conftest import onething_client
from tests.support.lifecycle import submission
from worker import build_workers, running


async def test_a_withdrawal_sent_with_the_start_ends_the_application_withdrawn(
    dev_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, "open-convenience-store", applicant_seed="with-the-start")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    idle = OnethingClient(dev_env.client, queue, catalog)
    await idle.submit(sub)  # no worker polls yet: the start waits in the queue
    withdrawal = asyncio.create_task(idle.withdraw(sub.application_id, Withdrawal(reason="改期")))
    await asyncio.sleep(0.5)  # the update waits with the start for the first workflow task
    async with running(build_workers(dev_env.client, queue, store_engine)):
        answered = await asyncio.wait_for(withdrawal, timeout=30)
        outcome = await asyncio.wait_for(idle.result(sub.application_id), timeout=30)
        state = await idle.state(sub.application_id)

    assert answered is ApplicationStatus.WITHDRAWN
    assert outcome.status is ApplicationStatus.WITHDRAWN and outcome.items == []
    assert [e.action for e in state.trail] == ["withdrawn"]


async def test_withdrawals_crossing_the_filing_on_the_spot_all_end_withdrawn(
    dev_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    subs = [
        submission(catalog, "open-convenience-store", applicant_seed=f"race-{n}") for n in range(8)
    ]
    async with onething_client(dev_env, store_engine, catalog) as client:
        for n, sub in enumerate(subs):
            await client.submit(sub)
            await asyncio.sleep(0.01 * n)  # a spread of instants around the filing's end
            await client.withdraw(sub.application_id, Withdrawal(reason="改期"))
        outcomes = [await client.result(sub.application_id) for sub in subs]

    assert {o.status for o in outcomes} == {ApplicationStatus.WITHDRAWN}
