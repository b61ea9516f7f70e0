"""Catalog models and validation: every rule of issue 3 point 7 fed a broken catalog."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from domain.catalog import Catalog, UnknownCodeError
from domain.catalog_diff import diff_catalogs
from domain.catalog_loading import (
    load_seed_catalog,
    load_shipped_catalog,
    parse_catalog_json,
    validate_catalog,
)
from domain.catalog_models import (
    SPECIAL_ZONES,
    CatalogError,
    DeficiencyConsequence,
    InspectionTiming,
    MaterialSource,
    Window,
)
from tests.support.catalog_docs import item, mat, mini_doc, only_problem, problems_of

# --------------------------------------------------------------------------- happy path


def test_mini_catalog_is_valid_and_round_trips() -> None:
    cat = validate_catalog(mini_doc())
    assert cat.version == "t1"
    assert set(cat.items) == {"a", "b", "c"}
    assert cat.item("b").inspection.timing is InspectionTiming.AFTER_ISSUANCE
    assert [m.code for m in cat.item("a").deferrable_materials] == ["photo"]
    assert [m.code for m in cat.item("b").core_materials] == ["form-b", "lic-a", "id"]
    again = validate_catalog(cat.to_document())
    assert again == cat
    # a Catalog is a Temporal payload: it survives a JSON round trip as a model
    assert Catalog.model_validate_json(cat.model_dump_json()) == cat


def test_lookup_of_unknown_code_names_the_code() -> None:
    cat = validate_catalog(mini_doc())
    with pytest.raises(UnknownCodeError) as info:
        cat.item("nope")
    assert "unknown item code 'nope'" in str(info.value)
    assert "t1" in str(info.value)
    assert isinstance(info.value, KeyError) and isinstance(info.value, CatalogError)
    with pytest.raises(CatalogError, match="unknown bundle code 'zzz'"):
        cat.bundle("zzz")


def test_models_are_frozen() -> None:
    cat = validate_catalog(mini_doc())
    with pytest.raises(ValueError):
        cat.item("a").promised_days = 9  # type: ignore[misc]


# --------------------------------------------------------------------------- point 7 rules


def test_unknown_item_in_bundle() -> None:
    doc = mini_doc()
    doc["bundles"][0]["members"].append({"item": "ghost", "depends_on": ["a"]})
    assert only_problem(doc) == "bundle 'abc': unknown item 'ghost'"


def test_dependency_on_non_member() -> None:
    doc = mini_doc()
    doc["bundles"][0]["members"][2]["depends_on"] = ["a", "zz"]
    assert "member 'c' depends on 'zz', which is not a member" in only_problem(doc)


def test_cycle_is_named_with_its_path() -> None:
    doc = mini_doc()
    doc["bundles"][0]["members"][0]["depends_on"] = ["c"]
    msg = only_problem(doc)
    assert msg.startswith("bundle 'abc': dependency cycle ")
    assert "a -> c -> a" in msg or "c -> a -> c" in msg


def test_self_dependency_is_a_cycle() -> None:
    doc = mini_doc()
    doc["bundles"][0]["members"][2]["depends_on"] = ["a", "c"]
    assert "dependency cycle c -> c" in only_problem(doc)


def test_deficiency_days_above_promised_limit() -> None:
    doc = mini_doc()
    doc["items"][1]["supplement_days"] = 6
    assert only_problem(doc) == (
        "item 'b': supplement_days 6 exceeds promised_days 5 "
        "(deficiency days may not exceed the promised limit)"
    )


def test_material_produced_by_item_outside_bundle() -> None:
    doc = mini_doc()
    doc["bundles"].append(
        {"code": "bc", "name": "BC", "members": [{"item": "b"}, {"item": "c"}], "promised_days": 5}
    )
    found = problems_of(doc)
    assert found == [
        "bundle 'bc': material 'lic-a' of 'b' is produced by 'a', an item outside the bundle",
        "bundle 'bc': material 'lic-a' of 'c' is produced by 'a', an item outside the bundle",
    ]


def test_material_produced_by_member_that_is_not_a_dependency() -> None:
    doc = mini_doc()
    doc["bundles"][0]["members"][1]["depends_on"] = []
    assert only_problem(doc) == (
        "bundle 'abc': material 'lic-a' of 'b' is produced by 'a', but 'b' does not depend on it"
    )


def test_license_listed_as_applicants_needs_a_dependency_on_its_issuer() -> None:
    doc = mini_doc()
    # c's own guide asks the applicant for A's license; b gets it from a in the bundle
    doc["items"][2]["materials"][1] = mat("lic-a", name="A证")
    doc["bundles"][0]["members"][2]["depends_on"] = []
    assert only_problem(doc) == (
        "bundle 'abc': 'c' asks the applicant for 'lic-a', which member 'a' issues; "
        "'c' must depend on 'a'"
    )
    doc["bundles"][0]["members"][2]["depends_on"] = ["a"]
    validate_catalog(doc)


def test_duplicate_codes_everywhere() -> None:
    doc = mini_doc()
    doc["items"].append(copy.deepcopy(doc["items"][2]))
    doc["bundles"].append(copy.deepcopy(doc["bundles"][0]))
    doc["halls"].append(copy.deepcopy(doc["halls"][0]))
    doc["items"][0]["materials"].append(mat("id", name="身份证件"))
    doc["bundles"][0]["members"].append({"item": "b"})
    found = problems_of(doc)
    assert "duplicate item code 'c'" in found
    assert "duplicate bundle code 'abc'" in found
    assert "duplicate hall code 'center'" in found
    assert "item 'a': duplicate material code 'id'" in found
    assert "bundle 'abc': duplicate member 'b'" in found
    assert len(found) == 5, found


def test_conflicting_form_fields() -> None:
    doc = mini_doc()
    doc["items"][2]["form_fields"].append(
        {"key": "enterprise.name", "label": "名称", "type": "integer"}
    )
    assert only_problem(doc) == (
        "form field 'enterprise.name': conflicting definitions in items 'a' "
        "(label='名称', type=string) and 'c' (label='名称', type=integer)"
    )


def test_field_used_both_as_value_and_group() -> None:
    doc = mini_doc()
    doc["items"][2]["form_fields"].append({"key": "enterprise.name.short", "label": "简称"})
    assert only_problem(doc) == (
        "form field 'enterprise.name' (item 'a') is a value but "
        "'enterprise.name.short' (item 'c') uses it as a group"
    )


def test_required_may_differ_between_items() -> None:
    # a.premises.address is optional, b's required: no conflict
    validate_catalog(mini_doc())


def test_every_problem_is_listed_at_once() -> None:
    doc = mini_doc()
    doc["items"][1]["supplement_days"] = 9
    doc["items"][2]["promised_days"] = 30
    doc["items"][0]["materials"][1]["name"] = "身份证"
    doc["bundles"][0]["members"].append({"item": "ghost"})
    doc["bundles"][0]["members"][0]["depends_on"] = ["b"]
    doc["items"][2]["statutory_days"] = -1
    found = problems_of(doc)
    text = "\n".join(found)
    assert "item [2] 'c'.statutory_days: Input should be greater than or equal to 0" in text
    assert "item 'b': supplement_days 9 exceeds promised_days 5" in text
    assert "material 'id': named '身份证' in 'a' but '身份证件' in 'b'" in text
    assert "bundle 'abc': unknown item 'ghost'" in text
    assert "dependency cycle" in text
    assert len(found) == 5, found
    with pytest.raises(CatalogError) as info:
        validate_catalog(doc)
    assert str(info.value).startswith("catalog refused: 5 problem(s)")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["items"][2].update(promised_days=11), "promised_days 11 exceeds statutory"),
        (
            lambda d: d["items"][0].update(supplement_days=None),
            "item 'a': admits deficiency but has no supplement_days",
        ),
        (
            lambda d: d["items"][2].update(supplement_days=1),
            "supplement_days set but the item does not admit deficiency",
        ),
        (
            lambda d: d["items"][0]["materials"][3].update(core=True),
            "item 'a': admits deficiency but every material it asks for is core",
        ),
        (lambda d: d["items"][2].update(steps=1), "item 'c': steps 1 below 2"),
        (
            lambda d: d["items"][1]["inspection"].update(within_days=None),
            "inspection (review before_issuance, commitment after_issuance) needs within_days",
        ),
        (
            lambda d: d["items"][1].update(admits_commitment=False),
            "inspection after issuance requires an item that admits commitment",
        ),
        (
            lambda d: d["items"][2].update(inspection={"timing": "none", "within_days": 3}),
            "item 'c': no inspection on any path but inspection days are set",
        ),
        (
            lambda d: d["items"][1].update(deficiency_consequence="revoke"),
            "deficiency consequence 'revoke' needs issues_before_supplement",
        ),
        (
            lambda d: d["items"][2].update(issues_before_supplement=True),
            "issues_before_supplement set but the item does not admit deficiency",
        ),
        (
            lambda d: d["items"][2]["materials"][1].update(produced_by="ghost"),
            "material 'lic-a' produced_by unknown item 'ghost'",
        ),
        (
            lambda d: d["items"][2]["materials"][1].update(produced_by="b"),
            "material 'lic-a' produced_by 'b', which produces nothing",
        ),
        (
            lambda d: d["items"][2]["materials"][1].pop("produced_by"),
            "material 'lic-a' is bundle_item but names no produced_by",
        ),
        (
            lambda d: d["items"][2]["materials"][2].update(produced_by="a"),
            "material 'premises' names produced_by but source is applicant",
        ),
        (
            lambda d: d["items"][2]["form_fields"].append(
                {"key": "c.count", "label": "数量", "type": "integer"}
            ),
            "item 'c': duplicate form field 'c.count'",
        ),
        (
            lambda d: d["items"][2]["form_fields"].append(
                {"key": "c.kind", "label": "类", "type": "enum"}
            ),
            "enum form field 'c.kind' has no options",
        ),
        (
            lambda d: d["bundles"][0].update(promised_days=11),
            "bundle 'abc': promised_days 11 exceeds the 10 days of applying for its items one by "
            "one",
        ),
        (lambda d: d["bundles"][0].update(members=[]), "bundle 'abc': has no members"),
        (lambda d: d["halls"][0].update(zones=[]), "hall 'center': has no zones"),
        (lambda d: d.update(version="bad version!"), "version must be a non-empty code"),
        (lambda d: d.update(extra=1), "unknown top-level key 'extra'"),
        (lambda d: d["items"][0].update(kind="permit"), "item [0] 'a'.kind: Input should be"),
        (lambda d: d.update(items={}), "items must be a list"),
    ],
)
def test_each_rule_has_a_clear_message(change: Any, expected: str) -> None:
    doc = mini_doc()
    change(doc)
    text = "\n".join(problems_of(doc))
    assert expected in text


def test_not_json_is_a_catalog_error() -> None:
    with pytest.raises(CatalogError, match="not JSON"):
        parse_catalog_json("{nope")


# --------------------------------------------------------------------------- seed catalog


def test_seed_catalog_is_valid_and_cached() -> None:
    cat = load_seed_catalog()
    assert cat is load_seed_catalog()
    assert validate_catalog(cat.to_document()) == cat
    for name in [
        "open-convenience-store",
        "open-supermarket",
        "open-beverage-shop",
        "open-beauty-salon",
        "open-restaurant",
        "open-transport-company",
        "enterprise-registration",
    ]:
        assert name in cat.bundles


def test_convenience_store_shape_in_2026_11_1() -> None:
    cat = load_shipped_catalog("catalog.json")  # 2026.12.1: tests/domain/test_catalog_revision.py
    store = cat.bundle("open-convenience-store")
    assert store.name == "开办便利店"
    assert store.item_codes == (
        "business-license-individual",
        "food-business-license",
        "tobacco-retail-license",
    )
    assert store.member("food-business-license").depends_on == ("business-license-individual",)
    assert store.member("tobacco-retail-license").depends_on == ("business-license-individual",)
    assert cat.item("business-license-individual").produces == "business_license"


def test_seed_food_license_rules() -> None:
    food = load_seed_catalog().item("food-business-license")
    assert food.name == "食品经营许可"
    assert food.admits_deficiency and food.admits_commitment
    assert food.inspection.timing is InspectionTiming.AFTER_ISSUANCE
    assert food.inspection.within_days == 30
    assert food.supplement_days is not None and food.supplement_days <= food.promised_days
    assert {m.code for m in food.deferrable_materials} == {"equipment-layout", "food-safety-rules"}


def test_seed_has_single_item_review_path_and_both_consequences() -> None:
    cat = load_seed_catalog()
    nurse = cat.item("nurse-practice-registration")
    assert nurse.name == "护士执业注册"
    assert nurse.admits_deficiency and not nurse.admits_commitment
    assert nurse.deficiency_consequence is DeficiencyConsequence.STOP
    consequences = {i.deficiency_consequence for i in cat.items.values() if i.admits_deficiency}
    assert consequences == {DeficiencyConsequence.STOP, DeficiencyConsequence.REVOKE}


def test_seed_names_are_chinese_and_codes_english() -> None:
    cat = load_seed_catalog()
    for it in cat.items.values():
        assert it.code.isascii() and it.department.isascii()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in it.name), it.name
        for m in it.materials:
            assert m.code.isascii()
            if m.source is MaterialSource.BUNDLE_ITEM:
                assert m.produced_by in cat.items


def test_seed_halls_city_and_towns() -> None:
    cat = load_seed_catalog()
    city = [h for h in cat.halls.values() if h.level == "city"]
    towns = [h for h in cat.halls.values() if h.level == "town"]
    assert len(city) == 1 and len(towns) >= 3
    windows = [z.window for z in city[0].zones]
    assert windows.count(Window.GENERAL) == 2  # natural and legal persons
    assert set(windows) - {Window.GENERAL} == SPECIAL_ZONES
    for t in towns:
        assert sorted(z.window for z in t.zones) == [Window.GENERAL, Window.POLICE]
        assert 31.3 < t.latitude < 32.1 and 111.8 < t.longitude < 112.7  # around Yicheng


def test_seed_json_is_what_ships() -> None:
    from importlib import resources

    from domain.catalog_loading import SEED_FILE

    text = resources.files("domain.data").joinpath(SEED_FILE).read_text(encoding="utf-8")
    assert json.loads(text)["version"] == load_seed_catalog().version


# --------------------------------------------------------------------------- diff


def test_diff_names_what_changed() -> None:
    old = validate_catalog(mini_doc())
    doc = mini_doc()
    doc["version"] = "t2"
    doc["items"][1]["promised_days"] = 4
    doc["items"][1]["supplement_days"] = 3
    doc["items"].append(item("d"))
    doc["bundles"][0]["promised_days"] = 5
    doc["halls"] = []
    new = validate_catalog(doc)
    diff = diff_catalogs(old, new)
    assert diff.items.added == ("d",) and diff.items.removed == ()
    assert [(c.code, c.fields) for c in diff.items.changed] == [
        ("b", ("promised_days", "supplement_days"))
    ]
    assert [(c.code, c.fields) for c in diff.bundles.changed] == [("abc", ("promised_days",))]
    assert diff.halls.removed == ("center",)
    assert diff.summary().splitlines() == [
        "t1 → t2",
        "items added: d",
        "item b changed: promised_days, supplement_days",
        "bundle abc changed: promised_days",
        "halls removed: center",
    ]
    same = diff_catalogs(old, old)
    assert same.empty and same.summary() == "t1 → t1: no changes"
