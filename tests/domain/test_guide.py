"""Service guide, halls, nearest hall, QR codes and the coverage report."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.bundle import BUNDLE_FORM_CODE
from domain.catalog_loading import (
    NEXT_FILE,
    load_seed_catalog,
    load_shipped_catalog,
    validate_catalog,
)
from domain.catalog_models import CatalogError, InspectionTiming, Window
from domain.guide import (
    ServiceGuide,
    build_guide,
    coverage_report,
    distance_km,
    guide_url,
    halls_accepting,
    nearest_hall,
    nearest_halls,
    qr_for_file,
    qr_png,
    qr_svg,
    render_guide,
)
from tests.support.catalog_docs import item, mini_doc

SEED = load_seed_catalog()
NEXT = load_shipped_catalog(NEXT_FILE)  # 2026.12.1: the check stated per approval path
CITY = (31.7196, 112.2579)


def test_bundle_guide_convenience_store() -> None:
    g = build_guide(NEXT, "open-convenience-store", base_url="https://guide.example/")
    assert g.kind == "bundle" and g.name == "开办便利店"
    assert g.url == "https://guide.example/guides/open-convenience-store"
    assert g.window is Window.GENERAL
    assert g.stages == (
        ("business-license-individual",),
        ("food-filing-prepackaged", "tobacco-retail-license"),
    )
    codes = [m.code for m in g.materials]
    assert codes[0] == BUNDLE_FORM_CODE and "business-license" not in codes
    assert [p.code for p in g.provided] == ["business-license"]
    # the tobacco license is a city-level item: only the city center takes the bundle
    assert [h.code for h in g.halls] == ["yicheng-center"]
    assert set(g.halls[0].window_names) == {"自然人全生命周期综合窗口", "法人全生命周期综合窗口"}
    assert g.reductions is not None and g.reductions.row("forms").bundle == 1
    assert g.trips == 1 and g.fee_yuan == 0
    assert ServiceGuide.model_validate_json(g.model_dump_json()) == g


def test_guide_says_when_the_check_happens_on_each_path() -> None:
    g = build_guide(NEXT, "open-convenience-store")
    assert "烟草专卖零售许可证核发: 不承诺: 审批前实地核查; 承诺: 发证后10个工作日内实地核查" in (
        g.notes
    )
    assert "仅销售预包装食品备案: 备案事项, 材料齐全的当场备案, 无需审查" in g.notes
    tobacco = next(i for i in g.items if i.code == "tobacco-retail-license")
    assert (tobacco.inspection_on_review, tobacco.inspection_on_review_days) == (
        InspectionTiming.BEFORE_ISSUANCE,
        10,
    )
    assert (tobacco.inspection_on_commitment, tobacco.inspection_on_commitment_days) == (
        InspectionTiming.AFTER_ISSUANCE,
        10,
    )
    text = render_guide(g)
    assert "1. 个体工商户设立登记 (市场监督管理局, 即办)" in text
    assert "2. 仅销售预包装食品备案 (市场监督管理局, 当场备案)" in text
    assert "承诺: 发证后10个工作日内实地核查" in text


AT_ONCE = "选择告知承诺、材料齐全的, 各事项当场办结, 现场核查在发证后进行"


def test_a_bundle_done_at_once_on_commitment_says_so() -> None:
    """The 15-minute store: registration and filing on the spot, tobacco on commitment."""
    assert AT_ONCE in build_guide(NEXT, "open-convenience-store").notes
    # 2026.11.1: the registration takes a day, tobacco is reviewed; a supermarket's company
    # registration takes a day
    assert (
        AT_ONCE
        not in build_guide(load_shipped_catalog("catalog.json"), "open-convenience-store").notes
    )
    assert AT_ONCE not in build_guide(NEXT, "open-supermarket").notes


@pytest.mark.parametrize(
    ("code", "note"),
    [
        ("fire-safety-check", "不承诺: 审批前现场核查; 承诺: 发证后20个工作日内现场核查"),
        ("food-business-license", "不承诺: 审批前现场核查; 承诺: 发证后30个工作日内现场核查"),
        (
            "public-venue-hygiene-license",
            "不承诺: 审批前现场审查; 承诺: 发证后20个工作日内现场审查",
        ),
        ("construction-fire-acceptance", "特殊建设工程消防验收: 审批前现场评定"),
    ],
)
def test_item_guides_state_the_check_per_path(code: str, note: str) -> None:
    notes = build_guide(NEXT, code).notes
    assert any(note in n for n in notes), notes
    assert not any("先发证" in n for n in notes)


def test_a_legacy_catalog_is_guided_by_the_law_too() -> None:
    """2026.11.1 says only 'after issuance': without a commitment that is before the decision."""
    g = build_guide(load_shipped_catalog("catalog.json"), "food-business-license")
    assert "食品经营许可: 不承诺: 审批前现场核查; 承诺: 发证后30个工作日内现场核查" in g.notes
    assert g.items[0].inspection is InspectionTiming.AFTER_ISSUANCE  # the legacy field stays


def test_no_check_no_line_and_no_commitment_no_commitment_path() -> None:
    g = build_guide(NEXT, "nurse-practice-registration")
    assert not any("核查" in n for n in g.notes)
    item = g.items[0]
    assert item.inspection_on_review is InspectionTiming.NONE
    assert item.inspection_on_commitment is None and item.inspection_on_commitment_days is None
    assert not item.recorded_on_the_spot


def test_item_guide_names_the_bundles_it_is_part_of() -> None:
    g = build_guide(SEED, "tobacco-retail-license")
    assert g.part_of == (("open-convenience-store", "开办便利店"), ("open-supermarket", "开办超市"))
    assert "也可作为“一件事”联办: 开办便利店 [open-convenience-store]、开办超市" in render_guide(g)
    assert build_guide(SEED, "open-supermarket").part_of == ()
    assert build_guide(SEED, "nurse-practice-registration").part_of == ()


def test_item_guide_nurse_registration() -> None:
    g = build_guide(SEED, "nurse-practice-registration")
    assert g.kind == "item" and g.reductions is None
    assert g.statutory_days == 20 and g.promised_days == 10
    # alone, the item keeps its own form; shared exam results are not asked for
    assert g.materials[0].code == "nurse-application"
    assert [p.code for p in g.provided] == ["nurse-exam-result"]
    assert [h.window_names for h in g.halls] == [("自然人全生命周期综合窗口",)]
    assert any("容缺受理" in n for n in g.notes)
    schema = g.form_schema()
    assert "applicant" in schema["properties"]


def test_town_level_item_is_accepted_in_towns_nearest_first() -> None:
    xiaohe = SEED.hall("xiaohe")
    g = build_guide(SEED, "social-security-card", near=(xiaohe.latitude, xiaohe.longitude))
    assert len(g.halls) == len(SEED.halls)
    assert g.halls[0].code == "xiaohe" and g.halls[0].km == 0.0
    kms = [h.km for h in g.halls]
    assert kms == sorted(kms)


def test_police_item_goes_to_police_zones() -> None:
    g = build_guide(SEED, "household-registration-move")
    assert g.window is Window.POLICE
    names = {h.code: h.window_names for h in g.halls}
    assert names["yicheng-center"] == ("公安专区",)
    assert names["zhengji"] == ("派出所专区",)


def test_marriage_only_in_the_city_zone() -> None:
    assert [h.code for h in halls_accepting(SEED, "marriage-registration")] == ["yicheng-center"]


def test_department_window_item_has_no_hall_and_says_where() -> None:
    g = build_guide(SEED, "construction-fire-acceptance")
    assert g.halls == ()
    assert "本事项在住房和城乡建设局窗口办理" in g.notes


def test_unknown_code() -> None:
    with pytest.raises(CatalogError, match="unknown item or bundle code 'nope'"):
        build_guide(SEED, "nope")


def test_render_guide_text() -> None:
    text = render_guide(build_guide(SEED, "open-transport-company", near=CITY))
    assert text.startswith("开办运输企业  [open-transport-company]")
    assert "“一件事”联办申请表" in text
    assert "营业执照 (公司设立登记办结后自动获取)" in text
    assert "约0.0公里" in text
    assert "扫码查看: http://127.0.0.1:8000/guides/open-transport-company" in text


# --------------------------------------------------------------------------- distance


def test_distance_hand_checked() -> None:
    assert distance_km(0, 0, 0, 0) == 0
    # one degree of latitude along a meridian: 2πR/360
    assert distance_km(31.0, 112.0, 32.0, 112.0) == pytest.approx(111.195, abs=0.01)
    # Yicheng center to Xiangyang (about 31.99N, 112.12E): roughly 32 km
    assert 25 < distance_km(*CITY, 31.99, 112.12) < 40


def test_nearest_hall_filters_by_what_it_accepts() -> None:
    xiaohe = SEED.hall("xiaohe")
    near_town = (xiaohe.latitude + 0.001, xiaohe.longitude)
    assert nearest_hall(SEED, *near_town).hall.code == "xiaohe"  # type: ignore[union-attr]
    # the food license is handled only in the city center
    found = nearest_hall(SEED, *near_town, code="food-business-license")
    assert found is not None and found.hall.code == "yicheng-center" and found.km > 10
    assert nearest_hall(SEED, *near_town, code="construction-fire-acceptance") is None


def test_nearest_halls_tie_broken_by_code() -> None:
    doc = mini_doc()
    twin = dict(doc["halls"][0], code="another")
    doc["halls"].insert(0, twin)
    cat = validate_catalog(doc)
    assert [d.hall.code for d in nearest_halls(cat, 31.0, 112.0)] == ["another", "center"]


coords = st.tuples(st.floats(-89.9, 89.9), st.floats(-179.9, 179.9))


@settings(max_examples=200, deadline=None)
@given(coords, coords, coords)
def test_prop_distance_is_a_metric(
    a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]
) -> None:
    ab, ba = distance_km(*a, *b), distance_km(*b, *a)
    assert ab >= 0 and ab == pytest.approx(ba, abs=1e-6)
    assert ab <= 20015.1  # half the circumference
    assert ab <= distance_km(*a, *c) + distance_km(*c, *b) + 1e-6


@settings(max_examples=100, deadline=None)
@given(st.floats(31.3, 32.1), st.floats(111.9, 112.6))
def test_prop_nearest_is_the_minimum(lat: float, lon: float) -> None:
    ranked = nearest_halls(SEED, lat, lon)
    best = nearest_hall(SEED, lat, lon)
    assert best is not None and best == ranked[0]
    assert all(best.km <= d.km for d in ranked)


# --------------------------------------------------------------------------- QR codes


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _png_matches_reference(data: bytes, url: str) -> bool:
    ref = io.BytesIO()
    segno.make(url, error="m", micro=False).save(ref, kind="png", scale=8)

    # compare decompressed image data: the same modules, whatever the compressor did
    def idat(b: bytes) -> bytes:
        out, pos = b"", 8
        while pos < len(b):
            (length,) = struct.unpack(">I", b[pos : pos + 4])
            kind = b[pos + 4 : pos + 8]
            if kind == b"IDAT":
                out += b[pos + 8 : pos + 8 + length]
            pos += 12 + length
        return zlib.decompress(out)

    return idat(data) == idat(ref.getvalue())


def test_qr_png_encodes_the_guide_url() -> None:
    url = guide_url("open-convenience-store")
    data = qr_png(url)
    w, h = _png_size(data)
    qr = segno.make(url, error="m", micro=False)
    assert w == h == qr.symbol_size(scale=8)[0]
    assert _png_matches_reference(data, url)
    assert not _png_matches_reference(qr_png(url + "x"), url)


def test_qr_svg_and_file_kinds() -> None:
    url = guide_url("nurse-practice-registration")
    svg = qr_svg(url)
    assert svg.startswith("<?xml") and "<svg" in svg and "<path" in svg
    assert qr_for_file(url, "doorplate.SVG").decode() == svg
    assert qr_for_file(url, "doorplate.png") == qr_png(url)
    with pytest.raises(ValueError, match=r"\.svg or \.png"):
        qr_for_file(url, "doorplate.gif")


# --------------------------------------------------------------------------- coverage


def test_coverage_of_the_seed() -> None:
    rep = coverage_report(SEED)
    assert rep.total_items == len(SEED.items)
    assert rep.special_zone_items == {"marriage": 1, "police": 2, "tax": 1}
    assert rep.should == rep.total_items - 4
    assert rep.are == rep.should - 1
    assert rep.not_yet == (
        ("construction-fire-acceptance", "特殊建设工程消防验收", "住房和城乡建设局"),
    )
    assert rep.percent == round(100 * rep.are / rep.should, 1)
    assert sum(d.should for d in rep.departments) == rep.should
    assert sum(d.are for d in rep.departments) == rep.are


def test_coverage_hand_checked_small() -> None:
    doc = mini_doc()
    doc["items"].append(item("p", window="police"))
    doc["items"].append(item("d", window="department", department="housing"))
    rep = coverage_report(validate_catalog(doc))
    assert (rep.should, rep.are, rep.percent) == (4, 3, 75.0)
    assert rep.special_zone_items == {"police": 1}
