"""Working-day calendar for mainland China: weekends, statutory holidays, make-up workdays (调休).

Three sources, in order:
1. the override file (`domain/data/calendar_overrides.json`): a year the State Council announced
   after the installed `chinesecalendar` release (or a correction of one);
2. `chinesecalendar`: every year it publishes;
3. provisional: weekends plus the fixed statutory holidays of 全国年节及纪念日放假办法 (2025 text)
   with 补假 for holidays on a weekend, but no make-up workdays (they cannot be known).
   Every answer that touched a provisional year says so (`provisional_years`).

Pure: the override data is passed in; `load_overrides` is the only function that reads a file and
is called by activities and the CLI, never by workflow code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_OVERRIDES_PATH = Path(__file__).resolve().parent / "data" / "calendar_overrides.json"

# Gregorian dates of 春节 (lunar 1-1), 端午 (5-5) and 中秋 (8-15), generated once from a lunar
# calendar converter and checked against the published years of chinesecalendar.
_LUNAR_FESTIVALS: dict[int, tuple[str, str, str]] = {
    2025: ("01-29", "05-31", "10-06"),
    2026: ("02-17", "06-19", "09-25"),
    2027: ("02-06", "06-09", "09-15"),
    2028: ("01-26", "05-28", "10-03"),
    2029: ("02-13", "06-16", "09-22"),
    2030: ("02-03", "06-05", "09-12"),
    2031: ("01-23", "06-24", "10-01"),
    2032: ("02-11", "06-12", "09-19"),
    2033: ("01-31", "06-01", "09-08"),
    2034: ("02-19", "06-20", "09-27"),
    2035: ("02-08", "06-10", "09-16"),
    2036: ("01-28", "05-30", "10-04"),
    2037: ("02-15", "06-18", "09-24"),
    2038: ("02-04", "06-07", "09-13"),
    2039: ("01-24", "05-27", "10-02"),
    2040: ("02-12", "06-14", "09-20"),
    2041: ("02-01", "06-03", "09-10"),
    2042: ("01-22", "06-22", "09-28"),
    2043: ("02-10", "06-11", "09-17"),
    2044: ("01-30", "05-31", "10-05"),
    2045: ("02-17", "06-19", "09-25"),
    2046: ("02-06", "06-08", "09-15"),
    2047: ("01-26", "05-29", "10-04"),
    2048: ("02-14", "06-15", "09-22"),
    2049: ("02-02", "06-04", "09-11"),
    2050: ("01-23", "06-23", "09-30"),
    2051: ("02-11", "06-13", "09-19"),
    2052: ("02-01", "06-01", "09-07"),
    2053: ("02-19", "06-20", "09-26"),
    2054: ("02-08", "06-10", "09-16"),
    2055: ("01-28", "05-30", "10-05"),
    2056: ("02-15", "06-17", "09-24"),
    2057: ("02-04", "06-06", "09-13"),
    2058: ("01-24", "06-25", "10-02"),
    2059: ("02-12", "06-14", "09-21"),
    2060: ("02-02", "06-03", "09-09"),
    2061: ("01-21", "06-22", "09-28"),
    2062: ("02-09", "06-11", "09-17"),
    2063: ("01-29", "06-01", "10-06"),
    2064: ("02-17", "06-19", "09-25"),
    2065: ("02-05", "06-08", "09-15"),
    2066: ("01-26", "05-28", "10-03"),
    2067: ("02-14", "06-16", "09-23"),
    2068: ("02-03", "06-04", "09-11"),
    2069: ("01-23", "06-23", "09-29"),
    2070: ("02-11", "06-13", "09-19"),
    2071: ("01-31", "06-02", "09-08"),
    2072: ("02-19", "06-20", "09-26"),
    2073: ("02-07", "06-10", "09-16"),
    2074: ("01-27", "05-30", "10-05"),
    2075: ("02-15", "06-17", "09-24"),
    2076: ("02-05", "06-06", "09-12"),
    2077: ("01-24", "06-24", "10-01"),
    2078: ("02-12", "06-14", "09-20"),
    2079: ("02-02", "06-04", "09-10"),
    2080: ("01-22", "06-22", "09-28"),
    2081: ("02-09", "06-11", "09-17"),
    2082: ("01-29", "06-01", "10-06"),
    2083: ("02-17", "06-19", "09-26"),
    2084: ("02-06", "06-07", "09-14"),
    2085: ("01-26", "05-27", "10-03"),
    2086: ("02-14", "06-15", "09-22"),
    2087: ("02-03", "06-05", "09-11"),
    2088: ("01-24", "06-23", "09-29"),
    2089: ("02-10", "06-13", "09-18"),
    2090: ("01-30", "06-02", "09-08"),
    2091: ("02-18", "06-21", "09-27"),
    2092: ("02-07", "06-09", "09-16"),
    2093: ("01-27", "05-29", "10-05"),
    2094: ("02-15", "06-17", "09-24"),
    2095: ("02-05", "06-06", "09-13"),
    2096: ("01-25", "06-24", "09-30"),
    2097: ("02-12", "06-14", "09-20"),
    2098: ("02-01", "06-04", "09-09"),
    2099: ("01-21", "06-23", "09-29"),
}

_ONE_DAY = timedelta(days=1)


class YearSource(StrEnum):
    OVERRIDE = "override"  # announced, from the project's override file
    PUBLISHED = "published"  # announced, from the chinesecalendar package
    PROVISIONAL = "provisional"  # not announced yet: fixed rules only


class CalendarError(ValueError):
    """Bad calendar input: a malformed or self-contradicting override file, a bad count."""


class YearOverride(BaseModel):
    """One announced year. `holidays` are days off; `workdays` are make-up workdays (调休)."""

    model_config = ConfigDict(frozen=True)

    source: str = ""
    holidays: dict[date, str] = Field(default_factory=dict)
    workdays: dict[date, str] = Field(default_factory=dict)


class CalendarOverrides(BaseModel):
    model_config = ConfigDict(frozen=True)

    years: dict[int, YearOverride] = Field(default_factory=dict)

    def problems(self) -> list[str]:
        """Every way the file contradicts itself; empty when it is consistent."""
        found: list[str] = []
        for year, data in sorted(self.years.items()):
            for day in sorted(set(data.holidays) & set(data.workdays)):
                found.append(f"{year}: {day} is listed both as a holiday and as a make-up workday")
            for day in sorted([*data.holidays, *data.workdays]):
                if day.year != year:
                    found.append(f"{year}: {day} belongs to year {day.year}")
            for day in sorted(data.workdays):
                if day.weekday() < 5 and day not in data.holidays:
                    found.append(f"{year}: make-up workday {day} is a weekday, already a workday")
            for day in _fixed_statutory_days(year):
                off = day in data.holidays or day.weekday() >= 5
                if not off or day in data.workdays:
                    found.append(f"{year}: statutory holiday {day} is not a day off")
        return found


def _fixed_statutory_days(year: int) -> list[date]:
    """The statutory days off that never move: 元旦, 劳动节 (two days from 2025), 国庆节."""
    days = [date(year, 1, 1), date(year, 5, 1), *(date(year, 10, d) for d in (1, 2, 3))]
    if year >= 2025:
        days.append(date(year, 5, 2))
    return sorted(days)


def parse_overrides(text: str) -> CalendarOverrides:
    """Parse and check override JSON; raises CalendarError with a one-line message."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CalendarError(
            f"override file is not valid JSON: {exc.msg} (line {exc.lineno})"
        ) from exc
    try:
        overrides = CalendarOverrides.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if part != "[key]")
        raise CalendarError(f"override file is malformed at {where}: {first['msg']}") from exc
    problems = overrides.problems()
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CalendarError(f"override file contradicts itself: {problems[0]}{more}")
    return overrides


