"""Replay: histories run through `temporalio.worker.Replayer` against the workflows the caller
gives (the production ones: `worker.WORKFLOWS` in the worker's sandbox, `worker.workflow_runner()`)
with the production data converter (codec included), reported per history as "replays cleanly"
or the exact divergence."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, WorkflowRunner

from onething.costs import local_activity_data
from onething.histories import load_histories, started

__all__ = ["CLEAN", "ReplayReport", "replay"]

CLEAN = "replays cleanly"


@dataclass(frozen=True)
class ReplayReport:
    path: Path
    workflow_id: str
    workflow_type: str
    divergence: str | None = None
    # The payloads cannot be decoded (a key missing from the keyring): nothing was replayed.
    undecodable: str | None = None

    @property
    def clean(self) -> bool:
        return self.divergence is None and self.undecodable is None

    def line(self) -> str:
        if self.undecodable:
            verdict = f"CANNOT DECODE: {self.undecodable}"
        elif self.divergence:
            verdict = f"DIVERGES: {self.divergence}"
        else:
            verdict = CLEAN
        return f"{self.path} ({self.workflow_type} {self.workflow_id}): {verdict}"


def _describe_failure(exc: BaseException, history: WorkflowHistory) -> str:
    """The core's own words (without the Rust struct around them), plus the history event
    the divergence is at when the message names a recorded activity or child workflow."""
    raw = str(exc).strip() or type(exc).__name__
    found = re.search(r'message: "((?:[^"\\]|\\.)*)"', raw)
    message = found.group(1).replace('\\"', '"') if found else raw
    if "nondetermin" not in message.lower():
        return f"{type(exc).__name__}: {message}"
    for name in re.findall(r"'([^']+)'", message):
        event = _recorded_command(history, name)
        if event is not None:
            return f"{message} (history event {event.event_id}, {_event_name(event)})"
    for seq in re.findall(r"LocalActivity\((\d+)\)", message):
        for event in history.events:
            data = local_activity_data(event)
            if data is not None and data.get("seq") == int(seq):
                local = data.get("activity_type")
                return f"{message} (history event {event.event_id}, local activity {local})"
    return message


def _recorded_command(history: WorkflowHistory, name: str) -> HistoryEvent | None:
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            if event.activity_task_scheduled_event_attributes.activity_type.name == name:
                return event
        elif event.HasField("start_child_workflow_execution_initiated_event_attributes"):
            attrs = event.start_child_workflow_execution_initiated_event_attributes
            if attrs.workflow_type.name == name:
                return event
    return None


def _event_name(event: HistoryEvent) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")


async def _undecodable(history: WorkflowHistory, converter: DataConverter) -> str | None:
    """Why the start input cannot be decoded (wrong keys), or None: a replay with payloads
    it cannot read would fail with no useful message."""
    start = started(history)
    if not start.input.payloads or converter.payload_codec is None:
        return None
    try:
        await converter.payload_codec.decode(list(start.input.payloads))
    except Exception as exc:  # the codec says which key is missing
        return f"{type(exc).__name__}: {exc}"
    return None


async def replay(
    paths: Path | Iterable[Path],
    data_converter: DataConverter,
    *,
    workflows: Sequence[type],
    workflow_runner: WorkflowRunner,
) -> list[ReplayReport]:
    """Replay every history under `paths` against `workflows` in `workflow_runner`: today's
    are `worker.WORKFLOWS` in the worker's sandbox (`worker.workflow_runner()`). Use the
    production data converter (with the codec) so inputs decode as they did live.
    """
    replayer = Replayer(
        workflows=list(workflows), data_converter=data_converter, workflow_runner=workflow_runner
    )
    reports: list[ReplayReport] = []
    for path, history in load_histories(paths):
        workflow_type = started(history).workflow_type.name
        problem = await _undecodable(history, data_converter)
        if problem:
            reports.append(ReplayReport(path, history.workflow_id, workflow_type, None, problem))
            continue
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        failure = result.replay_failure
        reports.append(
            ReplayReport(
                path=path,
                workflow_id=history.workflow_id,
                workflow_type=workflow_type,
                divergence=None if failure is None else _describe_failure(failure, history),
            )
        )
    return reports
