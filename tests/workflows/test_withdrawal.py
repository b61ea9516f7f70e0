"""An application ended by its applicant or an operator, on the time-skipping server: a
withdrawal keeps what was issued and stops the rest, or leaves an item issued on commitment
to its inspection; only an operator cancels. (Withdrawal racing a filing's end:
test_withdrawal_race.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import (
    ApplicationStatus,
    Cancellation,
    InspectionResult,
    ItemStatus,
    Withdrawal,
)
from domain.catalog import Catalog
from domain.people import Role
from starter.client import Conflict, OnethingClient
from store import licenses
from tests.conftest import onething_client
from tests.desk import (
    approve,
    eventually,
    inspect,
    item_in,
    staff,
)
from tests.support.lifecycle import report_cost, submission, trail_actions


async def food_filing_recorded(client: OnethingClient, app: str) -> None:
    """Until the application knows it: the food filing's workflow has ended."""
    await eventually(
        lambda: client.state(app),
        lambda s: any(
            i.item_code == "food-filing-prepackaged" and i.status is ItemStatus.CLOSED
            for i in s.items
        ),
        "the food filing recorded",
    )


async def test_withdrawal_mid_way_keeps_issued_license_and_stops_the_rest(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    """开办便利店 without a commitment: withdrawn while tobacco retail is under review; the
    business license issued and the food filing recorded stay, tobacco stops."""
    sub = submission(catalog, "open-convenience-store")
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await approve(client, catalog, app, "business-license-individual")
        await food_filing_recorded(client, app)
        await item_in(client, app, "tobacco-retail-license", ItemStatus.UNDER_REVIEW)
        assert (
            await client.withdraw(app, Withdrawal(reason="选址变更")) is ApplicationStatus.WITHDRAWN
        )
        with pytest.raises(Conflict, match="status"):
            await client.withdraw(app, Withdrawal(reason="again"))
        outcome = await client.result(app)
        await report_cost(fresh_ts_env, "withdrawn mid-way", app)

    assert outcome.status is ApplicationStatus.WITHDRAWN and outcome.reason == "选址变更"
    statuses = {i.item_code: i.status for i in outcome.items}
    assert statuses == {
        "business-license-individual": ItemStatus.CLOSED,
        "food-filing-prepackaged": ItemStatus.CLOSED,
        "tobacco-retail-license": ItemStatus.STOPPED,
    }
    kept = {lic.item_code: lic.status for lic in licenses.licenses_of(store_engine, app)}
    assert kept == {"business-license-individual": "issued", "food-filing-prepackaged": "issued"}


async def test_withdrawal_after_issuance_on_commitment_keeps_the_inspection_going(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    """开办便利店 on commitment, withdrawn while the tobacco license issued on trust awaits its
    site check: the license stays valid and the check still comes; nothing is stopped."""
    tobacco = "tobacco-retail-license"
    sub = submission(catalog, "open-convenience-store", commitment=True, applicant_seed="keep")
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await approve(client, catalog, app, "business-license-individual")
        await food_filing_recorded(client, app)
        await item_in(client, app, tobacco, ItemStatus.INSPECTING)
        await eventually(
            lambda: client.state(app),
            lambda s: any(i.license for i in s.items if i.item_code == tobacco),
            "the tobacco license in the application's view",
        )
        await client.withdraw(app, Withdrawal(reason="改为网上办理"))
        withdrawn = await client.state(app)
        still = await client.item_state(app, tobacco)
        await inspect(client, catalog, app, tobacco, InspectionResult.PASSED)
        outcome = await client.result(app)
        checked = await client.item_state(app, tobacco)

    assert withdrawn.status is ApplicationStatus.WITHDRAWN
    assert outcome.status is ApplicationStatus.WITHDRAWN
    assert still.status is ItemStatus.INSPECTING and still.open_task is not None
    statuses = {i.item_code: i.status for i in outcome.items}
    assert statuses == {
        "business-license-individual": ItemStatus.CLOSED,
        "food-filing-prepackaged": ItemStatus.CLOSED,
        tobacco: ItemStatus.CLOSED,
    }
    # The application knew the tobacco license was issued: the withdrawal left its item alone.
    assert trail_actions(checked.trail)[-1] == "inspection passed"
    issued = {lic.item_code: lic.status for lic in licenses.licenses_of(store_engine, app)}
    assert issued == {
        "business-license-individual": "issued",
        "food-filing-prepackaged": "issued",
        tobacco: "issued",
    }


async def test_cancellation_by_an_operator_only(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, "nurse-practice-registration")
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await item_in(client, app, "nurse-practice-registration", ItemStatus.UNDER_REVIEW)
        with pytest.raises(Conflict, match=r"operator\.role"):
            await client.cancel(
                app, Cancellation(operator=staff(Role.REVIEWER, "health"), reason="误提交")
            )
        await client.cancel(
            app, Cancellation(operator=staff(Role.OPERATOR, "ops"), reason="误提交")
        )
        outcome = await client.result(app)
        with pytest.raises(Conflict):
            await client.cancel(app, Cancellation(operator=staff(Role.OPERATOR, "ops"), reason="x"))

    assert outcome.status is ApplicationStatus.CANCELLED
    assert outcome.items[0].status is ItemStatus.STOPPED
    assert licenses.licenses_of(store_engine, app) == []
