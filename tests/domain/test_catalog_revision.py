"""Catalog 2026.12.1: the procedure the law prescribes, stated item by item.

Each item's on-site check per approval path, the Art. 42 extension cap, the correction
period, and the 15-minute convenience store's route (business registration on the spot, the
pre-packaged food filing on the spot, tobacco retail on commitment with a later site check,
a local choice). Shipped beside 2026.11.1 (`NEXT_FILE`); every code of 2026.11.1 stays.
"""

from __future__ import annotations

import json

import pytest

from domain.acceptance import AcceptanceVerdict, assess
from domain.bundle import BUNDLE_FORM_CODE, critical_path, one_set_of_materials, reductions
from domain.catalog import Catalog
from domain.catalog_diff import diff_catalogs
from domain.catalog_loading import (
    NEXT_FILE,
    load_shipped_catalog,
    shipped_catalog_text,
    validate_catalog,
)
from domain.catalog_models import EXTENSION_DAYS, InspectionTiming, ItemKind

OLD = load_shipped_catalog("catalog.json")  # 2026.11.1, pinned by running applications
NEW = load_shipped_catalog(NEXT_FILE)
NONE, BEFORE, AFTER = (
    InspectionTiming.NONE,
    InspectionTiming.BEFORE_ISSUANCE,
    InspectionTiming.AFTER_ISSUANCE,
)
STORE = "open-convenience-store"


def test_a_new_version_beside_the_old() -> None:
    assert (OLD.version, NEW.version) == ("2026.11.1", "2026.12.1")
    assert validate_catalog(NEW.to_document()) == NEW
    assert NEW.correction_days == 20


@pytest.mark.parametrize("cat", [OLD, NEW], ids=lambda c: c.version)
def test_every_bundle_promises_its_critical_path(cat: Catalog) -> None:
    """No published overall limit: a bundle promises the longest chain of its members."""
    for bundle in cat.bundles.values():
        assert bundle.promised_days == critical_path(cat, bundle)[0], bundle.code


def test_every_code_stays() -> None:
    assert set(OLD.items) == set(NEW.items)
    assert set(OLD.bundles) == set(NEW.bundles) and set(OLD.halls) == set(NEW.halls)
    for code, old in OLD.items.items():
        assert [m.code for m in NEW.item(code).materials] == [m.code for m in old.materials]
        assert [f.key for f in NEW.item(code).form_fields] == [f.key for f in old.form_fields]
    diff = diff_catalogs(OLD, NEW)
    assert not (diff.items.added or diff.items.removed or diff.bundles.added)


# --------------------------------------------------------------------------- checks per path


def test_every_item_states_its_check_per_path() -> None:
    for item in NEW.items.values():
        rule = item.inspection
        assert rule.on_review is not None, item.code
        assert (rule.on_commitment is not None) is item.admits_commitment, item.code


@pytest.mark.parametrize("code", sorted(load_shipped_catalog(NEXT_FILE).items))
def test_without_a_commitment_no_license_before_its_check(code: str) -> None:
    """The law: after issuance only on the commitment path."""
    item = NEW.item(code)
    assert item.inspection.for_path("review") is not AFTER
    if item.inspection.for_path("commitment") is AFTER:
        assert item.admits_commitment


@pytest.mark.parametrize(
    ("code", "review_days", "commitment_days"),
    [
        ("fire-safety-check", 5, 20),  # 消防法 Art. 15: checked within the 10 days on review
        ("public-venue-hygiene-license", 10, 20),  # site review before; ~1 month after
        ("food-business-license", 5, 30),  # local rule (Wusu 2019): 30 working days after
        ("tobacco-retail-license", 10, 10),  # a local choice on commitment
    ],
)
def test_checked_before_the_decision_on_review_after_issuance_on_commitment(
    code: str, review_days: int, commitment_days: int
) -> None:
    item = NEW.item(code)
    rule = item.inspection
    assert item.admits_commitment
    assert (rule.for_path("review"), rule.for_path("commitment")) == (BEFORE, AFTER)
    assert rule.within_days_for("review") == review_days
    assert rule.within_days_for("commitment") == commitment_days
    # the review and the check before the decision fit in the statutory limit
    assert item.promised_days + review_days <= item.statutory_days


