"""The service guide ("数字政务门牌"), halls, and the general-window coverage report.

Pure code: the guide is built from a `Catalog`; distances are computed, not looked up;
QR codes are rendered in memory (the caller writes the file).
"""

from __future__ import annotations

import html
import io
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.bundle import (
    BundleMaterial,
    BundleReductions,
    MergedField,
    ProvidedMaterial,
    as_bundle,
    bundle_steps,
    dag_stages,
    is_single_item,
    one_form,
    one_set_of_materials,
    reductions,
)
from domain.catalog import Catalog
from domain.catalog_models import (
    COMMITMENT_PATH,
    REVIEW_PATH,
    SPECIAL_ZONES,
    Hall,
    InspectionTiming,
    Item,
    Window,
)

# Where the guide is published; the HTTP API serves /guides/{code}. Override per deployment.
DEFAULT_GUIDE_BASE_URL = "http://127.0.0.1:8000"

EARTH_RADIUS_KM = 6371.0088

WINDOW_NAMES = {
    Window.GENERAL: "综合窗口",
    Window.POLICE: "公安专区",
    Window.TAX: "税务专区",
    Window.MARRIAGE: "婚姻登记专区",
    Window.DEPARTMENT: "部门窗口",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


def guide_url(
    code: str,
    base_url: str = DEFAULT_GUIDE_BASE_URL,
    *,
    hall: str | None = None,
    near: tuple[float, float] | None = None,
) -> str:
    """The guide's address. No version in it: a printed doorplate must stay valid.

    A doorplate's code may carry where it hangs: its hall (`hall=`), or its location
    (`latitude=`/`longitude=`), so the page lists the nearest hall first.
    """
    url = f"{base_url.rstrip('/')}/guides/{code}"
    query = [f"hall={hall}"] if hall else []
    if near is not None:
        query += [f"latitude={near[0]:.5f}", f"longitude={near[1]:.5f}"]
    return url + ("?" + "&".join(query) if query else "")


# --------------------------------------------------------------------------- geography


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def halls_accepting(catalog: Catalog, code: str) -> list[Hall]:
    """Halls where the item or bundle `code` is accepted (catalog order)."""
    if code in catalog.bundles:
        bundle = catalog.bundles[code]
        items = catalog.bundle_items(code)
        return [h for h in catalog.halls.values() if h.accepts_bundle(bundle, items)]
    item = catalog.item(code)
    return [h for h in catalog.halls.values() if h.accepts(item)]


class HallDistance(_Frozen):
    hall: Hall
    km: float


def nearest_halls(
    catalog: Catalog, latitude: float, longitude: float, code: str | None = None
) -> list[HallDistance]:
    """Halls by distance from a point; only those accepting `code` when it is given.

    Ties are broken by hall code, so the answer is deterministic.
    """
    halls = halls_accepting(catalog, code) if code else list(catalog.halls.values())
    found = [
        HallDistance(hall=h, km=round(distance_km(latitude, longitude, h.latitude, h.longitude), 3))
        for h in halls
    ]
    return sorted(found, key=lambda d: (d.km, d.hall.code))


def nearest_hall(
    catalog: Catalog, latitude: float, longitude: float, code: str | None = None
) -> HallDistance | None:
    found = nearest_halls(catalog, latitude, longitude, code)
    return found[0] if found else None


# --------------------------------------------------------------------------- the guide


class GuideItem(_Frozen):
    code: str
    name: str
    department: str
    department_name: str
    window: Window
    statutory_days: int
    promised_days: int
    steps: int
    trips: int
    fee_yuan: float
    produces: str | None
    admits_deficiency: bool
    supplement_days: int | None
    admits_commitment: bool
    inspection: InspectionTiming  # the catalog's legacy `timing` (both paths, before 2026-12)
    inspection_within_days: int | None
    legal_basis: str
    # The on-site check on each approval path; on_commitment is None when the item admits
    # no commitment. The days: the check's limit on that path, None when there is none.
    inspection_on_review: InspectionTiming = InspectionTiming.NONE
    inspection_on_review_days: int | None = None
    inspection_on_commitment: InspectionTiming | None = None
    inspection_on_commitment_days: int | None = None
    recorded_on_the_spot: bool = False  # a filing recorded at the window, no review

    @classmethod
    def of(cls, item: Item) -> GuideItem:
        return cls(
            code=item.code,
            name=item.name,
            department=item.department,
            department_name=item.department_name,
            window=item.window,
            statutory_days=item.statutory_days,
            promised_days=item.promised_days,
            steps=item.steps,
            trips=item.trips,
            fee_yuan=item.fee_yuan,
            produces=item.produces,
            admits_deficiency=item.admits_deficiency,
            supplement_days=item.supplement_days,
            admits_commitment=item.admits_commitment,
            inspection=item.inspection.timing,
            inspection_within_days=item.inspection.within_days,
            legal_basis=item.legal_basis,
            inspection_on_review=item.inspection.for_path(REVIEW_PATH),
            inspection_on_review_days=item.inspection.within_days_for(REVIEW_PATH),
            inspection_on_commitment=(
                item.inspection.for_path(COMMITMENT_PATH) if item.admits_commitment else None
            ),
            inspection_on_commitment_days=(
                item.inspection.within_days_for(COMMITMENT_PATH) if item.admits_commitment else None
            ),
            recorded_on_the_spot=item.recorded_on_the_spot,
        )


_WHEN = {
    InspectionTiming.BEFORE_ISSUANCE: "审批前",
    InspectionTiming.AFTER_ISSUANCE: "发证后",
}


def _check_on(item: Item, path: str) -> str:
    """When the on-site check happens on `path`, in the applicant's words."""
    rule = item.inspection
    timing = rule.for_path(path)
    method = rule.method or "现场核查"
    if timing is InspectionTiming.NONE:
        return f"无需{method}"
    days = rule.within_days_for(path)
    within = f"{days}个工作日内" if timing is InspectionTiming.AFTER_ISSUANCE and days else ""
    return f"{_WHEN[timing]}{within}{method}"


def done_at_once_on_commitment(items: list[Item]) -> bool:
    """Whether, on commitment with complete materials, every item ends at the window: handled
    on the spot, or issued on the applicant's commitment with any check after issuance."""

    def at_once(item: Item) -> bool:
        spot = item.promised_days == 0 and item.inspection.for_path(REVIEW_PATH) is (
            InspectionTiming.NONE
        )
        trusted = item.admits_commitment and item.inspection.for_path(COMMITMENT_PATH) is not (
            InspectionTiming.BEFORE_ISSUANCE
        )
        return spot or trusted

    return any(i.admits_commitment for i in items) and all(at_once(i) for i in items)


def inspection_note(item: Item) -> str | None:
    """The guide's line on an item's on-site check per approval path; None if it has none.

    Without a commitment a check a rule requires comes before the decision; with one the
    license may be issued first and the check follows within the catalog's limit.
    """
    if not item.inspection.any_check:
        return None
    if not item.admits_commitment:
        review = item.inspection.for_path(REVIEW_PATH)
        return (
            None
            if review is InspectionTiming.NONE
            else f"{item.name}: {_check_on(item, REVIEW_PATH)}"
        )
    return (
        f"{item.name}: 不承诺: {_check_on(item, REVIEW_PATH)}; "
        f"承诺: {_check_on(item, COMMITMENT_PATH)}"
    )


class GuideHall(_Frozen):
    code: str
    name: str
    level: str
    address: str
    latitude: float
    longitude: float
    hours: str
    window_names: tuple[str, ...]  # the zones of the hall that accept this
    phone: str = ""  # the hall's public service line, when the catalog names one
    km: float | None = None  # from the point asked about, if any


class ServiceGuide(_Frozen):
    code: str
    kind: Literal["item", "bundle"]
    name: str
    catalog_version: str
    url: str
    window: Window  # where to go: a bundle always goes to a general window
    promised_days: int
    statutory_days: int | None  # items only; a bundle's statutory limits are per item
    steps: int
    trips: int
    fee_yuan: float
    items: tuple[GuideItem, ...]
    stages: tuple[tuple[str, ...], ...]  # DAG order: items of one stage run in parallel
    materials: tuple[BundleMaterial, ...]  # what to bring
    provided: tuple[ProvidedMaterial, ...]  # what not to bring, and why
    form: tuple[MergedField, ...]
    halls: tuple[GuideHall, ...]  # nearest first when a point was given
    reductions: BundleReductions | None = None  # bundles only
    part_of: tuple[tuple[str, str], ...] = ()  # items only: (code, name) of bundles with it
    notes: tuple[str, ...] = ()

    def form_schema(self) -> dict[str, Any]:
        from domain.bundle import OneForm

        return OneForm(
            bundle=self.code, title=self.name, fields=self.form, field_count_one_by_one=0
        ).json_schema()


def build_guide(
    catalog: Catalog,
    code: str,
    *,
    base_url: str = DEFAULT_GUIDE_BASE_URL,
    near: tuple[float, float] | None = None,
) -> ServiceGuide:
    """The guide for an item or a bundle: what to bring, the form, limits, fees, trips, halls."""
    single = is_single_item(catalog, code)
    bundle = as_bundle(catalog, code)
    items = [catalog.item(c) for c in bundle.order()]
    mats = one_set_of_materials(catalog, bundle)
    form = one_form(catalog, bundle)
    halls = halls_accepting(catalog, code)
    dist = (
        {h.code: distance_km(near[0], near[1], h.latitude, h.longitude) for h in halls}
        if near
        else {}
    )
    if near:
        halls.sort(key=lambda h: (dist[h.code], h.code))
    window = items[0].window if single else Window.GENERAL
    guide_halls = tuple(
        GuideHall(
            code=h.code,
            name=h.name,
            level=h.level.value,
            address=h.address,
            latitude=h.latitude,
            longitude=h.longitude,
            hours=h.hours,
            phone=h.phone,
            window_names=tuple(
                z.name
                for z in h.zones
                if z.window is window and set(z.serves) & set(bundle.subjects)
            ),
            km=round(dist[h.code], 3) if near else None,
        )
        for h in halls
    )
    notes: list[str] = []
    if not halls:
        notes.append(f"本事项在{items[0].department_name}窗口办理")
    if not single and done_at_once_on_commitment(items):
        notes.append("选择告知承诺、材料齐全的, 各事项当场办结, 现场核查在发证后进行")
    for it in items:
        if it.admits_deficiency:
            notes.append(
                f"{it.name}: 支持容缺受理, 非核心材料可在{it.supplement_days}个工作日内补齐"
            )
        if it.recorded_on_the_spot:
            notes.append(f"{it.name}: 备案事项, 材料齐全的当场备案, 无需审查")
        if it.admits_commitment:
            notes.append(f"{it.name}: 支持告知承诺制")
        check = inspection_note(it)
        if check is not None:
            notes.append(check)
    return ServiceGuide(
        code=code,
        kind="item" if single else "bundle",
        name=bundle.name,
        catalog_version=catalog.version,
        url=guide_url(code, base_url),
        window=window,
        promised_days=bundle.promised_days,
        statutory_days=items[0].statutory_days if single else None,
        steps=items[0].steps if single else bundle_steps(catalog, bundle),
        trips=max((i.trips for i in items), default=0),
        fee_yuan=sum(i.fee_yuan for i in items),
        items=tuple(GuideItem.of(i) for i in items),
        stages=tuple(tuple(s) for s in dag_stages(bundle)),
        materials=mats.to_bring,
        provided=mats.provided,
        form=form.fields,
        halls=guide_halls,
        reductions=None if single else reductions(catalog, bundle),
        part_of=tuple((b.code, b.name) for b in catalog.bundles_with(code)) if single else (),
        notes=tuple(notes),
    )


def _days(n: int) -> str:
    return "即办" if n == 0 else f"{n}个工作日"


def render_guide(guide: ServiceGuide) -> str:
    """The guide as plain text (Chinese), for a terminal or a printed doorplate."""
    lines = [f"{guide.name}  [{guide.code}]  办事指南 (目录版本 {guide.catalog_version})", ""]
    lines.append(f"办理窗口: {WINDOW_NAMES[guide.window]}")
    limit = f"承诺时限: {_days(guide.promised_days)}"
    if guide.statutory_days is not None:
        limit += f"  法定时限: {_days(guide.statutory_days)}"
    lines.append(limit)
    lines.append(f"办理环节: {guide.steps}  跑动次数: {guide.trips}  收费: {guide.fee_yuan:g}元")
    if guide.kind == "bundle":
        lines.append("")
        lines.append("包含事项 (按办理顺序, 同一步内并联办理):")
        by_code = {i.code: i for i in guide.items}
        for n, stage in enumerate(guide.stages, 1):
            for code in stage:
                it = by_code[code]
                when = "当场备案" if it.recorded_on_the_spot else _days(it.promised_days)
                lines.append(f"  {n}. {it.name} ({it.department_name}, {when})")
    lines.append("")
    lines.append("需要准备的材料:")
    for n, m in enumerate(guide.materials, 1):
        tags = ["核心" if m.core else f"可容缺, {m.supplement_days}个工作日内补齐"]
        if m.condition:
            tags = [m.condition]
        count = []
        if m.originals:
            count.append(f"原件{m.originals}份")
        if m.copies:
            count.append(f"复印件{m.copies}份")
        lines.append(f"  {n}. {m.name} ({'; '.join(tags + count)})")
    if guide.provided:
        lines.append("无需提交 (通过数据共享或由本“一件事”前序事项产生):")
        names = {i.code: i.name for i in guide.items}
        for p in guide.provided:
            producer = names.get(p.produced_by or "", p.produced_by)
            why = "数据共享" if p.produced_by is None else f"{producer}办结后自动获取"
            lines.append(f"  - {p.name} ({why})")
    lines.append("")
    lines.append(f"申请表: 一张表, {len(guide.form)}个字段")
    for f in guide.form:
        lines.append(f"  - {f.label} [{f.key}]{' *' if f.required else ''}")
    lines.append("")
    lines.append("受理大厅:")
    if not guide.halls:
        lines.append("  (无: 见下方说明)")
    for h in guide.halls:
        dist = f"  约{h.km:.1f}公里" if h.km is not None else ""
        lines.append(f"  - {h.name} ({'/'.join(h.window_names)}){dist}")
        lines.append(f"    {h.address}  {h.hours}")
    if guide.notes:
        lines.append("")
        lines.append("说明:")
        lines.extend(f"  - {n}" for n in guide.notes)
    if guide.part_of:
        lines.append("")
        lines.append("也可作为“一件事”联办: " + "、".join(f"{n} [{c}]" for c, n in guide.part_of))
    if guide.reductions is not None:
        lines.append("")
        lines.append("与逐项办理相比:")
        for r in guide.reductions.rows:
            lines.append(
                f"  {r.measure.value}: {r.one_by_one} → {r.bundle} (减少{r.saved}, {r.percent}%)"
            )
    lines.append("")
    lines.append(f"扫码查看: {guide.url}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- QR codes


def qr_svg(url: str, *, scale: int = 4, xmldecl: bool = True) -> str:
    """SVG of a QR code for `url` (error correction M, as for printed posters); without the
    XML declaration to sit inside an HTML page."""
    import segno

    buf = io.BytesIO()
    qr = segno.make(url, error="m", micro=False)
    qr.save(buf, kind="svg", scale=scale, xmldecl=xmldecl, svgns=True)
    return buf.getvalue().decode("utf-8")


def qr_png(url: str, *, scale: int = 8) -> bytes:
    import segno

    buf = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buf, kind="png", scale=scale)
    return buf.getvalue()


_CJK_FONTS = (
    "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', "
    "'Droid Sans Fallback', sans-serif"
)


def doorplate_svg(url: str, caption: str, *, scale: int = 8) -> str:
    """A doorplate to print: the QR code for `url` with `caption` (the item's name) under
    it, as one SVG. The text stays text, so the printer's Chinese font draws it."""
    import segno

    qr = segno.make(url, error="m", micro=False)
    width, height = qr.symbol_size(scale=scale)
    buf = io.BytesIO()
    qr.save(buf, kind="svg", scale=scale, xmldecl=False, svgns=True)
    inner = buf.getvalue().decode("utf-8")
    # CJK glyphs are about one em wide: fit the caption into 90% of the code's width.
    size = max(12, min(scale * 5, int(width * 0.9 / max(1, len(caption)))))
    band = int(size * 2)
    text = html.escape(caption)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + band}" '
        f'viewBox="0 0 {width} {height + band}">'
        f'<rect width="{width}" height="{height + band}" fill="#fff"/>'
        f"{inner}"
        f'<text x="{width / 2:g}" y="{height + size:g}" text-anchor="middle" '
        f'font-size="{size}" fill="#000" font-family="{_CJK_FONTS}">{text}</text>'
        "</svg>"
    )


