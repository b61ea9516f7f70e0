"""Staff read times in the CLI as the service center's clock shows them (Beijing time)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onething.runtime import open_store
from onething.settings import Settings
from starter.cli import app
from store.tasks import StaffTask, open_task


def test_the_inbox_shows_due_instants_in_beijing_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    engine = open_store(Settings(database_url=url))
    open_task(
        engine,
        StaffTask(
            task_id="application-X1/item-a/review",
            application_id="X1",
            workflow_id="application-X1/item-a",
            kind="review",
            department="health",
            role="reviewer",
            due_at=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
            created_at=datetime(2026, 11, 28, 1, 0, tzinfo=UTC),
        ),
    )
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)

    result = CliRunner().invoke(app, ["tasks", "--department", "health"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "2026-12-04 17:30" in result.output
    assert "09:30" not in result.output and "+00:00" not in result.output
