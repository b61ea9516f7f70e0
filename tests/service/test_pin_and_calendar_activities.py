"""What the central activities keep between calls answers as if computed afresh: the pinned
catalog snapshot (on SQLite and PostgreSQL, also when the store is rebuilt under the same
version) and the working days of the calendar (also when the override file changes)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete
from temporalio.testing import ActivityEnvironment

from activities.calendar import CalendarActivities
from activities.catalog import CatalogActivities, PinCatalog, snapshot_of
from domain.calendar import WorkingCalendar
from domain.catalog_loading import load_seed_catalog
from domain.clock import ClockRecord, compute_schedule
from store import catalog as catalog_store
from store.db import init_db, session
from tests.support.store import transactions

BUNDLE = "open-convenience-store"


def catalog_named(version: str, name: str) -> dict[str, object]:
    document = load_seed_catalog().to_document()
    document["version"] = version
    [bundle] = [b for b in document["bundles"] if b["code"] == BUNDLE]
    bundle["name"] = name
    return document


def test_a_pin_reads_the_store_once_and_follows_a_rebuilt_store(empty_engine: Engine) -> None:
    init_db(empty_engine)
    catalog_store.load_catalog(empty_engine, catalog_named("t-2026.1", "开办便利店(一)"))
    activities, env = CatalogActivities(empty_engine), ActivityEnvironment()
    pin = PinCatalog(target=BUNDLE, version=None, hall="yicheng-center")
    first = env.run(activities.pin_catalog, pin)
    with transactions(empty_engine) as begun:
        again = env.run(activities.pin_catalog, pin)
    assert begun == [1]
    latest = catalog_store.get_latest_catalog(empty_engine)
    assert latest is not None
    assert first == again == snapshot_of(latest, BUNDLE, "yicheng-center")
    assert first.bundle.name == "开办便利店(一)" and first.region_code is not None
    # Another hall, the pinned version named: derived for them, not the first answer.
    named = env.run(activities.pin_catalog, PinCatalog(target=BUNDLE, version="t-2026.1"))
    assert named == snapshot_of(latest, BUNDLE) and named.region_code is None

    # The store rebuilt with other content under the same version: the new content.
    with session(empty_engine) as s:
        for table in reversed(catalog_store.TABLES):
            s.execute(delete(table))
    catalog_store.load_catalog(empty_engine, catalog_named("t-2026.1", "开办便利店(二)"))
    assert env.run(activities.pin_catalog, pin).bundle.name == "开办便利店(二)"


def test_the_calendar_answers_as_a_fresh_one(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"years": {}}), encoding="utf-8")
    activities = CalendarActivities(overrides)
    fresh = WorkingCalendar()
    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(8 * 366)]
    kept = activities.calendar()
    assert [kept.is_working_day(d) for d in days] == [fresh.is_working_day(d) for d in days]
    assert [kept.is_working_day(d) for d in days] == [fresh.is_working_day(d) for d in days]

    record = ClockRecord(
        limit="review", budget_days=20, started_at=datetime(2027, 9, 20, 2, 0, tzinfo=UTC)
    )
    env = ActivityEnvironment()
    before = asyncio.run(env.run(activities.compute_schedule, record))
    assert before == compute_schedule(record, fresh)

    # A year announced: every weekday of the schedule's first week becomes a holiday. The
    # activity reads the file again and forgets the days it knew.
    week = [date(2027, 9, 20) + timedelta(days=n) for n in range(5)]
    report = fresh.check_year(2027)
    holidays = {d.isoformat(): "new" for d in [*report.holidays, *week]}
    workdays = {d.isoformat(): "as before" for d in report.makeup_workdays}
    year = {"source": "test", "holidays": holidays, "workdays": workdays}
    overrides.write_text(json.dumps({"years": {"2027": year}}), encoding="utf-8")
    after = asyncio.run(env.run(activities.compute_schedule, record))
    announced = WorkingCalendar.from_file(overrides)
    assert not activities.calendar().is_working_day(week[0])
    assert after == compute_schedule(record, announced)
    assert after.due_date > before.due_date
