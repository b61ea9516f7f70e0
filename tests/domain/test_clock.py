"""Clock math: budgets, pauses over holidays, extensions, states and escalation boundaries."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.calendar import WorkingCalendar
from domain.clock import (
    ClockError,
    ClockEventKind,
    ClockPolicy,
    ClockRecord,
    ClockState,
    EscalationLevel,
    FiredMarks,
    compute_schedule,
    due_events,
    mark_fired,
    next_wakeup,
    snapshot,
    state_at,
)
from domain.staff_words import clock_words

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()


def at(day: str, hm: str = "10:00") -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(hm), tzinfo=SH)


def close(day: str) -> datetime:
    return at(day, "17:30")


def test_ten_days_from_2026_09_28_with_warning_and_stages() -> None:
    record = ClockRecord(limit="promised", budget_days=10, started_at=at("2026-09-28"))
    s = compute_schedule(record, CAL)
    assert s.due_at == close("2026-10-16")
    assert s.due_at.tzinfo is not None and s.due_at.utcoffset() == timedelta(0)
    # 80% of 10 = 8 working days: 9-29, 9-30, 10-8, 10-9, 10-10 (make-up), 10-12, 10-13, 10-14
    assert s.warning_at == close("2026-10-14")
    # Stage 2 five working days after the due day: 10-19 .. 10-23
    assert s.stage2_at == close("2026-10-23")
    assert not s.provisional


def test_states_over_time() -> None:
    s = compute_schedule(
        ClockRecord(limit="promised", budget_days=10, started_at=at("2026-09-28")), CAL
    )
    assert state_at(s, at("2026-10-14", "17:29")) is ClockState.NORMAL
    assert state_at(s, close("2026-10-14")) is ClockState.WARNING
    assert state_at(s, at("2026-10-16", "17:29")) is ClockState.WARNING
    assert state_at(s, close("2026-10-16")) is ClockState.OVERDUE


def test_configurable_day_end_warning_share_and_stage2() -> None:
    policy = ClockPolicy(day_end=time(18, 0), warning_percent=50, stage2_after_days=2)
    record = ClockRecord(limit="x", budget_days=10, started_at=at("2026-09-28"), policy=policy)
    s = compute_schedule(record, CAL)
    assert s.due_at == at("2026-10-16", "18:00")
    assert s.warning_at == at("2026-10-10", "18:00")  # 5th working day: the make-up Saturday
    assert s.stage2_at == at("2026-10-20", "18:00")


def test_pause_spanning_national_day() -> None:
    record = ClockRecord(limit="promised", budget_days=10, started_at=at("2026-09-28"))
    record = record.pause("expert review", at("2026-09-30", "11:00"))
    paused = compute_schedule(record, CAL)
    assert paused.paused and paused.consumed_days == 2 and paused.remaining_days == 8
    assert state_at(paused, at("2026-12-31")) is ClockState.NORMAL  # frozen at the pause
    record = record.resume(at("2026-10-09", "09:00"))
    s = compute_schedule(record, CAL)
    # 8 left from 10-09: 10-10 (make-up), 10-12 .. 10-16, 10-19, 10-20
    assert s.due_at == close("2026-10-20")
    assert record.pauses[0].reason == "expert review"


def test_pause_over_spring_festival_lands_on_makeup_saturday() -> None:
    record = ClockRecord(limit="supplement", budget_days=6, started_at=at("2026-02-10"))
    record = record.pause("applicant correction", at("2026-02-12", "15:00"))
    record = record.resume(at("2026-02-24", "09:30"))
    s = compute_schedule(record, CAL)
    # consumed 2-11, 2-12; 4 left: 2-25, 2-26, 2-27, 2-28 (Saturday make-up workday)
    assert s.consumed_days == 2
    assert s.due_at == close("2026-02-28")


def test_pause_and_resume_on_the_same_day_changes_nothing() -> None:
    base = ClockRecord(limit="p", budget_days=10, started_at=at("2026-09-28"))
    record = base.pause("hearing", at("2026-10-12", "09:00")).resume(at("2026-10-12", "16:00"))
    assert compute_schedule(record, CAL).due_at == compute_schedule(base, CAL).due_at


def test_extension_by_ten_working_days() -> None:
    record = ClockRecord(limit="promised", budget_days=10, started_at=at("2026-09-28"))
    record = record.extend(10, "complex case, head of office approved", at("2026-10-12"), "head")
    s = compute_schedule(record, CAL)
    assert s.total_days == 20
    assert s.due_at == close("2026-10-30")  # 10-16 + 10-19..10-23 + 10-26..10-30
    assert s.warning_at == close("2026-10-26")  # 16th working day
    assert record.extensions[0].decided_by == "head"


def test_extension_while_paused() -> None:
    record = ClockRecord(limit="p", budget_days=10, started_at=at("2026-09-28"))
    record = record.pause("testing", at("2026-09-30", "11:00"))
    record = record.extend(2, "more tests", at("2026-10-08"))
    record = record.resume(at("2026-10-09", "09:00"))
    assert compute_schedule(record, CAL).due_at == close("2026-10-22")


def test_month_and_year_boundaries() -> None:
    s = compute_schedule(ClockRecord(limit="p", budget_days=5, started_at=at("2025-12-29")), CAL)
    # 12-30, 12-31, (1-1..1-3 off), 1-4 (Sunday make-up), 1-5, 1-6
    assert s.due_at == close("2026-01-06")
    s = compute_schedule(ClockRecord(limit="p", budget_days=2, started_at=at("2026-04-30")), CAL)
    assert s.due_at == close("2026-05-07")  # 5-1..5-5 off: 5-6, 5-7


def test_provisional_2027_deadline_is_marked() -> None:
    s = compute_schedule(ClockRecord(limit="p", budget_days=5, started_at=at("2027-01-29")), CAL)
    assert s.due_at == close("2027-02-11")
    assert s.provisional and s.provisional_years == [2027]
    # A 2026 start whose stage 2 reaches 2027 is provisional too.
    s = compute_schedule(ClockRecord(limit="p", budget_days=20, started_at=at("2026-12-01")), CAL)
    assert s.provisional


def test_on_the_spot_budget() -> None:
    s = compute_schedule(ClockRecord(limit="p", budget_days=0, started_at=at("2026-09-28")), CAL)
    assert s.due_at == close("2026-09-28") and s.warning_at is None
    late = ClockRecord(limit="p", budget_days=0, started_at=at("2026-09-28", "18:10"))
    assert compute_schedule(late, CAL).due_at == close("2026-09-29")
    holiday = ClockRecord(limit="p", budget_days=0, started_at=at("2026-10-03"))
    assert compute_schedule(holiday, CAL).due_at == close("2026-10-08")


def test_pause_while_overdue_keeps_the_days_overdue() -> None:
    record = ClockRecord(limit="p", budget_days=10, started_at=at("2026-09-28"))
    record = record.pause("hearing", at("2026-10-20", "10:00"))  # 2 working days overdue
    paused = compute_schedule(record, CAL)
    assert paused.remaining_days == -2
    assert state_at(paused, at("2026-11-30")) is ClockState.OVERDUE
    s = compute_schedule(record.resume(at("2026-11-02", "09:00")), CAL)
    # due moves so that 11-02 is again 2 working days past it: 10-29
    assert s.due_at == close("2026-10-29")
    assert CAL.working_days_between(date(2026, 10, 29), date(2026, 11, 2)) == 2


def test_events_fire_once_in_order_and_warning_again_after_extension() -> None:
    record = ClockRecord(limit="promised", budget_days=10, started_at=at("2026-09-28"))
    s = compute_schedule(record, CAL)
    fired = FiredMarks()
    now = at("2026-09-28")
    assert next_wakeup(s, fired, now, record.policy) == s.warning_at
    assert due_events(s, fired, now) == []
    now = close("2026-10-14")
    (warning,) = due_events(s, fired, now)
    assert warning.kind is ClockEventKind.WARNING and warning.at == close("2026-10-14")
    fired = mark_fired(fired, warning)
    assert next_wakeup(s, fired, now, record.policy) == s.due_at
    now = close("2026-10-16")
    (stage1,) = due_events(s, fired, now)
    assert stage1.stage == 1 and stage1.level is EscalationLevel.DEPARTMENT_SUPERVISOR
    fired = mark_fired(fired, stage1)
    assert next_wakeup(s, fired, now, record.policy) == close("2026-10-23")
    # An extension after the first escalation: the warning boundary is new, stages stay latched.
    record = record.extend(10, "approved", now)
    s = compute_schedule(record, CAL)
    assert next_wakeup(s, fired, now, record.policy) == close("2026-10-26")
    now = close("2026-10-26")
    (again,) = due_events(s, fired, now)
    assert again.kind is ClockEventKind.WARNING and again.total_days == 20
    fired = mark_fired(fired, again)
    assert next_wakeup(s, fired, now, record.policy) == close("2026-11-06")  # stage 2 only
    now = close("2026-11-06")
    (stage2,) = due_events(s, fired, now)
    assert stage2.level is EscalationLevel.SUPERVISION_OFFICE
    fired = mark_fired(fired, stage2)
    assert next_wakeup(s, fired, now, record.policy) is None
    assert due_events(s, fired, now + timedelta(days=100)) == []


def test_late_wakeup_fires_both_stages_and_skips_a_stale_warning() -> None:
    s = compute_schedule(ClockRecord(limit="p", budget_days=3, started_at=at("2026-09-28")), CAL)
    events = due_events(s, FiredMarks(), at("2026-12-01"))
    assert [(e.kind, e.stage) for e in events] == [
        (ClockEventKind.ESCALATION, 1),
        (ClockEventKind.ESCALATION, 2),
    ]


def test_provisional_schedule_wakes_for_refresh() -> None:
    record = ClockRecord(limit="p", budget_days=30, started_at=at("2026-12-20"))
    s = compute_schedule(record, CAL)
    now = at("2026-12-20")
    assert s.provisional
    assert next_wakeup(s, FiredMarks(), now, record.policy) == now + timedelta(days=7)


def test_paused_clock_waits_for_nothing() -> None:
    record = ClockRecord(limit="p", budget_days=3, started_at=at("2026-09-28"))
    s = compute_schedule(record.pause("x", at("2026-09-29")), CAL)
    assert next_wakeup(s, FiredMarks(), at("2026-12-01"), record.policy) is None
    assert due_events(s, FiredMarks(), at("2026-12-01")) == []


def test_invalid_operations_are_refused() -> None:
    record = ClockRecord(limit="p", budget_days=3, started_at=at("2026-09-28"))
    with pytest.raises(ClockError):
        record.resume(at("2026-09-29"))
    paused = record.pause("x", at("2026-09-29"))
    with pytest.raises(ClockError):
        paused.pause("again", at("2026-09-30"))
    with pytest.raises(ClockError):
        paused.resume(at("2026-09-28", "11:00"))
    with pytest.raises(ClockError):
        record.extend(0, "nothing", at("2026-09-29"))
    with pytest.raises(ClockError):
        record.extend(3, "  ", at("2026-09-29"))
    with pytest.raises(ClockError):
        record.pause(" ", at("2026-09-29"))
    with pytest.raises(ClockError):
        record.stop(at("2026-09-29")).pause("x", at("2026-09-30"))
    with pytest.raises(ValidationError):
        ClockRecord(limit="p", budget_days=3, started_at=datetime(2026, 9, 28, 10))
    with pytest.raises(ValidationError):
        ClockRecord(limit="p", budget_days=-1, started_at=at("2026-09-28"))


def test_snapshot_reports_met_and_reads_in_words() -> None:
    record = ClockRecord(limit="promised", budget_days=10, started_at=at("2026-09-28"))
    s = compute_schedule(record, CAL)
    stopped = record.stop(at("2026-10-15"))
    snap = snapshot(
        stopped, s, FiredMarks(), [], at("2026-12-01"), limit="promised", budget_days=10
    )
    assert snap.met is True and snap.state is ClockState.WARNING
    assert clock_words(snap) == "承诺办理时限: 预警, 2026-10-16 17:30 到期"
    assert ClockRecord.model_validate_json(stopped.model_dump_json()) == stopped


# --- properties -------------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)


@settings(max_examples=int(os.environ.get("CLOCK_EXAMPLES", "150")), deadline=None)
@given(instants, st.integers(0, 40), st.integers(0, 40))
def test_due_is_monotonic_in_budget(start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    s_low = compute_schedule(ClockRecord(limit="p", budget_days=low, started_at=start), CAL)
    s_high = compute_schedule(ClockRecord(limit="p", budget_days=high, started_at=start), CAL)
    assert s_low.due_at <= s_high.due_at


@settings(max_examples=int(os.environ.get("CLOCK_EXAMPLES", "150")), deadline=None)
@given(instants, st.integers(0, 40), st.integers(0, 20 * 24), st.integers(0, 30 * 24))
def test_due_instant_is_always_a_working_day_close(
    start: datetime, budget: int, pause_after_h: int, pause_for_h: int
) -> None:
    record = ClockRecord(limit="p", budget_days=budget, started_at=start)
    plain = compute_schedule(record, CAL)
    paused_at = start + timedelta(hours=pause_after_h)
    paused = record.pause("r", paused_at).resume(paused_at + timedelta(hours=pause_for_h))
    for s in (plain, compute_schedule(paused, CAL)):
        local = s.due_at.astimezone(SH)
        assert CAL.is_working_day(local.date())
        assert local.time() == time(17, 30)
        assert s.due_at > start or budget == 0 or s.remaining_days < 0
        assert s.stage2_at > s.due_at
        assert s.warning_at is None or s.warning_at < s.due_at
        assert CAL.is_working_day(s.stage2_at.astimezone(SH).date())
    # a pause never brings the due instant forward while the clock was not overdue
    if plain.due_at > paused_at:
        assert compute_schedule(paused, CAL).due_at >= plain.due_at


def test_on_the_spot_started_on_a_holiday_and_paused_on_its_due_day() -> None:
    # Found by hypothesis: received on New Year's Day, due the next working day; a pause on
    # that day must not count the day as used up (it would turn the clock overdue).
    record = ClockRecord(limit="p", budget_days=0, started_at=at("2025-01-01", "08:00"))
    plain = compute_schedule(record, CAL)
    assert plain.due_at == close("2025-01-02")
    paused = record.pause("r", at("2025-01-02", "00:00")).resume(at("2025-01-02", "00:00"))
    s = compute_schedule(paused, CAL)
    assert s.consumed_days == 0 and s.due_at == close("2025-01-02")
    late = record.pause("r", at("2025-01-03", "09:00")).resume(at("2025-01-06", "09:00"))
    assert compute_schedule(late, CAL).remaining_days == -1  # one working day overdue


def test_a_provisional_refresh_anchored_at_the_start_ignores_when_it_was_computed() -> None:
    """Two clocks started together refresh together, though each computed its schedule a few
    milliseconds apart (a replay may see a local activity's result later than it ran live)."""
    start = at("2027-05-04", "11:44")
    record = ClockRecord(limit="statutory", budget_days=200, started_at=start)
    s = compute_schedule(record, CAL)
    assert s.provisional  # 200 working days reach into a year the calendar does not know
    fired, week = FiredMarks(), record.policy.provisional_refresh
    early, late = start + timedelta(milliseconds=3), start + timedelta(milliseconds=16)
    # From each computation: a week after it, so the two differ.
    assert next_wakeup(s, fired, early, record.policy) != next_wakeup(s, fired, late, record.policy)
    # Anchored: both at the first whole week from the start, then the next one.
    assert next_wakeup(s, fired, early, record.policy, start) == start + week
    assert next_wakeup(s, fired, late, record.policy, start) == start + week
    assert next_wakeup(s, fired, start + week, record.policy, start) == start + 2 * week
    assert next_wakeup(s, fired, start + 10 * week / 7, record.policy, start) == start + 2 * week
