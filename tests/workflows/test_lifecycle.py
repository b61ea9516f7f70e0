"""The lifecycle scenarios of a "one thing" application to its licenses, on the
time-skipping server: on commitment, with a material deferred (容缺), inspected, revoked, and
barred by a credit record.

Each asserts the outcome, the licenses, the credit records, the supervision cases and the
decision trail, and reports the billable Temporal actions it cost. The time limits are in
test_review_limits.py, withdrawal and cancellation in test_withdrawal.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import (
    ApplicationStatus,
    ApprovalPath,
    Cancellation,
    Channel,
    InspectionResult,
    ItemStatus,
    RevocationGround,
    Supplement,
    Withdrawal,
    application_workflow_id,
    item_workflow_id,
)
from domain.catalog import Catalog
from domain.credit import CreditEntry, CreditRecordKind, credit_subject
from domain.people import Role, resident_id_check_digit
from starter.client import Conflict
from store import credit, documents, licenses, notifications, supervision
from tests.conftest import new_application_id, onething_client
from tests.desk import (
    approve,
    eventually,
    inspect,
    item_in,
    staff,
)
from tests.support.lifecycle import DAY, report_cost, submission, trail_actions


async def test_convenience_store_by_commitment_licensed_at_once_then_inspected(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    """开办便利店 in 15 minutes (catalog 2026.12.3): the individual business registration
    decided by the market department the same day (即办: promised 0), the pre-packaged food
    filing recorded on the spot with its receipt, tobacco retail on commitment issued at once;
    the tobacco site check after issuance passes; closed."""
    business, food, tobacco = (
        "business-license-individual",
        "food-filing-prepackaged",
        "tobacco-retail-license",
    )
    assert catalog.item(business).promised_days == 0 and catalog.item(food).recorded_on_the_spot
    sub = submission(catalog, "open-convenience-store", commitment=True)
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        registering = await item_in(client, app, business, ItemStatus.UNDER_REVIEW)
        await approve(client, catalog, app, business)
        checking = await item_in(client, app, tobacco, ItemStatus.INSPECTING)
        filed = await eventually(
            lambda: client.item_state(app, food),
            lambda s: s.status is ItemStatus.CLOSED,
            "the food filing recorded",
        )
        state = await client.state(app)
        await fresh_ts_env.sleep(5 * DAY)  # the inspector comes within the 10 working days
        await inspect(client, catalog, app, tobacco, InspectionResult.PASSED)
        outcome = await client.result(app)
        cost = await report_cost(fresh_ts_env, "open-convenience-store by commitment", app)

    assert outcome.status is ApplicationStatus.COMPLETED
    assert {i.item_code: (i.status, i.path) for i in outcome.items} == {
        business: (ItemStatus.CLOSED, ApprovalPath.REVIEW),  # registration admits no commitment
        food: (ItemStatus.CLOSED, None),  # recorded on the spot: nobody decides it
        tobacco: (ItemStatus.CLOSED, ApprovalPath.COMMITMENT),
    }
    assert {i.item_code: i.path for i in state.items} == {
        i.item_code: i.path for i in outcome.items
    }
    assert filed.path is None and checking.path is ApprovalPath.COMMITMENT
    assert registering.clock is not None and registering.clock.budget_days == 0  # 即办
    assert checking.license is not None and checking.open_task is not None
    assert trail_actions(filed.trail) == ["filing received", "license issued", "filing recorded"]
    accepted_at = next(e.at for e in state.trail if e.action == "accepted")
    done_at = [i.license.valid_from for i in outcome.items if i.license] + [filed.trail[-1].at]
    assert len(done_at) == 4  # three licenses (the filing's receipt one) and the filing
    assert all(at - accepted_at < timedelta(minutes=15) for at in done_at)
    assert {lic.item_code for lic in licenses.licenses_of(store_engine, app)} == {
        business,
        food,  # the filing's receipt (食品经营备案凭证)
        tobacco,
    }
    filing_acts = [
        d.title for d in documents.documents_of(store_engine, app) if food in d.notice_key
    ]
    assert filing_acts == ["备案通知书", "食品经营备案凭证"]
    assert credit.records_of(store_engine, app) == []
    assert all(not supervision.cases_of(store_engine, r.workflow_id) for r in state.items)
    assert cost <= 40, f"a whole convenience-store application costs {cost} actions"


async def test_food_license_deficiency_supplemented_by_mail_then_issued(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, "food-business-license", leave_out=("equipment-layout",), pledge=True)
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        state = await eventually(
            lambda: client.state(app),
            lambda s: s.notice is not None and s.notice.supplement_by is not None,
            "deficiency notice",
        )
        assert state.status is ApplicationStatus.AWAITING_SUPPLEMENT
        assert [m.code for m in state.outstanding] == ["equipment-layout"]
        await approve(client, catalog, app, "food-business-license")
        # Approved, but the rule says: issue only once the materials are in.
        await asyncio.sleep(0.3)
        assert licenses.licenses_of(store_engine, app) == []
        await fresh_ts_env.sleep(2 * DAY)
        with pytest.raises(Conflict, match=r"materials\[0\]: 'premises-proof' is not awaited"):
            await client.supplement(
                app, Supplement(materials=["premises-proof"], channel=Channel.MAIL)
            )
        remaining = await client.supplement(
            app, Supplement(materials=["equipment-layout"], channel=Channel.MAIL)
        )
        assert remaining == []
        await inspect(client, catalog, app, "food-business-license", InspectionResult.PASSED)
        outcome = await client.result(app)
        state = await client.state(app)
        await report_cost(fresh_ts_env, "food-business-license with deficiency, supplemented", app)

    assert outcome.status is ApplicationStatus.COMPLETED
    assert outcome.license("food-business-license") is not None
    assert state.notice is not None and state.notice.supplement_by is not None
    assert "supplement received by mail" in trail_actions(state.trail)
    assert state.trips == 1  # the supplement came by mail: no second trip
    assert credit.records_of(store_engine, app) == []
    kinds = [n.kind for n in notifications.notifications_of(store_engine, app)]
    # Two days in: well before the reminder. The receipt, then the decision and the license.
    assert kinds == ["accepted", "deficiency_notice", "granted", "license"]


async def test_deficiency_deadline_missed_stops_records_credit_and_revokes_trusted_license(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    """公共场所卫生许可 issues first on commitment (rule: revoke if not supplemented)."""
    item = catalog.item("public-venue-hygiene-license")
    deferrable = next(m.code for m in item.materials if m.deferrable)
    sub = submission(
        catalog,
        item.code,
        leave_out=(deferrable,),
        pledge=True,
        commitment=True,
        applicant_seed="lapse",
    )
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await item_in(client, app, item.code, ItemStatus.INSPECTING)  # issued on trust
        await fresh_ts_env.sleep(20 * DAY)  # past the supplement deadline
        outcome = await client.result(app)
        state = await client.state(app)
        await report_cost(fresh_ts_env, "deficiency deadline missed", app)

    assert outcome.status is ApplicationStatus.STOPPED
    assert outcome.reason is not None and "逾期未补齐" in outcome.reason
    [registered] = licenses.licenses_of(store_engine, app)
    assert registered.status == "revoked" and registered.revoked_reason
    assert [r.kind for r in credit.records_of(store_engine, app)] == ["broken_pledge"]
    cases = supervision.cases_of(store_engine, application_workflow_id(app))
    assert [(c.limit_name, c.stage) for c in cases] == [("supplement", 1)]
    assert "escalated: supplement overdue" in trail_actions(state.trail)
    told = [n.kind for n in notifications.notifications_of(store_engine, app)]
    assert "stopped" in told and "revoked" in told  # the revocation is a written decision
    # The record is told in writing, with the way to object (信用记录告知书).
    [recorded] = [
        d for d in documents.documents_of(store_engine, app) if d.kind == "credit_recorded"
    ]
    assert recorded.title == "信用记录告知书" and "异议" in recorded.content
    assert CreditRecordKind.BROKEN_PLEDGE.label in recorded.content


async def test_commitment_inspection_failing_twice_revokes_with_credit_record_and_supervision(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, "food-business-license", commitment=True, applicant_seed="twice")
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await inspect(
            client, catalog, app, "food-business-license", InspectionResult.FAILED, "冷藏设备不足"
        )
        rectifying = await item_in(client, app, "food-business-license", ItemStatus.RECTIFYING)
        await fresh_ts_env.sleep(7 * DAY)
        await inspect(
            client, catalog, app, "food-business-license", InspectionResult.FAILED, "仍未整改"
        )
        outcome = await client.result(app)
        item = await client.item_state(app, "food-business-license")
        await report_cost(fresh_ts_env, "commitment inspection fails twice", app)

    assert rectifying.open_task is not None and rectifying.open_task.kind == "re-inspection"
    assert outcome.status is ApplicationStatus.REVOKED  # its only license no longer stands
    assert item.status is ItemStatus.REVOKED
    for record in (item.license, outcome.license("food-business-license")):
        assert record is not None and record.status == "revoked"
        assert record.revocation_ground is RevocationGround.FAILED_REINSPECTION
    [registered] = licenses.licenses_of(store_engine, app)
    assert registered.status == "revoked" and "仍未整改" in (registered.revoked_reason or "")
    assert [r.kind for r in credit.records_of(store_engine, app)] == ["revocation"]
    # Referred to supervision on purpose, not disguised as an overdue limit.
    workflow_id = item_workflow_id(app, "food-business-license")
    assert supervision.cases_of(store_engine, workflow_id) == []
    [referral] = supervision.referrals_of(store_engine, workflow_id)
    assert referral.kind == "revocation" and "仍未整改" in referral.reason
    assert [e.action for e in item.trail] == [
        "approved on commitment",
        "license issued",
        "inspection failed",
        "rectification ordered",
        "inspection failed",
        "license revoked",
        "referred to supervision",
    ]


async def test_broken_pledge_on_record_bars_deficiency_and_commitment(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    from datetime import UTC

    seed = f"barred{new_application_id()[-6:]}"
    first = submission(catalog, "food-business-license", commitment=True, applicant_seed=seed)
    credit.record(
        store_engine,
        CreditEntry(
            subject=credit_subject(first.applicant.id_number),
            kind=CreditRecordKind.BROKEN_PLEDGE,
            application_id="earlier-application",
            item_code=None,
            recorded_at=datetime(2026, 6, 1, tzinfo=UTC),
            detail="容缺材料逾期未补齐",
        ),
    )
    deficient = submission(
        catalog,
        "food-business-license",
        leave_out=("equipment-layout",),
        pledge=True,
        applicant_seed=seed,
    )
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(first)
        reviewed = await item_in(
            client, first.application_id, "food-business-license", ItemStatus.UNDER_REVIEW
        )
        await client.submit(deficient)
        refused = await eventually(
            lambda: client.state(deficient.application_id),
            lambda s: s.status is ApplicationStatus.AWAITING_CORRECTION,
            "deficiency not offered: a correction notice instead",
        )
        await client.withdraw(deficient.application_id, Withdrawal(reason="test over"))
        await client.cancel(
            first.application_id,
            Cancellation(operator=staff(Role.OPERATOR, "ops"), reason="test over"),
        )

    assert reviewed.path is ApprovalPath.REVIEW  # commitment not offered
    assert refused.notice is not None and [m.code for m in refused.notice.missing] == [
        "equipment-layout"
    ]


async def test_false_commitment_revokes_at_first_inspection_and_agent_is_recorded(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    from domain.people import Agent

    sub = submission(catalog, "food-business-license", commitment=True, applicant_seed="false")
    first17 = "42068419850505100"
    agent = Agent(
        name="代办员", id_number=first17 + resident_id_check_digit(first17), phone="13900000002"
    )
    sub = sub.model_copy(update={"agent": agent})
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await inspect(
            client,
            catalog,
            app,
            "food-business-license",
            InspectionResult.FALSE_COMMITMENT,
            "承诺的冷链设备并不存在",
        )
        outcome = await client.result(app)
        state = await client.state(app)

    assert state.assisted
    [by_agent] = [e for e in state.trail if e.action == "submitted by an agent (帮办代办)"]
    assert by_agent.detail is not None and agent.name not in by_agent.detail  # redacted
    assert outcome.items[0].status is ItemStatus.REVOKED
    assert [r.kind for r in credit.records_of(store_engine, app)] == ["false_commitment"]
    [registered] = licenses.licenses_of(store_engine, app)
    assert registered.status == "revoked" and "承诺不实" in (registered.revoked_reason or "")
