"""The KPI report and the reform figures over the recorded scenarios (known outcomes), on
SQLite and PostgreSQL; the CSV and .xlsx exports hold the same numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import select

from domain.calendar import WorkingCalendar
from domain.catalog import Catalog
from onething.case_facts import project
from onething.histories import load_histories
from starter.kpi_export import FIGURE_COLUMNS, kpi_csv, kpi_xlsx, reform_csv
from starter.kpis import KpiReport, kpi_report, reform_report
from starter.ratings import report as ratings_report
from store import case_facts as store
from store.db import session
from tests.histories.record import recording_converter
from tests.support.api import HISTORIES, SCENARIOS, project_scenarios

AS_OF = datetime(2027, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
async def projected(store_engine: Engine) -> Engine:
    """Every recorded scenario of today's code projected into an emptied read model."""
    await project_scenarios(store_engine)
    return store_engine


def test_the_scenarios_are_the_eighteen_counted_below() -> None:
    assert len(SCENARIOS) == 18, SCENARIOS


async def test_figures_of_the_recorded_scenarios(projected: Engine) -> None:
    report = kpi_report(projected, as_of=AS_OF)
    assert report.figures.model_dump() == {
        "cases": 18,
        "accepted": 15,  # all but lapsed, refused and refused_by_clerk
        "refused": 2,
        "lapsed": 1,
        "corrected": 4,  # corrected, lapsed, refused, refused_by_clerk
        "open": 0,
        "items": 19,  # the two convenience-store bundles have three items each
        "items_decided": 17,  # cancelled's item and withdrawn's tobacco never were
        "on_time_promised": round(16 / 17, 4),  # review_overdue missed both limits
        "on_time_statutory": round(16 / 17, 4),
        "working_days_p50": 0.0,
        "working_days_p90": 0.0,
        "promised_days_mean": 6.47,
        "statutory_days_mean": 13.29,
        "overdue_now": 0,
        "escalations_stage_1": 3,  # review and statutory (overdue), supplement (lapsed)
        "escalations_stage_2": 1,
        "trips_per_case": round(16 / 15, 2),  # one each, corrected came back once more
        "materials_per_case": 4.53,
        "steps_per_case": round(74 / 15, 2),  # the food filing's receipt is a step (2026.12.3)
        "pledges_kept": 1,  # deficiency_supplemented
        "pledges_broken": 1,  # deficiency_lapsed
        "pledges_open": 0,
        "commitment_items": 5,
        "inspections_passed": 2,
        "inspections_failed": 4,  # failed twice; two false commitments
        "false_commitments": 2,
        "revoked": 4,
    }
    # The ratings are the ratings' own report's figures, for the same selection.
    assert report.ratings == ratings_report(projected, as_of=AS_OF).figures


