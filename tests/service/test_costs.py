"""Billable actions counted from recorded histories, as Temporal Cloud counts them."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from onething.costs import billable_actions, local_activities, local_activity_data
from tests.histories.record import (
    BEFORE_FEWER_EVENTS,
    BEFORE_LIGHTER_HISTORIES,
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

    assert local_activities(on_dev)[0] == ("receive_application", 1)
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


def total_actions(histories: dict[str, WorkflowHistory], application_id: str) -> int:
    """The billable actions of an application and its items."""
    total = billable_actions(histories[application_id])
    for workflow_id, child in histories.items():
        if workflow_id != application_id:
            total += billable_actions(child, is_child=True)
    return sum(total.values())


def local_activity_tasks(history: WorkflowHistory) -> list[list[str]]:
    """The local activities of each workflow task that ran some, in order."""
    tasks: list[list[str]] = []
    completed = None
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            completed = event.event_id
        data = local_activity_data(event)
        if data is None:
            continue
        if not tasks or tasks[-1][0] != completed:
            tasks.append([completed])  # type: ignore[list-item]
        tasks[-1].append(data["activity_type"])
    return [task[1:] for task in tasks]


STORE = "application-rec-commitment_inspected"
REGISTRATION = f"{STORE}/item-business-license-individual"
TOBACCO = f"{STORE}/item-tobacco-retail-license"


def test_the_store_on_commitment_costs_what_issue_18_allows() -> None:
    """开办便利店 on commitment under patch lighter-histories-2026-12: at most 26 billable
    actions. One patch asked (one change-version upsert); no item signals the application:
    tobacco's department reports its license in the workflow task that issues it and opens the
    inspection; the registration's statutory limit is served by its review step's timer, and
    the timers of the steps that end an item lapse with it instead of being cancelled."""
    for directory in (HERE / "commitment_inspected", DEV_SERVER_DIR / "commitment_inspected"):
        histories = histories_of(directory)
        assert total_actions(histories, STORE) <= 26, directory
        application = histories[STORE]

        upserts = events_of(application, EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
        change_versions = [
            u
            for u in upserts
            if "TemporalChangeVersion"
            in u.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        ]
        assert len(change_versions) == 1
        for history in histories.values():
            sent = EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
            assert not events_of(history, sent), directory
        signals = events_of(application, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
        told = [s.workflow_execution_signaled_event_attributes.signal_name for s in signals]
        assert told == ["item_issued"]
        assert local_activity_tasks(application)[0] == [
            "receive_application",  # the catalog pinned and the credit looked up, one marker
            "assign_case_number",
            "clock.compute_schedule",
        ]
        tobacco = histories[TOBACCO]
        assert local_activity_tasks(tobacco)[0] == [
            "issue_license",
            "report_issued",
            "open_staff_task",
        ]
        for item in (histories[REGISTRATION], tobacco):
            assert len(events_of(item, EventType.EVENT_TYPE_TIMER_STARTED)) == 1
            assert not events_of(item, EventType.EVENT_TYPE_TIMER_CANCELED)
            assert not events_of(item, EventType.EVENT_TYPE_TIMER_FIRED)


def test_the_era_before_lighter_histories_signalled_from_the_item_and_cancelled_its_timers() -> (
    None
):
    """The recordings from before the patch still replay (tests/audit/test_replay.py): there
    tobacco signalled the application itself, in a workflow task of its own before the
    inspection opened, and each step's timer was cancelled when the item ended."""
    for name in ("commitment_inspected", "devserver/commitment_inspected"):
        before = histories_of(kept(BEFORE_LIGHTER_HISTORIES, name))
        after = histories_of(HERE / name)
        tobacco = before[TOBACCO]
        sent = EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
        assert len(events_of(tobacco, sent)) == 1
        assert local_activity_tasks(tobacco) == [
            ["issue_license"],
            ["open_staff_task"],
            ["close_task"],
        ]
        for item in (before[REGISTRATION], tobacco):
            assert len(events_of(item, EventType.EVENT_TYPE_TIMER_CANCELED)) == 1
        assert len(after[TOBACCO].events) == len(tobacco.events) - 5


def test_a_step_timer_left_to_lapse_is_cancelled_when_the_item_waits_again() -> None:
    """食品经营许可 with a material deferred (time-skipping recording: the server skips to any
    pending timer while the item waits): the review's timer, left when the review was decided,
    is cancelled when the inspection before issuance opens, so it never fires; the
    inspection's own timer lapses with the item."""
    histories = histories_of(HERE / "deficiency_supplemented")
    [item] = [h for wid, h in histories.items() if "/item-" in wid]
    started = [
        e.timer_started_event_attributes.timer_id
        for e in events_of(item, EventType.EVENT_TYPE_TIMER_STARTED)
    ]
    cancelled = [
        e.timer_canceled_event_attributes.timer_id
        for e in events_of(item, EventType.EVENT_TYPE_TIMER_CANCELED)
    ]
    assert not events_of(item, EventType.EVENT_TYPE_TIMER_FIRED)
    review_timer, inspection_timer = started[0], started[-1]
    assert review_timer in cancelled
    assert inspection_timer not in cancelled
    opened = [
        i
        for i, e in enumerate(item.events)
        if (local_activity_data(e) or {}).get("activity_type") == "open_staff_task"
    ]
    review_cancelled = next(
        i
        for i, e in enumerate(item.events)
        if e.event_type == EventType.EVENT_TYPE_TIMER_CANCELED
        and e.timer_canceled_event_attributes.timer_id == review_timer
    )
    assert review_cancelled < opened[1]  # dropped as the inspection's task opens


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
