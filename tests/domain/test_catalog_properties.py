"""Properties of validation, and the catalog's models as Temporal payloads."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.acceptance import Acceptance, assess
from domain.bundle import (
    MaterialSet,
    ReductionSummary,
    one_set_of_materials,
    reductions_report,
)
from domain.catalog import Catalog
from domain.catalog_loading import load_seed_catalog, validate_catalog
from domain.catalog_models import CatalogError
from domain.guide import ServiceGuide, build_guide
from tests.support.catalog_docs import catalogs


@settings(max_examples=100, deadline=None)
@given(catalogs(), st.data())
def test_prop_every_injected_fault_is_reported(doc: dict[str, Any], data: st.DataObject) -> None:
    """Break k distinct items (promised above statutory): all k problems come back at once."""
    broken = copy.deepcopy(doc)
    n = len(broken["items"])
    chosen = data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n))
    for i in chosen:
        it = broken["items"][i]
        it["statutory_days"] = it["promised_days"]
        it["promised_days"] += 1
        if it["admits_deficiency"]:
            it["supplement_days"] = 1
        # keep the bundle's own promise valid: it may not exceed the items' sum
    with pytest.raises(CatalogError) as info:
        validate_catalog(broken)
    about = [p for p in info.value.problems if "exceeds statutory_days" in p]
    assert sorted(about) == sorted(
        f"item 'i{i}': promised_days {broken['items'][i]['promised_days']} exceeds "
        f"statutory_days {broken['items'][i]['statutory_days']}"
        for i in chosen
    )
    assert len(info.value.problems) == len(chosen)


@settings(max_examples=50, deadline=None)
@given(catalogs(), st.sampled_from(["items", "bundles"]))
def test_prop_duplicated_entry_is_named(doc: dict[str, Any], key: str) -> None:
    broken = copy.deepcopy(doc)
    broken[key].append(copy.deepcopy(broken[key][0]))
    kind = key[:-1]
    with pytest.raises(CatalogError) as info:
        validate_catalog(broken)
    assert info.value.problems == [f"duplicate {kind} code {broken[key][0]['code']!r}"]


async def _round_trip(value: Any, kind: type) -> Any:
    conv = pydantic_data_converter
    payloads = await conv.encode([value])
    (back,) = await conv.decode(payloads, [kind])
    return back


async def test_models_survive_the_temporal_pydantic_converter() -> None:
    seed = load_seed_catalog()
    store = seed.bundle("open-convenience-store")
    samples: list[tuple[Any, type]] = [
        (seed, Catalog),
        (one_set_of_materials(seed, store), MaterialSet),
        (reductions_report(seed), ReductionSummary),
        (
            assess(
                one_set_of_materials(seed, store), [], pledge_signed=True, deficiency_allowed=True
            ),
            Acceptance,
        ),
        (build_guide(seed, store.code, near=(31.7, 112.2)), ServiceGuide),
    ]
    for value, kind in samples:
        assert await _round_trip(value, kind) == value
