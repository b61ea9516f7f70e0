"""Staff read the CLI in Chinese, times as the service center's clock shows them (Beijing time)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onething.runtime import open_store
from onething.settings import Settings
from starter.cli import app
from store.tasks import StaffTask, open_task

REVIEW = "application-X1/item-nurse-practice-registration/review"


def inbox_with_one_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store whose inbox holds one open review, the CLI pointed at it; its task ID."""
    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    engine = open_store(Settings(database_url=url))
    open_task(
        engine,
        StaffTask(
            task_id=REVIEW,
            application_id="X1",
            workflow_id="application-X1/item-nurse-practice-registration",
            item_code="nurse-practice-registration",
            kind="review",
            department="health",
            role="reviewer",
            due_at=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
            created_at=datetime(2026, 11, 28, 1, 0, tzinfo=UTC),
        ),
    )
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    return REVIEW


def test_the_inbox_shows_due_instants_in_beijing_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox_with_one_review(tmp_path, monkeypatch)

    result = CliRunner().invoke(app, ["tasks", "--department", "health"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "2026-12-04 17:30" in result.output
    # Staff read the rest in words too: the item, its department, the step and the role (the
    # task ID stays: it is what `onething take` names).
    for words in ("护士执业注册", "卫生健康局", "审查", "审查人员"):
        assert words in result.output, result.output
    assert "reviewer" not in result.output  # the role in words, not its code
    assert "09:30" not in result.output and "+00:00" not in result.output

    # Another department's inbox is empty, and says so rather than drawing an empty table.
    empty = CliRunner().invoke(app, ["tasks", "--department", "market"], env={"COLUMNS": "200"})
    assert empty.exit_code == 0 and empty.output.strip() == "没有待办任务", empty.output


def test_on_a_narrow_terminal_the_inbox_keeps_each_task_id_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = inbox_with_one_review(tmp_path, monkeypatch)

    result = CliRunner().invoke(app, ["tasks", "--department", "health"], env={"COLUMNS": "80"})

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert task_id in lines, result.output  # on a line of its own, to copy for `take`
    details = lines[lines.index(task_id) + 1]
    for words in ("2026-12-04 17:30", "护士执业注册", "卫生健康局", "审查", "审查人员"):
        assert words in details, result.output


def test_a_task_taken_says_who_has_it_and_since_when_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = inbox_with_one_review(tmp_path, monkeypatch)

    taken = CliRunner().invoke(app, ["take", task_id, "--staff", "rev-9"], env={"COLUMNS": "200"})

    assert taken.exit_code == 0, taken.output
    assert "承办人" in taken.output and "rev-9" in taken.output, taken.output
    assert "领取时间 (北京时间)" in taken.output and "taken_by" not in taken.output
    assert "+00:00" not in taken.output
