"""Catalog 2026.12.2: licenses carry their validity and renewal window (issue 14).

2026.12.2 is 2026.12.1 plus `validity_years` and `renewal` on the four licenses whose
figures DOMAIN.md gives; 2026.12.1 stays loadable with its digest, and the catalog checks
refuse a window that closes before it opens or a validity on an item that issues nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.catalog_loading import (
    FILING_RECEIPT_FILE,
    NEXT_FILE,
    SEED_FILE,
    VALIDITY_FILE,
    load_seed_catalog,
    load_shipped_catalog,
    shipped_catalog_text,
    validate_catalog,
)
from domain.catalog_models import DEFAULT_RENEWAL, CatalogError, DayUnit
from store.catalog import digest_of

NEW = load_shipped_catalog(VALIDITY_FILE)
OLD = load_shipped_catalog(NEXT_FILE)
WITH_VALIDITY = {
    "food-business-license",
    "public-venue-hygiene-license",
    "nurse-practice-registration",
    "tobacco-retail-license",
}


def test_2026_12_2_follows_2026_12_1_which_keeps_its_document() -> None:
    assert (OLD.version, NEW.version) == ("2026.12.1", "2026.12.2")
    old_text = shipped_catalog_text(NEXT_FILE)
    assert "validity_years" not in old_text and "renewal" not in old_text
    # An old version's canonical document (and so its digest) does not gain the new keys.
    assert "validity_years" not in json.dumps(OLD.to_document())
    assert digest_of(validate_catalog(json.loads(old_text))) == digest_of(OLD)


def test_2026_12_2_is_2026_12_1_plus_validity_only() -> None:
    assert set(NEW.items) == set(OLD.items) and NEW.bundles == OLD.bundles
    assert NEW.halls == OLD.halls and NEW.notes[: len(OLD.notes)] == OLD.notes
    for code, item in NEW.items.items():
        bare = item.model_copy(update={"validity_years": None, "renewal": None})
        assert bare == OLD.items[code], code
    assert {c for c, i in NEW.items.items() if i.validity_years} == WITH_VALIDITY


def test_the_figures_of_domain_md() -> None:
    food = NEW.item("food-business-license")
    assert food.validity_years == 5 and food.renewal_rule is not None
    assert (food.renewal_rule.opens_days_before, food.renewal_rule.closes_days_before) == (90, 15)
    assert food.renewal_rule.unit is DayUnit.WORKING
    hygiene = NEW.item("public-venue-hygiene-license").renewal_rule
    assert NEW.item("public-venue-hygiene-license").validity_years == 4
    assert hygiene is not None and hygiene.closes_days_before == 30
    assert hygiene.unit is DayUnit.CALENDAR
    nurse = NEW.item("nurse-practice-registration")
    assert nurse.validity_years == 5 and nurse.renewal_rule is not None
    assert (nurse.renewal_rule.closes_days_before, nurse.renewal_rule.decision_days) == (30, 20)
    # Tobacco: "up to 5 years", 5 the local choice; its window is Art. 50's default.
    tobacco = NEW.item("tobacco-retail-license")
    assert tobacco.validity_years == 5 and tobacco.renewal is None
    assert tobacco.renewal_rule == DEFAULT_RENEWAL
    assert (DEFAULT_RENEWAL.closes_days_before, DEFAULT_RENEWAL.unit) == (30, DayUnit.CALENDAR)
    assert "第五十条" in DEFAULT_RENEWAL.basis
    # The notes say which figures are law and which local.
    notes = "".join(NEW.notes)
    assert "法定" in notes and "地方选择" in notes and "不超过5年" in notes


def test_items_without_validity_have_no_renewal_rule() -> None:
    assert NEW.item("business-license-individual").renewal_rule is None
    assert OLD.item("food-business-license").renewal_rule is None


def _with_item_changes(code: str, **changes: Any) -> dict[str, Any]:
    doc = json.loads(shipped_catalog_text(VALIDITY_FILE))
    for item in doc["items"]:
        if item["code"] == code:
            item.update(changes)
            for key, value in changes.items():
                if value is None:
                    del item[key]
    return doc


def _problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        validate_catalog(doc)
    return caught.value.problems


def test_a_window_that_closes_before_it_opens_is_refused() -> None:
    doc = _with_item_changes(
        "food-business-license",
        renewal={"opens_days_before": 15, "closes_days_before": 90, "unit": "working"},
    )
    [problem] = _problems(doc)
    assert "'food-business-license'" in problem
    assert "renewal.closes_days_before 90" in problem and "opens_days_before 15" in problem


def test_validity_on_an_item_that_issues_no_license_is_refused() -> None:
    [problem] = _problems(_with_item_changes("outdoor-sign-filing", validity_years=3))
    assert "'outdoor-sign-filing'" in problem and "produces no license" in problem


def test_a_renewal_without_validity_is_refused() -> None:
    doc = _with_item_changes("food-business-license", validity_years=None)
    [problem] = _problems(doc)
    assert "renewal set but the item has no validity_years" in problem


def test_a_window_longer_than_the_validity_is_refused() -> None:
    doc = _with_item_changes(
        "public-venue-hygiene-license",
        validity_years=1,
        renewal={"opens_days_before": 400, "closes_days_before": 30},
    )
    [problem] = _problems(doc)
    assert "reaches back beyond the validity of 1 year(s)" in problem


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"validity_years": 0}, "validity_years"),
        ({"validity_years": "five"}, "validity_years"),
        ({"renewal": {"opens_days_before": 60, "unit": "weeks"}}, "renewal.unit"),
        ({"renewal": {"opens_days_before": 60, "decision_days": 0}}, "renewal.decision_days"),
        ({"renewal": {"opens_days_before": 60, "closes_in": 3}}, "renewal.closes_in"),
    ],
)
def test_bad_fields_are_named(changes: dict[str, Any], field: str) -> None:
    problems = _problems(_with_item_changes("tobacco-retail-license", **changes))
    assert any(f"'tobacco-retail-license'.{field}" in p for p in problems), problems


def test_the_seed_is_2026_12_3_the_food_filing_with_its_receipt() -> None:
    """2026.12.3 is 2026.12.2 plus the pre-packaged food filing's receipt, nothing else."""
    seed = load_seed_catalog()
    assert SEED_FILE == FILING_RECEIPT_FILE and seed.version == "2026.12.3"
    assert seed.item("food-filing-prepackaged").produces == "food_filing"
    assert seed.item("company-seal-filing").produces == "company_seal"  # the same practice
    changed = {c for c, i in seed.items.items() if i != NEW.items[c]}
    assert changed == {"food-filing-prepackaged"} and set(seed.items) == set(NEW.items)
    assert seed.bundles == NEW.bundles and seed.halls == NEW.halls
    assert seed.notes[: len(NEW.notes)] == NEW.notes and "备案凭证" in seed.notes[-1]
