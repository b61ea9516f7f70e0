"""Activities of the catalog: pin the version an application is handled under."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.catalog import Bundle, Catalog, CatalogError, Item, load_seed_catalog


class PinCatalog(BaseModel):
    item_code: str | None
    bundle_code: str | None
    version: str | None  # None: the current version


class CatalogSnapshot(BaseModel):
    """The items of one application as the pinned catalog version defines them."""

    model_config = ConfigDict(frozen=True)

    version: str
    items: list[Item]  # in an order where every item follows the ones it depends on
    bundle: Bundle | None = None


def snapshot_of(catalog: Catalog, request: PinCatalog) -> CatalogSnapshot:
    if request.bundle_code is not None:
        bundle = catalog.bundle(request.bundle_code)
        return CatalogSnapshot(
            version=catalog.version, items=catalog.bundle_items(bundle.code), bundle=bundle
        )
    assert request.item_code is not None
    return CatalogSnapshot(version=catalog.version, items=[catalog.item(request.item_code)])


class CatalogActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def current(self, version: str | None) -> Catalog:
        return load_seed_catalog()

    @activity.defn(name="pin_catalog")
    def pin_catalog(self, request: PinCatalog) -> CatalogSnapshot:
        try:
            return snapshot_of(self.current(request.version), request)
        except CatalogError as exc:
            # An unknown code will not become known by retrying.
            raise ApplicationError(str(exc), type="CatalogError", non_retryable=True) from exc
