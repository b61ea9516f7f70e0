"""Working-day calendar against known 2025/2026 dates, provisional years and override files."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.calendar import (
    DEFAULT_OVERRIDES_PATH,
    CalendarError,
    CalendarOverrides,
    WorkingCalendar,
    YearOverride,
    YearSource,
    load_overrides,
    parse_overrides,
)

CAL = WorkingCalendar()


@pytest.mark.parametrize(
    "day", ["2026-01-04", "2026-02-14", "2026-02-28", "2026-09-20", "2026-10-10"]
)
def test_2026_makeup_workdays_are_working_days(day: str) -> None:
    d = date.fromisoformat(day)
    assert d.weekday() >= 5
    assert CAL.is_working_day(d)


@pytest.mark.parametrize(
    "day", ["2026-01-01", "2026-02-17", "2026-10-01", "2026-10-07", "2025-01-28", "2025-10-08"]
)
def test_2025_2026_holidays_are_not_working_days(day: str) -> None:
    assert not CAL.is_working_day(date.fromisoformat(day))


def test_ten_working_days_after_2026_09_28() -> None:
    # 9-29, 9-30, (10-1..10-7 off), 10-8, 10-9, 10-10 (Saturday make-up), 10-12 .. 10-16
    assert CAL.add_working_days(date(2026, 9, 28), 10) == date(2026, 10, 16)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        ("2025-09-26", 5, "2025-10-10"),  # 9-28 (Sunday) make-up, 9-29, 9-30, 10-1..10-8 off
        ("2025-01-24", 3, "2025-02-05"),  # 1-26 (Sunday) make-up, Spring Festival 1-28..2-4
        ("2026-02-13", 1, "2026-02-14"),  # the Saturday make-up workday is counted
        ("2026-01-30", 1, "2026-02-02"),  # month boundary over a weekend
        ("2025-12-30", 2, "2026-01-04"),  # year boundary: 12-31, (1-1..1-3 off), 1-4 make-up
        ("2026-09-28", 0, "2026-09-28"),  # 0 = on the spot
        ("2026-10-01", 0, "2026-10-08"),  # on the spot on a holiday: next working day
        # Received on a day off: received on the next working day, counted from the day after.
        ("2026-10-01", 1, "2026-10-09"),  # received 10-08, the 1st working day is 10-09
        ("2025-01-01", 1, "2025-01-03"),  # received 1-02 (New Year's Day off)
        ("2026-09-26", 2, "2026-09-30"),  # a Saturday: received Monday 9-28
        ("2026-10-10", 1, "2026-10-12"),  # a Saturday make-up workday is a working day
    ],
)
def test_known_deadlines(start: str, days: int, due: str) -> None:
    got = CAL.workdays(date.fromisoformat(start), days)
    assert got.due == date.fromisoformat(due)
    assert not got.provisional


def test_agrees_with_chinesecalendar_over_published_years() -> None:
    day = date(2025, 1, 1)
    while day.year <= 2026:
        assert CAL.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_provisional_2027_is_flagged_and_follows_fixed_rules() -> None:
    assert CAL.year_source(2027) is YearSource.PROVISIONAL
    report = CAL.check_year(2027)
    assert report.provisional and report.makeup_workdays == []
    # 春节 2027-02-06 (Saturday): eve 2-05, 2-06..2-08, 补假 2-09 and 2-10 for the weekend days
    for d in ["2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10"]:
        assert date.fromisoformat(d) in report.holidays
    # 劳动节 5-1, 5-2 fall on a weekend: made up on 5-3 and 5-4; 国庆 10-1..10-3 → 10-4, 10-5
    for d in ["2027-05-03", "2027-05-04", "2027-10-01", "2027-10-04", "2027-10-05"]:
        assert date.fromisoformat(d) in report.holidays
    assert date(2027, 4, 5) in report.holidays  # 清明
    assert date(2027, 6, 9) in report.holidays  # 端午
    assert date(2027, 9, 15) in report.holidays  # 中秋


def test_provisional_2027_deadline() -> None:
    # From 2027-01-29 (Friday), 5 working days: 2-1..2-4, then 2-5 is the Spring Festival eve
    # and 2-8..2-10 are off, so the 5th working day is 2-11.
    got = CAL.workdays(date(2027, 1, 29), 5)
    assert got.due == date(2027, 2, 11)
    assert got.provisional_years == [2027]
    # Crossing from a published year into a provisional one is flagged too.
    across = CAL.workdays(date(2026, 12, 28), 5)
    assert across.due == date(2027, 1, 5)  # 12-29, 12-30, 12-31, (1-1 off), 1-4, 1-5
    assert across.provisional


def test_far_year_never_crashes() -> None:
    report = CAL.check_year(2150)
    assert report.provisional and "unknown" in report.note
    assert CAL.workdays(date(2150, 1, 1), 10).provisional


def test_override_year_replaces_provisional() -> None:
    overrides = CalendarOverrides(
        years={
            2027: YearOverride(
                source="test notice",
                holidays={
                    date(2027, 1, 1): "New Year's Day",
                    date(2027, 2, 11): "Spring Festival",
                    date(2027, 10, 1): "National Day",
                },
                workdays={date(2027, 2, 20): "Spring Festival"},
            )
        }
    )
    cal = WorkingCalendar(overrides)
    assert cal.year_source(2027) is YearSource.OVERRIDE
    assert not cal.workdays(date(2027, 2, 8), 3).provisional
    assert not cal.is_working_day(date(2027, 2, 11))
    assert cal.is_working_day(date(2027, 2, 20))
    assert cal.is_working_day(date(2027, 2, 9))  # the override knows no 补假 for it
    assert cal.check_year(2027).note == "test notice"


def test_override_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    path.write_text(
        '{"years": {"2027": {"source": "n", "holidays": {"2027-10-01": "National Day",'
        ' "2027-01-01": "New Year\'s Day"}, "workdays": {"2027-10-09": "National Day"}}}}',
        encoding="utf-8",
    )
    cal = WorkingCalendar.from_file(path)
    assert cal.is_working_day(date(2027, 10, 9))  # a Saturday
    assert not cal.is_working_day(date(2027, 10, 1))
    with pytest.raises(CalendarError, match="does not exist"):
        load_overrides(tmp_path / "missing.json")  # named explicitly: a typo must not pass


def test_an_announced_year_must_give_the_fixed_statutory_days_off() -> None:
    with pytest.raises(CalendarError, match="statutory holiday 2027-10-01 is not a day off"):
        parse_overrides('{"years": {"2027": {"holidays": {"2027-01-01": "New Year"}}}}')
    with pytest.raises(CalendarError, match="statutory holiday 2026-05-01 is not a day off"):
        parse_overrides(
            '{"years": {"2026": {"holidays": {"2026-01-01": "x", "2026-10-01": "x",'
            ' "2026-10-02": "x"}}}}'
        )


def test_published_years_pass_the_override_checks() -> None:
    from chinese_calendar.constants import holidays, workdays

    for year in range(2004, 2027):
        data = YearOverride(
            holidays={d: n for d, n in holidays.items() if d.year == year},
            workdays={d: n for d, n in workdays.items() if d.year == year},
        )
        assert CalendarOverrides(years={year: data}).problems() == [], year


def test_shipped_override_file_is_consistent() -> None:
    load_overrides(DEFAULT_OVERRIDES_PATH)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            '{"years": {"2027": {"holidays": {"2027-10-01": "x"},'
            ' "workdays": {"2027-10-01": "x"}}}}',
            "both as a holiday and as a make-up workday",
        ),
        ('{"years": {"2027": {"holidays": {"2028-10-01": "x"}}}}', "belongs to year 2028"),
        ('{"years": {"2027": {"workdays": {"2027-10-06": "x"}}}}', "is a weekday"),
        ('{"years": {"2027": {"holidays": {"2027-13-01": "x"}}}}', "malformed"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_override_files_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(CalendarError) as err:
        parse_overrides(text)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_negative_count_is_refused() -> None:
    with pytest.raises(CalendarError):
        CAL.add_working_days(date(2026, 1, 5), -1)


def test_subtract_and_between_are_inverse_of_add() -> None:
    start = date(2026, 9, 28)
    due = CAL.add_working_days(start, 10)
    assert CAL.working_days_between(start, due) == 10
    assert CAL.subtract_working_days(due, 10) == start
    assert CAL.shift_working_days(due, -10) == start
    assert CAL.working_days_between(due, start) == -10


days_2025_2027 = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))


@settings(max_examples=200, deadline=None)
@given(days_2025_2027, st.integers(0, 60), st.integers(0, 60))
@example(date(2025, 1, 1), 0, 1)  # found by hypothesis: New Year's Day, 0 and 1 gave 1-02
@example(date(2026, 10, 3), 1, 0)  # a Saturday inside the National Day holiday
def test_adding_working_days_is_monotonic(start: date, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert CAL.add_working_days(start, low) <= CAL.add_working_days(start, high)
    if low < high:
        assert CAL.add_working_days(start, low) < CAL.add_working_days(start, high)


@settings(max_examples=200, deadline=None)
@given(days_2025_2027, st.integers(-60, 60), st.integers(-60, 60))
@example(date(2025, 1, 1), -1, 0)
@example(date(2025, 1, 1), 0, 1)
def test_shifting_is_strictly_monotonic_in_the_count(start: date, a: int, b: int) -> None:
    low, high = sorted((a, b))
    if low < high:
        assert CAL.shift_working_days(start, low) < CAL.shift_working_days(start, high)


@settings(max_examples=200, deadline=None)
@given(days_2025_2027, st.integers(0, 60))
@example(date(2025, 1, 1), 1)
@example(date(2026, 10, 10), 1)  # a make-up workday is received on the day itself
def test_a_day_off_counts_as_the_next_working_day(start: date, days: int) -> None:
    received = CAL.next_working_day(start)
    assert CAL.add_working_days(start, days) == CAL.add_working_days(received, days)
    assert CAL.shift_working_days(start, -days) == CAL.shift_working_days(received, -days)
    assert CAL.working_days_between(start, start + timedelta(days=days)) == (
        CAL.working_days_between(received, start + timedelta(days=days))
    )


@settings(max_examples=200, deadline=None)
@given(days_2025_2027, st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)))
def test_later_start_never_gives_earlier_due(a: date, b: date) -> None:
    low, high = sorted((a, b))
    assert CAL.add_working_days(low, 7) <= CAL.add_working_days(high, 7)


@settings(max_examples=200, deadline=None)
@given(days_2025_2027, st.integers(-60, 60))
@example(date(2025, 1, 1), 0)
@example(date(2025, 1, 1), 1)
@example(date(2025, 1, 4), -1)  # a Saturday
def test_due_day_is_always_a_working_day_and_counts_exactly(start: date, days: int) -> None:
    due = CAL.shift_working_days(start, days)
    assert CAL.is_working_day(due)
    assert CAL.working_days_between(start, due) == days
