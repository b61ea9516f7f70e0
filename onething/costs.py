"""Temporal Cloud billable actions, counted from histories as Temporal's pricing counts them.

Workflow start 1, child workflow start 2, each activity attempt 1, the local activities of
one workflow task 1 together, each timer 1 (a `wait_condition` timeout too), each signal 1,
each accepted update 1 (rejected updates never reach history: callers count them), each
search-attribute upsert 1.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory

LOCAL_ACTIVITY_MARKER = "core_local_activity"


def billable_actions(history: WorkflowHistory, *, is_child: bool = False) -> Counter[str]:
    counts: Counter[str] = Counter()
    task_with_local_activities: int | None = None  # the workflow task already counted
    completed_task = 0
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            completed_task = event.event_id
        elif (
            kind == EventType.EVENT_TYPE_MARKER_RECORDED
            and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
            and task_with_local_activities != completed_task
        ):
            task_with_local_activities = completed_task
            counts["local_activity_tasks"] += 1
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED and not is_child:
            counts["workflow_start"] += 1
        elif kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            counts["child_start"] += 2
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            counts["activity_attempts"] += event.activity_task_started_event_attributes.attempt
        elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
            counts["timers"] += 1
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            counts["signals"] += 1
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            counts["updates"] += 1
        elif kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            counts["search_attribute_upserts"] += 1
    return counts


def local_activity_data(event: HistoryEvent) -> dict[str, Any] | None:
    """What a local activity's marker records of it (`activity_type`, `attempt`, `seq`, ...);
    None for any other event."""
    marker = event.marker_recorded_event_attributes
    if not (
        event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and marker.marker_name == LOCAL_ACTIVITY_MARKER
    ):
        return None
    data: dict[str, Any] = json.loads(marker.details["data"].payloads[0].data)
    return data


def local_activities(history: WorkflowHistory) -> list[tuple[str, int]]:
    """(activity type, the attempt that completed it) of each local activity, in order."""
    found = []
    for event in history.events:
        data = local_activity_data(event)
        if data is not None:
            found.append((str(data["activity_type"]), int(data["attempt"])))
    return found


def local_activity_types(history: WorkflowHistory) -> list[str]:
    return [kind for kind, _ in local_activities(history)]


async def application_actions(client: Client, workflow_id: str) -> Counter[str]:
    """Billable actions of an application: its workflow and every item workflow it started."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    total = billable_actions(history)
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            started = event.child_workflow_execution_started_event_attributes
            child_id = started.workflow_execution.workflow_id
            child = await client.get_workflow_handle(child_id).fetch_history()
            total += billable_actions(child, is_child=True)
    return total
