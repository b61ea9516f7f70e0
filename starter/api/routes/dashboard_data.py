"""The dashboard's figures: the KPI and reform reports' (`starter.kpis`, the functions
behind the JSON routes), the report over each month, and the open items' clock states
(正常/预警/逾期); the page's query (since, until, hall, as_of) read and checked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import Engine

from domain.calendar import WorkingCalendar
from domain.catalog import Catalog
from domain.clock import ClockPolicy
from domain.notices import SERVICE_CENTER_TIMEZONE
from starter.kpis import Figures, KpiReport, ReformReport, kpi_report, reform_report
from store import case_facts as facts

__all__ = [
    "BadQuery",
    "ClockCounts",
    "DashboardData",
    "MonthPoint",
    "clock_states",
    "dashboard_data",
    "parse_query",
]

MAX_MONTHS = 24
BEIJING = ZoneInfo(SERVICE_CENTER_TIMEZONE)


# --------------------------------------------------------------------------- figures


class ClockCounts(BaseModel):
    """Undecided items with a promised due instant, by the state of that clock at `as_of`."""

    normal: int = 0
    warning: int = 0
    overdue: int = 0


class MonthPoint(BaseModel):
    month: str  # YYYY-MM (Beijing)
    since: date
    until: date
    figures: Figures


class DashboardData(BaseModel):
    as_of: datetime
    since: date
    until: date
    hall: str | None
    kpis: KpiReport
    months: list[MonthPoint]
    clock: ClockCounts
    clock_by_department: dict[str, ClockCounts]
    reform: ReformReport


def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=BEIJING).astimezone(UTC)


def clock_states(
    engine: Engine,
    calendar: WorkingCalendar,
    *,
    since: date,
    until: date,
    hall: str | None,
    as_of: datetime,
    policy: ClockPolicy | None = None,
) -> tuple[ClockCounts, dict[str, ClockCounts]]:
    """正常/预警/逾期 of the open items of the cases received in the period (the KPI
    report's selection): 逾期 as its `overdue_now`, 预警 as the clock's warning rule."""
    rule = policy or ClockPolicy()
    zone = ZoneInfo(rule.timezone)
    rows = facts.open_item_dues(
        engine,
        received_from=_day_start(since),
        received_before=_day_start(until + timedelta(days=1)),
        hall=hall,
    )
    whole = ClockCounts()
    by_department: dict[str, ClockCounts] = {}
    for department, due, promised_days, extension_days in rows:
        if due < as_of:
            state = "overdue"
        else:
            total = promised_days + extension_days
            due_day = due.astimezone(zone).date()
            warn_day = calendar.subtract_working_days(
                due_day, total - total * rule.warning_percent // 100
            )
            warning_at = datetime.combine(warn_day, rule.day_end, tzinfo=zone)
            warned = total > 0 and warn_day < due_day and as_of >= warning_at
            state = "warning" if warned else "normal"
        for counts in (whole, by_department.setdefault(department, ClockCounts())):
            setattr(counts, state, getattr(counts, state) + 1)
    return whole, dict(sorted(by_department.items()))


def _months(since: date, until: date) -> list[tuple[str, date, date]]:
    out: list[tuple[str, date, date]] = []
    first = since.replace(day=1)
    while first <= until:
        following = (first + timedelta(days=32)).replace(day=1)
        out.append(
            (first.strftime("%Y-%m"), max(first, since), min(following - timedelta(days=1), until))
        )
        first = following
    return out


def default_period(now: datetime) -> tuple[date, date]:
    """The last twelve months to today (Beijing)."""
    today = now.astimezone(BEIJING).date()
    first = today.replace(day=1)
    for _ in range(11):
        first = (first - timedelta(days=1)).replace(day=1)
    return first, today


def dashboard_data(
    engine: Engine,
    catalog: Catalog,
    calendar: WorkingCalendar,
    *,
    since: date,
    until: date,
    hall: str | None = None,
    as_of: datetime,
) -> DashboardData:
    """The figures the page shows: the KPI and reform reports' (the same functions as the
    JSON routes), the report over each month, and the open items' clock states."""
    if until < since:
        raise ValueError("until: is before since")
    months = _months(since, until)
    if len(months) > MAX_MONTHS:
        raise ValueError(f"since: the period spans more than {MAX_MONTHS} months")
    report = kpi_report(engine, since=since, until=until, hall=hall, as_of=as_of)
    points = [
        MonthPoint(
            month=label,
            since=start,
            until=end,
            figures=kpi_report(engine, since=start, until=end, hall=hall, as_of=as_of).figures,
        )
        for label, start, end in months
    ]
    whole, by_department = clock_states(
        engine, calendar, since=since, until=until, hall=hall, as_of=as_of
    )
    return DashboardData(
        as_of=as_of,
        since=since,
        until=until,
        hall=hall,
        kpis=report,
        months=points,
        clock=whole,
        clock_by_department=by_department,
        reform=reform_report(engine, catalog, since=since, until=until, hall=hall),
    )


class BadQuery(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


FIELD_NAMES = {"since": "起始日期", "until": "截止日期", "hall": "大厅", "as_of": "统计时点"}


def parse_query(request: Request, now: datetime) -> tuple[date, date, str | None, datetime]:
    """since, until (Beijing days), hall, as_of (ISO 8601 with offset) from the query."""
    q = request.query_params
    default_since, default_until = default_period(now)

    def day(name: str, default: date) -> date:
        raw = q.get(name)
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise BadQuery(name, "应为日期, 如 2026-12-01") from None

    since, until = day("since", default_since), day("until", default_until)
    if until < since:
        raise BadQuery("until", "早于起始日期")
    hall = q.get("hall") or None
    if hall is not None and not (
        len(hall) <= 64 and hall.replace("-", "").isalnum() and hall.isascii()
    ):
        raise BadQuery("hall", "不是大厅代码")
    as_of = now
    if q.get("as_of"):
        try:
            as_of = datetime.fromisoformat(q["as_of"])
        except ValueError:
            raise BadQuery("as_of", "应为带时区的时间, 如 2026-12-31T17:30:00+08:00") from None
        if as_of.tzinfo is None:
            raise BadQuery("as_of", "需要时区, 如 +08:00")
    if len(_months(since, until)) > MAX_MONTHS:
        raise BadQuery("since", f"统计期间不能超过 {MAX_MONTHS} 个月")
    return since, until, hall, as_of
