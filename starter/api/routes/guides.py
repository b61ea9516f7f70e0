"""Service guides (数字政务门牌), their QR codes and the halls (public)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse

from domain.catalog_models import Hall
from domain.guide import (
    HallDistance,
    ServiceGuide,
    build_guide,
    guide_url,
    halls_accepting,
    nearest_halls,
    qr_png,
    qr_svg,
    render_guide,
)
from domain.guide_page import render_guide_page
from starter.api.deps import CODE_PATTERN, Backend, CatalogCode, CodeFilter, Latitude, Longitude
from starter.errors import ApiError, error_responses


def add_routes(router: APIRouter, backend: Backend, base_url: str) -> None:
    """Guides and halls; `base_url` is where guide links and QR codes point."""
    catalog = backend.catalog

    def guide_code(code: str) -> str:
        if code not in catalog.items and code not in catalog.bundles:
            raise ApiError.field(
                404, "code", f"{code!r} is no item or bundle of catalog {catalog.version}"
            )
        return code

    def near_point(latitude: float | None, longitude: float | None) -> tuple[float, float] | None:
        if (latitude is None) != (longitude is None):
            missing = "longitude" if longitude is None else "latitude"
            raise ApiError.field(422, missing, "give latitude and longitude together")
        return None if latitude is None or longitude is None else (latitude, longitude)

    @router.get(
        "/guides/{code}",
        tags=["guides"],
        response_model=ServiceGuide,
        summary="The service guide of an item or bundle (public; what the QR code opens)",
        description=(
            "With latitude and longitude, halls come nearest first with distances. A browser "
            "(`Accept: text/html`, as after scanning the QR code) gets a printable page."
        ),
        responses={
            200: {"content": {"text/html": {"schema": {"type": "string"}}}},
            **error_responses(404, 422),
        },
    )
    async def get_guide(
        request: Request,
        code: CatalogCode,
        latitude: Latitude = None,
        longitude: Longitude = None,
        hall: Annotated[
            str | None, Query(pattern=CODE_PATTERN, description="The doorplate's hall.")
        ] = None,
    ) -> Any:
        # A printed doorplate must keep working: a hall the catalog no longer has is left
        # out, not an error. Without a location, distances count from the doorplate's hall.
        here = catalog.halls.get(hall) if hall else None
        point = near_point(latitude, longitude)
        doorplate = (here.latitude, here.longitude) if here else None
        guide = build_guide(catalog, guide_code(code), base_url=base_url, near=point or doorplate)
        if "text/html" in request.headers.get("accept", ""):
            page = render_guide_page(
                guide, catalog, here=here.code if here else None, located=point is not None
            )
            return HTMLResponse(page)
        return guide

    @router.get(
        "/guides/{code}/text",
        tags=["guides"],
        response_class=PlainTextResponse,
        summary="The service guide as printable text (Chinese)",
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            **error_responses(404, 422, explicit=True),
        },
    )
    async def get_guide_text(code: CatalogCode) -> PlainTextResponse:
        guide = build_guide(catalog, guide_code(code), base_url=base_url)
        return PlainTextResponse(render_guide(guide))

    @router.get(
        "/guides/{code}/qr.svg",
        tags=["guides"],
        response_class=Response,
        summary="QR code (SVG) that opens the guide",
        responses={
            200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}},
            **error_responses(404, 422, explicit=True),
        },
    )
    async def get_qr_svg(code: CatalogCode) -> Response:
        return Response(qr_svg(guide_url(guide_code(code), base_url)), media_type="image/svg+xml")

    @router.get(
        "/guides/{code}/qr.png",
        tags=["guides"],
        response_class=Response,
        summary="QR code (PNG) that opens the guide",
        responses={
            200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
            **error_responses(404, 422, explicit=True),
        },
    )
    async def get_qr_png(code: CatalogCode) -> Response:
        return Response(qr_png(guide_url(guide_code(code), base_url)), media_type="image/png")

    @router.get(
        "/halls",
        tags=["guides"],
        response_model=list[HallDistance] | list[Hall],
        summary="Halls; nearest first with a point; only those accepting `code` with a code",
        responses=error_responses(404, 422),
    )
    async def list_halls(
        latitude: Latitude = None,
        longitude: Longitude = None,
        code: CodeFilter = None,
    ) -> Any:
        point = near_point(latitude, longitude)
        if code is not None:
            guide_code(code)
        if point is None:
            if code is None:
                return list(catalog.halls.values())
            return halls_accepting(catalog, code)
        return nearest_halls(catalog, point[0], point[1], code)
