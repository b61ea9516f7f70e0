"""Loading a catalog: a catalog document (JSON) validated as a whole into a `Catalog`, the
document's JSON Schema, and the catalog versions shipped in `domain/data/`.

A catalog document lists items, bundles and halls as *lists* so that duplicate codes can be
seen and reported; `validate_catalog` turns it into a `Catalog`, whose lookups are dicts
keyed by code. Pure code: importable inside the Temporal workflow sandbox. The only I/O is
`load_shipped_catalog` (and `load_seed_catalog`), which read the JSON shipped in
`domain/data/`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from domain.catalog import CORRECTION_DAYS, Catalog
from domain.catalog_checks import (
    check_bundle,
    check_fields,
    check_hall,
    check_item,
    check_material_names,
)
from domain.catalog_models import Bundle, CatalogError, Frozen, Hall, Item

_M = TypeVar("_M", bound=BaseModel)


def _pydantic_problems(prefix: str, err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        out.append(f"{prefix}{'.' + loc if loc else ''}: {e['msg']}")
    return out


def _label(raw: object, index: int) -> str:
    code = raw.get("code") if isinstance(raw, Mapping) else None
    return f"[{index}] {code!r}" if code else f"[{index}]"


def validate_catalog(data: Mapping[str, Any] | Catalog) -> Catalog:
    """Validate a catalog document as a whole; raise `CatalogError` listing every problem."""
    if isinstance(data, Catalog):
        data = data.to_document()
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise CatalogError([f"catalog document must be an object, got {type(data).__name__}"])
    known = {"version", "title", "notes", "items", "bundles", "halls", "correction_days"}
    unknown = set(data) - known - {"$schema"}
    for key in sorted(unknown):
        problems.append(f"unknown top-level key {key!r}")
    correction_days = data.get("correction_days", CORRECTION_DAYS)
    if type(correction_days) is not int or not 1 <= correction_days <= 60:
        problems.append(
            f"correction_days must be a whole number of working days from 1 to 60, "
            f"got {str(correction_days)[:20]!r}"
        )
        correction_days = CORRECTION_DAYS
    version = data.get("version")
    if not isinstance(version, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", version):
        problems.append(f"version must be a non-empty code like '2026.11.1', got {version!r}")
        version = ""

    def parse(kind: str, model: type[_M], key: str) -> dict[str, _M]:
        out: dict[str, _M] = {}
        raw_list = data.get(key, [])
        if not isinstance(raw_list, list):
            problems.append(f"{key} must be a list")
            return out
        for i, raw in enumerate(raw_list):
            try:
                obj = model.model_validate(raw)
            except ValidationError as err:
                problems.extend(_pydantic_problems(f"{kind} {_label(raw, i)}", err))
                if isinstance(raw, Mapping) and isinstance(raw.get("code"), str):
                    broken.add(raw["code"])  # reported already: not "unknown" elsewhere
                continue
            code = str(getattr(obj, "code"))  # noqa: B009 - generic over models
            if code in out:
                problems.append(f"duplicate {kind} code {code!r}")
                continue
            out[code] = obj
        return out

    broken: set[str] = set()
    items = parse("item", Item, "items")
    bundles = parse("bundle", Bundle, "bundles")
    halls = parse("hall", Hall, "halls")
    if not items and not problems:
        problems.append("catalog has no items")
    for item in items.values():
        problems.extend(check_item(item, items))
    problems.extend(check_fields(items.values()))
    problems.extend(check_material_names(items.values()))
    for bundle in bundles.values():
        problems.extend(check_bundle(bundle, items, frozenset(broken)))
    for hall in halls.values():
        problems.extend(check_hall(hall))
    if problems:
        raise CatalogError(problems)
    return Catalog(
        version=str(version),
        title=str(data.get("title", "")),
        notes=tuple(data.get("notes", ())),
        items=items,
        bundles=bundles,
        halls=halls,
        correction_days=correction_days,
    )


class CatalogDocument(Frozen):
    """The shape of a catalog JSON document (what `validate_catalog` reads)."""

    version: str
    title: str = ""
    notes: tuple[str, ...] = ()
    correction_days: int = Field(default=CORRECTION_DAYS, ge=1, le=60)
    items: tuple[Item, ...]
    bundles: tuple[Bundle, ...] = ()
    halls: tuple[Hall, ...] = ()


def catalog_document_schema() -> dict[str, Any]:
    """JSON Schema of a catalog document, for editors and review tools."""
    schema = CatalogDocument.model_json_schema()
    schema["properties"]["$schema"] = {"type": "string"}
    return schema


def parse_catalog_json(text: str | bytes) -> Catalog:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CatalogError([f"not JSON: {err}"]) from None
    return validate_catalog(data)


# Catalog versions ship side by side in domain/data/. SEED_FILE is what a new installation
# loads: 2026.12.1 (procedure revision 2026-12: the check per approval path, the convenience
# store's route), now that the workflows record filings on the spot and inspect per path.
# PREVIOUS_FILE (2026.11.1) stays loadable: a store keeps it for applications pinned to it.
# 2026.12.2 is 2026.12.1 plus the validity and renewal window of the licenses (issue 14).
PREVIOUS_FILE = "catalog.json"  # 2026.11.1
NEXT_FILE = "catalog-2026.12.1.json"
VALIDITY_FILE = "catalog-2026.12.2.json"
# 2026.12.3 is 2026.12.2 plus the pre-packaged food filing's receipt (it produces
# `food_filing`, as the seal filing produces `company_seal`): the filing's written acts.
FILING_RECEIPT_FILE = "catalog-2026.12.3.json"
SEED_FILE = FILING_RECEIPT_FILE


def shipped_catalog_text(file_name: str = SEED_FILE) -> str:
    """The text of a catalog document shipped in `domain/data/`."""
    return resources.files("domain.data").joinpath(file_name).read_text(encoding="utf-8")


@functools.cache
def load_shipped_catalog(file_name: str) -> Catalog:
    """A catalog shipped in `domain/data/` (validated once, then cached)."""
    return parse_catalog_json(shipped_catalog_text(file_name))


def load_seed_catalog() -> Catalog:
    """The catalog a new installation starts from (`SEED_FILE`)."""
    return load_shipped_catalog(SEED_FILE)


def seed_catalog_text() -> str:
    return shipped_catalog_text(SEED_FILE)
