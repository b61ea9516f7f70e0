"""Time-skipping tests: the workflow-side clock fires warning, overdue, both escalation stages,
pause/resume and extension at the right working-day instants."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from sqlmodel import SQLModel
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.calendar import CalendarActivities
from activities.supervision import SupervisionActivities
from domain.calendar import WorkingCalendar
from domain.clock import ClockEventKind, ClockPolicy, ClockSnapshot, ClockState, EscalationLevel
from onething.devserver import executable
from onething.temporal import data_converter
from store import supervision as store_supervision
from tests.conftest import CODEC
from tests.desk import eventually, skip_to
from tests.support.clock import ClockTestInput, ClockTestWorkflow, ExtendInput
from workflows import search_attributes as sa

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()
SUPERVISION_TABLE = store_supervision.SupervisionCase.__table__  # type: ignore[attr-defined]
POLICY = ClockPolicy(warning_percent=80, stage2_after_days=2)


def is_workday(day: date) -> bool:
    """Oracle: chinesecalendar itself for published years, else our provisional calendar."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return CAL.is_working_day(day)


def received(day: date) -> date:
    """Received on a day off counts as received on the next working day."""
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def nth_workday_after(day: date, n: int) -> date:
    """The n-th working day after the day `day` counts as received (not itself counted)."""
    day = received(day)
    while n:
        day += timedelta(days=1)
        n -= is_workday(day)
    return day


def workdays_in(after: date, upto: date) -> int:
    """Working days counted from `after` (as received) up to and including `upto`."""
    after = received(after)
    return sum(is_workday(after + timedelta(days=i)) for i in range(1, (upto - after).days + 1))


def close(day: date) -> datetime:
    return datetime.combine(day, time(17, 30), tzinfo=SH)


def local(instant: datetime) -> date:
    return instant.astimezone(SH).date()


def announce(year: int) -> dict[str, dict[str, str]]:
    """An override entry for `year` that says what the calendar says now (a valid start)."""
    report = CAL.check_year(year)
    return {
        "holidays": {d.isoformat(): "as before" for d in report.holidays},
        "workdays": {d.isoformat(): "as before" for d in report.makeup_workdays},
    }


def near(a: datetime | None, b: datetime) -> bool:
    return a is not None and abs(a - b) <= timedelta(seconds=2)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def clock_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of this module's own. Time is global to that server: a workflow
    another test leaves waiting on an activity stops all skipping, and `result()` can skip years
    ahead; the clock tests need time to move exactly when they say."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(executable("temporal-test-server")),
        data_converter=data_converter(CODEC),
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(loop_scope="session")
async def clock_queue(
    clock_env: WorkflowEnvironment, store_engine: Engine, tmp_path: Path
) -> AsyncIterator[tuple[str, Path]]:
    SQLModel.metadata.create_all(store_engine, tables=[SUPERVISION_TABLE])
    overrides = tmp_path / "calendar_overrides.json"
    overrides.write_text('{"years": {}}', encoding="utf-8")
    queue = f"clock-{uuid.uuid4().hex[:8]}"
    async with Worker(
        clock_env.client,
        task_queue=queue,
        workflows=[ClockTestWorkflow],
        activities=[
            CalendarActivities(overrides).compute_schedule,
            SupervisionActivities(store_engine).open_case,
        ],
    ):
        yield queue, overrides


