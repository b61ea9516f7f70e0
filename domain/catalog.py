"""Service catalog: items, bundles ("one things") and halls by code, versioned, and the
lookups across them.

Pure code: importable inside the Temporal workflow sandbox. The entries themselves are in
`domain.catalog_models`; reading and validating a catalog document, and the versions
shipped in `domain/data/`, in `domain.catalog_loading`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from domain.catalog_models import (
    DEFAULT_REGION_CODE,
    Bundle,
    CatalogError,
    Frozen,
    Hall,
    Item,
    MaterialRequirement,
)

# How long an application waits for the applicant's correction (补正) before it lapses, in
# working days, when a catalog does not say: a local choice (the law sets no period).
CORRECTION_DAYS = 20


class UnknownCodeError(CatalogError, KeyError):
    """Lookup of an item, bundle or hall code the catalog does not have."""

    def __init__(self, kind: str, code: str, version: str) -> None:
        self.kind = kind
        self.code = code
        super().__init__(
            [f"unknown {kind} code {code!r} in catalog version {version!r}"],
            title="lookup failed",
        )

    def __str__(self) -> str:  # KeyError would repr() the message otherwise
        return self.problems[0]


class Catalog(Frozen):
    version: str
    title: str = ""
    items: dict[str, Item]
    # A pydantic model (through Frozen) copies these defaults per instance.
    bundles: dict[str, Bundle] = {}  # noqa: RUF012
    halls: dict[str, Hall] = {}  # noqa: RUF012
    notes: tuple[str, ...] = ()
    # Working days an application waits for the applicant's correction (补正) before it
    # lapses; the law sets no period, so it is a local choice the catalog states.
    correction_days: int = Field(default=CORRECTION_DAYS, ge=1, le=60)

    def item(self, code: str) -> Item:
        try:
            return self.items[code]
        except KeyError:
            raise UnknownCodeError("item", code, self.version) from None

    def bundle(self, code: str) -> Bundle:
        try:
            return self.bundles[code]
        except KeyError:
            raise UnknownCodeError("bundle", code, self.version) from None

    def hall(self, code: str) -> Hall:
        try:
            return self.halls[code]
        except KeyError:
            raise UnknownCodeError("hall", code, self.version) from None

    def bundles_with(self, item_code: str) -> list[Bundle]:
        """The bundles an item is part of (catalog order)."""
        return [b for b in self.bundles.values() if item_code in b.item_codes]

    def bundle_items(self, code: str) -> list[Item]:
        """The bundle's items in DAG order: every item after the ones it depends on."""
        return [self.item(c) for c in self.bundle(code).order()]

    def producer_in_bundle(self, bundle_code: str, item_code: str, material_code: str) -> str:
        """The member of the bundle that produces `material_code` for `item_code`.

        The material names one producing item; inside a bundle any earlier member
        producing the same license kind stands in for it (a company's business
        license serves where an individual business's is named).
        """
        bundle = self.bundle(bundle_code)
        material = self.item(item_code).material(material_code)
        found = resolve_producer(self.items, bundle, item_code, material)
        if found is None:
            raise CatalogError(
                [f"bundle {bundle_code!r}: no earlier member produces {material_code!r}"],
                title="lookup failed",
            )
        return found

    def to_document(self) -> dict[str, Any]:
        """The catalog as a JSON-ready document (lists), the input of `validate_catalog`."""
        doc: dict[str, Any] = {
            "version": self.version,
            "title": self.title,
            "notes": list(self.notes),
            "items": [i.model_dump(mode="json") for i in self.items.values()],
            "bundles": [b.model_dump(mode="json") for b in self.bundles.values()],
            "halls": [_hall_document(h) for h in self.halls.values()],
        }
        if self.correction_days != CORRECTION_DAYS:  # an old version's document is unchanged
            doc["correction_days"] = self.correction_days
        return doc


def _hall_document(hall: Hall) -> dict[str, Any]:
    doc = hall.model_dump(mode="json")
    if hall.region_code == DEFAULT_REGION_CODE:  # documents (and digests) from before stay
        del doc["region_code"]
    return doc


def _kind_of(catalog_items: Mapping[str, Item], code: str | None) -> str | None:
    item = catalog_items.get(code) if code else None
    return item.produces if item else None


def resolve_producer(
    items: Mapping[str, Item], bundle: Bundle, item_code: str, material: MaterialRequirement
) -> str | None:
    """The earlier member of `bundle` that produces `material` for `item_code`, if any."""
    ancestors = bundle.ancestors(item_code)
    if material.produced_by in ancestors:
        return material.produced_by
    kind = _kind_of(items, material.produced_by)
    if kind is None:
        return None
    for code in bundle.item_codes:  # member order: deterministic choice
        if code in ancestors and _kind_of(items, code) == kind:
            return code
    return None
