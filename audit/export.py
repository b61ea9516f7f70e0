"""Export: an application's histories (parent and children), or those of workflows started on
their own, as JSON files, each exactly what `temporal workflow show --output json` and the
Web UI download write, and a `manifest.json` that names the workflow ID of each file (the
JSON itself does not)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client, WorkflowHistory

from onething.histories import (
    MANIFEST,
    fetch_histories,
    fetch_workflow_histories,
    run_id,
    started,
)

__all__ = [
    "ExportedHistory",
    "export_histories",
    "export_workflow_histories",
    "history_file_name",
]


@dataclass(frozen=True)
class ExportedHistory:
    workflow_id: str
    run_id: str
    workflow_type: str
    path: Path
    parent_workflow_id: str | None = None


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
    return _write(histories, out_dir, {"application_id": application_id})


async def export_workflow_histories(
    client: Client, workflow_ids: Sequence[str], out_dir: Path
) -> list[ExportedHistory]:
    """Write the histories of workflows started on their own (a license's term, a rating's
    follow-up: every run of each, and its children) into `out_dir`, as `export_histories`
    writes an application's."""
    histories = [h for w in workflow_ids for h in await fetch_workflow_histories(client, w)]
    return _write(histories, out_dir, {"workflow_ids": list(workflow_ids)})


def _write(
    histories: Sequence[WorkflowHistory], out_dir: Path, head: dict[str, object]
) -> list[ExportedHistory]:
    out_dir.mkdir(parents=True, exist_ok=True)
    exported: list[ExportedHistory] = []
    names: dict[str, int] = {}
    for history in histories:
        name = history_file_name(history.workflow_id)
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:  # a later run after continue-as-new
            name = name.removesuffix(".json") + f".run{names[name]}.json"
        path = out_dir / name
        path.write_text(history.to_json() + "\n", encoding="utf-8")
        attrs = started(history)
        parent = attrs.parent_workflow_execution.workflow_id or None
        exported.append(
            ExportedHistory(
                workflow_id=history.workflow_id,
                run_id=run_id(history),
                workflow_type=attrs.workflow_type.name,
                path=path,
                parent_workflow_id=parent,
            )
        )
    manifest = {
        **head,
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