def test_an_item_without_commitment_is_checked_before() -> None:
    item = NEW.item("construction-fire-acceptance")
    assert not item.admits_commitment
    assert item.inspection.for_path("review") is BEFORE


def test_items_without_a_check_say_so() -> None:
    for code in ("business-license-individual", "nurse-practice-registration"):
        assert NEW.item(code).inspection.for_path("review") is NONE


# --------------------------------------------------------------------------- extension, notes


def test_extension_cap_market_entity_registration_three_others_ten() -> None:
    registrations = {"business-license-individual", "company-registration"}
    for item in NEW.items.values():
        expected = 3 if item.code in registrations else EXTENSION_DAYS
        assert item.extension_days == expected, item.code


@pytest.mark.parametrize(
    "words",
    [
        "烟草专卖零售许可证可选告知承诺",  # tobacco on commitment
        "非全国统一规定",  # ...is said to be local
        "补正期限为地方选择",  # the correction period
        "第四十五条",  # correction is no excluded time
        "即办",  # business registration on the spot
        "当场备案",  # the food filing on the spot
    ],
)
def test_the_notes_say_what_is_local(words: str) -> None:
    assert any(words in note for note in NEW.notes), words


def test_tobacco_says_its_commitment_is_a_local_choice() -> None:
    assert "地方选择" in NEW.item("tobacco-retail-license").source_note


# --------------------------------------------------------------------------- the 15-minute store


def test_convenience_store_route() -> None:
    store = NEW.bundle(STORE)
    assert store.item_codes == (
        "business-license-individual",
        "food-filing-prepackaged",
        "tobacco-retail-license",
    )
    assert store.member("food-filing-prepackaged").depends_on == ("business-license-individual",)
    registration = NEW.item("business-license-individual")
    assert registration.promised_days == 0 and registration.statutory_days == 3
    filing = NEW.item("food-filing-prepackaged")
    assert filing.kind is ItemKind.FILING and filing.recorded_on_the_spot
    # the license for other food stays an item of its own, and in the other bundles
    assert "food-business-license" not in store.item_codes
    assert {b.code for b in NEW.bundles_with("food-business-license")} == {
        "open-supermarket",
        "open-beverage-shop",
        "open-restaurant",
    }


def test_the_store_can_be_licensed_at_once_on_commitment() -> None:
    """Every member is on the spot, or may be issued on commitment with its check after."""
    for item in NEW.bundle_items(STORE):
        at_once = item.promised_days == 0 and item.inspection.for_path("review") is NONE
        on_trust = item.admits_commitment and item.inspection.for_path("commitment") is not BEFORE
        assert at_once or on_trust, item.code


def test_the_store_brings_one_form_id_premises() -> None:
    """By hand: the registration asks form, ID, premises (+ agent); the filing its form and the
    business license; tobacco its form, ID, business license, premises (+ agent). One form
    replaces three, the business license comes from the registration."""
    mats = one_set_of_materials(NEW, NEW.bundle(STORE))
    assert [m.code for m in mats.to_bring] == [
        BUNDLE_FORM_CODE,
        "operator-id",
        "premises-proof",
        "agent-authorization",
    ]
    assert [(p.code, p.produced_by) for p in mats.provided] == [
        ("business-license", "business-license-individual")
    ]
    assert mats.one_by_one == 4 + 2 + 5
    red = reductions(NEW, NEW.bundle(STORE))
    assert red.row("materials").bundle == len(mats.to_bring)
    assert red.critical_path == ("business-license-individual", "tobacco-retail-license")
    complete = assess(
        mats,
        ["operator-id", "premises-proof", BUNDLE_FORM_CODE],
        pledge_signed=False,
        deficiency_allowed=False,
    )
    assert complete.verdict is AcceptanceVerdict.ACCEPTED


def test_the_document_ships_as_written() -> None:
    assert validate_catalog(json.loads(shipped_catalog_text(NEXT_FILE))) == NEW
