"""The KPI report and the reform figures measured, from the read model (`starter.kpis`);
the catalog's own reports are `routes.reports`'.

Who may read them (roles from `starter.auth`): supervisors and auditors every department;
a department's head their own department only (the filter is set to it; another is 403).
`POST /reports/refresh` (project the applications' histories into the read model):
supervisors and operators. `format=csv|xlsx` answers the file a reform office files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy import Engine
from temporalio.client import Client

from domain.calendar import WorkingCalendar
from domain.catalog import Catalog
from domain.people import Role
from onething.case_facts import refresh
from starter.api.deps import (
    AsOf,
    Caller,
    CodeFilter,
    DepartmentFilter,
    FirstDay,
    LastDay,
    check_period,
)
from starter.auth import Principal, forbid
from starter.errors import ApiError, error_responses
from starter.kpi_export import kpi_csv, kpi_xlsx, reform_csv
from starter.kpis import KpiReport, ReformReport, kpi_report, reform_report

__all__ = ["RefreshBody", "RefreshOut", "add_routes"]

READERS = frozenset({Role.SUPERVISOR, Role.AUDITOR, Role.DEPARTMENT_HEAD})
REFRESHERS = frozenset({Role.SUPERVISOR, Role.OPERATOR})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Format = Literal["json", "csv", "xlsx"]


def _iso_text(value: object) -> object:
    """An instant is written as ISO 8601 text; a number (a Unix time) is refused."""
    if value is not None and not isinstance(value, str):
        raise ValueError("must be ISO 8601 text with an offset, e.g. 2026-12-01T00:00:00+08:00")
    return value


class RefreshBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application_ids: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]] | (
        None
    ) = Field(None, max_length=1000, description="Only these; default every application.")
    since: Annotated[AwareDatetime, BeforeValidator(_iso_text)] | None = Field(
        None, description="ISO 8601 with offset: only applications running or closed since."
    )


class RefreshOut(BaseModel):
    read: int
    written: int = Field(description="Cases whose rows changed.")
    unchanged: int
    failed: dict[str, str]


def _department_scope(principal: Principal, department: str | None) -> str | None:
    if principal.role not in READERS:
        raise forbid(principal, "the KPIs are for supervisors, department heads and auditors")
    if principal.role is Role.DEPARTMENT_HEAD:
        if department is not None and department != principal.department:
            raise forbid(principal, "a department head reads their own department's KPIs")
        return principal.department
    return department


def _file(body: str | bytes, media: str, name: str) -> Response:
    return Response(
        content=body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def add_routes(
    router: APIRouter,
    engine: Engine,
    catalog: Callable[[], Catalog],
    temporal: Client,
    calendar: WorkingCalendar | None = None,
) -> None:
    """Mount `GET /reports/kpis`, `GET /reports/reform` and `POST /reports/refresh`."""
    working = calendar or WorkingCalendar.from_file()

    @router.get(
        "/reports/kpis",
        tags=["reports"],
        response_model=KpiReport,
        summary="KPIs: on-time rate, working days, overdue, escalations, trips, materials",
        description=(
            "Cases received from `since` to `until` (Beijing days, both included) at `hall`, "
            "of `bundle`, with an item of `department` or `item_code`; per hall, department, "
            "item and bundle. 按时办结率 against the promised and the statutory limit; actual "
            "working days p50/p90 (acceptance to decision, less paused time) beside the "
            "limits; pledges, commitment inspections, ratings. `format=csv|xlsx` for the "
            "file. Supervisors and auditors; a department head their department."
        ),
        responses=error_responses(401, 403, 422),
    )
    async def get_kpis(
        principal: Caller,
        since: FirstDay = None,
        until: LastDay = None,
        hall: CodeFilter = None,
        department: DepartmentFilter = None,
        item_code: CodeFilter = None,
        bundle: CodeFilter = None,
        as_of: AsOf = None,
        format: Annotated[Format, Query(description="json, csv or xlsx.")] = "json",
    ) -> Any:
        department = _department_scope(principal, department)
        check_period(since, until, as_of)

        def build() -> tuple[KpiReport, ReformReport | None]:
            report = kpi_report(
                engine,
                since=since,
                until=until,
                hall=hall,
                department=department,
                item_code=item_code,
                bundle=bundle,
                as_of=as_of,
            )
            reform = None
            if format == "xlsx":
                reform = reform_report(engine, catalog(), since=since, until=until, hall=hall)
            return report, reform

        report, reform = await run_in_threadpool(build)
        if format == "csv":
            return _file(kpi_csv(report), "text/csv; charset=utf-8", "kpis.csv")
        if format == "xlsx":
            return _file(kpi_xlsx(report, reform), XLSX, "kpis.xlsx")
        return report

    @router.get(
        "/reports/reform",
        tags=["reports"],
        response_model=ReformReport,
        summary="The reform figures measured: bundles' cases against the item-by-item baseline",
        description=(
            "Per bundle, its completed cases (time, steps, trips, materials) against the "
            "catalog's per-item figures, beside the bundle's declared figures and the story's; "
            "each row says what it compares. Supervisors, department heads and auditors."
        ),
        responses=error_responses(401, 403, 422),
    )
    async def get_reform(
        principal: Caller,
        since: FirstDay = None,
        until: LastDay = None,
        hall: CodeFilter = None,
        format: Annotated[Literal["json", "csv"], Query(description="json or csv.")] = "json",
    ) -> Any:
        _department_scope(principal, None)
        check_period(since, until)
        reform = await run_in_threadpool(
            lambda: reform_report(engine, catalog(), since=since, until=until, hall=hall)
        )
        if format == "csv":
            return _file(reform_csv(reform), "text/csv; charset=utf-8", "reform.csv")
        return reform

    @router.post(
        "/reports/refresh",
        tags=["reports"],
        response_model=RefreshOut,
        summary="Project the applications' histories into the KPI read model",
        description=(
            "Reads the histories of the given applications (default: every one the server "
            "lists, or those running or closed since `since`) and writes what changed; an "
            "unchanged history writes nothing. Supervisors and operators."
        ),
        responses=error_responses(401, 403, 422),
    )
    async def post_refresh(principal: Caller, body: RefreshBody | None = None) -> RefreshOut:
        if principal.role not in REFRESHERS:
            raise forbid(principal, "refreshing the KPIs is for supervisors and operators")
        given = body or RefreshBody()
        if given.since is not None and given.since.tzinfo is None:
            raise ApiError(422, "since needs an offset", fields=[("since", "needs an offset")])
        done = await refresh(
            temporal,
            engine,
            working,
            application_ids=given.application_ids,
            since=given.since,
        )
        return RefreshOut(
            read=done.read, written=done.written, unchanged=done.unchanged, failed=done.failed
        )
