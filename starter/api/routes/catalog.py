"""The catalog (public): items and bundles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from domain.bundle import one_form, one_set_of_materials, reductions
from domain.catalog_models import Item, Window
from starter.api.deps import Backend, BundleCode, ItemCode, Limit, Offset, catalog_item
from starter.api.schemas import BundleDetail, BundleSummary, ItemSummary, Page, page_of
from starter.errors import ApiError, error_responses


def add_routes(router: APIRouter, backend: Backend) -> None:
    """The catalog's items and bundles, paged."""
    catalog = backend.catalog

    @router.get(
        "/catalog/items",
        tags=["catalog"],
        response_model=Page[ItemSummary],
        summary="Service items of the catalog, paged (public)",
        responses=error_responses(422),
    )
    async def list_items(
        limit: Limit = 50,
        offset: Offset = 0,
        department: Annotated[str | None, Query(max_length=64)] = None,
        window: Annotated[Window | None, Query()] = None,
    ) -> Any:
        rows = [
            i
            for i in catalog.items.values()
            if (department is None or i.department == department)
            and (window is None or i.window is window)
        ]
        return page_of(
            [ItemSummary.model_validate(i, from_attributes=True) for i in rows][
                offset : offset + limit
            ],
            len(rows),
            limit,
            offset,
        )

    @router.get(
        "/catalog/items/{item_code}",
        tags=["catalog"],
        response_model=Item,
        summary="One service item: limits, materials, form fields, rules (public)",
        responses=error_responses(404, 422),
    )
    async def get_catalog_item(item_code: ItemCode) -> Any:
        return catalog_item(catalog, item_code)

    @router.get(
        "/catalog/bundles",
        tags=["catalog"],
        response_model=Page[BundleSummary],
        summary="Bundles (一件事), paged (public)",
        responses=error_responses(422),
    )
    async def list_bundles(limit: Limit = 50, offset: Offset = 0) -> Any:
        rows = [
            BundleSummary(
                code=b.code, name=b.name, items=list(b.item_codes), promised_days=b.promised_days
            )
            for b in catalog.bundles.values()
        ]
        return page_of(rows[offset : offset + limit], len(rows), limit, offset)

    @router.get(
        "/catalog/bundles/{bundle_code}",
        tags=["catalog"],
        response_model=BundleDetail,
        summary="A bundle with its one form (JSON Schema), one set of materials, reductions",
        responses=error_responses(404, 422),
    )
    async def get_bundle(bundle_code: BundleCode) -> Any:
        bundle = catalog.bundles.get(bundle_code)
        if bundle is None:
            raise ApiError.field(
                404, "bundle_code", f"{bundle_code!r} is not a bundle of catalog {catalog.version}"
            )
        return BundleDetail(
            bundle=bundle,
            catalog_version=catalog.version,
            stages=bundle.stages(),
            form_schema=one_form(catalog, bundle).json_schema(),
            materials=one_set_of_materials(catalog, bundle),
            reductions=reductions(catalog, bundle),
        )
