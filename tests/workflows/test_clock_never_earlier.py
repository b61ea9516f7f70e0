"""A notified deadline never moves earlier (issue 13, point 6).

A provisional next-year calendar (weekends and the fixed statutory holidays, no make-up
workdays) is replaced by the published one; a make-up Sunday before the due day made the
supplement deadline already told to the applicant one day earlier, and the application was
stopped and recorded as a broken pledge before the date on the notice. The rule, pure in
domain/clock.py: a recomputed schedule keeps the notified due instant when its own is earlier
(warning and stage 2 derived from the kept instant) and moves when it is later.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from hypothesis import example, given, settings
from hypothesis import strategies as st
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.calendar import CalendarActivities
from domain.calendar import CalendarOverrides, WorkingCalendar, YearOverride, parse_overrides
from domain.clock import (
    ClockPolicy,
    ClockRecord,
    ClockSchedule,
    ClockState,
    DueMoveCause,
    compute_schedule,
    due_move_cause,
    due_moved_later,
    state_at,
)
from tests.desk import eventually, skip_to
from tests.support.clock import (
    ClockLog,
    LimitExtend,
    TwoClocksInput,
    TwoClocksTestWorkflow,
)

SH = ZoneInfo("Asia/Shanghai")
PROVISIONAL = WorkingCalendar()  # 2027 is not in the installed chinesecalendar


def at(day: str, hm: str = "10:00") -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hm), tzinfo=SH)


def close(day: str) -> datetime:
    return at(day, "17:30")


def published(
    year: int, workdays: tuple[date, ...] = (), holidays: tuple[date, ...] = ()
) -> WorkingCalendar:
    """`year` announced as the fixed rules said, plus these make-up workdays and days off."""
    report = PROVISIONAL.check_year(year)
    off = {d: "as before" for d in report.holidays if d not in workdays}
    off.update({d: "announced" for d in holidays})
    on = {d: "announced" for d in workdays}
    return WorkingCalendar(
        CalendarOverrides(years={year: YearOverride(source="test", holidays=off, workdays=on)})
    )


# The found case: received Monday 2027-01-18, ten working days: provisionally due Monday
# 2027-02-01. The published 2027 calendar makes Sunday 2027-01-31 a make-up workday.
FOUND_START = at("2027-01-18")
FOUND_PUBLISHED = published(2027, workdays=(date(2027, 1, 31),))


def test_published_calendar_alone_moves_the_deadline_earlier() -> None:
    """The bug's mechanism: without a notified floor the recomputation is a day earlier."""
    record = ClockRecord(limit="supplement", budget_days=10, started_at=FOUND_START)
    told = compute_schedule(record, PROVISIONAL)
    assert told.provisional and told.due_at == close("2027-02-01")
    assert compute_schedule(record, FOUND_PUBLISHED).due_at == close("2027-01-31")


def test_a_notified_due_instant_is_kept_with_its_boundaries() -> None:
    record = ClockRecord(limit="supplement", budget_days=10, started_at=FOUND_START)
    told = compute_schedule(record, PROVISIONAL)
    s = compute_schedule(record.notify(told.due_at), FOUND_PUBLISHED)
    assert not s.provisional
    assert s.due_at == close("2027-02-01") and s.due_date == date(2027, 2, 1)
    # Warning at 80 % of the period that ends on the kept day: two working days before it
    # (in the published calendar: 01-29 Friday, 01-31 the make-up Sunday, 02-01).
    assert s.warning_at == close("2027-01-29")
    # Stage 2 five working days after the kept due day (02-02, 02-03, 02-04, 02-11, 02-12).
    assert s.stage2_at == close("2027-02-12")  # 02-05 and 02-08..10: 春节
    assert state_at(s, close("2027-01-31") + timedelta(minutes=1)) is ClockState.WARNING
    assert state_at(s, close("2027-02-01")) is ClockState.OVERDUE
    assert not due_moved_later(told.due_at, s)


def test_a_later_recomputation_moves_and_says_so() -> None:
    record = ClockRecord(limit="promised", budget_days=10, started_at=FOUND_START)
    told = compute_schedule(record, PROVISIONAL)
    later = published(2027, holidays=(date(2027, 1, 25),))
    s = compute_schedule(record.notify(told.due_at), later)
    assert s.due_at == close("2027-02-02")
    assert due_moved_later(told.due_at, s)
    assert not due_moved_later(None, s)  # nothing was told yet
    assert due_move_cause(record, record) is DueMoveCause.CALENDAR