async def start(
    env: WorkflowEnvironment, queue: str, budget: int
) -> WorkflowHandle[ClockTestWorkflow, ClockSnapshot]:
    return await env.client.start_workflow(
        ClockTestWorkflow.run,
        ClockTestInput(budget_days=budget, policy=POLICY),
        id=f"clock-test-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )


async def snap(
    handle: WorkflowHandle[ClockTestWorkflow, ClockSnapshot], events: int | None = None
) -> ClockSnapshot:
    """The clock's snapshot once its current schedule is computed (an activity away) and, if
    `events` is given, once that many events fired (the worker may still be on its task)."""
    return await eventually(
        lambda: handle.query(ClockTestWorkflow.snapshot),
        lambda s: s.scheduled and (events is None or len(s.events) >= events),
        f"the clock scheduled, {events} events fired",
        attempts=400,
        poll_s=0.025,
    )


async def finish(handle: WorkflowHandle[ClockTestWorkflow, ClockSnapshot]) -> ClockSnapshot:
    """Signal the work done and read the final snapshot. Not `handle.result()`: on the
    time-skipping server that call may skip years ahead, which later tests would inherit."""
    await handle.signal(ClockTestWorkflow.finish)
    await eventually(
        handle.describe,
        lambda d: d.status == WorkflowExecutionStatus.COMPLETED,
        "the workflow completes",
        attempts=400,
        poll_s=0.02,
    )
    return await handle.query(ClockTestWorkflow.snapshot)


async def test_warning_overdue_and_two_escalations(
    clock_env: WorkflowEnvironment, store_engine: Engine, clock_queue: tuple[str, Path]
) -> None:
    handle = await start(clock_env, clock_queue[0], budget=5)
    first = await snap(handle)
    assert first.started_at is not None
    start_day = local(first.started_at)
    warn = close(nth_workday_after(start_day, 4))  # 80% of 5
    due_day = nth_workday_after(start_day, 5)
    due = close(due_day)
    stage2 = close(nth_workday_after(due_day, 2))
    assert first.state is ClockState.NORMAL
    assert first.due_at == due and first.warning_at == warn and first.stage2_at == stage2

    await skip_to(clock_env, warn + timedelta(minutes=1))
    s = await snap(handle, events=1)
    assert s.state is ClockState.WARNING
    assert [(e.kind, near(e.fired_at, warn)) for e in s.events] == [(ClockEventKind.WARNING, True)]
    assert await handle.query(ClockTestWorkflow.reminder_count) == 1

    await skip_to(clock_env, due + timedelta(minutes=1))
    s = await snap(handle, events=2)
    assert s.state is ClockState.OVERDUE and s.escalation_stage == 1
    assert near(s.events[-1].fired_at, due)
    assert s.events[-1].level is EscalationLevel.DEPARTMENT_SUPERVISOR

    await skip_to(clock_env, stage2 + timedelta(days=20))
    s = await snap(handle, events=3)
    assert s.escalation_stage == 2
    assert near(s.events[-1].fired_at, stage2)
    assert s.events[-1].level is EscalationLevel.SUPERVISION_OFFICE

    cases = store_supervision.cases_of(store_engine, handle.id)
    assert [(c.stage, c.level, c.status) for c in cases] == [
        (1, "department_supervisor", "open"),
        (2, "supervision_office", "open"),
    ]
    assert near(cases[0].escalated_at, due) and near(cases[1].escalated_at, stage2)
    assert cases[0].department == "market-regulation" and cases[0].subject == "TEST-APP/ITEM-1"

    # Escalation never cancels the work: the workflow still runs and finishes when told to.
    result = await finish(handle)
    assert result.met is False and result.escalation_stage == 2
    assert result.state is ClockState.OVERDUE

    # One timer per boundary (warning, due, stage 2), never one per day; a provisional
    # schedule (late December runs reach into an unpublished year) adds a weekly refresh.
    history = await handle.fetch_history()
    timers = [e for e in history.events if e.HasField("timer_started_event_attributes")]
    refreshes = (
        (stage2 - first.started_at) // POLICY.provisional_refresh if first.provisional else 0
    )
    assert 3 <= len(timers) <= 3 + refreshes


async def test_pause_and_resume_move_the_boundaries(
    clock_env: WorkflowEnvironment, clock_queue: tuple[str, Path]
) -> None:
    handle = await start(clock_env, clock_queue[0], budget=5)
    first = await snap(handle)
    assert first.started_at is not None and first.warning_at is not None
    start_day = local(first.started_at)

    await skip_to(clock_env, first.started_at + timedelta(days=1))
    await handle.execute_update(ClockTestWorkflow.pause, "expert review")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(ClockTestWorkflow.pause, "twice")
    # Skip well past the original warning and due instants: nothing fires while paused.
    assert first.due_at is not None
    await skip_to(clock_env, first.due_at + timedelta(days=3))
    s = await snap(handle)
    assert s.paused and s.events == [] and s.state is ClockState.NORMAL
    await handle.execute_update(ClockTestWorkflow.resume)

    s = await snap(handle)
    (pause,) = s.pauses
    assert pause.reason == "expert review" and pause.resumed_at is not None
    consumed = workdays_in(start_day, local(pause.paused_at))
    resume_day = local(pause.resumed_at)
    due_day = nth_workday_after(resume_day, 5 - consumed)
    assert s.due_at == close(due_day)
    expected_warn = close(nth_workday_after(resume_day, 4 - consumed))
    assert s.warning_at == expected_warn
    assert s.due_at > first.due_at

    await skip_to(clock_env, close(due_day) + timedelta(minutes=1))
    s = await snap(handle, events=2)
    assert [e.kind for e in s.events] == [ClockEventKind.WARNING, ClockEventKind.ESCALATION]
    assert near(s.events[0].fired_at, expected_warn)
    assert near(s.events[1].fired_at, close(due_day))
    await finish(handle)


async def test_extension_after_warning_warns_again_and_moves_due(
    clock_env: WorkflowEnvironment, clock_queue: tuple[str, Path]
) -> None:
    handle = await start(clock_env, clock_queue[0], budget=5)
    first = await snap(handle)
    assert first.started_at is not None and first.warning_at is not None
    start_day = local(first.started_at)

    await skip_to(clock_env, first.warning_at + timedelta(minutes=5))
    await snap(handle, events=1)  # the first warning fired
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(ClockTestWorkflow.extend, ExtendInput(days=0, reason="x"))
    await handle.execute_update(
        ClockTestWorkflow.extend, ExtendInput(days=5, reason="complex case, Art. 42")
    )
    s = await snap(handle)
    assert s.total_days == 10 and s.extensions[0].reason == "complex case, Art. 42"
    due = close(nth_workday_after(start_day, 10))
    warn2 = close(nth_workday_after(start_day, 8))
    assert s.due_at == due and s.warning_at == warn2
    assert s.state is ClockState.NORMAL

    await skip_to(clock_env, due + timedelta(minutes=1))
    s = await snap(handle, events=3)
    kinds = [(e.kind, e.total_days) for e in s.events]
    assert kinds == [
        (ClockEventKind.WARNING, 5),
        (ClockEventKind.WARNING, 10),
        (ClockEventKind.ESCALATION, 10),
    ]
    assert near(s.events[1].fired_at, warn2) and near(s.events[2].fired_at, due)
    assert await handle.query(ClockTestWorkflow.reminder_count) == 2
    assert (await finish(handle)).met is False


async def test_finishing_on_time_fires_nothing(
    clock_env: WorkflowEnvironment, store_engine: Engine, clock_queue: tuple[str, Path]
) -> None:
    handle = await start(clock_env, clock_queue[0], budget=5)
    result = await finish(handle)
    assert result.met is True and result.events == [] and result.state is ClockState.NORMAL
    assert store_supervision.cases_of(store_engine, handle.id) == []


async def test_provisional_deadline_is_recomputed_when_the_year_is_announced(
    clock_env: WorkflowEnvironment, clock_queue: tuple[str, Path]
) -> None:
    now = local(await clock_env.get_current_time())
    year = now.year + 1
    if not CAL.is_provisional(year):
        pytest.skip(f"{year} is published in this chinesecalendar")
    # Enough working days to reach into next year.
    budget = workdays_in(now, date(year, 1, 20))
    handle = await start(clock_env, clock_queue[0], budget=budget)
    s = await snap(handle)
    assert s.provisional and year in s.provisional_years
    assert s.due_at is not None
    provisional_due = local(s.due_at)
    # The State Council announces every provisional year the clock touches (as the fixed rules
    # said), and next year adds a week off just before the provisional due day.
    announced = {y: announce(y) for y in s.provisional_years}
    for i in range(7):
        day = provisional_due - timedelta(days=i)
        if day.weekday() < 5:
            announced[year]["holidays"][day.isoformat()] = "test holiday"
    clock_queue[1].write_text(json.dumps({"years": announced}), encoding="utf-8")
    await clock_env.sleep(timedelta(days=8))  # past the weekly provisional refresh
    s = await snap(handle)
    assert not s.provisional
    assert s.due_at is not None and local(s.due_at) > provisional_due
    await finish(handle)


async def test_replay_ignores_a_new_override_file(
    clock_env: WorkflowEnvironment, clock_queue: tuple[str, Path]
) -> None:
    handle = await start(clock_env, clock_queue[0], budget=3)
    first = await snap(handle)
    await handle.execute_update(ClockTestWorkflow.extend, ExtendInput(days=2, reason="hearing"))
    assert first.stage2_at is not None
    await skip_to(clock_env, first.stage2_at + timedelta(days=30))
    before = await finish(handle)
    history = await handle.fetch_history()
    # A later calendar: every working day of the next months becomes a holiday.
    start_day = local(before.started_at)  # type: ignore[arg-type]
    days = [start_day + timedelta(days=i) for i in range(1, 120)]
    announced: dict[int, dict[str, dict[str, str]]] = {}
    for d in days:
        if d.weekday() < 5:
            year = announced.setdefault(d.year, announce(d.year))
            year["holidays"][d.isoformat()] = "new"
    clock_queue[1].write_text(json.dumps({"years": announced}), encoding="utf-8")
    replayer = Replayer(
        workflows=[ClockTestWorkflow], data_converter=clock_env.client.data_converter
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
    # And the live activity does see the new file, so only new computations change.
    acts = CalendarActivities(clock_queue[1])
    assert not acts.calendar().is_working_day(start_day + timedelta(days=7 - start_day.weekday()))


@pytest.mark.devserver
async def test_clock_state_is_a_search_attribute(
    dev_env: WorkflowEnvironment, store_engine: Engine, tmp_path: Path
) -> None:
    SQLModel.metadata.create_all(store_engine, tables=[SUPERVISION_TABLE])
    queue = f"clock-{uuid.uuid4().hex[:8]}"
    async with Worker(
        dev_env.client,
        task_queue=queue,
        workflows=[ClockTestWorkflow],
        activities=[
            CalendarActivities().compute_schedule,
            SupervisionActivities(store_engine).open_case,
        ],
    ):
        handle = await dev_env.client.start_workflow(
            ClockTestWorkflow.run,
            ClockTestInput(budget_days=5, publish_search_attributes=True),
            id=f"clock-sa-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
        )
        s = await snap(handle)
        described = await eventually(
            handle.describe,
            lambda d: d.typed_search_attributes.get(sa.CLOCK_STATE) is not None,
            "the clock's search attributes",
            attempts=100,
        )
        attrs = described.typed_search_attributes
        assert attrs.get(sa.CLOCK_STATE) == "normal"
        assert attrs.get(sa.DUE_AT) == s.due_at
        assert attrs.get(sa.ESCALATED) is False
        await finish(handle)
