"""The dashboard's HTML: the page (tables carrying `data-figure` and `data-value`, the
charts' data for `dashboard.js`), the sign-in form and message pages; Chinese, Beijing
time."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from domain.catalog import Catalog
from domain.notices import local_time
from domain.people import Role
from starter.api.routes.dashboard_data import DashboardData
from starter.auth import Principal
from starter.kpis import Figures

PREFIX = "/dashboard"  # where the routes mount the page; its links and forms point there


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
