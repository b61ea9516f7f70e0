"""The citizen's pages, as plain server-rendered HTML for a phone: the service guide that
a doorplate's QR code opens, and the page shell the progress and help pages share.

Pure code: built from a `ServiceGuide` and the `Catalog`; no JavaScript is needed (the
location offer is a small script that only adds a button). What a citizen reads is Chinese
and plain: no codes, versions or form keys.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urlencode

from domain.bundle import Measure
from domain.catalog import Catalog
from domain.catalog_models import InspectionTiming, ItemKind, MaterialSource, Subject
from domain.guide import WINDOW_NAMES, GuideHall, GuideItem, ServiceGuide

# The national government-service hotline (12345 政务服务便民热线, 国办发〔2020〕53号):
# consultation and complaints wherever a hall names no line of its own.
HOTLINE = "12345"

_CJK = re.compile(r"[\u4e00-\u9fff]")

PROGRESS_PATH = "/progress"
HELP_PATH = "/help"

_CSS = """
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;font:17px/1.65 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC",
"Microsoft YaHei",sans-serif;color:#1a1a1a;background:#fff}
header{background:#0b4f8a;color:#fff;padding:14px 16px}
header h1{margin:0;font-size:1.4em;line-height:1.3}
header p{margin:4px 0 0;font-size:.95em}
main{padding:4px 16px 32px;max-width:720px;margin:0 auto}
h2{font-size:1.15em;margin:24px 0 6px;padding-bottom:4px;border-bottom:2px solid #0b4f8a}
a{color:#0b4f8a}
ul,ol{padding-left:1.4em;margin:6px 0}
li{margin:4px 0}
.tag{display:inline-block;font-size:.85em;padding:0 6px;margin:0 4px 0 0;border-radius:4px;
border:1px solid #555;color:#1a1a1a}
.soft{color:#444}
.hall{border:1px solid #ccc;border-radius:8px;padding:10px 12px;margin:10px 0}
.hall h3{margin:0 0 4px;font-size:1.05em}
.here{border:2px solid #0b4f8a}
.facts{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:8px 0}
.facts dt{font-weight:600}
.facts dd{margin:0}
.button,button{display:inline-block;font:inherit;padding:10px 16px;border-radius:8px;
background:#0b4f8a;color:#fff;border:0;text-decoration:none;margin:6px 8px 6px 0}
label{display:block;font-weight:600;margin-top:12px}
input,select,textarea{font:inherit;width:100%;padding:8px;border:1px solid #555;
border-radius:6px;background:#fff;color:#1a1a1a}
.error{color:#a10000;font-weight:600}
.notice{background:#fff4d6;border-left:4px solid #8a5a00;padding:8px 12px;margin:10px 0}
.ok{background:#e7f4ea;border-left:4px solid #1d6b2f;padding:8px 12px;margin:10px 0}
details{border:1px solid #ccc;border-radius:8px;padding:8px 12px;margin:8px 0}
summary{font-weight:600;cursor:pointer}
pre{white-space:pre-wrap;font:inherit;margin:8px 0}
"""


def page(title: str, body: str, *, subtitle: str = "", script: str = "") -> str:
    """A whole page: `body` is HTML already escaped by the caller."""
    sub = f"<p>{escape(subtitle)}</p>" if subtitle else ""
    tail = f"<script>{script}</script>" if script else ""
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><header><h1>{escape(title)}</h1>{sub}</header>"
        f"<main>{body}</main>{tail}</body></html>"
    )


def _days(n: int) -> str:
    return "当场办结" if n == 0 else f"{n}个工作日"


def _subjects(subjects: tuple[Subject, ...]) -> str:
    words = {Subject.NATURAL_PERSON: "个人", Subject.LEGAL_PERSON: "企业、个体工商户及其他组织"}
    return "、".join(words[s] for s in subjects)


_KINDS = {
    ItemKind.LICENSE: "行政许可",
    ItemKind.FILING: "备案",
    ItemKind.CONFIRMATION: "登记",
    ItemKind.PUBLIC_SERVICE: "公共服务",
}

_MEASURES = {
    Measure.MATERIALS: ("材料", "份"),
    Measure.FORMS: ("表单", "张"),
    Measure.STEPS: ("办理环节", "个"),
    Measure.TRIPS: ("跑动", "次"),
    Measure.DAYS: ("时限", "个工作日"),
}


def _inspection(item: GuideItem) -> str | None:
    """When the on-site check happens, per approval path, in plain words; None if never."""

    def when(timing: InspectionTiming | None, days: int | None) -> str:
        if timing is InspectionTiming.BEFORE_ISSUANCE:
            return "发证前到场核查"
        if timing is InspectionTiming.AFTER_ISSUANCE:
            within = f"{days}个工作日内" if days else ""
            return f"先发证, 发证后{within}到场核查"
        return "无需到场核查"

    review = when(item.inspection_on_review, item.inspection_on_review_days)
    if item.inspection_on_commitment is None:
        return None if item.inspection_on_review is InspectionTiming.NONE else review
    commitment = when(item.inspection_on_commitment, item.inspection_on_commitment_days)
    if (
        item.inspection_on_review is InspectionTiming.NONE
        and item.inspection_on_commitment is InspectionTiming.NONE
    ):
        return None
    return f"签署告知承诺书的: {commitment}; 不签署的: {review}"


def _hall(h: GuideHall, *, here: bool, origin: str) -> str:
    mark = " (本门牌所在大厅)" if here else ""
    lines = [f"<h3>{escape(h.name)}{mark}</h3>", '<dl class="facts">']
    if h.window_names:
        lines.append(f"<dt>窗口</dt><dd>{escape('、'.join(h.window_names))}</dd>")
    lines.append(f"<dt>地址</dt><dd>{escape(h.address)}</dd>")
    if h.hours:
        lines.append(f"<dt>时间</dt><dd>{escape(h.hours)}</dd>")
    phone = h.phone or HOTLINE
    lines.append(f'<dt>电话</dt><dd><a href="tel:{escape(phone)}">{escape(phone)}</a></dd>')
    if h.km is not None:
        lines.append(f"<dt>距离</dt><dd>{origin}约{h.km:.1f}公里</dd>")
    lines.append("</dl>")
    cls = "hall here" if here else "hall"
    return f'<section class="{cls}">' + "".join(lines) + "</section>"


_LOCATE = """
(function(){var b=document.getElementById('locate');if(!b||!navigator.geolocation)return;
b.hidden=false;b.addEventListener('click',function(){b.disabled=true;b.textContent='正在获取位置…';
navigator.geolocation.getCurrentPosition(function(p){var q=new URLSearchParams(location.search);
q.set('latitude',p.coords.latitude.toFixed(5));q.set('longitude',p.coords.longitude.toFixed(5));
location.search=q.toString();},function(){b.disabled=false;
b.textContent='未能获取位置, 可再试一次';});});
})();
"""


def render_guide_page(
    guide: ServiceGuide, catalog: Catalog, *, here: str | None = None, located: bool = False
) -> str:
    """The guide as a phone page. `here`: the hall the doorplate hangs in (listed first
    when it handles this); `located`: the distances count from the reader's location,
    else from the doorplate."""
    items = [catalog.items[i.code] for i in guide.items if i.code in catalog.items]
    bundle = catalog.bundles.get(guide.code) if guide.kind == "bundle" else None
    names = {i.code: i.name for i in guide.items}
    out: list[str] = []

    # -- what it is, who may apply
    if bundle is not None:
        what = bundle.description or f"一次申请, 同时办理{len(guide.items)}个事项"
        subjects = bundle.subjects
        out.append(f"<p>{escape(what)}。一次提交、一张表单、一套材料, 包含:</p><ul>")
        out.extend(
            f"<li>{escape(i.name)} <span class='soft'>({escape(i.department_name)})</span></li>"
            for i in guide.items
        )
        out.append("</ul>")
    else:
        item = items[0]
        subjects = item.subjects
        out.append(
            f"<p>由{escape(item.department_name)}办理的{_KINDS[item.kind]}事项, "
            f"在{escape(WINDOW_NAMES[guide.window])}申请。</p>"
        )
    out.append(f"<p><strong>谁可以申请:</strong> {escape(_subjects(subjects))}</p>")

    # -- the key facts
    fee = "不收费" if guide.fee_yuan == 0 else f"{guide.fee_yuan:g}元"
    bases = sorted({i.fee_basis for i in items if i.fee_basis and i.fee_yuan})
    if bases:
        fee += f" (依据: {'; '.join(bases)})"
    trips = "无需到场 (全程网办)" if guide.trips == 0 else f"最多跑{guide.trips}次"
    out.append('<h2>办理时限、收费、跑动</h2><dl class="facts">')
    out.append(f"<dt>承诺时限</dt><dd>{_days(guide.promised_days)}</dd>")
    if guide.statutory_days is not None and guide.statutory_days != guide.promised_days:
        out.append(f"<dt>法定时限</dt><dd>{_days(guide.statutory_days)}</dd>")
    out.append(f"<dt>收费</dt><dd>{escape(fee)}</dd><dt>跑动次数</dt><dd>{trips}</dd></dl>")
    if bundle is not None:
        out.append("<ul>")
        for i in guide.items:
            when = "当场备案" if i.recorded_on_the_spot else _days(i.promised_days)
            out.append(f"<li>{escape(i.name)}: {when}</li>")
        out.append("</ul>")
    if guide.reductions is not None:
        saved = []
        for r in guide.reductions.rows:
            if r.saved > 0:
                word, unit = _MEASURES[r.measure]
                saved.append(f"{word}{r.one_by_one}{unit} → {r.bundle}{unit}")
        if saved:
            out.append(f"<p class='soft'>比逐项办理: {escape('; '.join(saved))}。</p>")

    # -- what to bring
    out.append("<h2>需要准备的材料</h2><ol>")
    for m in guide.materials:
        tags = []
        if m.originals:
            tags.append(f"原件{m.originals}份")
        if m.copies:
            tags.append(f"复印件{m.copies}份")
        extra = []
        if m.condition:
            extra.append(f"仅{m.condition}时需要")
        if not m.core and m.supplement_days:
            extra.append(f"暂缺可先受理, 受理后{m.supplement_days}个工作日内补齐")
        if m.note and _CJK.search(m.note):  # some catalog notes are for staff, in English
            extra.append(m.note)
        tag_html = "".join(f"<span class='tag'>{escape(t)}</span>" for t in tags)
        extra_html = f"<br><span class='soft'>{escape('; '.join(extra))}</span>" if extra else ""
        out.append(f"<li>{escape(m.name)} {tag_html}{extra_html}</li>")
    out.append("</ol>")
    if guide.provided:
        out.append("<p><strong>不用带 (系统自动获取):</strong></p><ul>")
        for p in guide.provided:
            if p.source is MaterialSource.SHARED_DATA or p.produced_by is None:
                why = "政府部门共享数据"
            else:
                why = f"{names.get(p.produced_by, '前一事项')}办结后自动取得"
            out.append(f"<li>{escape(p.name)} <span class='soft'>({escape(why)})</span></li>")
        out.append("</ul>")
    if guide.form:
        out.append(f"<p class='soft'>申请表只填一张, 共{len(guide.form)}项, 窗口可代填。</p>")

    # -- steps
    out.append("<h2>办理步骤</h2><ol>")
    out.append("<li>到下列大厅窗口, 或在网上提交申请和材料</li>")
    out.append("<li>窗口受理: 材料齐全的当场受理; 不齐全的一次性告知需补正的全部材料</li>")
    if bundle is not None:
        for stage in guide.stages:
            named = "、".join(names[c] for c in stage)
            word = "同时办理" if len(stage) > 1 else "办理"
            out.append(f"<li>{word}: {escape(named)}</li>")
    elif guide.items and guide.items[0].recorded_on_the_spot:
        out.append("<li>材料齐全的当场备案</li>")
    else:
        out.append(f"<li>{escape(guide.items[0].department_name)}审查并作出决定</li>")
    out.append("<li>办结, 领取结果 (可窗口领取)</li></ol>")
    out.append(
        "<p class='soft'>申请可在窗口或网上提交; 需补正或补齐的材料可送到窗口、"
        "邮寄或网上提交, 以送达之日为准。</p>"
    )

    # -- on-site checks, commitment, deficiency
    tips: list[str] = []
    for i in guide.items:
        check = _inspection(i)
        if check is not None:
            tips.append(f"{i.name}: {check}")
    for i in guide.items:
        if i.admits_commitment:
            tips.append(f"{i.name}: 可选择告知承诺制, 签署承诺书、信用良好的可先办理")
        if i.admits_deficiency and i.supplement_days:
            tips.append(f"{i.name}: 次要材料暂缺的可容缺受理, {i.supplement_days}个工作日内补齐")
        if i.recorded_on_the_spot:
            tips.append(f"{i.name}: 材料齐全的当场备案")
    if tips:
        out.append("<h2>现场核查与办理方式</h2><ul>")
        out.extend(f"<li>{escape(t)}</li>" for t in tips)
        out.append("</ul>")

    # -- where
    out.append("<h2>在哪里办</h2>")
    halls = list(guide.halls)
    if here is not None and not located:
        halls.sort(key=lambda h: h.code != here)  # stable: the rest keep their order
        if here in catalog.halls and all(h.code != here for h in halls):
            out.append(
                f"<p class='notice'>本门牌所在的{escape(catalog.halls[here].name)}不办理此事项, "
                "请到下列大厅办理 (按距离由近到远)。</p>"
            )
    if not halls:
        department = guide.items[0].department_name if guide.items else ""
        out.append(f"<p>请到{escape(department)}窗口办理, 可拨打{HOTLINE}咨询地点。</p>")
    out.append(
        '<button type="button" id="locate" hidden>按离我最近排序 (使用我的位置)</button>'
        if halls
        else ""
    )
    origin = "距您" if located else "距本门牌"
    out.extend(_hall(h, here=h.code == here, origin=origin) for h in halls)

    # -- help
    query = {"item": guide.code} | ({"hall": here} if here else {})
    help_href = f"{HELP_PATH}?{urlencode(query)}"
    phones = sorted({h.phone for h in guide.halls if h.phone})
    ask = "、".join(phones) if phones else HOTLINE
    out.append("<h2>需要帮助</h2>")
    out.append(
        f'<p><a class="button" href="{escape(help_href)}">申请帮办代办</a>'
        f'<a class="button" href="{PROGRESS_PATH}">查询办理进度</a></p>'
    )
    out.append(
        "<p>帮办代办: 工作人员帮您准备材料、填表, 或代您办理; "
        "留下电话, 工作人员一个工作日内联系您。</p>"
        f"<p>咨询电话: {escape(ask)}<br>投诉电话: "
        f'<a href="tel:{HOTLINE}">{HOTLINE}</a> (政务服务便民热线)</p>'
    )
    subtitle = "办事指南 · 数字政务门牌"
    return page(guide.name, "".join(out), subtitle=subtitle, script=_LOCATE)
