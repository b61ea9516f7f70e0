"""Billable actions counted from recorded histories, as Temporal Cloud counts them."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory

from onething.costs import billable_actions, local_activities
from tests.histories.record import HERE


def application_history(scenario: str) -> WorkflowHistory:
    """The application's own history (not its items') of a recorded scenario."""
    path = HERE / scenario / f"application-rec-{Path(scenario).name}.json"
    return WorkflowHistory.from_json(path.stem, path.read_text("utf-8"))


def test_local_activities_of_one_workflow_task_are_one_action() -> None:
    refused = application_history("refused")  # pin the catalog, notify: one workflow task

    assert local_activities(refused) == [("pin_catalog", 1), ("notify", 1)]
    assert billable_actions(refused) == {
        "workflow_start": 1,
        "local_activity_tasks": 1,
        "search_attribute_upserts": 2,  # the patch marker's, and the status
    }


def test_local_activities_are_read_from_what_the_dev_server_writes() -> None:
    refused = application_history("devserver/refused")  # production's own recording

    assert local_activities(refused) == [("pin_catalog", 1), ("notify", 1)]
    assert billable_actions(refused)["local_activity_tasks"] == 1


def test_remote_activities_are_one_action_each_attempt() -> None:
    refused = application_history("before-local-activities/refused")

    assert local_activities(refused) == []
    assert billable_actions(refused) == {
        "workflow_start": 1,
        "activity_attempts": 2,
        "search_attribute_upserts": 1,
    }