def doorplate_png(url: str, caption: str, font_path: str, *, scale: int = 10) -> bytes:
    """The doorplate as a PNG: the code with `caption` drawn under it in the font at
    `font_path` (one that has Chinese glyphs)."""
    from PIL import Image, ImageDraw, ImageFont

    code = Image.open(io.BytesIO(qr_png(url, scale=scale))).convert("RGB")
    width, height = code.size
    size = max(12, min(scale * 5, int(width * 0.9 / max(1, len(caption)))))
    font = ImageFont.truetype(font_path, size)
    plate = Image.new("RGB", (width, height + size * 2), "white")
    plate.paste(code, (0, 0))
    draw = ImageDraw.Draw(plate)
    draw.text((width / 2, height + size * 0.9), caption, fill="black", font=font, anchor="mm")
    buf = io.BytesIO()
    plate.save(buf, format="PNG")
    return buf.getvalue()


def qr_for_file(url: str, filename: str) -> bytes:
    """The QR code for `url` in the format the file name asks for (.svg or .png)."""
    lower = filename.lower()
    if lower.endswith(".svg"):
        return qr_svg(url).encode("utf-8")
    if lower.endswith(".png"):
        return qr_png(url)
    raise ValueError(f"QR file must end in .svg or .png, got {filename!r}")


