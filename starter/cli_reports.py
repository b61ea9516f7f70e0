"""`onething report kpis|reform|refresh`: the KPIs and the reform figures measured, from
the read model of what happened per case (`onething.case_facts`); `refresh` projects the
applications' histories into it (run it from cron, or before a report)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from starter.cli_common import emit, fail, settings_or_exit, store
from starter.kpi_export import kpi_csv, kpi_xlsx, reform_csv
from starter.kpis import Figures, KpiReport, ReformReport, kpi_report, reform_report

Day = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="A Beijing day.")]


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f}%"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def kpis_text(report: KpiReport) -> str:
    """A Chinese table per group (Beijing time), as supervisors read it."""
    from domain.notices import local_time

    lines = [f"办件指标 (统计截至 {local_time(report.as_of)})", ""]
    head = (
        "| 范围 | 办件 | 受理 | 按时办结率(承诺) | 按时办结率(法定) | 实际工作日 P50/P90 | "
        "承诺/法定(平均) | 当前逾期 | 督办 一级/二级 | 件均跑动 | 件均材料 |"
    )
    lines += [head, "|---|" + "---:|" * 10]

    def row(name: str, f: Figures) -> str:
        return (
            f"| {name} | {f.cases} | {f.accepted} | {_percent(f.on_time_promised)} | "
            f"{_percent(f.on_time_statutory)} | {_num(f.working_days_p50)}/"
            f"{_num(f.working_days_p90)} | {_num(f.promised_days_mean)}/"
            f"{_num(f.statutory_days_mean)} | {f.overdue_now} | {f.escalations_stage_1}/"
            f"{f.escalations_stage_2} | {_num(f.trips_per_case)} | {_num(f.materials_per_case)} |"
        )

    lines.append(row("合计", report.figures))
    for label, groups in (
        ("大厅", report.by_hall),
        ("部门", report.by_department),
        ("事项", report.by_item),
        ("一件事", report.by_bundle),
    ):
        lines += [row(f"{label} {name}", f) for name, f in groups.items()]
    f = report.figures
    lines += [
        "",
        f"容缺: 按时补齐 {f.pledges_kept}, 逾期未补 {f.pledges_broken}, 待补 {f.pledges_open}; "
        f"告知承诺事项 {f.commitment_items}: 核查通过 {f.inspections_passed}, "
        f"不通过 {f.inspections_failed}, 虚假承诺 {f.false_commitments}, 撤销 {f.revoked}",
        f"好差评: 评价 {report.ratings.ratings}, 好评率 {_percent(report.ratings.good_rate)}, "
        f"差评 {report.ratings.bad}, 差评整改率 {_percent(report.ratings.rectification_rate)}",
    ]
    return "\n".join(lines)


def reform_text(reform: ReformReport) -> str:
    lines = [
        "| 一件事 | 办结 | 指标 | 逐项基线 | 实测 | 实测变化 | 目录声明 | 声明变化 | 报道 |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {"time": "时间(工作日)", "steps": "环节", "trips": "跑动", "materials": "材料"}
    for b in reform.bundles:
        for r in b.rows:
            measured = "—" if r.measured_percent is None else f"{r.measured_percent:+.1f}%"
            lines.append(
                f"| {b.name} | {b.cases} | {labels[r.measure]} | {r.baseline:g} | "
                f"{_num(r.measured)} | {measured} | {r.declared:g} | "
                f"{r.declared_percent:+.1f}% | {r.story_percent:+.1f}% |"
            )
    lines += ["", f"目录承诺时限较法定时限: {reform.promised_vs_statutory_percent:+.1f}%"]
    lines += [f"- {note}" for note in reform.notes]
    return "\n".join(lines)


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def report_period(
    since: datetime | None, until: datetime | None, as_of: str | None
) -> tuple[date | None, date | None, datetime | None]:
    """A report's first and last Beijing day and its `as_of` instant, checked; a bad one
    stops the command with one line naming the option. Shared by the KPI and ratings reports."""
    first, last = _day(since), _day(until)
    if first and last and last < first:
        raise fail("until: is before since")
    at: datetime | None = None
    if as_of is not None:
        try:
            at = datetime.fromisoformat(as_of)
        except ValueError:
            raise fail("as_of: not an ISO 8601 instant (e.g. 2026-12-31T17:30:00+08:00)") from None
        if at.tzinfo is None:
            raise fail("as_of: must carry its offset (e.g. +08:00)")
    return first, last, at


def report_kpis(
    since: Day = None,
    until: Day = None,
    hall: Annotated[str | None, typer.Option(help="A hall's code.")] = None,
    department: Annotated[str | None, typer.Option(help="A department's code.")] = None,
    item: Annotated[str | None, typer.Option(help="An item's code.")] = None,
    bundle: Annotated[str | None, typer.Option(help="A bundle's code.")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="ISO 8601 with offset: when overdue is judged.")
    ] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write CSV here.")] = None,
    xlsx_file: Annotated[
        Path | None, typer.Option("--xlsx", help="Write Excel (.xlsx, with the reform) here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
) -> None:
    """KPIs per hall, department, item and bundle: on-time rate, working days, overdue,
    escalations, trips, materials, pledges, inspections, ratings."""
    from activities.catalog import current_catalog

    first, last, at = report_period(since, until, as_of)
    with store() as engine:
        report = kpi_report(
            engine,
            since=first,
            until=last,
            hall=hall,
            department=department,
            item_code=item,
            bundle=bundle,
            as_of=at,
        )
        reform = reform_report(engine, current_catalog(engine), since=first, until=last)
    if csv_file is not None:
        csv_file.write_text(kpi_csv(report), "utf-8")
    if xlsx_file is not None:
        xlsx_file.write_bytes(kpi_xlsx(report, reform))
    if as_json:
        emit(report, True)
    elif csv_file is None and xlsx_file is None:
        typer.echo(kpis_text(report))


def report_reform(
    since: Day = None,
    until: Day = None,
    hall: Annotated[str | None, typer.Option(help="A hall's code.")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write CSV here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
) -> None:
    """The reform figures measured: each bundle's cases against the item-by-item baseline,
    beside the declared figures and the story's."""
    from activities.catalog import current_catalog

    with store() as engine:
        reform = reform_report(
            engine, current_catalog(engine), since=_day(since), until=_day(until), hall=hall
        )
    if csv_file is not None:
        csv_file.write_text(reform_csv(reform), "utf-8")
    if as_json:
        emit(reform, True)
    elif csv_file is None:
        typer.echo(reform_text(reform))


