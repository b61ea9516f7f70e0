"""The store behaves the same on SQLite and on PostgreSQL (`store_engine` runs each test on
both): races, time zones, Chinese text, ordering — and DATABASE_URL picks the backend."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, inspect, text

from onething.settings import load_settings
from store import licenses, migrate, tasks
from store.db import in_utc, make_engine
from tests.conftest import postgres_schema

SH = ZoneInfo("Asia/Shanghai")


def test_concurrent_issues_make_one_license(store_engine: Engine) -> None:
    """Retried activities on several worker threads race for the same application and item."""
    application_id = f"A-{uuid.uuid4().hex[:8]}"
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def issue() -> None:
        start.wait()
        try:
            issued = licenses.issue_license(
                store_engine,
                application_id=application_id,
                item_code="market-business-license",
                license_kind="business_license",
                holder_name="宜城市某某商贸有限公司",
                valid_from=datetime(2026, 11, 27, 9, 30, tzinfo=SH),
            )
            results.append(issued.number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=issue) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len(set(results)) == 1
    [stored] = licenses.licenses_of(store_engine, application_id)
    assert stored.number == results[0]


def test_instants_and_chinese_text_come_back_as_stored(store_engine: Engine) -> None:
    application_id = f"A-{uuid.uuid4().hex[:8]}"
    valid_from = datetime(2026, 12, 31, 23, 30, tzinfo=SH)  # already 2026-12-31 15:30 UTC
    issued = licenses.issue_license(
        store_engine,
        application_id=application_id,
        item_code="food-business-license",
        license_kind="food_business_license",
        holder_name="宜城市小河镇好味道餐饮店（个体工商户）",
        valid_from=valid_from,
    )
    found = licenses.verify(store_engine, issued.verification_code)
    assert found is not None
    assert found.holder_name == "宜城市小河镇好味道餐饮店（个体工商户）"
    assert found.valid_from == valid_from and found.valid_from.utcoffset() == timedelta(0)


def test_an_instant_read_back_is_in_utc_whatever_the_backend_hands_back() -> None:
    """SQLite hands back the UTC wall time naive; PostgreSQL an aware value in the session's
    time zone: both read as the same instant in UTC."""
    naive_utc = datetime(2026, 12, 31, 15, 30)
    beijing = datetime(2026, 12, 31, 23, 30, tzinfo=SH)

    for read in (in_utc(naive_utc), in_utc(beijing)):
        assert read == datetime(2026, 12, 31, 15, 30, tzinfo=UTC)
        assert read.utcoffset() == timedelta(0)
    assert in_utc(None) is None


def test_task_inbox_order_is_the_same_on_both(store_engine: Engine) -> None:
    """Soonest due first; tasks without a due date after every dated one."""
    department = f"d{uuid.uuid4().hex[:8]}"
    created = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    dues: list[datetime | None] = [
        None,
        created + timedelta(days=3),
        created + timedelta(days=1),
        None,
    ]
    for n, due in enumerate(dues):
        tasks.open_task(
            store_engine,
            tasks.StaffTask(
                task_id=f"{department}-{n}",
                application_id=f"A-{department}",
                workflow_id=f"wf-{department}",
                kind="review",
                department=department,
                role="reviewer",
                due_at=due,
                created_at=created + timedelta(minutes=n),
            ),
        )
    order = [t.task_id for t in tasks.open_tasks(store_engine, department=department)]
    expected = [f"{department}-{n}" for n in (2, 1, 0, 3)]
    assert order == expected  # undated tasks last, on SQLite as on PostgreSQL


def test_store_is_at_the_newest_migration(store_engine: Engine) -> None:
    assert migrate.current(store_engine) == migrate.heads()[0]
    tables = set(inspect(store_engine).get_table_names())
    assert set(migrate.table_metadata().tables) <= tables


def test_database_url_selects_postgresql_in_a_schema_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with postgres_schema() as url_a, postgres_schema() as url_b:
        monkeypatch.setenv("DATABASE_URL", url_a)
        settings = load_settings()
        assert settings.store_url == url_a
        assert migrate.upgrade(settings.store_url) == migrate.heads()[0]
        a, b = make_engine(url_a), make_engine(url_b)
        try:
            assert a.dialect.name == "postgresql"
            with a.connect() as connection:
                schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            assert schema.startswith("onething_test_")
            # Another run's schema sees none of these tables: runs never collide.
            assert "licenses" in inspect(a).get_table_names()
            assert "licenses" not in inspect(b).get_table_names()
        finally:
            a.dispose()
            b.dispose()


def test_without_database_url_the_store_is_the_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ONETHING_DATA_DIR", "/tmp/onething-test-data")
    assert load_settings().store_url == "sqlite:////tmp/onething-test-data/onething.db"


def test_a_task_is_taken_by_one_member_of_staff(store_engine: Engine) -> None:
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    task_id = f"take-{uuid.uuid4().hex[:8]}"
    tasks.open_task(
        store_engine,
        tasks.StaffTask(
            task_id=task_id,
            application_id="A-take",
            workflow_id="wf",
            kind="review",
            department="health",
            role="reviewer",
            created_at=now,
        ),
    )
    first = tasks.take_task(store_engine, task_id, staff_id="rev-1", at=now)
    assert (first.taken_by, first.taken_at) == ("rev-1", now)
    assert tasks.take_task(store_engine, task_id, staff_id="rev-1", at=now).taken_by == "rev-1"
    with pytest.raises(tasks.TaskNotTakeable, match="taken by rev-1"):
        tasks.take_task(store_engine, task_id, staff_id="rev-2", at=now)
    tasks.close_task(store_engine, task_id, outcome="approve", closed_by="rev-1", closed_at=now)
    with pytest.raises(tasks.TaskNotTakeable, match="is closed"):
        tasks.take_task(store_engine, task_id, staff_id="rev-1", at=now)
