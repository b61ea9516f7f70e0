"""A license lives on: its term, the renewal window's reminder, renewal (延续) approved,
refused, or deemed granted when undecided at expiry (Art. 50), expiry without renewal, and a
revoked license's term ending; on the time-skipping server, with the production worker.

Each test gets a license issued through a real application (the issue_license activity
starts its term workflow), then skips years of virtual time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from pydantic import ValidationError
from sqlalchemy import Engine
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.application import Channel, InspectionResult
from domain.calendar import WorkingCalendar
from domain.catalog import Catalog
from domain.license_term import (
    RenewalApplication,
    RenewalDecision,
    RenewalVerdict,
    RenewedAs,
    TermPhase,
    last_valid_day,
    term_workflow_id,
)
from domain.notices import RIGHTS
from domain.people import Role
from onething.costs import billable_actions
from starter.client import Conflict
from store import documents, licenses, notifications
from tests.costs_report import SCENARIO_COSTS
from tests.desk import eventually, inspect, staff
from tests.support.license_terms import Desk, desk_over
from tests.support.lifecycle import submission
from worker import workflow_runner
from workflows.license_term import LicenseTermWorkflow

BEIJING = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)


@pytest_asyncio.fixture(loop_scope="session")
async def desk(
    fresh_ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> AsyncIterator[Desk]:
    async with desk_over(fresh_ts_env, store_engine, catalog) as desk:
        yield desk


def beijing_day_of(instant: datetime) -> date:
    at = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return at.astimezone(BEIJING).date()


async def test_food_license_reminded_90_working_days_before_expiry_and_renewed(
    desk: Desk,
) -> None:
    issued = await desk.issue("food-business-license", commitment=True)
    # Five years: valid through the day before the anniversary of its Beijing issue day.
    first_day = beijing_day_of(issued.valid_from)
    expires = issued.expires()
    assert expires is not None
    last = last_valid_day(expires)
    assert last + timedelta(days=1) == first_day.replace(year=first_day.year + 5)
    # The license the holder receives says so (Art. 39).
    [certificate] = [
        d for d in documents.documents_of(desk.engine, issued.application_id) if d.kind == "license"
    ]
    assert f"有效期至 {last:%Y-%m-%d}" in certificate.content
    state = await desk.term(issued.number, lambda s: s.phase is not TermPhase.PLANNING)
    assert state.phase is TermPhase.VALID and state.window is not None and state.term == 1
    window = state.window
    # The window: 90 to 15 working days before the last valid day, counted independently.
    calendar = WorkingCalendar.from_file()
    assert calendar.is_working_day(window.opens_on) and calendar.is_working_day(window.closes_on)
    assert calendar.working_days_between(window.opens_on, last) == 90
    assert calendar.working_days_between(window.closes_on, last) == 15

    # Too early: refused, naming the field.
    with pytest.raises(Conflict) as early:
        await desk.terms.apply(issued.number, RenewalApplication(hall="yicheng-city"))
    assert early.value.field == "license_number" and "opens on" in early.value.problem

    await desk.skip_to(window.opens_at - HOUR)
    assert desk.notices(issued.application_id, "renewal_reminder") == []
    await desk.skip_to(window.opens_at + HOUR)
    state = await desk.term(issued.number, lambda s: s.phase is TermPhase.WINDOW_OPEN)

    async def reminders() -> list[notifications.Notification]:
        return desk.notices(issued.application_id, "renewal_reminder")

    [reminder] = await eventually(reminders, bool, "the holder is reminded")
    assert beijing_day_of(reminder.created_at) == window.opens_on  # on the right Beijing day
    assert str(last) in reminder.message and str(window.closes_on) in reminder.message
    # Named by its own title, not by the item that issued it (食品经营许可).
    assert f"您的食品经营许可证(编号 {issued.number})" in reminder.message

    term_handle = desk.env.client.get_workflow_handle(term_workflow_id(issued.number))
    first_run = (await term_handle.describe()).run_id
    applied = await desk.terms.apply(issued.number, RenewalApplication(hall="yicheng-city"))
    assert applied.phase is TermPhase.RENEWAL_PENDING and applied.renewal is not None
    case = applied.renewal
    assert case.case_number.startswith("420684-")
    receipt = desk.document(issued.application_id, "renewal_accepted")
    assert receipt.title == "延续申请受理通知书" and case.case_number in receipt.content
    assert f"延续食品经营许可证(编号 {issued.number})" in receipt.content
    assert "市场监督管理局" in receipt.issuer  # the department's act, not the center's
    # A second application of the same term is refused.
    with pytest.raises(Conflict) as twice:
        await desk.terms.apply(issued.number, RenewalApplication(hall="yicheng-city"))
    assert "applied for already" in twice.value.problem
    # Only the item's department decides; a refusal needs its reasons.
    with pytest.raises(Conflict) as other:
        await desk.terms.decide(
            issued.number,
            RenewalDecision(
                reviewer=staff(Role.REVIEWER, "health"), verdict=RenewalVerdict.APPROVE
            ),
        )
    assert other.value.field == "reviewer"
    with pytest.raises(ValidationError, match="reason"):
        RenewalDecision(reviewer=staff(Role.REVIEWER, "market"), verdict=RenewalVerdict.REFUSE)

    decided = await desk.terms.decide(
        issued.number,
        RenewalDecision(reviewer=staff(Role.REVIEWER, "market"), verdict=RenewalVerdict.APPROVE),
    )
    old_end = issued.expires()
    assert old_end is not None
    assert decided.phase is TermPhase.RENEWED and decided.term == 2
    assert decided.renewed_as is RenewedAs.RENEWED
    # The new term runs from the old expiry, five years on.
    old_local = old_end.astimezone(BEIJING)
    assert decided.expires_at == old_local.replace(year=old_local.year + 5)
    registry = licenses.get(desk.engine, issued.number)
    assert registry is not None and (registry.term, registry.renewed_as) == (2, "renewed")
    assert registry.expires() == decided.expires_at and registry.status == "issued"
    renewed = desk.document(issued.application_id, "renewed")
    assert renewed.title == "准予延续决定书"
    assert str(last_valid_day(decided.expires_at)) in renewed.content  # type: ignore[arg-type]
    [row] = licenses.renewals_of(desk.engine, issued.number)
    assert (row.status, row.decided_by, row.case_number) == (
        "approved",
        "reviewer-market",
        case.case_number,
    )
    # The workflow went on with term 2: its own window, five years later.
    nxt = await desk.term(issued.number, lambda s: s.term == 2 and s.phase is TermPhase.VALID)
    assert nxt.window is not None and nxt.window.opens_on.year == window.opens_on.year + 5
    assert nxt.renewed_as is RenewedAs.RENEWED

    # The first term's history (reminder, application, decision, continue-as-new) replays
    # against the workflow in the worker's sandbox: no wall clock, no I/O in it.
    first = desk.env.client.get_workflow_handle(term_workflow_id(issued.number), run_id=first_run)
    history = await first.fetch_history()
    replayer = Replayer(
        workflows=[LicenseTermWorkflow],
        data_converter=desk.env.client.data_converter,
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)


async def test_undecided_at_expiry_is_deemed_renewed(desk: Desk) -> None:
    issued = await desk.issue("nurse-practice-registration")
    state = await desk.term(issued.number, lambda s: s.phase is not TermPhase.PLANNING)
    assert state.window is not None and state.expires_at is not None
    # Art. 50 default window in calendar days: opens 60, closes 30 days before the last day.
    last = last_valid_day(state.expires_at)
    assert (last - state.window.closes_on).days == 30
    await desk.skip_to(state.window.opens_at + HOUR)
    await desk.term(issued.number, lambda s: s.phase is TermPhase.WINDOW_OPEN)
    applied = await desk.terms.apply(
        issued.number,
        RenewalApplication(
            hall="yicheng-city", channel=Channel.WINDOW, received_by=staff(Role.WINDOW_CLERK, "x")
        ),
    )
    assert applied.renewal is not None
    # Decision limit: 20 working days, never past the expiry.
    assert applied.renewal.decision_due_at <= state.expires_at
    await desk.skip_to(state.expires_at + HOUR)
    after = await desk.term(issued.number, lambda s: s.term == 2)
    assert after.renewed_as is RenewedAs.DEEMED_RENEWED and after.phase is TermPhase.VALID
    registry = licenses.get(desk.engine, issued.number)
    assert registry is not None and (registry.status, registry.renewed_as) == (
        "issued",
        "deemed_renewed",
    )
    assert registry.expires() == after.expires_at
    deemed = desk.document(issued.application_id, "deemed_renewed")
    assert deemed.title == "视为准予延续通知书" and "第五十条" in deemed.content
    assert beijing_day_of(deemed.issued_at) == last + timedelta(days=1)
    [row] = licenses.renewals_of(desk.engine, issued.number)
    assert row.status == "deemed_renewed" and row.received_by == "window_clerk-x"
    # Deciding after the expiry is refused: the renewal is granted already.
    with pytest.raises(Conflict):
        await desk.terms.decide(
            issued.number,
            RenewalDecision(
                reviewer=staff(Role.REVIEWER, "health"), verdict=RenewalVerdict.APPROVE
            ),
        )


async def test_refused_renewal_expires_with_the_rights_told(desk: Desk) -> None:
    issued = await desk.issue("nurse-practice-registration")
    state = await desk.term(issued.number, lambda s: s.phase is not TermPhase.PLANNING)
    assert state.window is not None and state.expires_at is not None
    await desk.skip_to(state.window.opens_at + HOUR)
    await desk.term(issued.number, lambda s: s.phase is TermPhase.WINDOW_OPEN)
    await desk.terms.apply(issued.number, RenewalApplication(hall="yicheng-city"))
    refused = await desk.terms.decide(
        issued.number,
        RenewalDecision(
            reviewer=staff(Role.REVIEWER, "health"),
            verdict=RenewalVerdict.REFUSE,
            reason="未完成规定的继续教育学分",
        ),
    )
    assert refused.phase is TermPhase.RENEWAL_REFUSED
    document = desk.document(issued.application_id, "renewal_refused")
    assert document.title == "不予延续决定书" and RIGHTS in document.content
    assert "未完成规定的继续教育学分" in document.content
    assert f"不予延续护士执业证书(编号 {issued.number})" in document.content
    assert "注册许可证" not in document.content
    still = licenses.get(desk.engine, issued.number)
    assert still is not None and still.status == "issued"  # valid until its expiry
    await desk.skip_to(state.expires_at + HOUR)
    handle = desk.env.client.get_workflow_handle(term_workflow_id(issued.number))
    ended = await handle.result()
    assert ended["phase"] == "expired"
    expired = licenses.get(desk.engine, issued.number)
    assert expired is not None and expired.status == "expired" and expired.term == 1
    [notice] = desk.notices(issued.application_id, "license_expired")
    assert beijing_day_of(notice.created_at) == last_valid_day(state.expires_at) + timedelta(1)
    [row] = licenses.renewals_of(desk.engine, issued.number)
    assert (row.status, row.reason) == ("refused", "未完成规定的继续教育学分")
    SCENARIO_COSTS["license term: reminded, renewal refused, expired"] = billable_actions(
        await handle.fetch_history()
    )


async def test_no_application_expires_at_expiry(desk: Desk) -> None:
    issued = await desk.issue("nurse-practice-registration")
    state = await desk.term(issued.number, lambda s: s.phase is not TermPhase.PLANNING)
    assert state.window is not None and state.expires_at is not None
    await desk.skip_to(state.window.closes_at + HOUR)
    closed = await desk.term(issued.number, lambda s: s.phase is TermPhase.WINDOW_CLOSED)
    assert closed.reminded_at is not None
    with pytest.raises(Conflict) as late:
        await desk.terms.apply(issued.number, RenewalApplication(hall="yicheng-city"))
    assert late.value.field == "license_number" and "not open" in late.value.problem
    await desk.skip_to(state.expires_at + HOUR)
    handle = desk.env.client.get_workflow_handle(term_workflow_id(issued.number))
    assert (await handle.result())["phase"] == "expired"
    registry = licenses.get(desk.engine, issued.number)
    assert registry is not None and registry.status == "expired"
    assert len(desk.notices(issued.application_id, "renewal_reminder")) == 1
    assert len(desk.notices(issued.application_id, "license_expired")) == 1
    SCENARIO_COSTS["license term: reminded, not renewed, expired"] = billable_actions(
        await handle.fetch_history()
    )


async def test_a_revoked_license_ends_its_term(desk: Desk) -> None:
    item = "food-business-license"
    sub = submission(desk.catalog, item, commitment=True, applicant_seed="revoked-term")
    await desk.client.submit(sub)
    await inspect(
        desk.client,
        desk.catalog,
        sub.application_id,
        item,
        InspectionResult.FALSE_COMMITMENT,
        findings="现场无冷藏设施, 与承诺不符",
    )

    async def revoked() -> list[licenses.License]:
        return [
            lic
            for lic in licenses.licenses_of(desk.engine, sub.application_id)
            if lic.status == "revoked"
        ]

    [license] = await eventually(revoked, bool, "the license is revoked")
    handle = desk.env.client.get_workflow_handle(term_workflow_id(license.number))
    ended = await asyncio.wait_for(handle.result(), 30)
    assert ended["phase"] == "revoked"
    described = await handle.describe()
    assert described.status is WorkflowExecutionStatus.COMPLETED
    # It ended at the revocation, not years later at the window or the expiry.
    assert described.close_time is not None and license.expires() is not None
    assert described.close_time < license.expires() - timedelta(days=365)
    assert desk.notices(sub.application_id, "renewal_reminder") == []