# --------------------------------------------------------------------------- coverage


class DepartmentCoverage(_Frozen):
    department: str
    department_name: str
    should: int
    are: int


class CoverageReport(_Frozen):
    """Of the items that should be accepted at a general window, how many are.

    Special zones (police, tax, marriage registration) keep their own window by design
    and are left out, as in the story (1680 of 1700, 98.8%).
    """

    catalog_version: str
    total_items: int
    special_zone_items: dict[str, int]
    should: int
    are: int
    percent: float
    departments: tuple[DepartmentCoverage, ...]
    not_yet: tuple[tuple[str, str, str], ...]  # (code, name, department_name)


def coverage_report(catalog: Catalog) -> CoverageReport:
    items = list(catalog.items.values())
    special: dict[str, int] = {}
    for it in items:
        if it.window in SPECIAL_ZONES:
            special[it.window.value] = special.get(it.window.value, 0) + 1
    eligible = [i for i in items if i.window not in SPECIAL_ZONES]
    at_general = [i for i in eligible if i.window is Window.GENERAL]
    depts: dict[str, list[Item]] = {}
    for it in eligible:
        depts.setdefault(it.department, []).append(it)
    rows = tuple(
        DepartmentCoverage(
            department=d,
            department_name=its[0].department_name,
            should=len(its),
            are=sum(1 for i in its if i.window is Window.GENERAL),
        )
        for d, its in sorted(depts.items())
    )
    return CoverageReport(
        catalog_version=catalog.version,
        total_items=len(items),
        special_zone_items=dict(sorted(special.items())),
        should=len(eligible),
        are=len(at_general),
        percent=round(100.0 * len(at_general) / len(eligible), 1) if eligible else 0.0,
        departments=rows,
        not_yet=tuple(
            (i.code, i.name, i.department_name) for i in eligible if i.window is not Window.GENERAL
        ),
    )
