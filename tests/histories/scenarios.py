"""Lifecycle scenarios whose histories are recorded under tests/histories/<name>/.

Each scenario drives a real worker through the typed client and returns the decision trail
it expects: what it did, by whom, in what role, per workflow. `record.py` stores that beside
the histories; tests compare it with what `audit.trail.decision_trail` reads back.

They run on the time-skipping server (limits of weeks pass in a moment) and, all but those
with `needs_time`, on the dev server too (tests/histories/devserver/<name>/): there time is
real, so `Run.pass_time` lets none pass and the next step comes at once.

They state the procedure of today's code: procedure revision 2026-12 (补正 before acceptance,
a clerk's refusal on its legal grounds, the check before issuance on review, the statutory
limit, the department head's one extension, excluded time, the referral to supervision).
Recordings of earlier code keep the trail they expected then (their era folder).

To add a scenario: write an async function (Run) -> list[Expect], add it to SCENARIOS with
a fixed application ID, and rerun `python -m tests.histories.record NAME`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from domain.application import (
    Cancellation,
    Channel,
    Correction,
    InspectionResult,
    ItemStatus,
    LimitExtension,
    Refusal,
    RefusalGround,
    ReviewDecision,
    ReviewVerdict,
    Supplement,
    Withdrawal,
)
from domain.excluded_time import ExcludedTimeEnd, ExcludedTimeKind, ExcludedTimeStart
from domain.people import Agent, Role, resident_id_check_digit
from starter.client import Conflict
from starter.demo import DEMO_ITEM, demo_submission
from tests.desk import reviewer, staff, wait_for_review
from tests.histories.steps import (
    ACCEPTED,
    CLERK,
    CLERK_2,
    CORRECTION_NOTICE,
    DAY,
    DECISION_KINDS,
    HOUR,
    REASON_KINDS,
    Expect,
    Run,
    approve,
    at_window,
    awaiting_correction,
    core_materials,
    filed,
    incomplete,
    inspect,
    item_in,
    license_of,
    lifecycle_submission,
    observed,
    per_workflow,
)

# What tests and the recorder use, from here as before.
__all__ = [
    "ACCEPTED",
    "CLERK",
    "DECISION_KINDS",
    "REASON_KINDS",
    "SCENARIOS",
    "Expect",
    "Run",
    "Scenario",
    "approved",
    "at_window",
    "awaiting_correction",
    "incomplete",
    "observed",
    "per_workflow",
    "wait_for_review",
]


async def approved(run: Run) -> list[Expect]:
    """Accepted at the window, approved by the reviewer, license issued."""
    await run.client.submit(at_window(demo_submission(run.catalog, run.application_id)))
    await wait_for_review(run.client, run.application_id, DEMO_ITEM)
    await run.client.decide(
        run.application_id,
        DEMO_ITEM,
        ReviewDecision(reviewer=reviewer(run.catalog), verdict=ReviewVerdict.APPROVE),
    )
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        Expect(kind="decision", actor="rev-007", role="reviewer", item_code=DEMO_ITEM),
        license_of(DEMO_ITEM),
        Expect(kind="completed"),
    ]


async def refused(run: Run) -> list[Expect]:
    """Core materials missing: a correction notice (补正), not a refusal; then a window clerk
    refuses to accept on a legal ground: the matter needs no license (不予受理)."""
    await run.client.submit(incomplete(run, *core_materials(run)))
    await awaiting_correction(run)
    reason = "申请人拟从事的护理志愿服务不属于护士执业活动, 依法不需要取得护士执业许可"
    await run.client.refuse(
        run.application_id,
        Refusal(ground=RefusalGround.NOT_LICENSABLE, reason=reason, refused_by=CLERK),
    )
    await run.client.result(run.application_id)
    return [
        CORRECTION_NOTICE,
        Expect(kind="refused", actor=CLERK.staff_id, role="window_clerk", reason=reason),
    ]


async def corrected(run: Run) -> list[Expect]:
    """补正: two core materials missing, one notice listing both; one arrives by mail, the
    other at the window (another clerk receives it); complete, so accepted (its limits
    counted from then), approved, issued."""
    diploma, applicant_id = "nurse-diploma", "applicant-id"
    await run.client.submit(incomplete(run, diploma, applicant_id))
    await awaiting_correction(run)
    await run.pass_time(3 * DAY)
    await run.client.supplement(
        run.application_id, Supplement(materials=[diploma], channel=Channel.MAIL)
    )
    await run.pass_time(2 * DAY)
    await run.client.supplement(
        run.application_id,
        Supplement(materials=[applicant_id], channel=Channel.WINDOW, received_by=CLERK_2),
    )
    decision = await approve(run, DEMO_ITEM)
    await run.client.result(run.application_id)
    return [
        CORRECTION_NOTICE,
        Expect(kind="correction", actor="mail", role="applicant"),
        Expect(kind="correction", actor=CLERK_2.staff_id, role="window_clerk"),
        ACCEPTED,  # by the window that received the application, once it is complete
        decision,
        license_of(DEMO_ITEM),
        Expect(kind="completed"),
    ]


async def refused_by_clerk(run: Run) -> list[Expect]:
    """Materials incomplete (补正 notice); part of them arrives by mail; then a window clerk
    sees that the matter is outside the office's powers and refuses, naming the office
    the applicant should turn to (不予受理, Art. 32(1)(2))."""
    await run.client.submit(incomplete(run, "nurse-diploma", "applicant-id"))
    await awaiting_correction(run)
    await run.client.supplement(
        run.application_id, Supplement(materials=["nurse-diploma"], channel=Channel.MAIL)
    )
    reason = "申请人在外省医疗机构执业, 注册由执业地卫生健康主管部门办理"
    await run.client.refuse(
        run.application_id,
        Refusal(
            ground=RefusalGround.OUTSIDE_POWERS,
            reason=reason,
            competent_office="执业地县级以上卫生健康主管部门",
            refused_by=CLERK,
        ),
    )
    await run.client.result(run.application_id)
    return [
        CORRECTION_NOTICE,
        Expect(kind="correction", actor="mail", role="applicant"),
        Expect(kind="refused", actor=CLERK.staff_id, role="window_clerk", reason=reason),
    ]


async def lapsed(run: Run) -> list[Expect]:
    """补正 notice; nothing arrives before the correction limit (working days): the
    application lapses, deemed withdrawn (a local rule), never accepted."""
    await run.client.submit(incomplete(run, "nurse-diploma"))
    await awaiting_correction(run)
    await run.env.sleep((2 * run.catalog.correction_days + 20) * DAY)  # past the limit
    outcome = await run.client.result(run.application_id)
    return [CORRECTION_NOTICE, Expect(kind="lapsed", reason=outcome.reason)]


async def rejected(run: Run) -> list[Expect]:
    """A wrong-department decision is refused by the validator (not in history); then a
    rejection with its reason."""
    client, app = run.client, run.application_id
    await client.submit(at_window(demo_submission(run.catalog, app)))
    await wait_for_review(client, app, DEMO_ITEM)
    try:
        await client.decide(
            app,
            DEMO_ITEM,
            ReviewDecision(
                reviewer=reviewer(run.catalog, department="tax"), verdict=ReviewVerdict.APPROVE
            ),
        )
    except Conflict:
        pass
    else:
        raise AssertionError("a wrong-department decision was accepted")
    reason = "执业证书已过期"
    await client.decide(
        app,
        DEMO_ITEM,
        ReviewDecision(reviewer=reviewer(run.catalog), verdict=ReviewVerdict.REJECT, reason=reason),
    )
    await client.result(app)
    return [
        ACCEPTED,
        Expect(
            kind="decision", actor="rev-007", role="reviewer", item_code=DEMO_ITEM, reason=reason
        ),
        Expect(kind="rejected", reason=f"{DEMO_ITEM}: {reason}"),
    ]


async def commitment_inspected(run: Run) -> list[Expect]:
    """开办便利店 on commitment, the 15-minute store (catalog 2026.12.1): the individual
    business registration decided by the market department the same day (即办), the
    pre-packaged food filing recorded on the spot, tobacco retail approved on the applicant's
    commitment and issued at once; its site check after issuance passes; completed."""
    tobacco = "tobacco-retail-license"
    await run.client.submit(lifecycle_submission(run, "open-convenience-store", commitment=True))
    business = await approve(run, "business-license-individual")
    await item_in(run, tobacco, ItemStatus.INSPECTING)
    await run.pass_time(5 * DAY)  # the inspector comes within the 10 working days
    tobacco_inspected = await inspect(run, tobacco, InspectionResult.PASSED)
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        business,
        license_of("business-license-individual"),
        *filing_receipt(run, "food-filing-prepackaged"),
        Expect(kind="commitment", item_code=tobacco),
        license_of(tobacco),
        tobacco_inspected,  # after issuance, on the commitment path
        Expect(kind="completed"),
    ]


def filing_receipt(run: Run, code: str) -> list[Expect]:
    """A filing recorded on the spot issues its receipt where the catalog says it produces
    one (the food filing from catalog 2026.12.3; recordings made under 2026.12.1 have none)."""
    return [license_of(code)] if run.catalog.item(code).produces else []


async def deficiency_supplemented(run: Run) -> list[Expect]:
    """容缺受理: accepted without the equipment layout; approved; the layout arrives by mail
    two days later; on review the on-site check comes before issuance: inspected, issued,
    completed."""
    code = "food-business-license"
    await run.client.submit(
        lifecycle_submission(run, code, leave_out=("equipment-layout",), pledge=True)
    )
    decision = await approve(run, code)
    await run.pass_time(2 * DAY)
    await run.client.supplement(
        run.application_id, Supplement(materials=["equipment-layout"], channel=Channel.MAIL)
    )
    inspected = await inspect(run, code, InspectionResult.PASSED)
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        decision,
        Expect(kind="supplement", actor="mail", role="applicant"),
        inspected,
        license_of(code),
        Expect(kind="completed"),
    ]


async def deficiency_lapsed(run: Run) -> list[Expect]:
    """Issued first on commitment with a material deferred; the supplement deadline passes:
    escalation, the application stops, the license issued on trust is revoked, and a
    broken-pledge credit record is written."""
    item = run.catalog.item("public-venue-hygiene-license")
    deferrable = next(m.code for m in item.materials if m.deferrable)
    await run.client.submit(
        lifecycle_submission(run, item.code, leave_out=(deferrable,), pledge=True, commitment=True)
    )
    await item_in(run, item.code, ItemStatus.INSPECTING)  # issued on trust
    await run.env.sleep(20 * DAY)  # past the supplement deadline
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        Expect(kind="commitment", item_code=item.code),
        license_of(item.code),
        Expect(kind="escalation"),
        Expect(kind="stopped"),
        Expect(kind="credit"),
        Expect(kind="revocation", item_code=item.code),
    ]


async def inspection_failed_twice(run: Run) -> list[Expect]:
    """On commitment, the inspection fails, rectification is ordered, the re-inspection
    fails: the license is revoked, a credit record written, the case referred to
    supervision; the application, its only license revoked, ends revoked."""
    code = "food-business-license"
    await run.client.submit(lifecycle_submission(run, code, commitment=True))
    first = await inspect(run, code, InspectionResult.FAILED, "冷藏设备不足")
    await item_in(run, code, ItemStatus.RECTIFYING)
    await run.pass_time(7 * DAY)
    second = await inspect(run, code, InspectionResult.FAILED, "仍未整改")
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        Expect(kind="commitment", item_code=code),
        license_of(code),
        first,
        second,
        Expect(kind="revocation", item_code=code),
        Expect(kind="credit", item_code=code),
        Expect(kind="referral", item_code=code),  # handed over on purpose, not overdue
        Expect(kind="revocation"),  # the application's status: nothing of it stands
    ]


async def review_overdue(run: Run) -> list[Expect]:
    """The review runs past its promised limit: escalated to the department's supervisor,
    then to the supervision office; then past the statutory limit counted beside it: its
    own escalation; the work goes on and is approved."""
    await run.client.submit(lifecycle_submission(run, DEMO_ITEM))
    await item_in(run, DEMO_ITEM, ItemStatus.UNDER_REVIEW)
    await run.env.sleep(20 * DAY)  # past due: stage 1
    await run.env.sleep(10 * DAY)  # five more working days: stage 2
    # Past the statutory limit (stage 1), whatever holidays the calendar puts in between;
    # its stage 2 comes five working days later.
    statutory = (await item_in(run, DEMO_ITEM, ItemStatus.UNDER_REVIEW)).statutory_clock
    assert statutory is not None and statutory.due_at is not None
    left = statutory.due_at - await run.env.get_current_time()
    await run.env.sleep(max(left, timedelta(0)) + HOUR)
    decision = await approve(run, DEMO_ITEM)
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        Expect(kind="escalation", item_code=DEMO_ITEM),  # review limit, stage 1
        Expect(kind="escalation", item_code=DEMO_ITEM),  # review limit, stage 2
        Expect(kind="escalation", item_code=DEMO_ITEM),  # statutory limit, stage 1
        decision,
        license_of(DEMO_ITEM),
        Expect(kind="completed"),
    ]


async def correction_extended(run: Run) -> list[Expect]:
    """The reviewer asks for a correction (the limits pause), the applicant corrects online,
    the head of the department extends the limit by ten working days (Art. 42), the
    reviewer approves."""
    department = run.catalog.item(DEMO_ITEM).department
    client, app = run.client, run.application_id
    await client.submit(lifecycle_submission(run, DEMO_ITEM))
    await item_in(run, DEMO_ITEM, ItemStatus.UNDER_REVIEW)
    reviewer_ = staff(Role.REVIEWER, department)
    await client.decide(
        app,
        DEMO_ITEM,
        ReviewDecision(
            reviewer=reviewer_, verdict=ReviewVerdict.REQUEST_CORRECTION, reason="体检报告超过6个月"
        ),
    )
    await run.pass_time(20 * DAY)  # the applicant's time does not count
    await client.correct(
        app, DEMO_ITEM, Correction(channel=Channel.ONLINE, note="已上传新体检报告")
    )
    head = staff(Role.DEPARTMENT_HEAD, department)
    await client.extend(
        app, DEMO_ITEM, LimitExtension(decided_by=head, days=10, reason="需补充核实执业经历")
    )
    decision = await approve(run, DEMO_ITEM)
    await client.result(app)
    return [
        ACCEPTED,
        Expect(
            kind="decision",
            actor=reviewer_.staff_id,
            role="reviewer",
            item_code=DEMO_ITEM,
            reason="体检报告超过6个月",
        ),
        Expect(kind="correction", actor="online", role="applicant", item_code=DEMO_ITEM),
        Expect(
            kind="extension",
            actor=head.staff_id,
            role="department_head",
            item_code=DEMO_ITEM,
            reason="需补充核实执业经历",
        ),
        decision,
        license_of(DEMO_ITEM),
        Expect(kind="completed"),
    ]


async def excluded_time(run: Run) -> list[Expect]:
    """The reviewer needs an expert review (专家评审, Art. 45): the limits pause and the
    applicant is told what and for how long; the review ends with its result, the limits
    run again, the reviewer approves."""
    await run.client.submit(lifecycle_submission(run, DEMO_ITEM))
    await item_in(run, DEMO_ITEM, ItemStatus.UNDER_REVIEW)
    reviewer_ = staff(Role.REVIEWER, run.catalog.item(DEMO_ITEM).department)
    why = "护理学历证书为境外学历, 需专家评审其等效性"
    await run.client.exclude_time(
        run.application_id,
        DEMO_ITEM,
        ExcludedTimeStart(
            kind=ExcludedTimeKind.EXPERT_REVIEW, expected_days=5, reason=why, decided_by=reviewer_
        ),
    )
    await run.pass_time(7 * DAY)  # not counted in any limit
    result = "专家评审意见: 学历等效, 符合注册条件"
    await run.client.end_excluded_time(
        run.application_id, DEMO_ITEM, ExcludedTimeEnd(result=result, decided_by=reviewer_)
    )
    decision = await approve(run, DEMO_ITEM)
    await run.client.result(run.application_id)
    by_reviewer = {"actor": reviewer_.staff_id, "role": "reviewer", "item_code": DEMO_ITEM}
    return [
        ACCEPTED,
        Expect(kind="excluded_time", reason=why, **by_reviewer),
        Expect(kind="excluded_time", reason=result, **by_reviewer),
        decision,
        license_of(DEMO_ITEM),
        Expect(kind="completed"),
    ]


async def extended_by_head(run: Run) -> list[Expect]:
    """Art. 42: a supervisor may not extend (refused, not in history); the head of the
    item's department extends the review once, the applicant told why; a second extension
    is refused (one per limit); the reviewer approves."""
    client, app = run.client, run.application_id
    department = run.catalog.item(DEMO_ITEM).department
    await client.submit(lifecycle_submission(run, DEMO_ITEM))
    await item_in(run, DEMO_ITEM, ItemStatus.UNDER_REVIEW)
    head = staff(Role.DEPARTMENT_HEAD, department)
    why = "需向原执业机构核实执业记录"
    for by in (staff(Role.SUPERVISOR, department), staff(Role.DEPARTMENT_HEAD, "tax")):
        try:
            await client.extend(app, DEMO_ITEM, LimitExtension(decided_by=by, days=5, reason=why))
        except Conflict:
            pass
        else:
            raise AssertionError(f"a {by.role.value} of {by.department} extended the limit")
    await client.extend(app, DEMO_ITEM, LimitExtension(decided_by=head, days=10, reason=why))
    try:
        await client.extend(app, DEMO_ITEM, LimitExtension(decided_by=head, days=3, reason=why))
    except Conflict:
        pass
    else:
        raise AssertionError("a limit was extended twice")
    decision = await approve(run, DEMO_ITEM)
    await client.result(app)
    return [
        ACCEPTED,
        Expect(
            kind="extension",
            actor=head.staff_id,
            role="department_head",
            item_code=DEMO_ITEM,
            reason=why,
        ),
        decision,
        license_of(DEMO_ITEM),
        Expect(kind="completed"),
    ]


async def withdrawn(run: Run) -> list[Expect]:
    """开办便利店 without a commitment: the applicant withdraws while tobacco retail is under
    review; the business license issued and the food filing recorded stay, tobacco stops."""
    await run.client.submit(lifecycle_submission(run, "open-convenience-store"))
    business = await approve(run, "business-license-individual")
    await filed(run, "food-filing-prepackaged")
    await item_in(run, "tobacco-retail-license", ItemStatus.UNDER_REVIEW)
    await run.client.withdraw(run.application_id, Withdrawal(reason="选址变更"))
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        business,
        license_of("business-license-individual"),
        *filing_receipt(run, "food-filing-prepackaged"),
        Expect(kind="withdrawal", actor="applicant", role="applicant", reason="选址变更"),
    ]


async def cancelled(run: Run) -> list[Expect]:
    """An operator cancels (a reviewer may not: refused, not in history)."""
    await run.client.submit(lifecycle_submission(run, DEMO_ITEM))
    await item_in(run, DEMO_ITEM, ItemStatus.UNDER_REVIEW)
    try:
        await run.client.cancel(
            run.application_id,
            Cancellation(operator=staff(Role.REVIEWER, "health"), reason="误提交"),
        )
    except Conflict:
        pass
    else:
        raise AssertionError("a reviewer cancelled an application")
    operator = staff(Role.OPERATOR, "ops")
    await run.client.cancel(run.application_id, Cancellation(operator=operator, reason="误提交"))
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        Expect(kind="cancellation", actor=operator.staff_id, role="operator", reason="误提交"),
    ]


async def false_commitment_by_agent(run: Run) -> list[Expect]:
    """An agent applies for the applicant (帮办代办) on commitment; the inspection finds the
    commitment untrue: the license is revoked at once, a credit record written, and the
    case referred to supervision; the application ends revoked."""
    code = "food-business-license"
    first17 = "42068419850505100"
    agent = Agent(
        name="代办员", id_number=first17 + resident_id_check_digit(first17), phone="13900000002"
    )
    submission = lifecycle_submission(run, code, commitment=True)
    await run.client.submit(submission.model_copy(update={"agent": agent}))
    inspected = await inspect(
        run, code, InspectionResult.FALSE_COMMITMENT, "承诺的冷链设备并不存在"
    )
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        Expect(kind="commitment", item_code=code),
        license_of(code),
        inspected,
        Expect(kind="revocation", item_code=code),
        Expect(kind="credit", item_code=code),
        Expect(kind="referral", item_code=code),
        Expect(kind="revocation"),  # the application's status: nothing of it stands
    ]


async def enterprise_false_commitment(run: Run) -> list[Expect]:
    """An enterprise (with its unified social credit code) applies on commitment and the
    inspection finds the commitment untrue: the credit record is the enterprise's, under its
    code (patch credit-subject-by-code), not its representative's ID number."""
    code = "food-business-license"
    submission = lifecycle_submission(run, code, commitment=True)
    enterprise = submission.applicant.model_copy(
        update={"credit_code": "91420684MA4E8X7Y1L", "enterprise_name": "宜城某某商贸有限公司"}
    )
    await run.client.submit(submission.model_copy(update={"applicant": enterprise}))
    inspected = await inspect(run, code, InspectionResult.FALSE_COMMITMENT, "承诺的冷库并不存在")
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        Expect(kind="commitment", item_code=code),
        license_of(code),
        inspected,
        Expect(kind="revocation", item_code=code),
        Expect(kind="credit", item_code=code),
        Expect(kind="referral", item_code=code),
        Expect(kind="revocation"),
    ]


