"""Audit: export an application's histories, replay them against today's code, read the trail.

Auditors work from Temporal's own record, not from what the workflow code says about
itself today:

- `export_histories` writes the parent workflow's history and every child's (followed
  through the history, also across continue-as-new) as JSON in the format
  `temporal workflow show --output json` and the Web UI download produce, plus a
  `manifest.json` that names the workflow ID of each file (the JSON itself does not).
- `replay` runs histories through `temporalio.worker.Replayer` with the production
  workflows and data converter (codec included) and reports, per history, "replays
  cleanly" or the exact divergence.
- `decision_trail` reads every acceptance, correction, refusal, decision, supplement,
  inspection, extension, excluded time, escalation, referral and revocation out of the
  events (decoded update, signal and activity payloads, search-attribute upserts), with
  actor, role, time, rule (catalog version and item code) and reason
  (`starter.audit_trail`; the kinds of rows: `starter.audit_kinds`). Only staff IDs, roles,
  codes and staff-written reasons are taken from payloads, never the applicant's personal
  data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer, WorkflowRunner

from domain.application import application_workflow_id
from onething.costs import local_activity_data
from starter.audit_trail import DecisionTrail, TrailRow, trail_of, typed_search_attributes

__all__ = [
    "MANIFEST",
    "DecisionTrail",
    "ExportedHistory",
    "HistoryNotFound",
    "ReplayReport",
    "TrailRow",
    "decision_trail",
    "export_histories",
    "fetch_histories",
    "load_histories",
    "replay",
    "typed_search_attributes",
]

MANIFEST = "manifest.json"
CLEAN = "replays cleanly"


class HistoryNotFound(LookupError):
    """No workflow with that ID (or no history file at that path)."""


# -- export ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportedHistory:
    workflow_id: str
    run_id: str
    workflow_type: str
    path: Path
    parent_workflow_id: str | None = None


def _started(history: WorkflowHistory) -> Any:
    if not history.events or not history.events[0].HasField(
        "workflow_execution_started_event_attributes"
    ):
        raise HistoryNotFound(f"history of {history.workflow_id!r} has no start event")
    return history.events[0].workflow_execution_started_event_attributes


def _children(history: WorkflowHistory) -> list[tuple[str, str]]:
    """(workflow ID, run ID) of every child this run started."""
    return [
        (a.workflow_execution.workflow_id, a.workflow_execution.run_id)
        for a in (
            e.child_workflow_execution_started_event_attributes
            for e in history.events
            if e.HasField("child_workflow_execution_started_event_attributes")
        )
    ]


def _continued_as(history: WorkflowHistory) -> str | None:
    for event in reversed(history.events):
        if event.HasField("workflow_execution_continued_as_new_event_attributes"):
            return str(
                event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            )
    return None


async def fetch_histories(client: Client, application_id: str) -> list[WorkflowHistory]:
    """The application's workflow history and its children's, parents first."""
    root = application_workflow_id(application_id)
    first = await _fetch(client, root, None)
    # The first run of the root: follow continue-as-new from there.
    first_run = _started(first).first_execution_run_id or None
    if first_run and first_run != _run_id(first):
        first = await _fetch(client, root, first_run)
    result: list[WorkflowHistory] = []
    queue: list[WorkflowHistory] = [first]
    seen: set[tuple[str, str]] = set()
    while queue:
        history = queue.pop(0)
        key = (history.workflow_id, _run_id(history))
        if key in seen:
            continue
        seen.add(key)
        result.append(history)
        next_run = _continued_as(history)
        if next_run:
            queue.append(await _fetch(client, history.workflow_id, next_run))
        for child_id, child_run in _children(history):
            queue.append(await _fetch(client, child_id, child_run))
    return result


def _run_id(history: WorkflowHistory) -> str:
    attrs = _started(history)
    # The started event names this run's ID only through the chain fields; the
    # original_execution_run_id is this run's own ID on every server we use.
    return str(attrs.original_execution_run_id or attrs.first_execution_run_id)


async def _fetch(client: Client, workflow_id: str, run_id: str | None) -> WorkflowHistory:
    try:
        return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise HistoryNotFound(f"no workflow {workflow_id!r} on this Temporal") from None
        raise


def history_file_name(workflow_id: str) -> str:
    """A file name for a workflow ID: '/' becomes '__', anything unusual '_'."""
    return re.sub(r"[^A-Za-z0-9._\-]", "_", workflow_id.replace("/", "__")) + ".json"


async def export_histories(
    client: Client, application_id: str, out_dir: Path
) -> list[ExportedHistory]:
    """Write the application's histories (parent and children) into `out_dir`.

    Each file holds exactly what `temporal workflow show --output json` writes;
    `manifest.json` maps files to workflow IDs, run IDs and types.
    """
    histories = await fetch_histories(client, application_id)
    out_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (a local directory, once)
    exported: list[ExportedHistory] = []
    names: dict[str, int] = {}
    for history in histories:
        name = history_file_name(history.workflow_id)
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:  # a later run after continue-as-new
            name = name.removesuffix(".json") + f".run{names[name]}.json"
        path = out_dir / name
        path.write_text(history.to_json() + "\n", encoding="utf-8")
        attrs = _started(history)
        parent = attrs.parent_workflow_execution.workflow_id or None
        exported.append(
            ExportedHistory(
                workflow_id=history.workflow_id,
                run_id=_run_id(history),
                workflow_type=attrs.workflow_type.name,
                path=path,
                parent_workflow_id=parent,
            )
        )
    manifest = {
        "application_id": application_id,
        "histories": [
            {
                "file": e.path.name,
                "workflow_id": e.workflow_id,
                "run_id": e.run_id,
                "workflow_type": e.workflow_type,
                "parent_workflow_id": e.parent_workflow_id,
            }
            for e in exported
        ],
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return exported


# -- loading --------------------------------------------------------------------------------


def _manifest_ids(directory: Path) -> dict[str, str]:
    path = directory / MANIFEST
    if not path.is_file():
        return {}
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {h["file"]: h["workflow_id"] for h in doc.get("histories", [])}


def _history_files(path: Path) -> list[tuple[Path, bool]]:
    """(file, named explicitly) pairs; a directory yields every *.json under it."""
    if path.is_dir():
        return sorted((p, False) for p in path.rglob("*.json") if p.name != MANIFEST)
    if path.is_file():
        return [(path, True)]
    raise HistoryNotFound(f"{path} is neither a history file nor a directory")


def load_histories(paths: Path | Iterable[Path]) -> list[tuple[Path, WorkflowHistory]]:
    """History files (a file, or every history *.json under a directory) with workflow IDs.

    Other JSON files in a directory (a manifest, expected results) are skipped. The
    workflow ID comes from a `manifest.json` beside the file, else from the start event
    (newer servers fill it in), else from the file name.
    """
    roots = [paths] if isinstance(paths, Path) else list(paths)
    loaded: list[tuple[Path, WorkflowHistory]] = []
    for root in roots:
        for file, explicit in _history_files(root):
            try:
                doc = json.loads(file.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                if not explicit:
                    continue
                raise HistoryNotFound(f"{file} is not JSON: {exc}") from None
            if not (isinstance(doc, dict) and isinstance(doc.get("events"), list)):
                if not explicit:
                    continue
                raise HistoryNotFound(f"{file} is not a workflow history (no events list)")
            try:
                history = WorkflowHistory.from_json("", doc)
            except (ValueError, KeyError, TypeError) as exc:
                raise HistoryNotFound(f"{file} is not a workflow history: {exc}") from None
            workflow_id = _manifest_ids(file.parent).get(file.name) or ""
            if not workflow_id and history.events:
                started = history.events[0].workflow_execution_started_event_attributes
                workflow_id = started.workflow_id
            if not workflow_id:
                workflow_id = file.stem.replace("__", "/")
            loaded.append((file, WorkflowHistory(workflow_id, history.events)))
    return loaded


# -- replay ---------------------------------------------------------------------------------


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
    started = _started(history)
    if not started.input.payloads or converter.payload_codec is None:
        return None
    try:
        await converter.payload_codec.decode(list(started.input.payloads))
    except Exception as exc:  # the codec says which key is missing
        return f"{type(exc).__name__}: {exc}"
    return None


async def replay(
    paths: Path | Iterable[Path],
    data_converter: DataConverter,
    *,
    workflows: Sequence[type] | None = None,
    workflow_runner: WorkflowRunner | None = None,
) -> list[ReplayReport]:
    """Replay every history under `paths` against today's workflows (default: worker.WORKFLOWS,
    in the worker's sandbox). Use the production data converter (with the codec) so inputs
    decode as they did live.
    """
    import worker

    if workflows is None:
        workflows = worker.WORKFLOWS
    # The sandbox the worker runs workflows in (its pass-through modules), when it names one.
    runner = workflow_runner
    if runner is None and hasattr(worker, "workflow_runner"):
        runner = worker.workflow_runner()
    options: dict[str, Any] = {}
    if runner is not None:
        options["workflow_runner"] = runner
    replayer = Replayer(workflows=list(workflows), data_converter=data_converter, **options)
    reports: list[ReplayReport] = []
    for path, history in load_histories(paths):
        workflow_type = _started(history).workflow_type.name
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


async def decision_trail(
    source: str | Path | WorkflowHistory | Sequence[WorkflowHistory],
    *,
    client: Client | None = None,
    data_converter: DataConverter | None = None,
) -> DecisionTrail:
    """The decision trail of an application.

    `source` is an application ID (needs `client`), a history file or an export
    directory (`Path`), or histories already in hand. Payloads are decoded with
    `data_converter`, by default the client's.
    """
    converter = data_converter or (client.data_converter if client else None)
    if isinstance(source, WorkflowHistory):
        histories: Sequence[WorkflowHistory] = [source]
    elif isinstance(source, Path):
        histories = [h for _, h in load_histories(source)]
    elif isinstance(source, str):
        if client is None:
            raise ValueError("reading the trail of an application ID needs a client")
        histories = await fetch_histories(client, source)
    else:
        histories = list(source)
    if converter is None:
        raise ValueError("give a data_converter (with the codec) to decode payloads")
    return await trail_of(histories, converter)
