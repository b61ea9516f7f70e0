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

Here: the window (补正, refusals, lapse), the reviewer's verdicts, withdrawal and
cancellation; scenarios_licenses.py holds those to a license and after it (commitment,
deficiency, inspections, revocations), scenarios_limits.py those about time limits.

To add a scenario: write an async function (Run) -> list[Expect], add it to SCENARIOS with
a fixed application ID, and rerun `python -m tests.histories.record NAME`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from domain.application import (
    Cancellation,
    Channel,
    ItemStatus,
    Refusal,
    RefusalGround,
    ReviewDecision,
    ReviewVerdict,
    Supplement,
    Withdrawal,
)
from domain.people import Role
from starter.client import Conflict
from starter.demo import DEMO_ITEM, demo_submission
from tests.desk import reviewer, staff, wait_for_review
from tests.histories.scenarios_licenses import (
    commitment_inspected,
    deficiency_lapsed,
    deficiency_supplemented,
    enterprise_false_commitment,
    false_commitment_by_agent,
    filing_receipt,
    inspection_failed_twice,
)
from tests.histories.scenarios_limits import (
    correction_extended,
    excluded_time,
    extended_by_head,
    review_overdue,
)
from tests.histories.steps import (
    ACCEPTED,
    CLERK,
    CLERK_2,
    CORRECTION_NOTICE,
    DAY,
    DECISION_KINDS,
    REASON_KINDS,
    Expect,
    Run,
    approve,
    at_window,
    awaiting_correction,
    core_materials,
    filed,
    incomplete,
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