def report_refresh(
    application: Annotated[
        list[str] | None, typer.Option(help="Only this application (repeatable).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="ISO 8601: only applications running or closed since then."),
    ] = None,
) -> None:
    """Project the applications' histories into the KPI read model (unchanged: skipped)."""
    from domain.calendar import WorkingCalendar
    from onething.case_facts import refresh
    from onething.runtime import open_codec
    from onething.temporal import connect

    settings = settings_or_exit()
    after = None
    if since is not None:
        try:
            after = datetime.fromisoformat(since)
        except ValueError:
            raise fail("since: not an ISO 8601 instant") from None
        if after.tzinfo is None:
            raise fail("since: must carry its offset (e.g. +08:00)")

    async def go() -> str:
        with store() as engine:
            client = await connect(settings, open_codec(settings))
            done = await refresh(
                client,
                engine,
                WorkingCalendar.from_file(settings.calendar_overrides),
                application_ids=application,
                since=after,
            )
        failed = "".join(f"\n  {a}: {why}" for a, why in done.failed.items())
        return f"read {done.read}, written {done.written}, unchanged {done.unchanged}" + (
            f", failed {len(done.failed)}:{failed}" if failed else ""
        )

    typer.echo(asyncio.run(go()))


def register(app: typer.Typer) -> None:
    """Mount `kpis`, `reform` and `refresh` under `report`."""
    from starter.cli_catalog import report_app

    report_app.command("kpis")(report_kpis)
    report_app.command("reform")(report_reform)
    report_app.command("refresh")(report_refresh)