def test_the_floor_only_rises_and_stays_out_of_old_payloads() -> None:
    record = ClockRecord(limit="p", budget_days=3, started_at=FOUND_START)
    assert "notified_due_at" not in record.model_dump_json()  # activity inputs as before
    high = record.notify(close("2027-02-01")).notify(close("2027-01-20"))
    assert high.notified_due_at == close("2027-02-01")
    assert high.version == record.version  # telling does not make the schedule stale
    assert ClockRecord.model_validate_json(high.model_dump_json()) == high


def test_the_cause_of_a_move() -> None:
    record = ClockRecord(limit="p", budget_days=3, started_at=FOUND_START)
    extended = record.extend(2, "Art. 42", at("2027-01-19"))
    assert due_move_cause(record, extended) is DueMoveCause.EXTENSION
    paused = record.pause("hearing", at("2027-01-19"))
    resumed = paused.resume(at("2027-01-25"))
    assert due_move_cause(record, resumed) is DueMoveCause.RESUMPTION
    assert due_move_cause(paused, resumed) is DueMoveCause.RESUMPTION


def test_a_pause_keeps_the_floor_and_the_resumption_moves_past_it() -> None:
    record = ClockRecord(limit="p", budget_days=10, started_at=FOUND_START)
    told = compute_schedule(record, PROVISIONAL)
    record = record.notify(told.due_at).pause("expert review", at("2027-01-20"))
    paused = compute_schedule(record, FOUND_PUBLISHED)
    assert paused.paused and paused.due_at == told.due_at
    resumed = compute_schedule(record.resume(at("2027-01-27")), FOUND_PUBLISHED)
    assert resumed.due_at > told.due_at and due_moved_later(told.due_at, resumed)


# --- the property: for any sequence of recomputations, what was told never decreases ------

_WEEKENDS_2027 = [
    date(2027, 1, 2) + timedelta(days=i)
    for i in range(0, 180)
    if (date(2027, 1, 2) + timedelta(days=i)).weekday() >= 5
]
_WEEKDAYS_2027 = [
    date(2027, 1, 4) + timedelta(days=i)
    for i in range(0, 180)
    if (date(2027, 1, 4) + timedelta(days=i)).weekday() < 5
]
calendars = st.one_of(
    st.just(PROVISIONAL),
    st.builds(
        lambda on, off: published(2027, workdays=tuple(on), holidays=tuple(off)),
        st.sets(st.sampled_from(_WEEKENDS_2027), max_size=6),
        st.sets(st.sampled_from(_WEEKDAYS_2027), max_size=6),
    ),
)
# A step: a recomputation under another calendar, optionally after an extension or a pause.
steps = st.tuples(calendars, st.sampled_from(["none", "extend", "pause", "resume"]))
starts = st.datetimes(
    min_value=datetime(2026, 12, 1), max_value=datetime(2027, 3, 31), timezones=st.just(SH)
)


def _check(schedule: ClockSchedule, floor: datetime | None, calendar: WorkingCalendar) -> None:
    assert floor is None or schedule.due_at >= floor
    assert schedule.warning_at is None or schedule.warning_at < schedule.due_at
    assert schedule.stage2_at > schedule.due_at
    assert state_at(schedule, schedule.due_at - timedelta(seconds=1)) is not ClockState.OVERDUE
    local = schedule.due_at.astimezone(SH)
    assert local.time() == time(17, 30)


@settings(max_examples=int(os.environ.get("CLOCK_EXAMPLES", "150")), deadline=None)
@given(starts, st.integers(0, 40), st.lists(steps, min_size=1, max_size=5))
@example(FOUND_START, 10, [(PROVISIONAL, "none"), (FOUND_PUBLISHED, "none")])
def test_the_notified_due_instant_never_decreases(
    start: datetime, budget: int, sequence: list[tuple[WorkingCalendar, str]]
) -> None:
    policy = ClockPolicy()
    record = ClockRecord(limit="p", budget_days=budget, started_at=start, policy=policy)
    now = start
    told: list[datetime] = []
    for calendar, change in sequence:
        now += timedelta(days=2)
        if change == "extend" and record.stopped_at is None:
            record = record.extend(1, "Art. 42", now)
        elif change == "pause" and not record.paused:
            record = record.pause("hearing", now)
        elif change == "resume" and record.paused:
            record = record.resume(now)
        schedule = compute_schedule(record, calendar)
        floor = record.notified_due_at
        _check(schedule, floor, calendar)
        unheld = compute_schedule(record.model_copy(update={"notified_due_at": None}), calendar)
        if floor is None or unheld.due_at >= floor:
            assert schedule == unheld  # nothing held: exactly the schedule of the calendar
        else:
            assert schedule.due_at == floor and not due_moved_later(floor, schedule)
        record = record.notify(schedule.due_at)
        told.append(schedule.due_at)
    assert told == sorted(told)


