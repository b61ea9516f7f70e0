"""What the application says agrees with what happened, when it happened.

Behind the patch procedure-revision-2026-12 (workflows.common).

An issued license reaches the application's view at once; a withdrawal or cancellation
changes the application's status (and its search attribute) when accepted; a revoked
license says so everywhere; an application whose every license was revoked ends revoked;
system events are the system's; a clerk acting for the applicant is recorded as such; a
decision answers with the state after it; the texts people read give Beijing time.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import (
    ApplicationStatus,
    Cancellation,
    InspectionReport,
    InspectionResult,
    ItemStatus,
    ReviewDecision,
    ReviewVerdict,
    RevocationGround,
    Withdrawal,
    application_workflow_id,
    item_workflow_id,
)
from domain.catalog import Catalog
from domain.people import Role
from store import notifications
from tests.conftest import onething_client
from tests.desk import approve, eventually, inspect, item_in, staff
from tests.support.lifecycle import CLERK, DAY, submission
from workflows import search_attributes as sa


async def test_a_leaf_license_reaches_the_application_before_its_inspection_ends(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    """The tobacco license of a convenience store on commitment: issued on trust, a leaf of
    the bundle, its site check still to come; the application shows it at once."""
    tobacco = "tobacco-retail-license"
    sub = submission(catalog, "open-convenience-store", commitment=True, applicant_seed="leaf")
    app = sub.application_id
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await approve(client, catalog, app, "business-license-individual")
        leaf = await item_in(client, app, tobacco, ItemStatus.INSPECTING)
        state = await eventually(
            lambda: client.state(app),
            lambda s: any(i.license for i in s.items if i.item_code == tobacco),
            "the tobacco license in the application's view",
        )

    members = catalog.bundle("open-convenience-store").members
    assert all(tobacco not in m.depends_on for m in members)  # a leaf: nothing waits for it
    [ref] = [i for i in state.items if i.item_code == tobacco]
    assert leaf.license is not None and ref.license == leaf.license
    assert ref.status is ItemStatus.ISSUED
    assert state.status is ApplicationStatus.IN_PROGRESS


async def test_each_item_says_in_the_web_ui_how_it_is_decided(
    dev_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    """An operator reading an item in the Web UI sees its approval path in Chinese: the
    registration reviewed, tobacco on commitment, the food filing recorded on the spot."""
    sub = submission(catalog, "open-convenience-store", commitment=True, applicant_seed="ui")
    app = sub.application_id
    async with onething_client(dev_env, store_engine, catalog) as client:
        await client.submit(sub)
        await approve(client, catalog, app, "business-license-individual")
        await item_in(client, app, "tobacco-retail-license", ItemStatus.INSPECTING)
        details = {
            code: await (
                await dev_env.client.get_workflow_handle(item_workflow_id(app, code)).describe()
            ).static_details()
            for code in (
                "business-license-individual",
                "food-filing-prepackaged",
                "tobacco-retail-license",
            )
        }

    shown = {code: (text or "").rsplit(" · ", 1)[-1] for code, text in details.items()}
    assert shown == {
        "business-license-individual": "审查",
        "food-filing-prepackaged": "当场办结",
        "tobacco-retail-license": "告知承诺",
    }
    assert all(app in (text or "") for text in details.values())


async def test_withdrawal_changes_status_and_search_attribute_while_inspection_goes_on(
    dev_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, "food-business-license", commitment=True, applicant_seed="wd")
    app = sub.application_id
    async with onething_client(dev_env, store_engine, catalog) as client:
        await client.submit(sub)
        await item_in(client, app, "food-business-license", ItemStatus.INSPECTING)
        answer = await client.withdraw(app, Withdrawal(reason="改为网上办理", received_by=CLERK))
        state = await client.state(app)
        described = await dev_env.client.get_workflow_handle(
            application_workflow_id(app)
        ).describe()
        still_inspecting = await client.item_state(app, "food-business-license")
        await inspect(client, catalog, app, "food-business-license", InspectionResult.PASSED)
        outcome = await client.result(app)
        final = await client.state(app)

    assert answer is ApplicationStatus.WITHDRAWN
    assert state.status is ApplicationStatus.WITHDRAWN
    assert described.typed_search_attributes.get(sa.APPLICATION_STATUS) == "withdrawn"
    assert still_inspecting.status is ItemStatus.INSPECTING
    assert outcome.status is ApplicationStatus.WITHDRAWN
    [withdrawn] = [e for e in state.trail if e.action == "withdrawn"]
    assert (withdrawn.actor, withdrawn.role) == (CLERK.staff_id, "window_clerk")
    assert withdrawn.on_behalf_of == "applicant"
    assert [e.action for e in final.trail].count("withdrawn") == 1  # said once, when it was


async def test_cancellation_changes_status_at_once(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, "food-business-license", commitment=True, applicant_seed="cx")
    app = sub.application_id
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await item_in(client, app, "food-business-license", ItemStatus.INSPECTING)
        operator = staff(Role.OPERATOR, "ops")
        await client.cancel(app, Cancellation(operator=operator, reason="误提交"))
        state = await client.state(app)

    assert state.status is ApplicationStatus.CANCELLED
    [cancelled] = [e for e in state.trail if e.action == "cancelled"]
    assert cancelled.actor == operator.staff_id and cancelled.on_behalf_of is None


async def test_a_decision_answers_with_the_state_after_it(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    approved = submission(catalog, "food-business-license", applicant_seed="after-1")
    rejected = submission(catalog, "nurse-practice-registration", applicant_seed="after-2")
    reviewer = staff(Role.REVIEWER, catalog.item("food-business-license").department)
    nurse_reviewer = staff(Role.REVIEWER, catalog.item("nurse-practice-registration").department)
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(approved)
        await client.submit(rejected)
        app = approved.application_id
        await item_in(client, app, "food-business-license", ItemStatus.UNDER_REVIEW)
        on_approval = await client.decide(
            app,
            "food-business-license",
            ReviewDecision(reviewer=reviewer, verdict=ReviewVerdict.APPROVE),
        )
        await item_in(client, app, "food-business-license", ItemStatus.INSPECTING)
        on_inspection = await client.inspect(
            app,
            "food-business-license",
            InspectionReport(
                inspector=staff(Role.INSPECTOR, reviewer.department),
                result=InspectionResult.PASSED,
            ),
        )
        other = rejected.application_id
        await item_in(client, other, "nurse-practice-registration", ItemStatus.UNDER_REVIEW)
        on_rejection = await client.decide(
            other,
            "nurse-practice-registration",
            ReviewDecision(reviewer=nurse_reviewer, verdict=ReviewVerdict.REJECT, reason="不符"),
        )

    # Without a commitment the food license's on-site check comes before issuance: passing
    # it leaves the item approved, to be issued.
    assert on_approval is ItemStatus.APPROVED
    assert on_inspection is ItemStatus.APPROVED
    assert on_rejection is ItemStatus.REJECTED


async def test_system_events_are_the_systems_and_texts_give_beijing_time(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(
        catalog,
        "food-business-license",
        leave_out=("equipment-layout",),
        pledge=True,
        applicant_seed="system-events",  # its broken pledge must bar no other test's applicant
    ).model_copy(update={"accepted_by": CLERK})
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await fresh_ts_env.sleep(20 * DAY)  # past the supplement deadline
        await client.result(app)
        state = await client.state(app)

    by_action = {e.action: e for e in state.trail}
    assert (
        by_action["accepted_with_deficiency"].actor,
        by_action["accepted_with_deficiency"].role,
    ) == (
        CLERK.staff_id,
        "window_clerk",
    )
    for action in ("supplement reminder", "escalated: supplement overdue", "stopped"):
        assert (by_action[action].actor, by_action[action].role) == ("system", "system"), action
    assert re.fullmatch(
        r"到期 \d{4}-\d\d-\d\d \d\d:\d\d", by_action["supplement reminder"].detail or ""
    )
    assert state.notice is not None and state.notice.supplement_by is not None
    due_local = (state.notice.supplement_by + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    texts = {n.kind: n.message for n in notifications.notifications_of(store_engine, app)}
    for kind in ("deficiency_notice", "supplement_reminder"):
        assert due_local in texts[kind], texts[kind]
        assert "+00:00" not in texts[kind] and not re.search(r"\dT\d", texts[kind])


async def test_a_finished_items_license_revoked_by_the_application_is_a_written_decision(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    """The hygiene license issues first on commitment, passes its check and closes; the
    pledged material never comes: the application revokes it, through the one path."""
    item = catalog.item("public-venue-hygiene-license")
    deferrable = next(m.code for m in item.materials if m.deferrable)
    sub = submission(
        catalog, item.code, leave_out=(deferrable,), pledge=True, commitment=True,
        applicant_seed="finished-then-revoked",
    )  # fmt: skip
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await inspect(client, catalog, app, item.code, InspectionResult.PASSED)
        await eventually(
            lambda: client.state(app),
            lambda s: s.items[0].status is ItemStatus.CLOSED,
            "the item closed",
        )
        await fresh_ts_env.sleep(20 * DAY)  # past the supplement deadline
        outcome = await client.result(app)

    assert outcome.status is ApplicationStatus.STOPPED
    [revoked] = outcome.items
    assert revoked.status is ItemStatus.REVOKED
    assert revoked.license is not None and revoked.license.status == "revoked"
    assert revoked.license.revocation_ground is RevocationGround.BROKEN_PLEDGE
    told = [n for n in notifications.notifications_of(store_engine, app) if n.kind == "revoked"]
    assert len(told) == 1 and item.name in told[0].message
