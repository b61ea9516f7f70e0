"""Recorded scenarios about an item's time limits: overdue and escalated, paused for a
correction, extended by the department head (Art. 42), paused for excluded time (Art. 45).
Listed in `scenarios.SCENARIOS`, which says how they are recorded."""

from __future__ import annotations

from datetime import timedelta

from domain.application import (
    Channel,
    Correction,
    ItemStatus,
    LimitExtension,
    ReviewDecision,
    ReviewVerdict,
)
from domain.excluded_time import ExcludedTimeEnd, ExcludedTimeKind, ExcludedTimeStart
from domain.people import Role
from starter.client import Conflict
from starter.demo import DEMO_ITEM
from tests.desk import staff
from tests.histories.steps import (
    ACCEPTED,
    DAY,
    HOUR,
    Expect,
    Run,
    approve,
    item_in,
    license_of,
    lifecycle_submission,
)


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