# --- in a workflow: a promised and a statutory clock, a provisional year announced ----------

POLICY = ClockPolicy(warning_percent=80, stage2_after_days=2)
Handle = WorkflowHandle[TwoClocksTestWorkflow, None]


@pytest_asyncio.fixture(loop_scope="session")
async def two_clocks(
    fresh_ts_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[WorkflowEnvironment, str, Path]]:
    """A worker on a time-skipping server of the test's own, with an override file to swap."""
    overrides = tmp_path / "calendar_overrides.json"
    overrides.write_text('{"years": {}}', encoding="utf-8")
    queue = f"never-earlier-{uuid.uuid4().hex[:8]}"
    async with Worker(
        fresh_ts_env.client,
        task_queue=queue,
        workflows=[TwoClocksTestWorkflow],
        activities=[CalendarActivities(overrides).compute_schedule],
    ):
        yield fresh_ts_env, queue, overrides


def wclose(day: date) -> datetime:
    return datetime.combine(day, POLICY.day_end, tzinfo=SH)


def local(instant: datetime) -> date:
    return instant.astimezone(SH).date()


def due_mondays(after: date) -> tuple[date, date]:
    """Two Mondays a week apart in next year's January, both working days in the provisional
    calendar: the promised and the statutory due day."""
    day = date(after.year + 1, 1, 18)
    while day.weekday() != 0 or not (
        PROVISIONAL.is_working_day(day) and PROVISIONAL.is_working_day(day + timedelta(days=7))
    ):
        day += timedelta(days=1)
    return day, day + timedelta(days=7)


def announce(year: int, workdays: list[date], holidays: list[date]) -> str:
    """The override file's text for `year` announced: as the fixed rules said, plus these."""
    off = {d.isoformat(): "as before" for d in PROVISIONAL.check_year(year).holidays}
    off.update({d.isoformat(): "announced" for d in holidays})
    on = {d.isoformat(): "make-up" for d in workdays}
    entry = {"source": "test notice", "holidays": off, "workdays": on}
    text = json.dumps({"years": {str(year): entry}})
    parse_overrides(text)  # a file the service would accept
    return text


async def log_of(handle: Handle, limit: str, ready: Callable[[ClockLog], bool]) -> ClockLog:
    return await eventually(
        lambda: handle.query(TwoClocksTestWorkflow.log, limit),
        lambda log: log.snapshot is not None and log.snapshot.due_at is not None and ready(log),
        f"the {limit} clock ready",
        attempts=400,
        poll_s=0.025,
    )


def computed(log: ClockLog) -> bool:
    return log.snapshot is not None and log.snapshot.schedule_version == 0


def announced(log: ClockLog) -> bool:
    return log.snapshot is not None and not log.snapshot.provisional


async def finish(handle: Handle) -> None:
    await handle.signal(TwoClocksTestWorkflow.finish)
    await eventually(
        handle.describe,
        lambda d: d.status == WorkflowExecutionStatus.COMPLETED,
        "the workflow completes",
        attempts=400,
        poll_s=0.02,
    )


