"""Joint handling of a bundle (行政许可法 Art. 42 (2)): its items are decided within 45 working
days of acceptance; past that the limit escalates while the work goes on; it is extended
once, by at most 15 working days, with the government's approval (recorded by a supervisor),
and the applicant is told why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import (
    ApplicationStatus,
    ItemStatus,
    LimitExtension,
    Withdrawal,
    application_workflow_id,
)
from domain.catalog import Catalog
from domain.clock import ClockState
from domain.people import Role
from starter.client import Conflict
from store import notifications, supervision
from tests.conftest import onething_client
from tests.desk import approve, eventually, item_in, staff
from tests.support.lifecycle import DAY, submission

SALON = "open-beauty-salon"


async def test_a_bundle_runs_on_a_joint_limit_escalated_and_extended_once(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, SALON, applicant_seed="joint")
    app = sub.application_id
    supervisor = staff(Role.SUPERVISOR, "supervision")
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await approve(client, catalog, app, "business-license-individual")
        started = await eventually(
            lambda: client.state(app), lambda s: s.joint_clock is not None, "the joint limit"
        )
        await item_in(client, app, "public-venue-hygiene-license", ItemStatus.UNDER_REVIEW)
        await fresh_ts_env.sleep(75 * DAY)  # past 45 working days: nobody decided
        overdue = await client.state(app)
        overdue_due = overdue.joint_clock.due_at if overdue.joint_clock else None
        with pytest.raises(Conflict, match=r"decided_by\.role"):
            await client.extend_joint_limit(
                app,
                LimitExtension(
                    decided_by=staff(Role.DEPARTMENT_HEAD, "health"), days=15, reason="x"
                ),
            )
        with pytest.raises(Conflict, match="days: the joint limit may be extended by at most 15"):
            await client.extend_joint_limit(
                app, LimitExtension(decided_by=supervisor, days=16, reason="需听证")
            )
        receipt = await client.extend_joint_limit(
            app, LimitExtension(decided_by=supervisor, days=15, reason="需组织听证")
        )
        extended = await eventually(
            lambda: client.state(app),
            lambda s: s.joint_clock is not None and s.joint_clock.due_at != overdue_due,
            "the new joint due instant",
        )
        with pytest.raises(Conflict, match="extended once already"):
            await client.extend_joint_limit(
                app, LimitExtension(decided_by=supervisor, days=5, reason="again")
            )
        await client.withdraw(app, Withdrawal(reason="test over"))
        outcome = await client.result(app)

    assert started.joint_clock is not None and started.joint_clock.budget_days == 45
    assert overdue.joint_clock is not None and overdue.joint_clock.state is ClockState.OVERDUE
    assert (receipt.limit, receipt.days) == ("joint", 15)
    assert extended.joint_clock is not None and extended.joint_clock.due_at is not None
    assert overdue.joint_clock.due_at is not None
    assert extended.joint_clock.due_at > overdue.joint_clock.due_at + timedelta(days=15)
    cases = supervision.cases_of(store_engine, application_workflow_id(app))
    assert ("joint", 1) in [(c.limit_name, c.stage) for c in cases]
    actions = [e.action for e in extended.trail]
    assert "escalated stage 1" in actions and "joint limit extended by 15 working days" in actions
    [told] = [
        n.message
        for n in notifications.notifications_of(store_engine, app)
        if n.kind == "extension"
    ]
    assert "延长15个工作日" in told and "需组织听证" in told
    assert outcome.status is ApplicationStatus.WITHDRAWN


async def test_a_single_item_has_no_joint_limit(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = submission(catalog, "nurse-practice-registration", applicant_seed="single")
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(sub)
        await item_in(client, sub.application_id, sub.target, ItemStatus.UNDER_REVIEW)
        state = await client.state(sub.application_id)
        with pytest.raises(Conflict, match="status: no joint limit"):
            await client.extend_joint_limit(
                sub.application_id,
                LimitExtension(decided_by=staff(Role.SUPERVISOR, "s"), days=5, reason="x"),
            )
        await client.withdraw(sub.application_id, Withdrawal(reason="test over"))

    assert state.joint_clock is None
