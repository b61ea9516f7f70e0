"""Activities of the catalog: pin the version an application is handled under."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.store_errors import store_errors
from domain.bundle import MaterialSet, as_bundle, one_set_of_materials
from domain.catalog import Catalog
from domain.catalog_loading import load_seed_catalog
from domain.catalog_models import DEFAULT_REGION_CODE, Bundle, CatalogError, Item
from store import catalog as catalog_store


class PinCatalog(BaseModel):
    target: str  # an item or bundle code
    version: str | None  # None: the current version
    # The accepting hall, for its region code (procedure revision 2026-12); None before.
    hall: str | None = None


class CatalogSnapshot(BaseModel):
    """The application's items as the pinned catalog version defines them, with what the
    catalog derives from them (the one set of materials)."""

    model_config = ConfigDict(frozen=True)

    version: str
    bundle: Bundle  # a one-member bundle for a single item
    items: list[Item]  # every item follows the ones it depends on
    materials: MaterialSet
    # Working days the applicant has for a correction (补正) before the application lapses;
    # snapshots recorded before the revision have none (their workflows refused instead).
    correction_days: int = 0
    # The accepting hall's region code, the head of the case number (办件编号); None when
    # the pin named no hall (before the revision).
    region_code: str | None = None

    def item(self, code: str) -> Item:
        return next(item for item in self.items if item.code == code)


def snapshot_of(catalog: Catalog, target: str, hall: str | None = None) -> CatalogSnapshot:
    bundle = as_bundle(catalog, target)
    region_code = None
    if hall is not None:  # a hall the catalog does not list: the seed's region
        listed = catalog.halls.get(hall)
        region_code = listed.region_code if listed else DEFAULT_REGION_CODE
    return CatalogSnapshot(
        version=catalog.version,
        bundle=bundle,
        items=[catalog.item(code) for code in bundle.order()],
        materials=one_set_of_materials(catalog, bundle),
        correction_days=catalog.correction_days,
        region_code=region_code,
    )


def current_catalog(engine: Engine, version: str | None = None) -> Catalog:
    """The pinned version, or the latest loaded; the shipped seed when the store has none."""
    if version is not None:
        return catalog_store.get_catalog(engine, version)
    latest = catalog_store.get_latest_catalog(engine)
    if latest is None:
        seed = load_seed_catalog()
        catalog_store.load_catalog(engine, seed)
        return seed
    return latest


class CatalogActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Snapshots derived before, by version, target and hall, with the catalog they came
        # from: a version never changes, and the store hands out one parsed catalog per
        # version (another object: the store was rebuilt, derive afresh).
        self._snapshots: dict[tuple[str, str, str | None], tuple[Catalog, CatalogSnapshot]] = {}

    @activity.defn(name="pin_catalog")
    @store_errors
    def pin_catalog(self, request: PinCatalog) -> CatalogSnapshot:
        try:
            snapshot = self._snapshot(
                current_catalog(self._engine, request.version), request.target, request.hall
            )
        except CatalogError as exc:
            # An unknown code or version will not become known by retrying.
            raise ApplicationError(str(exc), type="CatalogError", non_retryable=True) from exc
        activity.logger.info("catalog pinned", extra={"catalog_version": snapshot.version})
        return snapshot

    def _snapshot(self, catalog: Catalog, target: str, hall: str | None) -> CatalogSnapshot:
        key = (catalog.version, target, hall)
        known = self._snapshots.get(key)
        if known is not None and known[0] is catalog:
            return known[1]
        snapshot = snapshot_of(catalog, target, hall)
        if len(self._snapshots) >= _SNAPSHOTS:  # a bound against arbitrary halls
            self._snapshots.clear()
        self._snapshots[key] = (catalog, snapshot)
        return snapshot


_SNAPSHOTS = 1024