ScenarioRun = Callable[[Run], Awaitable[list[Expect]]]


@dataclass(frozen=True)
class Scenario:
    name: str
    application_id: str
    run: ScenarioRun
    # Why the scenario needs a limit to pass (it runs on the time-skipping server only).
    needs_time: str | None = None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("approved", "rec-approved", approved),
    Scenario("refused", "rec-refused", refused),
    Scenario("corrected", "rec-corrected", corrected),
    Scenario("refused_by_clerk", "rec-refused_by_clerk", refused_by_clerk),
    Scenario(
        "lapsed", "rec-lapsed", lapsed, needs_time="the correction limit (working days) must pass"
    ),
    Scenario("rejected", "rec-rejected", rejected),
    Scenario("commitment_inspected", "rec-commitment_inspected", commitment_inspected),
    Scenario("deficiency_supplemented", "rec-deficiency_supplemented", deficiency_supplemented),
    Scenario(
        "deficiency_lapsed",
        "rec-deficiency_lapsed",
        deficiency_lapsed,
        needs_time="the supplement deadline (working days) must pass",
    ),
    Scenario("inspection_failed_twice", "rec-inspection_failed_twice", inspection_failed_twice),
    Scenario(
        "review_overdue",
        "rec-review_overdue",
        review_overdue,
        needs_time="the promised limit and five more working days must pass",
    ),
    Scenario("correction_extended", "rec-correction_extended", correction_extended),
    Scenario("excluded_time", "rec-excluded_time", excluded_time),
    Scenario("extended_by_head", "rec-extended_by_head", extended_by_head),
    Scenario("withdrawn", "rec-withdrawn", withdrawn),
    Scenario("cancelled", "rec-cancelled", cancelled),
    Scenario(
        "false_commitment_by_agent", "rec-false_commitment_by_agent", false_commitment_by_agent
    ),
    Scenario(
        "enterprise_false_commitment",
        "rec-enterprise_false_commitment",
        enterprise_false_commitment,
    ),
)
