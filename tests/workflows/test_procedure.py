"""The item follows the procedure the law prescribes (procedure revision 2026-12).

- The on-site check follows the approval path: on review a required check comes before
  the decision (failing twice: not granted, with reasons); on commitment, after issuance.
- A filing (备案) is recorded on the spot once the materials are complete: no review task.
- One extension per limit (Art. 42), approved by the head of the item's department, at
  most the item's cap, the applicant told why; a supervisor no longer extends.
- Excluded time (Art. 45) pauses the step's limit and the statutory one, with a written
  notice of what and how long; it ends with the result and the due instants move.
- The statutory limit runs beside the step limits: a review + inspection + rectification
  past it escalates while the work goes on.
- A revocation notifies the applicant and refers the case to supervision explicitly.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from domain.application import (
    ApplicationStatus,
    ApprovalPath,
    InspectionResult,
    ItemState,
    ItemStatus,
    LimitExtension,
    ReviewDecision,
    ReviewVerdict,
    item_workflow_id,
)
from domain.calendar import WorkingCalendar
from domain.catalog import Catalog
from domain.catalog_models import InspectionTiming, ItemKind
from domain.clock import ClockPolicy, ClockSnapshot, local_date
from domain.excluded_time import ExcludedTimeEnd, ExcludedTimeKind, ExcludedTimeStart
from domain.extension import check_extension
from domain.people import Role, Staff
from domain.supervision import Referral, ReferralKind
from starter.client import Conflict, OnethingClient
from store import licenses, notifications, supervision
from store.tasks import StaffTask
from tests.conftest import onething_client
from tests.desk import approve, eventually, inspect, item_in, staff
from tests.support.lifecycle import DAY, submission

FOOD = "food-business-license"
NURSE = "nurse-practice-registration"  # review path, no inspection: statutory 20, promised 10


def notices_of(engine: Engine, app: str, kind: str) -> list[str]:
    return [n.message for n in notifications.notifications_of(engine, app) if n.kind == kind]


def actions(state: ItemState) -> list[str]:
    return [e.action for e in state.trail]


async def sleep_past(env: WorkflowEnvironment, instant: datetime) -> None:
    await env.sleep(instant - await env.get_current_time() + timedelta(minutes=1))


# -- the rules, pure ---------------------------------------------------------------------------


def test_an_extension_is_the_department_heads_once_within_the_items_cap(
    catalog: Catalog,
) -> None:
    item = catalog.item(NURSE)
    head = staff(Role.DEPARTMENT_HEAD, item.department)

    def check(by: Staff, days: int = 5, before: int = 0) -> None:
        extension = LimitExtension(decided_by=by, days=days, reason="需专家评审")
        check_extension(extension, item=item, limits=[("review", before), ("statutory", 0)])

    check(head, item.extension_days)
    for by, days, before, field in [
        (staff(Role.SUPERVISOR, item.department), 5, 0, "decided_by.role"),
        (staff(Role.REVIEWER, item.department), 5, 0, "decided_by.role"),
        (staff(Role.DEPARTMENT_HEAD, "market"), 5, 0, "decided_by.department"),
        (head, item.extension_days + 1, 0, "days"),
        (head, 5, 1, "status"),
    ]:
        with pytest.raises(ValueError, match=rf"^{re.escape(field)}: ") as refused:
            check(by, days, before)
        assert "需专家评审" not in str(refused.value)
    with pytest.raises(ValueError, match="review limit was extended once already"):
        check(head, 5, 1)


def test_a_referral_is_recorded_once(store_engine: Engine) -> None:
    referral = Referral(
        workflow_id=f"wf-{datetime.now(UTC).timestamp()}",
        kind=ReferralKind.REVOCATION,
        department="market",
        subject="A-1/food-business-license",
        reason="整改后复查仍不合格: 仍未整改",
        referred_at=datetime(2026, 12, 1, 3, tzinfo=UTC),
    )
    first, created = supervision.refer(store_engine, referral)
    again, created_again = supervision.refer(store_engine, referral)
    assert created and not created_again and again.id == first.id
    assert [r.kind for r in supervision.referrals_of(store_engine, referral.workflow_id)] == [
        "revocation"
    ]
    assert any(r.id == first.id for r in supervision.open_referrals(store_engine, "market"))
    closed = supervision.close_referral(store_engine, first.id or 0, "已核查", first.referred_at)
    assert closed.status == "closed"
    assert all(r.id != first.id for r in supervision.open_referrals(store_engine))


# -- inspection by approval path ---------------------------------------------------------------


async def test_review_path_inspects_before_the_decision_then_issues(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    """食品经营许可 without a commitment: the review, the on-site check, then the license."""
    assert catalog.item(FOOD).inspection.for_path("review") is InspectionTiming.BEFORE_ISSUANCE
    sub = submission(catalog, FOOD, applicant_seed="review-first")
    app = sub.application_id
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await approve(client, catalog, app, FOOD)
        checking = await item_in(client, app, FOOD, ItemStatus.INSPECTING)
        issued_before_check = licenses.licenses_of(store_engine, app)
        await inspect(client, catalog, app, FOOD, InspectionResult.PASSED)
        outcome = await client.result(app)
        food = await client.item_state(app, FOOD)

    assert checking.path is ApprovalPath.REVIEW and checking.license is None
    assert checking.open_task is not None and checking.open_task.kind == "inspection"
    assert issued_before_check == []
    assert outcome.status is ApplicationStatus.COMPLETED
    assert food.status is ItemStatus.CLOSED and food.license is not None
    assert actions(food) == ["review approve", "inspection passed", "license issued"]
    # The statutory limit ran from the item's start to the decision, and was met.
    assert food.statutory_clock is not None and food.statutory_clock.met is True


async def test_review_path_failing_the_check_twice_is_not_granted_with_reasons(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, FOOD, applicant_seed="review-fails")
    app = sub.application_id
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await approve(client, catalog, app, FOOD)
        await inspect(client, catalog, app, FOOD, InspectionResult.FAILED, "冷藏设备不足")
        rectifying = await item_in(client, app, FOOD, ItemStatus.RECTIFYING)
        await inspect(client, catalog, app, FOOD, InspectionResult.FAILED, "仍未整改")
        outcome = await client.result(app)

    assert rectifying.open_task is not None and rectifying.open_task.kind == "re-inspection"
    assert outcome.status is ApplicationStatus.REJECTED
    assert outcome.items[0].status is ItemStatus.REJECTED and outcome.items[0].license is None
    assert licenses.licenses_of(store_engine, app) == []
    [told] = notices_of(store_engine, app, "rejected")
    assert "不予许可" in told and "仍未整改" in told


async def test_commitment_path_issues_at_once_and_inspects_afterwards(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    rule = catalog.item(FOOD).inspection
    assert rule.for_path("commitment") is InspectionTiming.AFTER_ISSUANCE
    sub = submission(catalog, FOOD, commitment=True, applicant_seed="commit-after")
    app = sub.application_id
    reviewer = staff(Role.REVIEWER, catalog.item(FOOD).department)
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        checking = await item_in(client, app, FOOD, ItemStatus.INSPECTING)
        with pytest.raises(Conflict, match=r"^status: .*before the decision"):
            await client.exclude_time(
                app,
                FOOD,
                ExcludedTimeStart(
                    kind=ExcludedTimeKind.TESTING,
                    expected_days=3,
                    reason="送检",
                    decided_by=reviewer,
                ),
            )
        await inspect(client, catalog, app, FOOD, InspectionResult.PASSED)
        outcome = await client.result(app)
        food = await client.item_state(app, FOOD)

    assert checking.license is not None and checking.path is ApprovalPath.COMMITMENT
    assert checking.clock is not None and checking.clock.budget_days == rule.within_days
    assert checking.statutory_clock is None  # decided at once on the commitment
    assert outcome.status is ApplicationStatus.COMPLETED and food.status is ItemStatus.CLOSED
    assert actions(food) == ["approved on commitment", "license issued", "inspection passed"]


# -- filings -------------------------------------------------------------------------------------


async def test_a_filing_is_recorded_on_the_spot_without_a_review(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    code = "food-filing-prepackaged"
    sub = submission(catalog, code, applicant_seed="filing")
    app = sub.application_id
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        outcome = await client.result(app)
        filed = await client.item_state(app, code)
        shown = await client.state(app)

    assert outcome.status is ApplicationStatus.COMPLETED
    assert filed.status is ItemStatus.CLOSED and filed.clock is None
    # Nobody decides it, by review or on a commitment: no approval path anywhere it is shown.
    assert filed.path is None
    assert [i.path for i in shown.items] == [i.path for i in outcome.items] == [None]
    # The filing's receipt (食品经营备案凭证, catalog 2026.12.3) is issued on the spot too.
    assert actions(filed) == ["filing received", "license issued", "filing recorded"]
    assert outcome.license(code) is not None
    with Session(store_engine) as s:
        tasks = s.exec(select(StaffTask).where(StaffTask.application_id == app)).all()
    assert list(tasks) == []  # no review task ever opened


async def test_a_filing_with_a_limit_keeps_its_review(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    """户外招牌设置备案 has a limit (7 working days promised): not recorded on the spot; a
    reviewer of its department decides within the limit, the statutory limit runs beside."""
    code = "outdoor-sign-filing"
    item = catalog.item(code)
    assert item.kind is ItemKind.FILING and item.promised_days > 0
    assert not item.recorded_on_the_spot
    sub = submission(catalog, code, applicant_seed="sign-filing")
    app = sub.application_id
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        reviewing = await item_in(client, app, code, ItemStatus.UNDER_REVIEW)
        await approve(client, catalog, app, code)
        outcome = await client.result(app)
        filed = await client.item_state(app, code)

    task = reviewing.open_task
    assert task is not None and (task.kind, task.department) == ("review", item.department)
    assert reviewing.clock is not None and reviewing.clock.budget_days == item.promised_days
    assert reviewing.statutory_clock is not None
    assert reviewing.statutory_clock.budget_days == item.statutory_days
    assert outcome.status is ApplicationStatus.COMPLETED and filed.status is ItemStatus.CLOSED
    assert actions(filed)[0] == "review approve" and "filing received" not in actions(filed)


# -- extension (Art. 42) ---------------------------------------------------------------------


async def test_one_extension_by_the_department_head_told_to_the_applicant(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    item = catalog.item(NURSE)
    head = staff(Role.DEPARTMENT_HEAD, item.department)
    sub = submission(catalog, NURSE, applicant_seed="extend-once")
    app = sub.application_id

    def extension(by: Staff, days: int = 5) -> LimitExtension:
        return LimitExtension(decided_by=by, days=days, reason="需组织专家评审")

    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        before = await item_in(client, app, NURSE, ItemStatus.UNDER_REVIEW)
        with pytest.raises(Conflict, match=r"^decided_by\.role: .*not by a supervisor"):
            await client.extend(app, NURSE, extension(staff(Role.SUPERVISOR, item.department)))
        with pytest.raises(Conflict, match=r"^decided_by\.department"):
            await client.extend(app, NURSE, extension(staff(Role.DEPARTMENT_HEAD, "market")))
        with pytest.raises(Conflict, match=r"^days: .*at most"):
            await client.extend(app, NURSE, extension(head, item.extension_days + 1))
        receipt = await client.extend(app, NURSE, extension(head))
        with pytest.raises(Conflict, match=r"^status: the review limit was extended once"):
            await client.extend(app, NURSE, extension(head, 1))
        extended = await eventually(
            lambda: client.item_state(app, NURSE),
            lambda s: bool(notices_of(store_engine, app, "extension")),
            "the extension notice",
        )
        await approve(client, catalog, app, NURSE)
        await client.result(app)

    assert receipt.limit == "review" and receipt.days == 5
    assert before.clock is not None and before.statutory_clock is not None
    assert extended.clock is not None and extended.statutory_clock is not None
    assert extended.clock.total_days == item.promised_days + 5
    assert extended.statutory_clock.total_days == item.statutory_days + 5
    [told] = notices_of(store_engine, app, "extension")
    due = extended.statutory_clock.due_at
    assert due is not None and (due + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") in told
    assert "需组织专家评审" in told and "5个工作日" in told and "负责人批准" in told
    extensions = [e for e in extended.trail if "extended by 5" in e.action]
    assert [(e.action, e.actor, e.role) for e in extensions] == [
        ("review extended by 5 working days", head.staff_id, "department_head"),
        ("statutory extended by 5 working days", head.staff_id, "department_head"),
    ]


# -- excluded time (Art. 45) and the applicant's correction --------------------------------


async def test_excluded_time_pauses_both_limits_and_moves_their_due_instants(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    item = catalog.item(NURSE)
    reviewer, head = staff(Role.REVIEWER, item.department), staff(Role.DEPARTMENT_HEAD, "health")
    sub = submission(catalog, NURSE, applicant_seed="excluded")
    app = sub.application_id
    start = ExcludedTimeStart(
        kind=ExcludedTimeKind.EXPERT_REVIEW,
        expected_days=5,
        reason="需组织专家对执业条件进行评审",
        decided_by=reviewer,
    )
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        before = await item_in(client, app, NURSE, ItemStatus.UNDER_REVIEW)
        await expect_refused(client, app, "decided_by.role", exclude=start, by=Role.INSPECTOR)
        await expect_refused(client, app, "status: no excluded time", end_by=head)
        assert await client.exclude_time(app, NURSE, start) is ItemStatus.UNDER_REVIEW
        await expect_refused(client, app, "status: excluded time .* running already", exclude=start)
        with pytest.raises(Conflict, match=r"^status: excluded time \(专家评审\) is running"):
            await client.decide(
                app, NURSE, ReviewDecision(reviewer=reviewer, verdict=ReviewVerdict.APPROVE)
            )
        paused = await eventually(
            lambda: client.item_state(app, NURSE),
            lambda s: bool(notices_of(store_engine, app, "excluded_time")),
            "the excluded-time notice",
        )
        await fresh_ts_env.sleep(7 * DAY)  # the experts take a week: not counted
        await client.end_excluded_time(
            app, NURSE, ExcludedTimeEnd(result="专家评审意见: 符合执业条件", decided_by=head)
        )
        # The notice waits for the statutory limit's new schedule; the promised limit is
        # recomputed on its own, so wait for both.
        after = await eventually(
            lambda: client.item_state(app, NURSE),
            lambda s: (
                bool(notices_of(store_engine, app, "excluded_time_ended"))
                and all(c is not None and c.scheduled for c in (s.clock, s.statutory_clock))
            ),
            "the notice that the excluded time ended, both limits rescheduled",
        )
        await approve(client, catalog, app, NURSE)
        await client.result(app)

    assert paused.clock is not None and paused.statutory_clock is not None
    assert paused.clock.paused and paused.statutory_clock.paused
    assert paused.excluded_time == start and after.excluded_time is None
    assert [p.reason for p in paused.clock.pauses] == [
        "不计入时限(专家评审): 需组织专家对执业条件进行评审"
    ]
    # Both limits moved by the working days the pause took, no more, no less: from the day
    # of the pause (which counts) to the day counting resumes (the resumption's, or the next
    # working day when it fell on a day off).
    calendar = WorkingCalendar.from_file()
    [pause] = after.statutory_clock.pauses if after.statutory_clock else []
    assert pause.resumed_at is not None
    resumed = calendar.next_working_day(day(pause.resumed_at))
    excluded_days = calendar.working_days_between(day(pause.paused_at), resumed)
    assert excluded_days >= 4
    for old, new in ((before.clock, after.clock), (before.statutory_clock, after.statutory_clock)):
        assert old is not None and new is not None and not new.paused
        assert moved_by(calendar, old, new) == excluded_days, (old.limit, new.pauses)
    [told] = notices_of(store_engine, app, "excluded_time")
    assert "专家评审" in told and "5个工作日" in told and "不计入办理时限" in told
    [ended] = notices_of(store_engine, app, "excluded_time_ended")
    assert "符合执业条件" in ended and "恢复计算" in ended
    assert after.statutory_clock is not None and after.statutory_clock.due_at is not None
    due_local = (after.statutory_clock.due_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert due_local in ended
    assert not supervision.cases_of(store_engine, item_workflow_id(app, NURSE))


def day(instant: datetime) -> date:
    return local_date(instant, ClockPolicy())


def moved_by(calendar: WorkingCalendar, old: ClockSnapshot, new: ClockSnapshot) -> int:
    assert old.due_at is not None and new.due_at is not None
    return calendar.working_days_between(
        local_date(old.due_at, ClockPolicy()), local_date(new.due_at, ClockPolicy())
    )


async def expect_refused(
    client: OnethingClient,
    app: str,
    problem: str,
    *,
    exclude: ExcludedTimeStart | None = None,
    by: Role | None = None,
    end_by: Staff | None = None,
) -> None:
    with pytest.raises(Conflict, match=rf"^{problem}"):
        if exclude is not None:
            if by is not None:
                exclude = exclude.model_copy(
                    update={"decided_by": staff(by, exclude.decided_by.department or "")}
                )
            await client.exclude_time(app, NURSE, exclude)
        else:
            assert end_by is not None
            await client.end_excluded_time(
                app, NURSE, ExcludedTimeEnd(result="x", decided_by=end_by)
            )


async def test_the_applicants_correction_pauses_the_statutory_limit_too(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    from domain.application import Channel, Correction

    reviewer = staff(Role.REVIEWER, catalog.item(NURSE).department)
    sub = submission(catalog, NURSE, applicant_seed="correct")
    app = sub.application_id
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await item_in(client, app, NURSE, ItemStatus.UNDER_REVIEW)
        await client.decide(
            app,
            NURSE,
            ReviewDecision(
                reviewer=reviewer, verdict=ReviewVerdict.REQUEST_CORRECTION, reason="体检报告过期"
            ),
        )
        paused = await client.item_state(app, NURSE)
        await client.correct(app, NURSE, Correction(channel=Channel.ONLINE, note="已上传"))
        resumed = await client.item_state(app, NURSE)
        await approve(client, catalog, app, NURSE)
        await client.result(app)

    assert paused.statutory_clock is not None and paused.statutory_clock.paused
    assert [p.reason for p in paused.statutory_clock.pauses] == ["补正: 体检报告过期"]
    assert resumed.statutory_clock is not None and not resumed.statutory_clock.paused


# -- the statutory limit beside the promised one -------------------------------------------


async def test_statutory_limit_overdue_escalates_while_the_item_is_in_rectification(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    item = catalog.item(FOOD)
    sub = submission(catalog, FOOD, applicant_seed="statutory")
    app = sub.application_id
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await approve(client, catalog, app, FOOD)
        await inspect(client, catalog, app, FOOD, InspectionResult.FAILED, "消毒设施不全")
        rectifying = await item_in(client, app, FOOD, ItemStatus.RECTIFYING)
        assert rectifying.statutory_clock is not None
        statutory_due = rectifying.statutory_clock.due_at
        assert statutory_due is not None
        assert rectifying.clock is not None and rectifying.clock.due_at is not None
        assert statutory_due < rectifying.clock.due_at  # the rectification runs past the law
        await sleep_past(fresh_ts_env, statutory_due)
        overdue = await eventually(
            lambda: client.item_state(app, FOOD),
            lambda s: s.statutory_clock is not None and s.statutory_clock.escalation_stage == 1,
            "the statutory limit escalated",
        )
        await inspect(client, catalog, app, FOOD, InspectionResult.PASSED)  # the work went on
        outcome = await client.result(app)
        food = await client.item_state(app, FOOD)

    assert overdue.status is ItemStatus.RECTIFYING
    cases = supervision.cases_of(store_engine, item_workflow_id(app, FOOD))
    assert [(c.limit_name, c.stage, c.level) for c in cases] == [
        ("statutory", 1, "department_supervisor")
    ]
    assert cases[0].total_days == item.statutory_days
    assert "escalated stage 1" in actions(food) and "statutory warning" in actions(food)
    warnings = [n for n in notifications.notifications_of(store_engine, app) if n.kind == "warning"]
    assert f"department_head:{item.department}" in [n.recipient for n in warnings]
    assert outcome.status is ApplicationStatus.COMPLETED and food.status is ItemStatus.CLOSED
    assert food.statutory_clock is not None and food.statutory_clock.met is False


async def test_a_decision_deadline_moved_later_by_the_published_calendar_is_told_again(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog, tmp_path: Path
) -> None:
    """Never earlier, and when later, the applicant hears of it (issue 13.6, statutory limit)."""
    from worker import build_workers, running

    overrides = tmp_path / "calendar_overrides.json"
    overrides.write_text(json.dumps({"years": {}}), encoding="utf-8")
    item = catalog.item(NURSE)
    head = staff(Role.DEPARTMENT_HEAD, item.department)
    sub = submission(catalog, NURSE, applicant_seed="calendar-moves")
    app = sub.application_id
    task_queue = f"test-calendar-{app}"
    workers = build_workers(
        fresh_ts_env.client, task_queue, store_engine, calendar_overrides=overrides
    )
    async with running(workers):
        client = OnethingClient(fresh_ts_env.client, task_queue, catalog)
        await client.submit(sub)
        await item_in(client, app, NURSE, ItemStatus.UNDER_REVIEW)
        await client.extend(  # into the next year, not yet published
            app, NURSE, LimitExtension(decided_by=head, days=10, reason="需组织专家评审")
        )
        told = await eventually(
            lambda: client.item_state(app, NURSE),
            lambda s: bool(notices_of(store_engine, app, "extension")),
            "the extension notice",
        )
        statutory = told.statutory_clock
        assert statutory is not None and statutory.due_at is not None
        due_day = day(statutory.due_at)
        provisional = WorkingCalendar()
        if not provisional.is_provisional(due_day.year):
            pytest.skip(f"the statutory due day {due_day} is in a published year")
        # The year is announced with one more day off before the due day.
        report = provisional.check_year(due_day.year)
        extra = provisional.subtract_working_days(due_day, 1)
        assert extra.year == due_day.year and extra > day(await fresh_ts_env.get_current_time())
        holidays = {d.isoformat(): "as before" for d in report.holidays}
        holidays[extra.isoformat()] = "announced"
        overrides.write_text(
            json.dumps({"years": {str(due_day.year): {"source": "test", "holidays": holidays}}}),
            encoding="utf-8",
        )
        await fresh_ts_env.sleep(8 * DAY)  # a provisional schedule is recomputed weekly
        moved = await eventually(
            lambda: client.item_state(app, NURSE),
            lambda s: bool(notices_of(store_engine, app, "deadline_moved")),
            "the notice of the later deadline",
        )
        await approve(client, catalog, app, NURSE)
        await client.result(app)

    assert moved.statutory_clock is not None and moved.statutory_clock.due_at is not None
    assert day(moved.statutory_clock.due_at) == provisional.add_working_days(due_day, 1)
    [notice] = notices_of(store_engine, app, "deadline_moved")
    for instant in (statutory.due_at, moved.statutory_clock.due_at):
        assert (instant + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M") in notice
    assert item.name in notice


# -- revocation: one path, the applicant told, supervision referred ------------------------


async def test_a_false_commitment_revokes_tells_the_applicant_and_refers_to_supervision(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, FOOD, commitment=True, applicant_seed="refer")
    app = sub.application_id
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await inspect(client, catalog, app, FOOD, InspectionResult.FALSE_COMMITMENT, "无冷链设备")
        outcome = await client.result(app)
        food = await client.item_state(app, FOOD)

    assert outcome.status is ApplicationStatus.REVOKED
    assert food.license is not None and food.license.status == "revoked"
    [told] = notices_of(store_engine, app, "revoked")
    # The license by its own title and number, not as "<item>: 许可证".
    number = food.license.number
    assert f"撤销决定: 您的食品经营许可证(编号 {number})予以撤销" in told and "无冷链设备" in told
    workflow_id = item_workflow_id(app, FOOD)
    [referral] = supervision.referrals_of(store_engine, workflow_id)
    assert (referral.kind, referral.department) == ("revocation", catalog.item(FOOD).department)
    assert referral.subject == f"{app}/{FOOD}" and "承诺不实" in referral.reason
    assert supervision.cases_of(store_engine, workflow_id) == []  # no overdue limit here
    assert actions(food)[-2:] == ["license revoked", "referred to supervision"]
