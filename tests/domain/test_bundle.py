"""Bundle derivations: hand-checked examples on a small catalog, the seed, and properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from domain.acceptance import Acceptance, AcceptanceVerdict, assess
from domain.bundle import (
    BUNDLE_FORM_CODE,
    Measure,
    MergedField,
    as_bundle,
    bundle_steps,
    critical_path,
    dag_order,
    dag_stages,
    is_single_item,
    one_form,
    one_set_of_materials,
    reductions,
    reductions_report,
)
from domain.catalog import Catalog
from domain.catalog_loading import load_seed_catalog, validate_catalog
from domain.catalog_models import Bundle, BundleMember, CatalogError, FieldType, MaterialSource
from tests.support.catalog_docs import catalogs, mini_doc


@pytest.fixture
def cat() -> Catalog:
    return validate_catalog(mini_doc())


# --------------------------------------------------------------------------- hand-checked


def test_dag_stages_and_order(cat: Catalog) -> None:
    abc = cat.bundle("abc")
    assert dag_stages(abc) == [["a"], ["b", "c"]]
    assert dag_order(abc) == ["a", "b", "c"]


def test_dag_order_refuses_a_cycle() -> None:
    b = Bundle(
        code="x",
        name="x",
        promised_days=0,
        members=(
            BundleMember(item="p", depends_on=("q",)),
            BundleMember(item="q", depends_on=("p",)),
        ),
    )
    with pytest.raises(CatalogError, match="dependency cycle among"):
        dag_order(b)


def test_one_form_merges_by_canonical_key(cat: Catalog) -> None:
    form = one_form(cat, cat.bundle("abc"))
    assert [f.key for f in form.fields] == [
        "enterprise.name",
        "premises.address",
        "b.scope",
        "c.count",
    ]
    by_key = {f.key: f for f in form.fields}
    assert by_key["enterprise.name"].used_by == ("a", "b")
    assert by_key["premises.address"].required  # optional for a, required for b
    assert form.field_count_one_by_one == 6
    schema = form.json_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["properties"]["enterprise"]["properties"]["name"]["type"] == "string"
    assert schema["properties"]["b"]["properties"]["scope"]["enum"] == ["x", "y"]
    assert schema["properties"]["c"]["properties"]["count"]["type"] == "integer"
    assert sorted(schema["required"]) == ["b", "c", "enterprise", "premises"]
    assert schema["properties"]["premises"]["required"] == ["address"]


def test_one_form_schema_validates_like_a_schema(cat: Catalog) -> None:
    schema = one_form(cat, cat.bundle("abc")).json_schema()

    # every leaf has a JSON type and a title; groups are closed objects
    def walk(node: dict[str, Any]) -> None:
        for child in node.get("properties", {}).values():
            assert "type" in child
            if child["type"] == "object":
                assert child["additionalProperties"] is False
                walk(child)
            else:
                assert child["title"]

    walk(schema)


def test_one_set_of_materials(cat: Catalog) -> None:
    mats = one_set_of_materials(cat, cat.bundle("abc"))
    assert mats.one_by_one == 11  # a: 4, b: 4 (shared exam not asked), c: 3
    assert [m.code for m in mats.to_bring] == [
        BUNDLE_FORM_CODE,
        "id",
        "premises",
        "photo",
        "layout",
    ]
    assert mats.material(BUNDLE_FORM_CODE).needed_by == ("a", "b", "c")
    assert mats.material("id").needed_by == ("a", "b")
    assert mats.material("premises").needed_by == ("a", "c")
    photo = mats.material("photo")
    assert not photo.core and photo.supplement_days == 2
    assert mats.material("layout").supplement_days == 4
    provided = {(p.code, p.source, p.produced_by, p.needed_by) for p in mats.provided}
    assert provided == {
        ("lic-a", MaterialSource.BUNDLE_ITEM, "a", ("b", "c")),
        ("exam", MaterialSource.SHARED_DATA, None, ("b",)),
    }


def test_material_the_bundle_produces_is_not_asked_even_if_listed_as_applicants() -> None:
    doc = mini_doc()
    doc["items"][2]["materials"][1] = {"code": "lic-a", "name": "A证", "core": True}  # applicant
    doc["bundles"].append(
        {"code": "ac", "name": "AC", "members": [{"item": "a"}, {"item": "c"}], "promised_days": 5}
    )
    cat = validate_catalog(doc)
    # c depends on a in abc: a issues the license first
    abc = one_set_of_materials(cat, cat.bundle("abc"))
    assert "lic-a" not in abc.codes
    assert {p.code: (p.produced_by, p.needed_by) for p in abc.provided}["lic-a"] == (
        "a",
        ("b", "c"),
    )
    # in ac, c runs beside a, not after it: the applicant still brings it
    ac = one_set_of_materials(cat, cat.bundle("ac"))
    assert ac.material("lic-a").needed_by == ("c",)


def test_reductions_hand_checked(cat: Catalog) -> None:
    red = reductions(cat, cat.bundle("abc"))
    got = {r.measure: (r.one_by_one, r.bundle, r.saved, r.percent) for r in red.rows}
    assert got == {
        Measure.MATERIALS: (11, 5, 6, 54.5),
        Measure.FORMS: (3, 1, 2, 66.7),
        Measure.STEPS: (12, 6, 6, 50.0),  # 2 window steps + a(1) + b(3)
        Measure.TRIPS: (4, 2, 2, 50.0),  # made together: the most any item needs
        Measure.DAYS: (10, 6, 4, 40.0),
    }
    assert red.critical_path == ("a", "b") and red.critical_path_days == 8
    assert critical_path(cat, cat.bundle("abc")) == (8, ["a", "b"])
    assert bundle_steps(cat, cat.bundle("abc")) == 6


def test_single_item_pseudo_bundle(cat: Catalog) -> None:
    assert is_single_item(cat, "b") and not is_single_item(cat, "abc")
    b = as_bundle(cat, "b")
    assert b.item_codes == ("b",) and b.promised_days == 5
    mats = one_set_of_materials(cat, b)
    # alone, b keeps its own form and the applicant brings A's license
    assert [m.code for m in mats.to_bring] == ["form-b", "lic-a", "id", "layout"]
    red = reductions(cat, b)
    assert all(r.saved == 0 for r in red.rows)
    with pytest.raises(CatalogError, match="unknown item or bundle code 'zz'"):
        as_bundle(cat, "zz")


def _assess(cat: Catalog, target: str, submitted: set[str]) -> Acceptance:
    """The acceptance rule, for an applicant who signed the pledge and may be offered it."""
    mats = one_set_of_materials(cat, as_bundle(cat, target))
    return assess(mats, submitted, pledge_signed=True, deficiency_allowed=True)


def _codes(acceptance: Acceptance, *, core: bool) -> list[str]:
    return [m.code for m in acceptance.missing if m.core is core]


def test_assess_submission(cat: Catalog) -> None:
    full = {BUNDLE_FORM_CODE, "id", "premises", "photo", "layout"}
    assert _assess(cat, "abc", full).verdict is AcceptanceVerdict.ACCEPTED
    part = _assess(cat, "abc", {BUNDLE_FORM_CODE, "id", "premises", "extra"})
    assert part.verdict is AcceptanceVerdict.ACCEPTED_WITH_DEFICIENCY
    assert _codes(part, core=False) == ["photo", "layout"]
    assert part.supplement_days == 2  # the strictest item's limit
    none = _assess(cat, "abc", set())
    assert none.verdict is AcceptanceVerdict.INCOMPLETE
    # one notice lists everything missing, core and deferrable alike
    assert _codes(none, core=True) == [BUNDLE_FORM_CODE, "id", "premises"]
    assert _codes(none, core=False) == ["photo", "layout"]
    assert none.supplement_days is None


def test_assess_conditional_material_does_not_block() -> None:
    seed = load_seed_catalog()
    mats = one_set_of_materials(seed, as_bundle(seed, "nurse-practice-registration"))
    needed = {m.code for m in mats.to_bring if m.core and not m.condition}
    res = _assess(seed, "nurse-practice-registration", needed)
    assert res.verdict is AcceptanceVerdict.ACCEPTED_WITH_DEFICIENCY
    assert set(_codes(res, core=False)) == {"nurse-health-exam", "nurse-employment"}
    store = _assess(
        seed,
        "open-convenience-store",
        {m.code for m in one_set_of_materials(seed, seed.bundle("open-convenience-store")).to_bring}
        - {"agent-authorization"},
    )
    assert store.verdict is AcceptanceVerdict.ACCEPTED


# --------------------------------------------------------------------------- the seed


def _sample(field: MergedField, data: st.DataObject) -> Any:
    if field.type is FieldType.ENUM:
        return data.draw(st.sampled_from(list(field.options or ())))
    if field.type is FieldType.INTEGER:
        return data.draw(st.integers(0, 10_000))
    if field.type is FieldType.NUMBER:
        return data.draw(st.floats(0, 1e6, allow_nan=False))
    if field.type is FieldType.BOOLEAN:
        return data.draw(st.booleans())
    if field.type is FieldType.DATE:
        return data.draw(st.dates()).isoformat()
    if field.pattern:
        return data.draw(st.from_regex(field.pattern, fullmatch=True))
    return data.draw(st.text(min_size=1, max_size=min(field.max_length or 20, 20)))


def _nest(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        node = out
        *groups, leaf = key.split(".")
        for g in groups:
            node = node.setdefault(g, {})
        node[leaf] = value
    return out


SEED_TARGETS = sorted(load_seed_catalog().bundles) + sorted(load_seed_catalog().items)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SEED_TARGETS), st.data())
def test_prop_one_form_schema_accepts_a_filled_form_and_refuses_gaps(
    target: str, data: st.DataObject
) -> None:
    seed = load_seed_catalog()
    form = one_form(seed, as_bundle(seed, target))
    schema = form.json_schema()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    filled = _nest({f.key: _sample(f, data) for f in form.fields})
    assert list(validator.iter_errors(filled)) == []
    required = [f for f in form.fields if f.required]
    if required:
        gone = data.draw(st.sampled_from(required))
        partial = _nest({f.key: _sample(f, data) for f in form.fields if f is not gone})
        assert list(validator.iter_errors(partial)) != []
    assert list(validator.iter_errors({**filled, "unknown": 1})) != []


def test_seed_transport_company_materials() -> None:
    seed = load_seed_catalog()
    mats = one_set_of_materials(seed, seed.bundle("open-transport-company"))
    codes = [m.code for m in mats.to_bring]
    assert codes[0] == BUNDLE_FORM_CODE
    assert "business-license" not in codes and "road-transport-license" not in codes
    assert mats.material("vehicle-license").needed_by == (
        "road-freight-license",
        "road-transport-certificate",
    )
    produced = {p.code: p.produced_by for p in mats.provided}
    assert produced == {
        "business-license": "company-registration",
        "road-transport-license": "road-freight-license",
    }


def test_seed_company_license_stands_in_for_individual() -> None:
    seed = load_seed_catalog()
    # the food license names the individual business license; in a supermarket (a company)
    # the company registration issues the business license instead
    assert (
        seed.producer_in_bundle("open-supermarket", "food-business-license", "business-license")
        == "company-registration"
    )
    assert (
        seed.producer_in_bundle("open-beverage-shop", "food-business-license", "business-license")
        == "business-license-individual"
    )


def test_seed_enterprise_registration_form_skips_fields_from_the_license() -> None:
    seed = load_seed_catalog()
    keys = {f.key for f in one_form(seed, seed.bundle("enterprise-registration")).fields}
    assert "enterprise.credit_code" not in keys  # issued by the registration itself
    alone = {f.key for f in one_form(seed, as_bundle(seed, "company-seal-filing")).fields}
    assert "enterprise.credit_code" in alone


def test_seed_reductions_are_all_positive() -> None:
    report = reductions_report(load_seed_catalog())
    assert len(report.bundles) == len(load_seed_catalog().bundles) >= 7
    for b in report.bundles:
        for r in b.rows:
            assert r.saved >= 0 and 0 <= r.percent <= 100
        assert b.row("materials").saved > 0 and b.row("forms").bundle == 1
    totals = {r.measure: r for r in report.totals}
    assert totals[Measure.MATERIALS].one_by_one == sum(
        b.row("materials").one_by_one for b in report.bundles
    )


# --------------------------------------------------------------------------- properties

PROP = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROP
@given(catalogs())
def test_prop_generated_catalogs_validate_and_round_trip(doc: dict[str, Any]) -> None:
    cat = validate_catalog(doc)
    assert validate_catalog(cat.to_document()) == cat


@PROP
@given(catalogs())
def test_prop_dag_order_respects_dependencies(doc: dict[str, Any]) -> None:
    bundle = validate_catalog(doc).bundle("b")
    order = dag_order(bundle)
    assert sorted(order) == sorted(bundle.item_codes)
    pos = {c: i for i, c in enumerate(order)}
    for m in bundle.members:
        for d in m.depends_on:
            assert pos[d] < pos[m.item]
    for stage_no, stage in enumerate(dag_stages(bundle)):
        for code in stage:  # a stage never depends on itself or later stages
            earlier = {c for s in dag_stages(bundle)[:stage_no] for c in s}
            assert set(bundle.member(code).depends_on) <= earlier


@PROP
@given(catalogs())
def test_prop_materials_never_ask_for_what_the_bundle_produces(doc: dict[str, Any]) -> None:
    cat = validate_catalog(doc)
    bundle = cat.bundle("b")
    mats = one_set_of_materials(cat, bundle)
    codes = [m.code for m in mats.to_bring]
    assert len(codes) == len(set(codes))  # deduplicated
    multi = len(bundle.members) > 1
    # licenses some member takes from an earlier member (generated: lic-j comes from i{j})
    issued = {
        m.code
        for c in bundle.item_codes
        for m in cat.item(c).materials
        if m.source is MaterialSource.BUNDLE_ITEM
    }
    for code in bundle.item_codes:
        for m in cat.item(code).materials:
            producer = "i" + m.code.removeprefix("lic-")
            produced_here = multi and m.code in issued and producer in bundle.ancestors(code)
            if (
                m.source is MaterialSource.SHARED_DATA
                or produced_here
                or (m.source is MaterialSource.BUNDLE_ITEM and multi)
            ):
                assert m.code not in codes
            elif m.is_form and len(bundle.members) > 1:
                assert m.code not in codes and BUNDLE_FORM_CODE in codes
            else:  # everything the applicant owes is asked for exactly once
                assert m.code in codes
                assert code in mats.material(m.code).needed_by
    assert len(mats.to_bring) <= max(mats.one_by_one, 1)


@PROP
@given(catalogs())
def test_prop_reductions_are_never_negative(doc: dict[str, Any]) -> None:
    cat = validate_catalog(doc)
    red = reductions(cat, cat.bundle("b"))
    for r in red.rows:
        assert r.bundle >= 0 and r.saved >= 0, r
        assert 0.0 <= r.percent <= 100.0
        assert r.saved == r.one_by_one - r.bundle
    assert red.critical_path_days <= red.row("days").one_by_one


@PROP
@given(catalogs())
def test_prop_one_form_keeps_every_field_once(doc: dict[str, Any]) -> None:
    cat = validate_catalog(doc)
    bundle = cat.bundle("b")
    form = one_form(cat, bundle)
    keys = [f.key for f in form.fields]
    assert len(keys) == len(set(keys))
    want = {f.key for c in bundle.item_codes for f in cat.item(c).form_fields}
    assert set(keys) == want
    for f in form.fields:
        assert f.required == any(
            g.required for c in f.used_by for g in cat.item(c).form_fields if g.key == f.key
        )
    assert form.json_schema()["type"] == "object"


@PROP
@given(catalogs(), st.data())
def test_prop_assessment_matches_what_is_missing(doc: dict[str, Any], data: st.DataObject) -> None:
    cat = validate_catalog(doc)
    mats = one_set_of_materials(cat, cat.bundle("b"))
    submitted = set(data.draw(st.sets(st.sampled_from([m.code for m in mats.to_bring] or ["x"]))))
    res = _assess(cat, "b", submitted)
    missing = {m.code for m in mats.to_bring if m.code not in submitted and not m.condition}
    assert {m.code for m in res.missing} == missing
    if _codes(res, core=True):
        assert res.verdict is AcceptanceVerdict.INCOMPLETE
    elif missing:
        assert res.verdict is AcceptanceVerdict.ACCEPTED_WITH_DEFICIENCY
        assert res.supplement_days is not None
        for material in res.missing:
            for item_code in material.item_codes:
                item = cat.item(item_code)
                assert item.admits_deficiency
                assert item.supplement_days is not None
                assert res.supplement_days <= item.supplement_days
    else:
        assert res.verdict is AcceptanceVerdict.ACCEPTED