async def test_groups_and_filters(projected: Engine) -> None:
    report = kpi_report(projected, as_of=AS_OF)
    assert {k: (v.cases, v.items) for k, v in report.by_department.items()} == {
        "health": (9, 9),
        "market": (6, 8),
        "tobacco": (2, 2),
    }
    assert report.by_department["health"].on_time_promised == round(7 / 8, 4)
    assert {k: v.cases for k, v in report.by_bundle.items()} == {"open-convenience-store": 2}
    assert list(report.by_hall) == ["yicheng-center"]
    health = kpi_report(projected, department="health", as_of=AS_OF)
    assert health.figures == report.by_department["health"]
    nurse = kpi_report(projected, item_code="nurse-practice-registration", as_of=AS_OF)
    assert nurse.figures.items == 8
    store_bundle = kpi_report(projected, bundle="open-convenience-store", as_of=AS_OF)
    assert store_bundle.figures == report.by_bundle["open-convenience-store"]
    # Received in 2027 (Beijing): how many depends on the day the scenarios were recorded.
    new_year = datetime(2027, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    with session(projected) as s:
        received = [c.received_at for c in s.exec(select(store.CaseFact))]
    in_2027 = sum(1 for at in received if at.replace(tzinfo=at.tzinfo or UTC) >= new_year)
    assert 0 < in_2027 < 18
    later = kpi_report(projected, since=date(2027, 1, 1), as_of=AS_OF)
    assert later.figures.cases == in_2027
    assert kpi_report(projected, hall="elsewhere", as_of=AS_OF).figures.cases == 0
    with pytest.raises(ValueError, match="until"):
        kpi_report(projected, since=date(2027, 2, 1), until=date(2027, 1, 1))


async def test_reform_figures_measured_beside_declared_and_story(
    projected: Engine, catalog: Catalog
) -> None:
    reform = reform_report(projected, catalog)
    rows = {b.bundle: b for b in reform.bundles}
    shop = rows["open-convenience-store"]
    assert shop.cases == 1  # the withdrawn one did not complete
    got = {r.measure: (r.baseline, r.measured, r.declared, r.story_percent) for r in shop.rows}
    assert got == {
        "time": (10.0, 0.0, 10.0, -63.7),  # the items' promised days summed; decided at once
        "steps": (10.0, 9.0, 6.0, -56.0),  # the filing's receipt counts as a step
        "trips": (3.0, 1.0, 1.0, -73.3),
        "materials": (11.0, 3.0, 4.0, -50.0),
    }
    assert rows["open-supermarket"].cases == 0
    assert all(r.measured is None for r in rows["open-supermarket"].rows)
    assert reform.promised_vs_statutory_percent == -58.3  # the story's −63.7 %, most likely


async def test_exports_hold_the_json_numbers(projected: Engine, catalog: Catalog) -> None:
    report = kpi_report(projected, as_of=AS_OF)
    reform = reform_report(projected, catalog)
    text = kpi_csv(report)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    header, total = rows[0], rows[1]
    assert header[:3] == ["范围", "名称", "办件数"]
    expected = [getattr(report.figures, name) for name, _ in FIGURE_COLUMNS]
    assert total[2:] == [str(v) for v in expected]
    assert rows[1 + len(report.by_hall) + 1][:2] == ["部门", "health"]
    book = load_workbook(io.BytesIO(kpi_xlsx(report, reform)))
    assert book.sheetnames == ["指标", "改革成效", "好差评"]
    kpis = list(book["指标"].iter_rows(values_only=True))
    assert list(kpis[1][2 : 2 + len(expected)]) == expected
    sheet = list(book["改革成效"].iter_rows(values_only=True))
    shop = [r for r in sheet if r[0] == "open-convenience-store"]
    assert [(r[3], r[4], r[5]) for r in shop] == [
        ("时间", 10, 0),
        ("环节", 10, 9),
        ("跑动", 3, 1),
        ("材料", 11, 3),
    ]
    assert "open-convenience-store" in reform_csv(reform)


def test_cli_report_kpis_reform_and_exports(tmp_path: Path, catalog: Catalog) -> None:
    """`onething report kpis|reform` on a store of its own: the Chinese table, the JSON
    equal to the report's, the CSV and .xlsx written."""
    import asyncio

    from typer.testing import CliRunner

    from starter.cli import app
    from store import migrate
    from store.catalog import load_catalog
    from store.db import make_engine

    url = f"sqlite:///{tmp_path}/cli.db"
    engine = make_engine(url)
    migrate.upgrade(engine)
    load_catalog(engine, catalog)
    calendar = WorkingCalendar.from_file()
    for name in ("review_overdue", "corrected", "commitment_inspected"):
        histories = [h for _, h in load_histories(HISTORIES / name)]
        case, items = asyncio.run(project(histories, recording_converter(), calendar))
        store.write(engine, case, items)
    expected = kpi_report(engine, as_of=AS_OF)
    engine.dispose()
    env = {"DATABASE_URL": url}
    run = CliRunner().invoke
    as_of = ["--as-of", "2027-06-01T08:00:00+08:00"]
    table = run(app, ["report", "kpis", *as_of], env=env)
    assert table.exit_code == 0, table.output
    assert "| 合计 | 3 | 3 | 80.0% | 80.0% |" in table.output  # review_overdue missed
    assert "统计截至 2027-06-01 08:00" in table.output
    as_json = run(app, ["report", "kpis", "--json", *as_of], env=env)
    assert KpiReport.model_validate_json(as_json.output).figures == expected.figures
    files = ["--csv", str(tmp_path / "k.csv"), "--xlsx", str(tmp_path / "k.xlsx")]
    assert run(app, ["report", "kpis", *files], env=env).exit_code == 0
    assert load_workbook(tmp_path / "k.xlsx").sheetnames == ["指标", "改革成效", "好差评"]
    reform = run(app, ["report", "reform"], env=env)
    assert "| 开办便利店 | 1 | 跑动 | 3 | 1 | -66.7% | 1 | -66.7% | -73.3% |" in reform.output
    bad = run(app, ["report", "kpis", "--since", "2027-02-01", "--until", "2027-01-01"], env=env)
    assert bad.exit_code != 0 and "until" in bad.output
