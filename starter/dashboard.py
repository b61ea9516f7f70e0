"""The service center's dashboard (驾驶舱, issue 15): one page served by the API for
supervisors and the center's head (auditors read it too), mounted by
`starter.api.main.create_app` through `add_dashboard_routes`.

What it shows, per hall and department and month by month: 按时办结率 against the promised
and statutory limits, open items by clock state (正常/预警/逾期), escalations (督办), trips
and materials per case and against the item-by-item baseline (the reform table), ratings
(好评率, 差评整改率). Chinese, `lang="zh-CN"`, Beijing time.

Choices, and why:

- **The numbers are the JSON reports'.** Every figure comes from `starter.kpis.kpi_report`
  and `reform_report` (the functions behind `GET /reports/kpis` and `GET /reports/reform`),
  called with the same filters; the months are the same report over each month. Nothing is
  recounted here except the clock states of the open items, which the report does not
  split: 逾期 is the report's own `overdue_now` condition (undecided, past the promised due
  instant), 预警 the clock's warning rule (`domain.clock.ClockPolicy.warning_percent` of the
  budget used, counted back from the due day on the working calendar, as
  `domain.clock.compute_schedule` does for a due day already told). Each figure carries
  `data-figure` and `data-value` (the JSON value), so a test compares the page with the JSON.
- **Charts: Apache ECharts** (Apache-2.0, what Chinese government dashboards use), fetched
  at install time only: `make vendor` (a dependency of `make run`, `make test` and
  `make install`) runs `scripts/fetch_echarts.sh`, which `npm pack`s the pinned
  `echarts@6.1.0`, checks its sha512 integrity and keeps `dist/echarts.min.js` (with its
  LICENSE and NOTICE) in the git-ignored `starter/static/vendor/`. The API serves it from
  there under `/dashboard/static/`; the page's Content-Security-Policy allows scripts from
  this origin only, so nothing can be fetched from outside at run time. Without the file
  the page still shows every number in its tables (the charts are an addition; their boxes
  stay hidden).
- **Sign-in with the API's tokens, never in a URL:** a form POSTs the token; the API checks
  it against its `TokenRegistry` and opens an opaque server-side session (a random ID; only
  its SHA-256 is kept, in memory, eight hours), sent as an HttpOnly, SameSite=Strict cookie
  scoped to `/dashboard` (Secure when the request came over https). Only the dashboard's
  routes read that cookie; the rest of the API still wants a bearer token. In memory
  because the API runs as one process and a restart asking to sign in again costs nothing;
  tokens are read at start, so no session outlives its token's removal past a restart.
  Supervisors and auditors only: anyone else gets a Chinese 403 page. Sign-out ends the
  session. The dashboard's routes are kept out of the OpenAPI document: they are pages for
  a browser with a cookie, not the bearer API.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy import Engine, Table, select

from domain.calendar import WorkingCalendar
from domain.catalog import Catalog
from domain.clock import ClockPolicy
from domain.notices import SERVICE_CENTER_TIMEZONE, local_time
from domain.people import Role
from starter.auth import Principal, TokenRegistry
from starter.kpis import Figures, KpiReport, ReformReport, kpi_report, reform_report
from store import case_facts as facts

__all__ = [
    "COOKIE",
    "ClockCounts",
    "DashboardData",
    "MonthPoint",
    "Sessions",
    "add_dashboard_routes",
    "clock_states",
    "dashboard_data",
]

PREFIX = "/dashboard"
COOKIE = "onething_dashboard"
ROLES = frozenset({Role.SUPERVISOR, Role.AUDITOR})
STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor"
ASSETS = {"echarts.min.js": VENDOR / "echarts.min.js", "dashboard.js": STATIC / "dashboard.js"}
MAX_MONTHS = 24
BEIJING = ZoneInfo(SERVICE_CENTER_TIMEZONE)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


# --------------------------------------------------------------------------- sessions


class Sessions:
    """Opaque server-side sessions: the cookie holds a random ID, the server its SHA-256."""

    def __init__(
        self,
        seconds: float = 8 * 3600,
        most: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds, self.most, self.clock = seconds, most, clock
        self._open: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    @staticmethod
    def _key(session_id: str) -> str:
        return hashlib.sha256(session_id.encode()).hexdigest()

    def open(self, principal: Principal) -> str:
        session_id = secrets.token_urlsafe(32)
        self._open[self._key(session_id)] = (principal, self.clock() + self.seconds)
        while len(self._open) > self.most:  # the oldest sign-in goes first
            self._open.popitem(last=False)
        return session_id

    def principal(self, session_id: str | None) -> Principal | None:
        if not session_id:
            return None
        key = self._key(session_id)
        found = self._open.get(key)
        if found is None:
            return None
        if found[1] <= self.clock():
            del self._open[key]
            return None
        return found[0]

    def close(self, session_id: str | None) -> None:
        if session_id:
            self._open.pop(self._key(session_id), None)


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
    item = cast(Table, facts.ItemFact.__table__).c  # type: ignore[attr-defined]
    case = cast(Table, facts.CaseFact.__table__).c  # type: ignore[attr-defined]
    where: list[Any] = [
        item.outcome == "open",
        item.promised_due_at.is_not(None),
        case.received_at >= _day_start(since),
        case.received_at < _day_start(until + timedelta(days=1)),
    ]
    if hall is not None:
        where.append(case.hall == hall)
    query = (
        select(item.department, item.promised_due_at, item.promised_days, item.extension_days)
        .join_from(
            item.application_id.table,
            case.application_id.table,
            item.application_id == case.application_id,
        )
        .where(*where)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    whole = ClockCounts()
    by_department: dict[str, ClockCounts] = {}
    for department, due_at, promised_days, extension_days in rows:
        due = due_at if due_at.tzinfo is not None else due_at.replace(tzinfo=UTC)
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


# --------------------------------------------------------------------------- page

_CSS = """
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;font:15px/1.55 system-ui,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",
sans-serif;color:#1a1a1a;background:#f4f6f9}
header{background:#0b4f8a;color:#fff;padding:12px 20px;display:flex;flex-wrap:wrap;
align-items:center;gap:8px 24px}
header h1{margin:0;font-size:1.35em}
header p{margin:0;font-size:.9em}
header form{margin-left:auto}
main{padding:8px 20px 32px;max-width:1280px;margin:0 auto}
h2{font-size:1.1em;margin:22px 0 8px;padding-bottom:4px;border-bottom:2px solid #0b4f8a}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.card{background:#fff;border:1px solid #d5dbe3;border-radius:8px;padding:10px 12px}
.card .label{font-size:.85em;color:#444}
.card .value{font-size:1.6em;font-weight:600;color:#0b4f8a}
.normal .value{color:#1d6b2f}.warning .value{color:#8a5a00}.overdue .value{color:#a10000}
table{border-collapse:collapse;background:#fff;width:100%;margin:6px 0 10px;font-size:.92em}
th,td{border:1px solid #d5dbe3;padding:4px 8px;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{background:#e8eef6}
.wrap{overflow-x:auto}
.chart{background:#fff;border:1px solid #d5dbe3;border-radius:8px;height:320px;margin:6px 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:10px}
.soft{color:#555;font-size:.9em}
button,.button{font:inherit;padding:6px 14px;border-radius:6px;background:#fff;
color:#0b4f8a;border:0;cursor:pointer}
main form button{background:#0b4f8a;color:#fff}
label{display:block;font-weight:600;margin-top:12px}
input{font:inherit;padding:6px 8px;border:1px solid #555;border-radius:6px}
.filters{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:flex-end}
.filters label{margin:0}
.error{color:#a10000;font-weight:600}
"""

# (JSON field, heading, kind): kind "rate" shows a percentage, "num" the number as is.
COLUMNS: list[tuple[str, str, str]] = [
    ("cases", "办件数", "num"),
    ("accepted", "受理", "num"),
    ("open", "在办", "num"),
    ("on_time_promised", "按时办结率(承诺时限)", "rate"),
    ("on_time_statutory", "按时办结率(法定时限)", "rate"),
    ("working_days_p50", "实际用时中位数(工作日)", "num"),
    ("working_days_p90", "实际用时90分位(工作日)", "num"),
    ("overdue_now", "逾期在办事项", "num"),
    ("escalations_stage_1", "一级督办", "num"),
    ("escalations_stage_2", "效能督办", "num"),
    ("trips_per_case", "每件跑动次数", "num"),
    ("materials_per_case", "每件材料份数", "num"),
]
RATING_FIGURES: list[tuple[str, str, str]] = [
    ("ratings", "评价数", "num"),
    ("good_rate", "好评率", "rate"),
    ("bad", "差评数", "num"),
    ("rectification_rate", "差评整改率", "rate"),
    ("follow_ups_overdue", "回访超期", "num"),
]
CLOCK_NAMES = {"normal": "正常", "warning": "预警", "overdue": "逾期"}
MEASURE_NAMES = {
    "time": "办理时间(工作日)",
    "steps": "办理环节",
    "trips": "跑动次数",
    "materials": "申请材料(份)",
}


def _shown(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "percent":
        return f"{value:+.1f}%"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _figure(name: str, value: Any, kind: str, tag: str = "td") -> str:
    return (
        f'<{tag} data-figure="{name}" data-value="{escape(json.dumps(value))}">'
        f"{escape(_shown(value, kind))}</{tag}>"
    )


def _group_table(group: str, caption: str, rows: dict[str, Figures], names: dict[str, str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for _, h, _ in COLUMNS)
    body = "".join(
        f'<tr data-group="{group}" data-key="{escape(key)}">'
        f"<td>{escape(names.get(key, key))}</td>"
        + "".join(_figure(n, getattr(figures, n), k) for n, _, k in COLUMNS)
        + "</tr>"
        for key, figures in rows.items()
    )
    if not rows:
        body = f'<tr><td colspan="{len(COLUMNS) + 1}">本期无办件</td></tr>'
    return (
        f'<div class="wrap"><table id="by-{group}"><thead><tr><th>{escape(caption)}</th>'
        f"{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _names(catalog: Catalog) -> tuple[dict[str, str], dict[str, str]]:
    halls = {code: hall.name for code, hall in catalog.halls.items()}
    departments: dict[str, str] = {}
    for item in catalog.items.values():
        departments.setdefault(item.department, item.department_name)
    return halls, departments


def _json_for_script(data: Any) -> str:
    # Inside <script type="application/json">: no "</script>" can close it early.
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def shell(title: str, body: str, *, header_extra: str = "", scripts: str = "") -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><header><h1>{escape(title)}</h1>{header_extra}</header>"
        f"<main>{body}</main>{scripts}</body></html>"
    )


def render(data: DashboardData, catalog: Catalog, principal: Principal) -> str:
    """The whole page: tables with every number (data-figure, data-value), chart boxes."""
    halls, departments = _names(catalog)
    figures = data.kpis.figures
    cards = "".join(
        f'<div class="card"><div class="label">{escape(h)}</div>'
        + _figure(n, getattr(figures, n), k, tag="div").replace("<div ", '<div class="value" ', 1)
        + "</div>"
        for n, h, k in COLUMNS
        if n not in {"accepted", "working_days_p90"}
    )
    clock = "".join(
        f'<div class="card {state}"><div class="label">在办事项 · {name}</div>'
        f'<div class="value" data-clock="{state}" data-value="{getattr(data.clock, state)}">'
        f"{getattr(data.clock, state)}</div></div>"
        for state, name in CLOCK_NAMES.items()
    )
    clock_rows = (
        "".join(
            f'<tr data-clock-department="{escape(d)}"><td>{escape(departments.get(d, d))}</td>'
            + "".join(
                f'<td data-clock="{s}" data-value="{getattr(c, s)}">{getattr(c, s)}</td>'
                for s in CLOCK_NAMES
            )
            + "</tr>"
            for d, c in data.clock_by_department.items()
        )
        or '<tr><td colspan="4">无在办事项</td></tr>'
    )
    ratings = "".join(
        f'<div class="card"><div class="label">{escape(h)}</div>'
        + _figure(n, getattr(data.kpis.ratings, n), k, tag="div").replace(
            "<div ", '<div class="value" ', 1
        )
        + "</div>"
        for n, h, k in RATING_FIGURES
    )
    month_head = "".join(f"<th>{escape(h)}</th>" for _, h, _ in COLUMNS)
    month_rows = "".join(
        f'<tr data-month="{p.month}"><td>{p.month}</td>'
        + "".join(_figure(n, getattr(p.figures, n), k) for n, _, k in COLUMNS)
        + "</tr>"
        for p in data.months
    )
    reform_rows = "".join(
        f'<tr data-bundle="{escape(b.bundle)}" data-measure="{r.measure}">'
        f"<td>{escape(b.name)}</td><td>{escape(MEASURE_NAMES.get(r.measure, r.measure))}</td>"
        f'<td data-figure="cases" data-value="{b.cases}">{b.cases}</td>'
        + _figure("baseline", r.baseline, "num")
        + _figure("measured", r.measured, "num")
        + _figure("measured_percent", r.measured_percent, "percent")
        + _figure("declared", r.declared, "num")
        + _figure("story_percent", r.story_percent, "percent")
        + "</tr>"
        for b in data.reform.bundles
        for r in b.rows
    )
    hall_options = "".join(
        f'<option value="{escape(code)}"{" selected" if code == data.hall else ""}>'
        f"{escape(name)}</option>"
        for code, name in halls.items()
    )
    where = halls.get(data.hall, data.hall) if data.hall else "全部大厅"
    chart_data = {
        "months": [p.month for p in data.months],
        "cases": [p.figures.cases for p in data.months],
        "on_time": [p.figures.on_time_promised for p in data.months],
        "overdue": [p.figures.overdue_now for p in data.months],
        "clock": [[CLOCK_NAMES[s], getattr(data.clock, s)] for s in CLOCK_NAMES],
        "departments": [departments.get(d, d) for d in data.kpis.by_department],
        "department_on_time": [f.on_time_promised for f in data.kpis.by_department.values()],
        "department_escalations": [
            f.escalations_stage_1 + f.escalations_stage_2 for f in data.kpis.by_department.values()
        ],
        "reform": [
            {
                "name": f"{b.name} · {MEASURE_NAMES[r.measure]}",
                "baseline": r.baseline,
                "measured": r.measured,
            }
            for b in data.reform.bundles
            for r in b.rows
            if r.measure in {"trips", "materials"}
        ],
    }
    body = f"""
<form class="filters" method="get" action="{PREFIX}">
<label>起始日期 <input type="date" name="since" value="{data.since}"></label>
<label>截止日期 <input type="date" name="until" value="{data.until}"></label>
<label>大厅 <select name="hall"><option value="">全部大厅</option>{hall_options}</select></label>
<button type="submit">查看</button></form>
<p class="soft" id="scope">{escape(where)} · 受理日期 {data.since} 至 {data.until}(北京时间) ·
统计时点 <time datetime="{data.as_of.isoformat()}">{local_time(data.as_of)}</time></p>
<h2>总览</h2><section class="cards" id="overview">{cards}</section>
<h2>在办事项 · 时限状态</h2><section class="cards" id="clock">{clock}</section>
<div class="wrap"><table id="clock-by-department"><thead><tr><th>部门</th><th>正常</th>
<th>预警</th><th>逾期</th></tr></thead><tbody>{clock_rows}</tbody></table></div>
<div class="charts">
<div class="chart" id="chart-months" hidden></div>
<div class="chart" id="chart-clock" hidden></div>
<div class="chart" id="chart-departments" hidden></div>
<div class="chart" id="chart-reform" hidden></div>
</div>
<h2>按月</h2><div class="wrap"><table id="by-month"><thead><tr><th>月份</th>{month_head}
</tr></thead><tbody>{month_rows}</tbody></table></div>
<h2>按大厅</h2>{_group_table("hall", "大厅", data.kpis.by_hall, halls)}
<h2>按部门</h2>{_group_table("department", "部门", data.kpis.by_department, departments)}
<h2>好差评</h2><section class="cards" id="ratings">{ratings}</section>
<h2>改革成效 · 与逐项办理相比</h2>
<div class="wrap"><table id="reform"><thead><tr><th>一件事</th><th>指标</th><th>办结件数</th>
<th>逐项办理</th><th>实测</th><th>实测变化</th><th>公布值</th><th>报道值</th></tr></thead>
<tbody>{reform_rows}</tbody></table></div>
<p class="soft">实测为本期办结的“一件事”办件的平均值; 逐项办理为目录中各事项之和。
按时办结率: 已办结事项中在时限内办结且未被督办的比例。</p>
<script type="application/json" id="dashboard-data">{_json_for_script(chart_data)}</script>
"""
    who = {Role.SUPERVISOR: "督查", Role.AUDITOR: "审计(只读)"}.get(principal.role, "")
    header = (
        f"<p>{escape(who)}</p>"
        f'<form method="post" action="{PREFIX}/sign-out"><button type="submit">退出</button></form>'
    )
    scripts = (
        f'<script src="{PREFIX}/static/echarts.min.js" defer></script>'
        f'<script src="{PREFIX}/static/dashboard.js" defer></script>'
    )
    return shell("政务服务中心 · 驾驶舱", body, header_extra=header, scripts=scripts)


def sign_in_page(problem: str = "") -> str:
    error = f'<p class="error" role="alert">{escape(problem)}</p>' if problem else ""
    body = f"""
<h2>登录</h2>
<p>请输入您的 API 令牌。驾驶舱供督查人员和中心负责人使用, 审计人员可只读查看。</p>
{error}
<form method="post" action="{PREFIX}/sign-in">
<label for="token">令牌</label>
<input id="token" name="token" type="password" autocomplete="off" required size="48">
<p><button type="submit">登录</button></p></form>"""
    return shell("政务服务中心 · 驾驶舱", body)


def message_page(title: str, text: str) -> str:
    body = f'<h2>{escape(title)}</h2><p role="alert">{escape(text)}</p>'
    body += f'<p><a href="{PREFIX}/sign-in">重新登录</a></p>'
    return shell("政务服务中心 · 驾驶舱", body)


# --------------------------------------------------------------------------- routes


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=PAGE_HEADERS)


def add_dashboard_routes(
    app: FastAPI,
    engine: Engine,
    tokens: TokenRegistry,
    catalog: Callable[[], Catalog],
    calendar: WorkingCalendar | None = None,
    sessions: Sessions | None = None,
) -> None:
    """Mount `/dashboard` (the page), its sign-in and sign-out, `/dashboard/data` (the
    page's figures as JSON) and `/dashboard/static/` (ECharts and the page's script)."""
    working = calendar or WorkingCalendar.from_file()
    store = sessions or Sessions()
    app.state.dashboard_sessions = store

    def signed_in(request: Request) -> Principal | None:
        principal = store.principal(request.cookies.get(COOKIE))
        if principal is not None:
            request.state.caller = principal.name
        return principal

    def refused(principal: Principal) -> HTMLResponse:
        return _html(
            message_page(
                "无权访问",
                "驾驶舱仅供督查人员和中心负责人使用(审计人员只读)。您的令牌没有这一权限。",
            ),
            403,
        )

    @app.get(f"{PREFIX}/sign-in", include_in_schema=False)
    async def sign_in_form() -> HTMLResponse:
        return _html(sign_in_page())

    @app.post(f"{PREFIX}/sign-in", include_in_schema=False)
    async def sign_in(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        if not token:
            return _html(sign_in_page("令牌: 请填写"), 422)
        principal = tokens.authenticate(token)
        if principal is None:
            return _html(sign_in_page("令牌无效, 请核对后重新输入"), 401)
        request.state.caller = principal.name
        if principal.role not in ROLES:
            return refused(principal)
        response = RedirectResponse(PREFIX, status_code=303, headers=PAGE_HEADERS)
        response.set_cookie(
            COOKIE,
            store.open(principal),
            max_age=int(store.seconds),
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @app.post(f"{PREFIX}/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        store.close(request.cookies.get(COOKIE))
        response = RedirectResponse(f"{PREFIX}/sign-in", status_code=303, headers=PAGE_HEADERS)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
        return response

    async def figures(request: Request) -> DashboardData:
        since, until, hall, as_of = parse_query(request, datetime.now(UTC))
        return await run_in_threadpool(
            lambda: dashboard_data(
                engine, catalog(), working, since=since, until=until, hall=hall, as_of=as_of
            )
        )

    @app.get(PREFIX, include_in_schema=False)
    async def dashboard(request: Request) -> Response:
        principal = signed_in(request)
        if principal is None:
            return RedirectResponse(f"{PREFIX}/sign-in", status_code=303, headers=PAGE_HEADERS)
        if principal.role not in ROLES:
            return refused(principal)
        try:
            data = await figures(request)
        except BadQuery as bad:
            page = message_page("查询条件有误", f"{FIELD_NAMES[bad.field]}: {bad.problem}")
            return _html(page, 422)
        return _html(render(data, catalog(), principal))

    @app.get(f"{PREFIX}/data", include_in_schema=False)
    async def dashboard_json(request: Request) -> Response:
        principal = signed_in(request)
        if principal is None:
            return JSONResponse(
                {"error": {"code": "unauthorized", "message": "sign in at /dashboard/sign-in"}},
                status_code=401,
                headers={"Cache-Control": "no-store"},
            )
        try:
            data = await figures(request)
        except BadQuery as bad:
            return JSONResponse(
                {
                    "error": {
                        "code": "invalid",
                        "message": str(bad),
                        "fields": [{"field": bad.field, "problem": bad.problem}],
                    }
                },
                status_code=422,
            )
        return JSONResponse(data.model_dump(mode="json"), headers={"Cache-Control": "no-store"})

    @app.get(f"{PREFIX}/static/{{name}}", include_in_schema=False)
    async def asset(name: str) -> Response:
        path = ASSETS.get(name)
        if path is None or not path.is_file():
            return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(
            path,
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )
