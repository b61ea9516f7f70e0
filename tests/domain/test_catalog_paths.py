"""Procedure revision 2026-12 in the catalog: the on-site check per approval path, the Art. 42
extension cap, the correction period; and old documents (and histories) still parse."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from domain.catalog import CORRECTION_DAYS
from domain.catalog_diff import diff_catalogs
from domain.catalog_loading import catalog_document_schema, validate_catalog
from domain.catalog_models import (
    EXTENSION_DAYS,
    CatalogError,
    InspectionRule,
    InspectionTiming,
    Item,
)
from tests.support.catalog_docs import item, mini_doc, only_problem, problems_of

NONE, BEFORE, AFTER = (
    InspectionTiming.NONE,
    InspectionTiming.BEFORE_ISSUANCE,
    InspectionTiming.AFTER_ISSUANCE,
)
NEW_ITEM_KEYS = {"extension_days"}
NEW_RULE_KEYS = {"on_review", "on_commitment", "review_within_days"}


# --------------------------------------------------------------------------- per path


@pytest.mark.parametrize(
    ("timing", "review", "commitment"),
    [(NONE, NONE, NONE), (BEFORE, BEFORE, BEFORE), (AFTER, BEFORE, AFTER)],
)
def test_a_legacy_rule_derives_each_path(
    timing: InspectionTiming, review: InspectionTiming, commitment: InspectionTiming
) -> None:
    """Only `timing` stated: without a commitment a required check comes before the decision."""
    rule = InspectionRule(timing=timing)
    assert rule.for_path("review") is review
    assert rule.for_path("commitment") is commitment


def test_stated_paths_win_over_the_legacy_timing() -> None:
    rule = InspectionRule(
        timing=BEFORE, on_review=NONE, on_commitment=AFTER, within_days=10, rectification_days=5
    )
    assert rule.for_path("review") is NONE and rule.for_path("commitment") is AFTER
    assert rule.within_days_for("review") is None  # no check on that path
    assert rule.within_days_for("commitment") == 10


def test_the_approval_path_enum_is_accepted() -> None:
    from domain.application import ApprovalPath

    rule = InspectionRule(timing=AFTER)
    assert rule.for_path(ApprovalPath.REVIEW) is BEFORE
    assert rule.for_path(ApprovalPath.COMMITMENT) is AFTER


def test_an_unknown_path_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="path: must be one of review, commitment, got 'fast'"):
        InspectionRule().for_path("fast")


def test_the_check_before_the_decision_may_have_its_own_limit() -> None:
    rule = InspectionRule(
        on_review=BEFORE,
        on_commitment=AFTER,
        within_days=30,
        review_within_days=5,
        rectification_days=15,
    )
    assert rule.within_days_for("review") == 5
    assert rule.within_days_for("commitment") == 30


def commitment_item(**inspection: Any) -> dict[str, Any]:
    return item(
        "x",
        admits_commitment=True,
        inspection={"within_days": 10, "rectification_days": 5, **inspection},
    )


def one_item_doc(it: dict[str, Any]) -> dict[str, Any]:
    return {"version": "p1", "items": [it]}


def test_per_path_rule_is_valid() -> None:
    cat = validate_catalog(
        one_item_doc(
            commitment_item(
                timing="before_issuance",
                on_review="before_issuance",
                on_commitment="after_issuance",
                review_within_days=5,  # with the review's 5: the statutory 10
            )
        )
    )
    rule = cat.item("x").inspection
    assert (rule.for_path("review"), rule.for_path("commitment")) == (BEFORE, AFTER)
    assert (rule.within_days_for("review"), rule.within_days_for("commitment")) == (5, 10)


@pytest.mark.parametrize(
    ("it", "expected"),
    [
        (
            commitment_item(on_review="after_issuance", on_commitment="after_issuance"),
            "item 'x': inspection.on_review may only be 'none' or 'before_issuance'",
        ),
        (
            {**commitment_item(on_commitment="after_issuance"), "admits_commitment": False},
            "item 'x': inspection.on_commitment set but the item does not admit commitment",
        ),
        (
            commitment_item(on_review="none", on_commitment="none"),
            "item 'x': no inspection on any path but inspection days are set",
        ),
        (
            commitment_item(on_review="none", on_commitment="after_issuance", review_within_days=3),
            "item 'x': inspection.review_within_days set but there is no check on review",
        ),
        (
            commitment_item(on_review="before_issuance", within_days=6),
            "item 'x': the review (5 working days) and the check before the decision (6) take "
            "11, more than the statutory 10",
        ),
        (
            commitment_item(on_review="before_issuance", within_days=None),
            "item 'x': inspection (review before_issuance, commitment none) needs within_days",
        ),
    ],
)
def test_per_path_rules_are_checked(it: dict[str, Any], expected: str) -> None:
    assert expected in "\n".join(problems_of(one_item_doc(it)))


def test_a_post_issuance_check_needs_an_item_that_admits_commitment() -> None:
    it = {**commitment_item(on_review="before_issuance", on_commitment="after_issuance")}
    it["admits_commitment"] = False
    found = problems_of(one_item_doc(it))
    assert "item 'x': inspection after issuance requires an item that admits commitment" in found


def test_an_old_review_limit_beyond_the_statutory_one_still_loads() -> None:
    """Versions loaded before the revision must stay readable: the rule applies only where
    the catalog states the path."""
    it = commitment_item(timing="after_issuance", within_days=30)  # food, 2026.11.1
    assert validate_catalog(one_item_doc(it)).item("x").inspection.within_days_for("review") == 30


# --------------------------------------------------------------------------- Art. 42 cap


def test_extension_cap_defaults_to_ten_and_may_be_tighter() -> None:
    doc = mini_doc()
    doc["items"][0]["extension_days"] = 3
    cat = validate_catalog(doc)
    assert cat.item("a").extension_days == 3
    assert cat.item("b").extension_days == EXTENSION_DAYS == 10


@pytest.mark.parametrize("days", [0, 11, 30])
def test_extension_cap_outside_one_to_ten_is_refused(days: int) -> None:
    doc = mini_doc()
    doc["items"][2]["extension_days"] = days
    assert only_problem(doc).startswith("item [2] 'c'.extension_days: Input should be")


# --------------------------------------------------------------------------- correction period


def test_correction_period_is_the_catalogs() -> None:
    assert validate_catalog(mini_doc()).correction_days == CORRECTION_DAYS == 20
    doc = {**mini_doc(), "correction_days": 15}
    cat = validate_catalog(doc)
    assert cat.correction_days == 15
    assert cat.to_document()["correction_days"] == 15
    assert validate_catalog(cat.to_document()) == cat
    assert "correction_days" in catalog_document_schema()["properties"]


@pytest.mark.parametrize("value", [0, 61, "20", 2.5, None])
def test_a_bad_correction_period_is_refused_by_name(value: object) -> None:
    msg = only_problem({**mini_doc(), "correction_days": value})
    assert msg.startswith("correction_days must be a whole number of working days from 1 to 60")


# --------------------------------------------------------------------------- old documents


OLD_ITEM = {  # an Item as histories before the revision carry it
    "code": "food",
    "basic_code": "010100030000",
    "implementation_code": "114206840000000001010100030000",
    "name": "食品经营许可",
    "department": "market",
    "department_name": "市场监督管理局",
    "kind": "license",
    "window": "general",
    "subjects": ["legal_person", "natural_person"],
    "hall_levels": ["city"],
    "statutory_days": 10,
    "promised_days": 5,
    "trips": 1,
    "steps": 5,
    "fee_yuan": 0.0,
    "fee_basis": "",
    "materials": [],
    "form_fields": [],
    "produces": "food_business_license",
    "admits_deficiency": False,
    "supplement_days": None,
    "deficiency_consequence": "stop",
    "issues_before_supplement": False,
    "admits_commitment": True,
    "inspection": {
        "timing": "after_issuance",
        "within_days": 30,
        "rectification_days": 15,
        "method": "现场核查",
    },
    "legal_basis": "",
    "source_note": "",
}


def test_an_old_item_payload_parses_and_derives() -> None:
    old = Item.model_validate_json(json.dumps(OLD_ITEM))
    assert old.extension_days == 10
    assert old.inspection.on_review is None and old.inspection.on_commitment is None
    assert old.inspection.for_path("review") is BEFORE
    assert old.inspection.for_path("commitment") is AFTER
    # ...and is written back exactly as it came: an old version's canonical form is unchanged
    assert old.model_dump(mode="json") == OLD_ITEM


def test_new_fields_appear_only_when_stated() -> None:
    cat = validate_catalog(mini_doc())
    for it in cat.to_document()["items"]:
        assert not NEW_ITEM_KEYS & set(it) and not NEW_RULE_KEYS & set(it["inspection"])
    assert "correction_days" not in cat.to_document()
    stated = Item.model_validate(
        {
            **OLD_ITEM,
            "extension_days": 3,
            "inspection": {**OLD_ITEM["inspection"], "on_review": "before_issuance"},
        }
    )
    dumped = stated.model_dump(mode="json")
    assert dumped["extension_days"] == 3 and dumped["inspection"]["on_review"] == "before_issuance"
    assert Item.model_validate(dumped) == stated


def test_the_diff_sees_a_newly_stated_field() -> None:
    old = validate_catalog(mini_doc())
    doc = mini_doc()
    doc["version"] = "t2"
    doc["items"][0]["extension_days"] = 3
    doc["items"][1]["inspection"].update(on_review="before_issuance", review_within_days=5)
    changed = {c.code: c.fields for c in diff_catalogs(old, validate_catalog(doc)).items.changed}
    assert changed == {"a": ("extension_days",), "b": ("inspection",)}


def test_bad_extension_value_error_names_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        Item.model_validate({**OLD_ITEM, "extension_days": 12})
    assert info.value.errors()[0]["loc"] == ("extension_days",)


def test_catalog_error_is_raised_for_a_broken_per_path_rule() -> None:
    with pytest.raises(CatalogError):
        validate_catalog(one_item_doc(commitment_item(on_review="after_issuance")))


def test_a_filing_without_a_limit_is_recorded_on_the_spot() -> None:
    filing = Item.model_validate(
        {
            **OLD_ITEM,
            "kind": "filing",
            "statutory_days": 0,
            "promised_days": 0,
            "admits_commitment": False,
            "inspection": {},
        }
    )
    assert filing.recorded_on_the_spot
    assert not Item.model_validate(
        {
            **OLD_ITEM,
            "statutory_days": 0,
            "promised_days": 0,
            "admits_commitment": False,
            "inspection": {},
        }
    ).recorded_on_the_spot  # a license is decided
    assert not Item.model_validate(
        {**OLD_ITEM, "kind": "filing", "admits_commitment": False, "inspection": {}}
    ).recorded_on_the_spot  # 10 days to file
