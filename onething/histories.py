"""An application's workflow histories: fetched from Temporal (the parent and every child,
also across continue-as-new) or loaded from history files and export directories."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from domain.application import application_workflow_id

__all__ = [
    "MANIFEST",
    "HistoryNotFound",
    "fetch_histories",
    "fetch_workflow_histories",
    "load_histories",
    "run_id",
    "started",
]

MANIFEST = "manifest.json"


class HistoryNotFound(LookupError):
    """No workflow with that ID (or no history file at that path)."""


def started(history: WorkflowHistory) -> Any:
    """The attributes of the history's start event."""
    if not history.events or not history.events[0].HasField(
        "workflow_execution_started_event_attributes"
    ):
        raise HistoryNotFound(f"history of {history.workflow_id!r} has no start event")
    return history.events[0].workflow_execution_started_event_attributes


def run_id(history: WorkflowHistory) -> str:
    attrs = started(history)
    # The started event names this run's ID only through the chain fields; the
    # original_execution_run_id is this run's own ID on every server we use.
    return str(attrs.original_execution_run_id or attrs.first_execution_run_id)


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
    return await fetch_workflow_histories(client, application_workflow_id(application_id))


async def fetch_workflow_histories(client: Client, root: str) -> list[WorkflowHistory]:
    """Every run of the workflow `root` (from its first, across continue-as-new) and of
    each child it started, parents first."""
    first = await _fetch(client, root, None)
    # The first run of the root: follow continue-as-new from there.
    first_run = started(first).first_execution_run_id or None
    if first_run and first_run != run_id(first):
        first = await _fetch(client, root, first_run)
    result: list[WorkflowHistory] = []
    queue: list[WorkflowHistory] = [first]
    seen: set[tuple[str, str]] = set()
    while queue:
        history = queue.pop(0)
        key = (history.workflow_id, run_id(history))
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


async def _fetch(client: Client, workflow_id: str, run: str | None) -> WorkflowHistory:
    try:
        return await client.get_workflow_handle(workflow_id, run_id=run).fetch_history()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise HistoryNotFound(f"no workflow {workflow_id!r} on this Temporal") from None
        raise


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
                first = history.events[0].workflow_execution_started_event_attributes
                workflow_id = first.workflow_id
            if not workflow_id:
                workflow_id = file.stem.replace("__", "/")
            loaded.append((file, WorkflowHistory(workflow_id, history.events)))
    return loaded
