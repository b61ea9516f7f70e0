"""Billable actions counted from recorded histories, as Temporal Cloud counts them."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from onething.costs import billable_actions, local_activities
from tests.histories.record import (
    BEFORE_FEWER_EVENTS,
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


def histories_of(directory: Path) -> dict[str, WorkflowHistory]:
    """Every history of a recorded scenario, by workflow ID."""
    manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
    return {
        h["workflow_id"]: WorkflowHistory.from_json(
            h["workflow_id"], (directory / h["file"]).read_text("utf-8")
        )
        for h in manifest["histories"]
    }


def events_of(history: WorkflowHistory, kind: EventType.ValueType) -> list[HistoryEvent]:
    return [e for e in history.events if e.event_type == kind]


def test_the_store_on_commitment_costs_what_issue_18_allows() -> None:
    """开办便利店 on commitment under patch fewer-events-2026-12: at most 26 billable actions.
    One patch asked (one change-version upsert), item_issued only from tobacco (its
    inspection follows issuance; the others' completion carries their license), and the
    registration's statutory limit served by its review step's timer."""
    for directory in (HERE / "commitment_inspected", DEV_SERVER_DIR / "commitment_inspected"):
        histories = histories_of(directory)
        application = histories.pop("application-rec-commitment_inspected")
        total = billable_actions(application)
        for child in histories.values():
            total += billable_actions(child, is_child=True)
        assert sum(total.values()) <= 26, (directory, total)

        upserts = events_of(application, EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
        change_versions = [
            u
            for u in upserts
            if "TemporalChangeVersion"
            in u.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        ]
        assert len(change_versions) == 1
        signalling = [
            workflow_id
            for workflow_id, child in histories.items()
            if events_of(child, EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
        ]
        assert signalling == ["application-rec-commitment_inspected/item-tobacco-retail-license"]
        registration = histories[
            "application-rec-commitment_inspected/item-business-license-individual"
        ]
        assert len(events_of(registration, EventType.EVENT_TYPE_TIMER_STARTED)) == 1


def test_the_era_before_fewer_events_is_kept_with_its_costlier_store() -> None:
    """The recordings from before the patch still replay (tests/audit/test_replay.py): there the
    store asked two patches and its registration set two timers."""
    histories = histories_of(kept(BEFORE_FEWER_EVENTS, "commitment_inspected"))
    application = histories["application-rec-commitment_inspected"]
    registration = histories[
        "application-rec-commitment_inspected/item-business-license-individual"
    ]
    markers = events_of(application, EventType.EVENT_TYPE_MARKER_RECORDED)
    patches = [m for m in markers if m.marker_recorded_event_attributes.marker_name == "core_patch"]
    assert len(patches) == 2
    assert len(events_of(registration, EventType.EVENT_TYPE_TIMER_STARTED)) == 2
