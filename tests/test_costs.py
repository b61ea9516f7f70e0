"""Billable actions counted from recorded histories, as Temporal Cloud counts them."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory

from onething.costs import billable_actions, local_activities
from tests.histories.record import (
    BEFORE_LOCAL_ACTIVITIES,
    BEFORE_PROCEDURE_REVISION,
    DEV_SERVER_DIR,
    HERE,
    kept,
)


def application_history(directory: Path) -> WorkflowHistory:
    """The application's own history (not its items') of a recorded scenario."""
    path = directory / f"application-rec-{directory.name}.json"
    return WorkflowHistory.from_json(path.stem, path.read_text("utf-8"))


def test_local_activities_of_one_workflow_task_are_one_action() -> None:
    # Refused before the revision: pin the catalog, notify, in one workflow task.
    refused = application_history(kept(BEFORE_PROCEDURE_REVISION, "refused"))

    assert local_activities(refused) == [("pin_catalog", 1), ("notify", 1)]
    assert billable_actions(refused) == {
        "workflow_start": 1,
        "local_activity_tasks": 1,
        "search_attribute_upserts": 2,  # the patch marker's, and the status
    }


def test_local_activities_are_read_from_what_the_dev_server_writes() -> None:
    """The same scenario recorded on the dev server (production's own format) and on the
    time-skipping server: the same local activities, counted the same."""
    on_dev = application_history(DEV_SERVER_DIR / "refused")
    on_test_server = application_history(HERE / "refused")

    assert local_activities(on_dev)[0] == ("pin_catalog", 1)
    assert local_activities(on_dev) == local_activities(on_test_server)
    assert (
        billable_actions(on_dev)["local_activity_tasks"]
        == billable_actions(on_test_server)["local_activity_tasks"]
        > 0
    )


def test_remote_activities_are_one_action_each_attempt() -> None:
    refused = application_history(HERE / BEFORE_LOCAL_ACTIVITIES / "refused")

    assert local_activities(refused) == []
    assert billable_actions(refused) == {
        "workflow_start": 1,
        "activity_attempts": 2,
        "search_attribute_upserts": 1,
    }
