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
- `decision_trail` reads every acceptance, refusal, decision, supplement, inspection,
  extension, escalation and revocation out of the events (decoded update, signal and
  activity payloads, search-attribute upserts), with actor, role, time, rule (catalog
  version and item code) and reason. Only staff IDs, roles, codes and staff-written
  reasons are taken from payloads, never the applicant's personal data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio.api.common.v1 import Payloads, SearchAttributes
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.converter import DataConverter, decode_typed_search_attributes
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer, WorkflowRunner

from domain.application import application_workflow_id
from domain.people import Agent
from onething.costs import local_activity_data
from workflows import search_attributes as sa

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


# -- decision trail -------------------------------------------------------------------------


class TrailRow(BaseModel):
    """One decision or consequential event, as the history proves it."""

    at: datetime
    kind: str  # accepted, refused, decision, supplement, inspection, extension, escalation, ...
    action: str
    actor: str
    role: str
    rule: str | None = None  # "<catalog version>/<item code>"
    item_code: str | None = None
    reason: str | None = None
    detail: str | None = None
    workflow_id: str
    event_id: int


class DecisionTrail(BaseModel):
    application_id: str | None
    rows: list[TrailRow]

    def kinds(self) -> list[str]:
        return [r.kind for r in self.rows]


_KIND_WORDS: tuple[tuple[str, str], ...] = (
    ("revok", "revocation"),
    ("revocation", "revocation"),
    ("supplement", "supplement"),
    ("inspect", "inspection"),
    ("rectif", "inspection"),
    ("extend", "extension"),
    ("extension", "extension"),
    ("escalat", "escalation"),
    ("supervision", "escalation"),
    ("decide", "decision"),
    ("review", "decision"),
    ("approv", "decision"),
    ("commit", "commitment"),
    ("credit", "credit"),
    ("correct", "correction"),
    ("withdraw", "withdrawal"),
    ("cancel", "cancellation"),
    ("accept", "accepted"),
    ("refus", "refused"),
)

_ACTOR_KEYS = (
    "reviewer",
    "inspector",
    "supervisor",
    "clerk",
    "actor",
    "staff",
    "operator",
    "by",
    "decided_by",
    "accepted_by",
    "received_by",
)
_VERDICT_KEYS = ("verdict", "result", "outcome", "decision", "passed")
# Generic payloads only ever contribute these keys (never names, ID or phone numbers).
_REASON_KEYS = ("reason", "findings", "note", "remarks")


def _kind_of(name: str, default: str) -> str:
    lowered = name.lower()
    for word, kind in _KIND_WORDS:
        if word in lowered:
            return kind
    return default


def _find_staff(value: Any, depth: int = 0) -> dict[str, Any] | None:
    """The first {staff_id, role} object in a decoded payload, preferring actor keys."""
    if depth > 4:
        return None
    if isinstance(value, Mapping):
        if "staff_id" in value and "role" in value:
            return dict(value)
        for key in _ACTOR_KEYS:
            found = _find_staff(value.get(key), depth + 1)
            if found:
                return found
        for inner in value.values():
            found = _find_staff(inner, depth + 1)
            if found:
                return found
    if isinstance(value, list):
        for inner in value:
            found = _find_staff(inner, depth + 1)
            if found:
                return found
    return None


def _pick(value: Any, keys: Sequence[str]) -> str | None:
    if isinstance(value, Mapping):
        for key in keys:
            if key in value and value[key] not in (None, ""):
                return str(value[key])
    return None


@dataclass
class _Context:
    """What the history says about the workflow the events belong to."""

    workflow_id: str
    workflow_type: str
    application_id: str | None = None
    catalog_version: str | None = None
    item_code: str | None = None
    target: str | None = None
    clerk: dict[str, Any] | None = None
    channel: str | None = None
    agent: str | None = None  # 帮办代办: who applied for the applicant, redacted
    extensions_seen: dict[str, int] = field(default_factory=dict)

    @property
    def rule(self) -> str | None:
        code = self.item_code or self.target
        if self.catalog_version and code:
            return f"{self.catalog_version}/{code}"
        return self.catalog_version or code


def _redacted_agent(agent: Mapping[str, Any]) -> str:
    """The agent as logs and the Web UI may show them (surname, last four ID digits)."""
    try:
        shown = Agent.model_validate(agent).redacted()
    except ValueError:
        return "details withheld"
    organisation = agent.get("organisation")
    return f"{shown}, {organisation}" if organisation else shown


