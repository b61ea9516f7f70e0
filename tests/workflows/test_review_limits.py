"""An application's review limit on the time-skipping server: overdue, it warns and escalates
twice while the work goes on; a correction pauses it and the department head's extension
moves its due instant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import (
    ApplicationStatus,
    Channel,
    Correction,
    ItemStatus,
    LimitExtension,
    ReviewDecision,
    ReviewVerdict,
    item_workflow_id,
)
from domain.catalog import Catalog
from domain.clock import ClockSnapshot, ClockState
from domain.people import Role
from starter.client import Conflict
from store import notifications, supervision
from tests.conftest import onething_client
from tests.desk import (
    approve,
    eventually,
    item_in,
    staff,
)
from tests.support.lifecycle import DAY, report_cost, submission


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