async def start_two_clocks(
    env: WorkflowEnvironment, queue: str, never_earlier: bool
) -> tuple[Handle, date, dict[str, date]]:
    """Both clocks due on a Monday of the provisional next year; skips if that year is
    published in the installed chinesecalendar."""
    today = local(await env.get_current_time())
    if not PROVISIONAL.is_provisional(today.year + 1):
        pytest.skip(f"{today.year + 1} is published in this chinesecalendar")
    promised, statutory = due_mondays(today)
    handle = await env.client.start_workflow(
        TwoClocksTestWorkflow.run,
        TwoClocksInput(
            promised_days=PROVISIONAL.working_days_between(today, promised),
            statutory_days=PROVISIONAL.working_days_between(today, statutory),
            never_earlier=never_earlier,
            policy=POLICY,
        ),
        id=f"never-earlier-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )
    dues = {"promised": promised, "statutory": statutory}
    for limit, day in dues.items():
        log = await log_of(handle, limit, computed)
        assert log.snapshot is not None and log.snapshot.provisional
        assert log.snapshot.due_at == wclose(day) and log.shown_dues == [wclose(day)]
    return handle, today, dues


async def test_a_told_deadline_stays_when_the_published_year_adds_a_makeup_day(
    two_clocks: tuple[WorkflowEnvironment, str, Path],
) -> None:
    env, queue, overrides = two_clocks
    handle, today, dues = await start_two_clocks(env, queue, never_earlier=True)
    year = today.year + 1
    # The State Council makes the Sunday before each due Monday a make-up workday.
    text = announce(year, [d - timedelta(days=1) for d in dues.values()], [])
    overrides.write_text(text, encoding="utf-8")
    published_cal = WorkingCalendar(parse_overrides(text))
    await env.sleep(timedelta(days=8))  # past the weekly provisional refresh

    for limit, due_day in dues.items():
        log = await log_of(handle, limit, announced)
        s = log.snapshot
        assert s is not None
        budget = s.total_days
        # Without the rule the published calendar would make it earlier (the bug):
        assert published_cal.add_working_days(today, budget) < due_day
        assert s.due_at == wclose(due_day) and s.notified_due_at == wclose(due_day)
        assert log.shown_dues == [wclose(due_day)] and log.moves == []
        gap = budget - budget * POLICY.warning_percent // 100
        assert s.warning_at == wclose(published_cal.subtract_working_days(due_day, gap))
        stage2 = published_cal.add_working_days(due_day, POLICY.stage2_after_days)
        assert s.stage2_at == wclose(stage2)

    # Overdue (the broken pledge of the supplement clock) comes at the told instant, not a day
    # before it.
    await skip_to(env, wclose(dues["statutory"]) + timedelta(minutes=1))
    for limit, due_day in dues.items():
        log = await log_of(handle, limit, lambda log: len(log.escalations) >= 1)
        assert log.escalations[0].at == wclose(due_day)
        assert log.escalations[0].fired_at >= wclose(due_day)
    await finish(handle)


async def test_a_later_deadline_moves_and_the_owner_is_told(
    two_clocks: tuple[WorkflowEnvironment, str, Path],
) -> None:
    env, queue, overrides = two_clocks
    handle, today, dues = await start_two_clocks(env, queue, never_earlier=True)
    # A day off announced in the week before the promised due day: both move one day later.
    day_off = dues["promised"] - timedelta(days=5)
    overrides.write_text(announce(today.year + 1, [], [day_off]), encoding="utf-8")
    await env.sleep(timedelta(days=8))

    for limit, due_day in dues.items():
        log = await log_of(handle, limit, announced)
        new = wclose(due_day + timedelta(days=1))
        assert log.snapshot is not None and log.snapshot.due_at == new
        assert log.snapshot.notified_due_at == new
        assert log.shown_dues == [wclose(due_day), new]
        (move,) = log.moves
        assert (move.limit, move.previous_due_at, move.due_at) == (limit, wclose(due_day), new)
        assert move.cause is DueMoveCause.CALENDAR and not move.provisional
    # No further refresh moves anything: the year is announced now.
    await env.sleep(timedelta(days=8))
    for limit in dues:
        assert len((await log_of(handle, limit, announced)).moves) == 1
    # An Art. 42 extension moves it too, and says why (its own notice gives the new date).
    await handle.execute_update(
        TwoClocksTestWorkflow.extend, LimitExtend(limit="statutory", days=2)
    )
    log = await log_of(handle, "statutory", lambda log: len(log.moves) == 2)
    assert log.moves[1].cause is DueMoveCause.EXTENSION
    assert log.moves[1].previous_due_at == log.moves[0].due_at < log.moves[1].due_at
    await finish(handle)


async def test_without_the_revision_flag_the_clock_computes_as_before(
    two_clocks: tuple[WorkflowEnvironment, str, Path],
) -> None:
    """Recorded histories (revised False) keep the old behaviour: the deadline moves earlier
    and escalates on it. This is the reported bug, kept only where replay needs it."""
    env, queue, overrides = two_clocks
    handle, today, dues = await start_two_clocks(env, queue, never_earlier=False)
    sunday = dues["promised"] - timedelta(days=1)
    overrides.write_text(announce(today.year + 1, [sunday], []), encoding="utf-8")
    await env.sleep(timedelta(days=8))
    log = await log_of(handle, "promised", announced)
    assert log.snapshot is not None and log.snapshot.due_at == wclose(sunday)
    assert log.snapshot.notified_due_at is None and log.moves == []
    await skip_to(env, wclose(sunday) + timedelta(minutes=1))
    log = await log_of(handle, "promised", lambda log: len(log.escalations) >= 1)
    assert log.escalations[0].at == wclose(sunday)  # before the Monday it had shown
    await finish(handle)