def load_overrides(path: Path | None = None) -> CalendarOverrides:
    """Read the override file. The project's own file may be absent (no overrides); a file
    named explicitly must exist, or a typo would silently drop an announced year."""
    target = path or DEFAULT_OVERRIDES_PATH
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        if path is None or path == DEFAULT_OVERRIDES_PATH:
            return CalendarOverrides()
        raise CalendarError(f"override file {target} does not exist") from exc
    except OSError as exc:
        raise CalendarError(f"cannot read override file {target}: {exc.strerror}") from exc
    try:
        return parse_overrides(text)
    except CalendarError as exc:
        raise CalendarError(f"{exc} [{target}]") from exc


class YearReport(BaseModel):
    year: int
    source: YearSource
    provisional: bool
    holidays: list[date]  # days off that are not Saturdays or Sundays
    makeup_workdays: list[date]  # Saturdays or Sundays that are working days
    working_days: int
    note: str = ""


class WorkdayResult(BaseModel):
    start: date
    days: int
    due: date
    provisional_years: list[int] = Field(default_factory=list)

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)


def _package_range() -> tuple[int, int]:
    from chinese_calendar.constants import holidays

    years = [d.year for d in holidays]
    return min(years), max(years)


@lru_cache(maxsize=256)
def _package_year(year: int) -> tuple[frozenset[date], frozenset[date]] | None:
    """(days off on weekdays, make-up workdays) from chinesecalendar, or None if unknown."""
    from chinese_calendar.constants import holidays, workdays

    low, high = _package_range()
    if not low <= year <= high:
        return None
    off = frozenset(d for d in holidays if d.year == year)
    on = frozenset(d for d in workdays if d.year == year)
    return off, on


