"""The lifecycle scenarios of a "one thing" application, on the time-skipping server.

Each asserts the outcome, the licenses, the credit records, the supervision cases and the
decision trail, and reports the billable Temporal actions it cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import (
    ApplicationStatus,
    ApprovalPath,
    Cancellation,
    Channel,
    Correction,
    InspectionResult,
    ItemStatus,
    LimitExtension,
    ReviewDecision,
    ReviewVerdict,
    RevocationGround,
    Submission,
    Supplement,
    TrailEntry,
    Withdrawal,
    application_workflow_id,
    item_workflow_id,
)
from domain.catalog import Catalog
from domain.clock import ClockSnapshot, ClockState
from domain.credit import CreditEntry, CreditRecordKind, credit_subject
from domain.people import Role, resident_id_check_digit
from onething.costs import application_actions
from starter.client import Conflict
from starter.demo import demo_applicant
from store import credit, documents, licenses, notifications, supervision
from tests.conftest import new_application_id, onething_client
from tests.costs_report import SCENARIO_COSTS
from tests.desk import (
    approve,
    eventually,
    full_submission,
    inspect,
    item_in,
    made_up_applicant,
    staff,
)

T = TypeVar("T")
DAY = timedelta(days=1)


# -- helpers: what a window clerk, a reviewer and an inspector do -----------------------------


def submission(
    catalog: Catalog,
    target: str,
    *,
    leave_out: tuple[str, ...] = (),
    commitment: bool = False,
    pledge: bool = False,
    applicant_seed: str | None = None,
) -> Submission:
    """Everything the one set of materials asks for, less `leave_out`, with a fresh ID."""
    applicant = demo_applicant() if applicant_seed is None else made_up_applicant(applicant_seed)
    return full_submission(
        catalog,
        target,
        new_application_id(),
        applicant,
        leave_out=leave_out,
        commitment=commitment,
        pledge=pledge,
    )


async def report_cost(env: WorkflowEnvironment, scenario: str, application_id: str) -> int:
    counts = await application_actions(env.client, application_workflow_id(application_id))
    SCENARIO_COSTS[scenario] = counts
    return sum(counts.values())


def trail_actions(trail: list[TrailEntry]) -> list[str]:
    return [entry.action for entry in trail]


# -- the scenarios ---------------------------------------------------------------------------


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
        food: (ItemStatus.CLOSED, ApprovalPath.REVIEW),
        tobacco: (ItemStatus.CLOSED, ApprovalPath.COMMITMENT),
    }
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


async def test_incomplete_bundle_gets_one_correction_notice_listing_every_missing_material(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, "open-beauty-salon", leave_out=("operator-id", "premises-proof"))
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        outcome = await eventually(
            lambda: client.state(sub.application_id),
            lambda s: s.status is ApplicationStatus.AWAITING_CORRECTION,
            "the correction notice",
        )
        await client.withdraw(sub.application_id, Withdrawal(reason="test over"))

    assert outcome.notice is not None
    assert sorted(m.code for m in outcome.notice.missing) == ["operator-id", "premises-proof"]
    assert all(m.core for m in outcome.notice.missing)
    assert licenses.licenses_of(store_engine, sub.application_id) == []


async def test_review_overdue_warns_escalates_twice_then_approves(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    code = "nurse-practice-registration"  # promised: 10 working days
    sub = submission(catalog, code)
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        opened = (await item_in(client, app, code, ItemStatus.UNDER_REVIEW)).clock
        assert opened is not None and opened.warning_at and opened.due_at and opened.stage2_at

        async def clock_after(
            instant: datetime, ok: Callable[[ClockSnapshot], bool]
        ) -> ClockSnapshot:
            await fresh_ts_env.sleep(
                instant - await fresh_ts_env.get_current_time() + timedelta(minutes=1)
            )
            state = await eventually(
                lambda: client.item_state(app, code),
                lambda s: s.clock is not None and ok(s.clock),
                f"clock at {instant}",
            )
            assert state.clock is not None
            return state.clock

        warned = await clock_after(opened.warning_at, lambda c: c.state is ClockState.WARNING)
        overdue = await clock_after(opened.due_at, lambda c: c.escalation_stage == 1)
        stage2 = await clock_after(opened.stage2_at, lambda c: c.escalation_stage == 2)
        await approve(client, catalog, app, code)
        outcome = await client.result(app)
        item = await client.item_state(app, code)
        await report_cost(fresh_ts_env, "review overdue, two escalation stages", app)

    assert warned.state is ClockState.WARNING and overdue.state is ClockState.OVERDUE
    # Each boundary fired at its working-day instant, computed once at the start.
    assert [(e.kind.value, e.stage, e.at) for e in stage2.events] == [
        ("warning", 0, opened.warning_at),
        ("escalation", 1, opened.due_at),
        ("escalation", 2, opened.stage2_at),
    ]
    assert outcome.status is ApplicationStatus.COMPLETED  # escalation never cancels the work
    cases = supervision.cases_of(store_engine, item_workflow_id(app, code))
    assert [(c.limit_name, c.stage, c.level) for c in cases] == [
        ("review", 1, "department_supervisor"),
        ("review", 2, "supervision_office"),
    ]
    actions = [e.action for e in item.trail]
    assert actions[:3] == ["review warning", "escalated stage 1", "escalated stage 2"]
    assert "review approve" in actions
    reminders = [
        n for n in notifications.notifications_of(store_engine, app) if n.kind == "warning"
    ]
    assert [n.recipient for n in reminders] == [f"reviewer:{catalog.item(code).department}"]


async def test_correction_pauses_the_clock_and_an_extension_moves_the_due_instant(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    code = "nurse-practice-registration"
    department = catalog.item(code).department
    sub = submission(catalog, code)
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        before = await item_in(client, app, code, ItemStatus.UNDER_REVIEW)
        await client.decide(
            app,
            code,
            ReviewDecision(
                reviewer=staff(Role.REVIEWER, department),
                verdict=ReviewVerdict.REQUEST_CORRECTION,
                reason="体检报告超过6个月",
            ),
        )
        await fresh_ts_env.sleep(20 * DAY)  # the applicant takes four weeks: not counted
        paused = await client.item_state(app, code)
        await client.correct(app, code, Correction(channel=Channel.ONLINE, note="已上传新体检报告"))
        with pytest.raises(Conflict, match=r"decided_by\.role"):
            await client.extend(
                app,
                code,
                LimitExtension(
                    decided_by=staff(Role.REVIEWER, department), days=10, reason="需专家评审"
                ),
            )
        receipt = await client.extend(  # Art. 42: the head of the department approves
            app,
            code,
            LimitExtension(
                decided_by=staff(Role.DEPARTMENT_HEAD, department), days=10, reason="需专家评审"
            ),
        )
        extended = await eventually(
            lambda: client.item_state(app, code),
            lambda s: s.clock is not None and s.clock.total_days == 20 and s.clock.scheduled,
            "extended schedule",
        )
        await approve(client, catalog, app, code)
        await client.result(app)

    assert before.clock is not None and paused.clock is not None and extended.clock is not None
    assert paused.clock.paused and paused.clock.state is not ClockState.OVERDUE
    assert [p.reason for p in paused.clock.pauses] == ["补正: 体检报告超过6个月"]
    assert receipt.limit == "review" and receipt.days == 10
    # Four weeks of waiting for the applicant counted at most the day the review began.
    assert extended.clock.remaining_days is not None and extended.clock.remaining_days >= 19
    assert extended.clock.due_at is not None and before.clock.due_at is not None
    assert extended.clock.due_at > before.clock.due_at + timedelta(days=20)
    assert not supervision.cases_of(store_engine, item_workflow_id(app, code))


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
        await eventually(  # as the application knows it: the filing's workflow has ended
            lambda: client.state(app),
            lambda s: any(
                i.item_code == "food-filing-prepackaged" and i.status is ItemStatus.CLOSED
                for i in s.items
            ),
            "the food filing recorded",
        )
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


async def test_broken_pledge_on_record_bars_deficiency_and_commitment(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    from datetime import UTC, datetime

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
        await eventually(  # as the application knows it: the filing's workflow has ended
            lambda: client.state(app),
            lambda s: any(
                i.item_code == "food-filing-prepackaged" and i.status is ItemStatus.CLOSED
                for i in s.items
            ),
            "the food filing recorded",
        )
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
