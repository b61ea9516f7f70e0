"""Reports for staff: reductions and coverage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from domain.bundle import ReductionSummary, reductions_report
from domain.guide import CoverageReport, coverage_report
from starter import auth
from starter.api.deps import AUTH_ERRORS, Backend, Caller
from starter.errors import error_responses


def add_routes(router: APIRouter, backend: Backend) -> None:
    """Reductions and coverage, computed from the catalog."""
    catalog = backend.catalog

    @router.get(
        "/reports/reductions",
        tags=["reports"],
        response_model=ReductionSummary,
        summary="What each bundle saves against applying item by item (staff)",
        responses=error_responses(*AUTH_ERRORS),
    )
    async def report_reductions(principal: Caller) -> Any:
        auth.may_read_reports(principal)
        return reductions_report(catalog)

    @router.get(
        "/reports/coverage",
        tags=["reports"],
        response_model=CoverageReport,
        summary="Items accepted at a general window, by department (staff)",
        responses=error_responses(*AUTH_ERRORS),
    )
    async def report_coverage(principal: Caller) -> Any:
        auth.may_read_reports(principal)
        return coverage_report(catalog)