def _qingming(year: int) -> date | None:
    from chinese_calendar import get_solar_terms

    if not 1900 <= year <= 2099:
        return None
    for day, name in get_solar_terms(date(year, 4, 1), date(year, 4, 30)):
        if name == "清明":
            found: date = day
            return found
    return None


@lru_cache(maxsize=256)
def provisional_year(year: int) -> tuple[frozenset[date], str]:
    """Days off of a not-yet-announced year by the fixed rules, and a note on what is missing.

    Statutory days (2025 text): 元旦 1-1; 春节 eve and lunar 1-1..1-3; 清明 (solar term);
    劳动节 5-1, 5-2; 端午 lunar 5-5; 中秋 lunar 8-15; 国庆节 10-1..10-3. A statutory day on a
    Saturday or Sunday is made up on the next working weekday (补假, art. 6).
    """
    statutory: list[date] = [date(year, 1, 1), date(year, 5, 1), date(year, 5, 2)]
    statutory += [date(year, 10, d) for d in (1, 2, 3)]
    notes: list[str] = []
    qingming = _qingming(year)
    if qingming is None:
        notes.append("清明 unknown")
    else:
        statutory.append(qingming)
    lunar = _LUNAR_FESTIVALS.get(year)
    if lunar is None:
        notes.append("lunar holidays (春节, 端午, 中秋) unknown")
    else:
        spring, dragon, autumn = (date.fromisoformat(f"{year}-{md}") for md in lunar)
        statutory += [spring - _ONE_DAY, spring, spring + _ONE_DAY, spring + 2 * _ONE_DAY]
        statutory += [dragon, autumn]
    off = set(statutory)
    # 补假 in date order, so two weekend holidays get two distinct weekdays.
    for day in sorted(d for d in set(statutory) if d.weekday() >= 5):
        lieu = day + _ONE_DAY
        while lieu.weekday() >= 5 or lieu in off:
            lieu += _ONE_DAY
        off.add(lieu)
    note = "not announced yet: weekends and statutory holidays only, no make-up workdays"
    if notes:
        note += "; " + ", ".join(notes)
    return frozenset(off), note