def _when(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def typed_search_attributes(api: SearchAttributes) -> TypedSearchAttributes:
    """The values a start or an upsert sets, typed. An unset value is a null payload, and
    the dev server keeps its type on it (`type: Datetime`), which the SDK's decoder then
    parses as a date and fails on: it sets nothing. A value that cannot be read is left
    out, so one attribute never hides the others or the trail."""
    pairs: list[SearchAttributePair[Any]] = []
    for name, payload in api.indexed_fields.items():
        if payload.metadata.get("encoding") == b"binary/null":
            continue
        try:
            one = decode_typed_search_attributes(SearchAttributes(indexed_fields={name: payload}))
        except (TypeError, ValueError, KeyError, RuntimeError):  # what the SDK raises
            continue
        pairs += one.search_attributes
    return TypedSearchAttributes(pairs)


async def _decode(converter: DataConverter, payloads: Payloads) -> list[Any]:
    if not payloads.payloads:
        return []
    try:
        return list(await converter.decode(list(payloads.payloads)))
    except Exception as exc:  # an unknown key, a payload from another converter
        return [{"undecodable": f"{type(exc).__name__}: {exc}"}]


class _TrailReader:
    def __init__(
        self,
        history: WorkflowHistory,
        converter: DataConverter,
        internal_signals: frozenset[str] = frozenset(),
    ) -> None:
        self.history = history
        self.converter = converter
        self.internal_signals = internal_signals
        self.extension_updates = False
        self.last_status: str | None = None
        self.rows: list[TrailRow] = []
        self.ctx = _Context(workflow_id=history.workflow_id, workflow_type="")
        self.scheduled: dict[int, tuple[str, Any]] = {}  # activity event id -> (type, input)
        self.updates: dict[str, TrailRow] = {}

    def row(self, event: HistoryEvent, kind: str, action: str, **values: Any) -> TrailRow:
        values.setdefault("actor", "system")
        values.setdefault("role", "system")
        values.setdefault("rule", self.ctx.rule)
        values.setdefault("item_code", self.ctx.item_code)
        row = TrailRow(
            at=values.pop("at", None) or _when(event),
            kind=kind,
            action=action,
            workflow_id=self.ctx.workflow_id,
            event_id=event.event_id,
            **values,
        )
        self.rows.append(row)
        return row

    async def read(self) -> list[TrailRow]:
        for event in self.history.events:
            await self.event(event)
        return self.rows

    async def event(self, event: HistoryEvent) -> None:
        kind = event.WhichOneof("attributes")
        handler = getattr(self, f"on_{kind}", None) if kind else None
        if handler is not None:
            await handler(event, getattr(event, str(kind)))

    # -- start and end ----------------------------------------------------------------

    async def on_workflow_execution_started_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        ctx = self.ctx
        ctx.workflow_type = attrs.workflow_type.name
        [arg, *_] = await _decode(self.converter, attrs.input) or [None]
        if isinstance(arg, Mapping):
            ctx.application_id = arg.get("application_id")
            ctx.catalog_version = arg.get("catalog_version")
            item = arg.get("item")
            if isinstance(item, Mapping):
                ctx.item_code = item.get("code")
            ctx.target = arg.get("bundle_code") or arg.get("item_code")
            clerk = arg.get("accepted_by")
            ctx.clerk = dict(clerk) if isinstance(clerk, Mapping) else None
            ctx.channel = arg.get("channel")
            if isinstance(arg.get("agent"), Mapping):
                ctx.agent = _redacted_agent(arg["agent"])
        typed = typed_search_attributes(attrs.search_attributes)
        ctx.catalog_version = ctx.catalog_version or typed.get(sa.CATALOG_VERSION)
        if isinstance(arg, Mapping) and arg.get("path") == "commitment":
            # 告知承诺: the item is approved on the applicant's signed commitment, no review.
            self.row(
                event,
                "commitment",
                "approved on commitment",
                actor="system",
                role="system",
                detail="applicant signed the commitment; credit standing allows it",
            )

    async def on_workflow_execution_completed_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        [result, *_] = await _decode(self.converter, attrs.result) or [None]
        if not isinstance(result, Mapping):
            return
        reason = result.get("reason")
        notice = result.get("notice")
        missing = None
        if isinstance(notice, Mapping) and notice.get("missing"):
            missing = "缺少材料: " + "、".join(
                str(m.get("name") or m.get("code")) for m in notice["missing"]
            )
        # The outcome explains the last status change (refused, rejected, stopped, ...); a
        # missing-materials notice explains only a refusal (after a deficiency acceptance
        # the notice lists what was deferred, not why the application ended).
        status_rows = [r for r in self.rows if r.kind in _STATUS_KINDS]
        if not status_rows:
            return
        last = status_rows[-1]
        if last.kind == "refused" and missing:
            last.detail = last.detail or missing
            last.reason = last.reason or reason or missing
        elif reason and last.kind != "completed":
            last.reason = last.reason or reason

    async def on_workflow_execution_terminated_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        self.row(
            event,
            "terminated",
            "workflow terminated",
            actor=attrs.identity or "unknown",
            role="operator",
            reason=attrs.reason or None,
        )

    async def on_workflow_execution_canceled_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        self.row(event, "cancellation", "workflow cancelled")

    async def on_workflow_execution_failed_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        self.row(event, "failed", "workflow failed", reason=attrs.failure.message or None)

    # -- status, escalation flags ------------------------------------------------------

    async def on_upsert_workflow_search_attributes_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        typed = typed_search_attributes(attrs.search_attributes)
        version = typed.get(sa.CATALOG_VERSION)
        if version:
            self.ctx.catalog_version = version
        status = typed.get(sa.APPLICATION_STATUS)
        if status:
            kind = _status_kind(
                status, accepted_before=any(r.kind == "accepted" for r in self.rows)
            )
            clerk = self.ctx.clerk
            actor, role = "system", "system"
            if kind in ("accepted", "refused"):
                if clerk:
                    actor, role = str(clerk.get("staff_id")), str(clerk.get("role"))
                else:  # no clerk in between: handed in online or by mail
                    actor = self.ctx.channel or "system"
                    role = "applicant" if actor in ("online", "mail") else "system"
            if status != self.last_status:
                self.last_status = status
                action = status
                if kind == "accepted":
                    deficient = status == "awaiting_supplement"
                    action = "accepted with deficiency" if deficient else "accepted"
                agent = self.ctx.agent if kind in ("accepted", "refused") else None
                self.row(
                    event,
                    kind,
                    action,
                    actor=actor,
                    role=role,
                    item_code=None,
                    detail=f"submitted by an agent (帮办代办): {agent}" if agent else None,
                )
        if typed.get(sa.ESCALATED) and not any(r.kind == "escalation" for r in self.rows):
            self.row(event, "escalation", "escalated (search attribute)")

    # -- human decisions: updates and signals ----------------------------------------

    async def on_workflow_execution_update_accepted_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        request = attrs.accepted_request
        name = request.input.name
        args = await _decode(self.converter, request.input.args)
        row = self._human(event, name, args, default_kind="update")
        self.updates[request.meta.update_id] = row

    async def on_workflow_execution_update_completed_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        row = self.updates.get(attrs.meta.update_id)
        if row is not None and attrs.outcome.HasField("failure"):
            row.detail = f"update failed: {attrs.outcome.failure.message}"

    async def on_workflow_execution_signaled_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        internal = attrs.external_workflow_execution.workflow_id or (
            attrs.signal_name in self.internal_signals
        )
        if internal:  # one workflow of the application telling another; not a decision
            return
        args = await _decode(self.converter, attrs.input)
        self._human(event, attrs.signal_name, args, default_kind="signal")

    def _human(
        self, event: HistoryEvent, name: str, args: list[Any], default_kind: str
    ) -> TrailRow:
        arg = args[0] if args else None
        staff = _find_staff(arg) or {}
        verdict = _pick(arg, _VERDICT_KEYS)
        reason = _pick(arg, _REASON_KEYS)
        kind = _kind_of(name, default_kind)
        self.extension_updates |= kind == "extension"
        action = name if verdict is None else f"{name}: {verdict}"
        if kind == "decision" and verdict is not None:
            action = f"review {verdict}"
        actor, role = staff.get("staff_id"), staff.get("role")
        if not actor and isinstance(arg, Mapping):
            if isinstance(arg.get("actor"), str) and isinstance(arg.get("role"), str):
                actor, role = arg["actor"], arg["role"]
            elif "channel" in arg or kind in ("withdrawal", "correction", "supplement"):
                # Handed in by the applicant (online, by mail) with no staff in between.
                actor, role = str(arg.get("channel") or "applicant"), "applicant"
        details = []
        if isinstance(arg, Mapping):
            if isinstance(arg.get("days"), int):
                details.append(f"{arg['days']} working days")
            materials = arg.get("materials")
            if isinstance(materials, list) and all(isinstance(m, str) for m in materials):
                details.append("materials: " + ", ".join(materials))
        department = _pick(staff, ("department",))
        if department:
            details.append(f"department {department}")
        undecodable = _pick(arg, ("undecodable",))
        return self.row(
            event,
            kind,
            action,
            actor=str(actor or "unknown"),
            role=str(role or "unknown"),
            reason=reason,
            detail=undecodable or "; ".join(details) or None,
        )

    # -- system steps: activities ------------------------------------------------------

    async def on_activity_task_scheduled_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        activity_type = attrs.activity_type.name
        [arg, *_] = await _decode(self.converter, attrs.input) or [None]
        self.scheduled[event.event_id] = (activity_type, arg)
        if not isinstance(arg, Mapping):
            return
        if activity_type == "supervision.open_case":
            self._escalation(event, arg)
        elif activity_type == "clock.compute_schedule":
            self._extensions(event, arg)
        elif activity_type == "revoke_license":
            self.row(event, "revocation", "license revoked", reason=_pick(arg, _REASON_KEYS))
        elif activity_type == "record_credit":
            self.row(
                event,
                "credit",
                f"credit record: {arg.get('kind')}",
                reason=_pick(arg, ("detail", "reason")),
            )

    def _escalation(self, event: HistoryEvent, arg: Mapping[str, Any]) -> None:
        stage, level, limit = arg.get("stage"), arg.get("level"), arg.get("limit")
        overdue = arg.get("due_at") != arg.get("escalated_at") or arg.get("total_days")
        self.row(
            event,
            "escalation",
            f"escalation stage {stage} to {level}",
            at=_parse_time(arg.get("escalated_at")) or _when(event),
            reason=(
                f"{limit} limit overdue (due {arg.get('due_at')})"
                if overdue
                else f"{limit}: handed to supervision"
            ),
            detail=str(arg.get("department") or "") or None,
        )

    def _extensions(self, event: HistoryEvent, record: Mapping[str, Any]) -> None:
        """Extensions recorded on the legal clock; only when no extension update said so
        already (a clock extended by other means still shows)."""
        if self.extension_updates:
            return
        limit = str(record.get("limit"))
        extensions = record.get("extensions") or []
        seen = self.ctx.extensions_seen.get(limit, 0)
        for extension in extensions[seen:]:
            decided_by = str(extension.get("decided_by") or "unknown")
            self.row(
                event,
                "extension",
                f"{limit} limit extended by {extension.get('days')} working days",
                at=_parse_time(extension.get("decided_at")) or _when(event),
                actor=decided_by,
                role=decided_by if decided_by in _ROLES else "unknown",
                reason=extension.get("reason"),
            )
        self.ctx.extensions_seen[limit] = max(seen, len(extensions))

    async def on_activity_task_completed_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        activity_type, _ = self.scheduled.get(attrs.scheduled_event_id, ("", None))
        await self._completed(event, activity_type, attrs.result)

    async def on_marker_recorded_event_attributes(self, event: HistoryEvent, attrs: Any) -> None:
        """A local activity: its marker holds its type and result (not its input)."""
        data = local_activity_data(event)
        if data is not None and "result" in attrs.details:
            await self._completed(event, str(data.get("activity_type")), attrs.details["result"])

    async def _completed(self, event: HistoryEvent, activity_type: str, payloads: Any) -> None:
        if activity_type not in ("pin_catalog", "issue_license"):
            return
        [result, *_] = await _decode(self.converter, payloads) or [None]
        if not isinstance(result, Mapping):
            return
        if activity_type == "pin_catalog":
            self.ctx.catalog_version = result.get("version") or self.ctx.catalog_version
        else:
            self.row(
                event,
                "license",
                f"license issued ({result.get('license_kind')})",
                detail=result.get("number"),
            )


_STATUS_KINDS = frozenset({"accepted", "refused", "status", "completed", "rejected", "stopped"})
_ROLES = frozenset(
    {"applicant", "window_clerk", "reviewer", "inspector", "supervisor", "auditor", "operator"}
)


def _status_kind(status: str, *, accepted_before: bool) -> str:
    """The trail kind of an application status; statuses that only echo a decision recorded
    elsewhere (withdrawn, cancelled: the update row) stay plain status rows."""
    if status in _OPEN_AFTER_ACCEPTANCE:
        return "status" if accepted_before else "accepted"
    if status in ("refused", "completed", "rejected", "stopped", "revoked"):
        return "revocation" if status == "revoked" else status
    return "status"


# The first of these statuses is the acceptance (with deficiency, or outright).
_OPEN_AFTER_ACCEPTANCE = frozenset({"in_progress", "awaiting_supplement", "accepted"})


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


async def _trail_of(
    histories: Sequence[WorkflowHistory], converter: DataConverter
) -> DecisionTrail:
    rows: list[TrailRow] = []
    application_id: str | None = None
    # Signals the application's own workflows send each other (parent <-> child).
    internal = frozenset(
        e.signal_external_workflow_execution_initiated_event_attributes.signal_name
        for h in histories
        for e in h.events
        if e.HasField("signal_external_workflow_execution_initiated_event_attributes")
    )
    for history in histories:
        reader = _TrailReader(history, converter, internal)
        rows += await reader.read()
        application_id = application_id or reader.ctx.application_id
    order = {h.workflow_id: i for i, h in enumerate(histories)}
    rows.sort(key=lambda r: (r.at, order.get(r.workflow_id, 0), r.event_id))
    return DecisionTrail(application_id=application_id, rows=rows)


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
    return await _trail_of(histories, converter)
