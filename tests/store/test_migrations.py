"""Store migrations: a fresh store, a store the old init_db made, concurrent start-ups,
and the guard that models and migrations never drift apart — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

from domain.license_term import last_valid_day
from store import licenses, migrate
from store.db import make_engine


def drift(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, migrate.table_metadata()))


def test_one_head_and_the_models_match_the_migrations(empty_engine: Engine) -> None:
    assert len(migrate.heads()) == 1, "two revisions share a parent: merge them"
    assert migrate.current(empty_engine) is None
    assert migrate.upgrade(empty_engine) == migrate.heads()[0]
    differences = drift(empty_engine)
    assert not differences, (
        "models and migrations differ; write a revision with "
        f'`python -m store.migrate revision "what changed"`: {differences}'
    )


def test_upgrade_again_is_a_no_op(empty_engine: Engine) -> None:
    head = migrate.upgrade(empty_engine)
    licenses.issue_license(
        empty_engine,
        application_id="A-1",
        item_code="ITEM",
        license_kind="business",
        holder_name="宜城某某商贸有限公司",
        valid_from=datetime(2026, 11, 27, tzinfo=UTC),
    )
    assert migrate.upgrade(empty_engine) == head
    assert [lic.item_code for lic in licenses.licenses_of(empty_engine, "A-1")] == ["ITEM"]


def test_store_made_by_the_old_init_db_is_adopted_with_its_rows(empty_engine: Engine) -> None:
    # What init_db did before migrations: create_all of the tables it knew (licenses, tasks).
    from store.tasks import StaffTask

    old_tables = [licenses.License.__table__, StaffTask.__table__]  # type: ignore[attr-defined]
    SQLModel.metadata.create_all(empty_engine, tables=old_tables)
    issued = licenses.issue_license(
        empty_engine,
        application_id="A-OLD",
        item_code="ITEM",
        license_kind="business",
        holder_name="老数据",
        valid_from=datetime(2026, 1, 5, tzinfo=UTC),
    )
    assert migrate.current(empty_engine) is None

    assert migrate.upgrade(empty_engine) == migrate.heads()[0]
    assert not drift(empty_engine)
    [kept] = licenses.licenses_of(empty_engine, "A-OLD")
    assert kept.number == issued.number and kept.holder_name == "老数据"


def test_store_made_by_create_all_of_every_table_is_adopted(empty_engine: Engine) -> None:
    migrate.table_metadata().create_all(empty_engine)
    assert migrate.upgrade(empty_engine) == migrate.heads()[0]
    assert not drift(empty_engine)


def test_each_revision_applies_on_top_of_the_one_before(empty_engine: Engine) -> None:
    """A store left at an older revision keeps its rows when brought to the newest."""
    assert migrate.upgrade(empty_engine, "0001") == "0001"
    with empty_engine.begin() as c:  # the row as revision 0001's table holds it
        c.execute(
            text(
                "INSERT INTO licenses (number, application_id, item_code, license_kind,"
                " holder_name, verification_code, valid_from, status)"
                " VALUES ('YC-1', 'A-0001', 'ITEM', 'business', '宜城', 'V1', :at, 'issued')"
            ),
            {"at": datetime(2026, 3, 2, tzinfo=UTC)},
        )
    assert migrate.upgrade(empty_engine) == migrate.heads()[0]
    assert [lic.number for lic in licenses.licenses_of(empty_engine, "A-0001")] == ["YC-1"]
    assert not drift(empty_engine)


def test_downgrade_to_nothing_and_up_again(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        command.downgrade(migrate.alembic_config(connection), "base")
        connection.commit()
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    assert migrate.upgrade(empty_engine) == migrate.heads()[0]
    assert not drift(empty_engine)


def test_processes_starting_together_migrate_once(empty_url: str) -> None:
    """API and workers call upgrade at start-up at the same moment: the lock serializes them."""
    results: list[str | None] = []
    errors: list[BaseException] = []

    def start_up() -> None:
        engine = make_engine(empty_url)  # an engine of its own, as in another process
        try:
            results.append(migrate.upgrade(engine))
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start_up) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert results == migrate.heads() * 4


def test_upgrade_takes_a_url_too(empty_url: str) -> None:
    assert migrate.upgrade(empty_url) == migrate.heads()[0]
    assert migrate.current(empty_url) == migrate.heads()[0]


def test_db_commands_upgrade_and_report(empty_url: str) -> None:
    from typer.testing import CliRunner

    from starter.cli_db import db_app

    runner = CliRunner()
    env = {"DATABASE_URL": empty_url}
    behind = runner.invoke(db_app, ["current", "--check"], env=env)
    assert behind.exit_code == 1 and "needs `onething db upgrade`" in behind.output

    done = runner.invoke(db_app, ["upgrade"], env=env)
    assert done.exit_code == 0, done.output
    assert f"upgraded from nothing to {migrate.heads()[0]}" in done.output
    again = runner.invoke(db_app, ["upgrade"], env=env)
    assert again.exit_code == 0 and "already at revision" in again.output

    report = runner.invoke(db_app, ["current", "--check", "--json"], env=env)
    assert report.exit_code == 0, report.output
    assert json.loads(report.output) == {
        "store": empty_url,
        "current": migrate.heads()[0],
        "head": migrate.heads()[0],
        "up_to_date": True,
    }


def test_db_command_errors_are_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from starter.cli_db import db_app

    runner = CliRunner()
    wrong = runner.invoke(db_app, ["upgrade"], env={"DATABASE_URL": "mysql://x"})
    assert wrong.exit_code == 2 and "DATABASE_URL" in wrong.output
    refused = runner.invoke(
        db_app,
        ["current"],
        env={"DATABASE_URL": "postgresql+psycopg://nobody:s3cret@127.0.0.1:1/none"},
    )
    assert refused.exit_code == 1
    assert "s3cret" not in refused.output and "Traceback" not in refused.output
    assert len(refused.output.strip().splitlines()) == 1


def test_0018_moves_the_term_ends_sqlite_kept_in_beijing_wall_time(tmp_path: Path) -> None:
    """A term end written before 0018 on SQLite (00:00 Beijing time kept as its wall time,
    read back as UTC: eight hours late) is the instant it is once migrated; one written in
    UTC since (16:00:00) stays."""
    engine = make_engine(f"sqlite:///{tmp_path / 'onething.db'}")
    try:
        assert migrate.upgrade(engine, "0017") == "0017"
        with engine.begin() as c:
            for number, until in (
                ("YC-OLD", "2031-11-29 00:00:00.000000"),
                ("YC-NEW", "2031-11-28 16:00:00.000000"),
            ):
                c.execute(
                    text(
                        "INSERT INTO licenses (number, application_id, item_code, license_kind,"
                        " holder_name, verification_code, valid_from, status, valid_until, term)"
                        " VALUES (:n, :n, 'ITEM', 'k', '宜城', :n, '2026-11-29 00:00:00', 'issued',"
                        " :until, 1)"
                    ),
                    {"n": number, "until": until},
                )
        assert migrate.upgrade(engine) == migrate.heads()[0]
        beijing_midnight = datetime(2031, 11, 29, tzinfo=ZoneInfo("Asia/Shanghai"))
        for number in ("YC-OLD", "YC-NEW"):
            found = licenses.get(engine, number)
            assert found is not None and found.expires() == beijing_midnight, number
            assert last_valid_day(found.expires()) == date(2031, 11, 28)  # type: ignore[arg-type]
    finally:
        engine.dispose()