class WorkingCalendar:
    """Answers 'is this a working day' and counts working days, for any year, never raising
    for an unknown year: such a year is provisional and every result says so."""

    def __init__(self, overrides: CalendarOverrides | None = None) -> None:
        self._overrides = overrides or CalendarOverrides()

    @classmethod
    def from_file(cls, path: Path | None = None) -> WorkingCalendar:
        return cls(load_overrides(path))

    def year_source(self, year: int) -> YearSource:
        if year in self._overrides.years:
            return YearSource.OVERRIDE
        if _package_year(year) is not None:
            return YearSource.PUBLISHED
        return YearSource.PROVISIONAL

    def is_provisional(self, year: int) -> bool:
        return self.year_source(year) is YearSource.PROVISIONAL

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        override = self._overrides.years.get(year)
        if override is not None:
            return frozenset(override.holidays), frozenset(override.workdays)
        known = _package_year(year)
        if known is not None:
            return known
        return provisional_year(year)[0], frozenset()

    def is_working_day(self, day: date) -> bool:
        off, on = self._year(day.year)
        if day in on:
            return True
        return day.weekday() < 5 and day not in off

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the first one after it: the day something
        received on `day` counts as received (see `add_working_days`)."""
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def add_working_days(self, start: date, days: int) -> date:
        """The due day of a limit of `days` working days for something received on `start`.

        The rule, used by every counting function of this class:
        1. limits are working days (行政许可法 art. 82): weekends and statutory holidays are
           skipped, make-up workdays (调休) count;
        2. received on a day off counts as received on the next working day: the office can
           take it in only then (service-center practice for what arrives online or by post on
           a day off; the law itself does not name that case);
        3. the day of receipt is not counted, the period starts the day after it (民法典
           art. 201), so the due day is the `days`-th working day after the day of receipt and
           0 is the day of receipt itself (on the spot, 即办件).
        Why 2: without it, a Saturday receipt counts Monday as day 1, so 0 and 1 working day
        both fall on Monday, and the office gets a day less for a weekend application than for
        one handed in on Monday morning. With it the result is strictly increasing in `days`.
        """
        if days < 0:
            raise CalendarError(f"working-day count must not be negative, got {days}")
        day = self.next_working_day(start)
        for _ in range(days):
            day = self.next_working_day(day + _ONE_DAY)
        return day

    def subtract_working_days(self, end: date, days: int) -> date:
        """The working day X before (or at) `end` with exactly `days` working days in (X, end].
        For a working day X, `add_working_days(X, days)` is `end` when `end` is a working day."""
        if days < 0:
            raise CalendarError(f"working-day count must not be negative, got {days}")
        day, seen = end, 0
        while True:
            if self.is_working_day(day):
                if seen == days:
                    return day
                seen += 1
            day -= _ONE_DAY

    def shift_working_days(self, start: date, days: int) -> date:
        """add_working_days for days >= 0; for a negative count the working day that many
        working days before the day `start` counts as received. Strictly increasing in `days`,
        and `working_days_between(start, shift_working_days(start, n)) == n` for every n."""
        if days >= 0:
            return self.add_working_days(start, days)
        return self.subtract_working_days(self.next_working_day(start), -days)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days counted from `start` (as received, see `add_working_days`) to `end`:
        the working days d with received < d <= end, or minus those with end < d <= received
        when `end` is before the day `start` counts as received. The inverse of
        `shift_working_days`; antisymmetric when both days are working days."""
        received = self.next_working_day(start)
        low, high, sign = (received, end, 1) if received <= end else (end, received, -1)
        count, day = 0, low + _ONE_DAY
        while day <= high:
            count += self.is_working_day(day)
            day += _ONE_DAY
        return sign * count

    def provisional_years(self, start: date, end: date) -> list[int]:
        low, high = sorted((start.year, end.year))
        return [y for y in range(low, high + 1) if self.is_provisional(y)]

    def workdays(self, start: date, days: int) -> WorkdayResult:
        due = self.add_working_days(start, days)
        return WorkdayResult(
            start=start, days=days, due=due, provisional_years=self.provisional_years(start, due)
        )

    def check_year(self, year: int) -> YearReport:
        source = self.year_source(year)
        days = _days_of(year)
        note = provisional_year(year)[1] if source is YearSource.PROVISIONAL else ""
        if source is YearSource.OVERRIDE:
            note = self._overrides.years[year].source or "from the override file"
        return YearReport(
            year=year,
            source=source,
            provisional=source is YearSource.PROVISIONAL,
            holidays=[d for d in days if d.weekday() < 5 and not self.is_working_day(d)],
            makeup_workdays=[d for d in days if d.weekday() >= 5 and self.is_working_day(d)],
            working_days=sum(self.is_working_day(d) for d in days),
            note=note,
        )


def _days_of(year: int) -> Iterable[date]:
    day = date(year, 1, 1)
    out: list[date] = []
    while day.year == year:
        out.append(day)
        day += _ONE_DAY
    return out
