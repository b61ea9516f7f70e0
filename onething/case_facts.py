"""The read model of what happened, per case: projected from the applications' histories.

Where it comes from, and why. Every fact the KPIs count — acceptance, the correction (补正)
and the materials that answered it, supplements by channel, a reviewer's decisions and
correction requests, excluded time, extensions, inspections, licenses, revocations, credit
records, escalations by limit and stage, and each limit's due instant as last computed — is
an event of the application's own Temporal histories (parent and items), with its instant.
The projector reads those events (decoding payloads with the codec, as the auditor's trail
does, `audit.trail`) and writes one row per case and one per item into the store
(`store.case_facts`), keyed by application ID and the digest of every workflow's last event
ID. Why the histories and not the store's own tables:

- they are the one record that stays exact after worker kills, activity retries and
  replays: a retried activity, a replayed workflow task or a restarted worker adds no event,
  so nothing can be counted twice (the store's tables are written by activities that may
  run more than once and hold no trips, channels, pauses or decisions at all);
- no workflow changes: nothing new is emitted, the recorded histories replay as before;
- a projection is a pure function of the histories: the same histories give the same rows,
  and the digest makes a second run write nothing.

The store's tables still give what the histories do not hold: the case number
(`case_numbers`) and the ratings (`store.ratings`, counted by their own report).

The projection runs by itself every `ONETHING_REPORT_REFRESH_SECONDS` (a Temporal Schedule
the worker keeps, `onething.read_model_schedule`: its workflow's activity calls `refresh`
with the applications running or closed since the last successful run), and on demand
(`onething report refresh`, `POST /reports/refresh`); reports only read the rows, they never
replay a history per request. One application that cannot be projected is logged (its ID and
why), counted, and the run goes on.

What is counted (documented for the reader in docs/reports.md):
- trips: the submission at a window, each supplement or correction handed in at a window;
  mail and online count none (as the workflows count them);
- materials: the distinct material codes the applicant handed in (submission, correction,
  supplements); materials from shared data or an earlier license are not handed in;
- steps: acceptance and conclusion once, then per item the acts it went through (its
  decision or filing, each inspection, its license), plus each extra round: every
  correction answered, every supplement, every reviewer's correction request;
- working days: on the working calendar (`domain.calendar`), from acceptance to the item's
  decision and to its license, less the working days paused (the applicant's correction,
  excluded time);
- limits met: decided by the due instant of the limit as last computed (review or promised;
  statutory), never escalated; without a clock (commitment, filing) within its days.
"""

from __future__ import annotations

import asyncio
import hashlib
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter

from activities.read_model import RefreshResult
from domain.calendar import WorkingCalendar
from domain.catalog_models import WINDOW_STEPS
from domain.notices import SERVICE_CENTER_TIMEZONE
from onething import history_names as names
from onething.costs import local_activity_data
from onething.histories import fetch_histories
from onething.history_payloads import decode_payloads, parse_time, typed_search_attributes, when
from onething.logs import get_logger
from store import case_facts as store
from store import case_numbers
from workflows import search_attributes as sa

__all__ = ["NotProjectable", "RefreshResult", "application_id_of", "project", "refresh"]

_log = get_logger("onething.case_facts")

_BEIJING = ZoneInfo(SERVICE_CENTER_TIMEZONE)
_ACCEPTED = frozenset({"in_progress", "awaiting_supplement", "accepted"})
_ISSUED = frozenset({"issued", "inspecting", "rectifying", "closed"})
_PROMISED_LIMITS = frozenset({"review", "promised"})
_CLOSED = (
    "workflow_execution_completed_event_attributes",
    "workflow_execution_failed_event_attributes",
    "workflow_execution_terminated_event_attributes",
    "workflow_execution_canceled_event_attributes",
    "workflow_execution_timed_out_event_attributes",
)


class NotProjectable(ValueError):
    """The histories are not an application's (their message names workflow IDs only)."""


def _day(at: datetime) -> date:
    return at.astimezone(_BEIJING).date()


def application_id_of(workflow_id: str) -> str | None:
    """`application-<ID>` or `application-<ID>/item-<code>` -> the application ID."""
    if not workflow_id.startswith("application-"):
        return None
    return workflow_id.removeprefix("application-").split("/", 1)[0] or None


@dataclass
class _Event:
    """One fact of a history, decoded: what the projection counts."""

    at: datetime
    kind: str  # start, status, update:<name>, escalation, credit, revoke, license, schedule, end
    data: Any = None


async def _facts(history: WorkflowHistory, converter: DataConverter) -> list[_Event]:
    """The history's facts in order; an update whose handler failed is left out."""
    failed = {
        e.workflow_execution_update_completed_event_attributes.meta.update_id
        for e in history.events
        if e.HasField("workflow_execution_update_completed_event_attributes")
        and e.workflow_execution_update_completed_event_attributes.outcome.HasField("failure")
    }
    scheduled: dict[int, str] = {}
    out: list[_Event] = []
    for event in history.events:
        kind = event.WhichOneof("attributes")
        at = when(event)
        if kind == "workflow_execution_started_event_attributes":
            started = event.workflow_execution_started_event_attributes
            [arg, *_] = await decode_payloads(converter, started.input) or [None]
            out.append(_Event(at, "start", arg))
            status = typed_search_attributes(started.search_attributes).get(sa.APPLICATION_STATUS)
            if status:
                out.append(_Event(at, "status", status))
        elif kind == "upsert_workflow_search_attributes_event_attributes":
            typed = typed_search_attributes(
                event.upsert_workflow_search_attributes_event_attributes.search_attributes
            )
            status = typed.get(sa.APPLICATION_STATUS)
            if status:
                out.append(_Event(at, "status", status))
        elif kind == "workflow_execution_update_accepted_event_attributes":
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            if request.meta.update_id in failed:
                continue
            args = await decode_payloads(converter, request.input.args)
            out.append(_Event(at, f"update:{request.input.name}", args[0] if args else None))
        elif kind == "activity_task_scheduled_event_attributes":
            sched = event.activity_task_scheduled_event_attributes
            name = sched.activity_type.name
            scheduled[event.event_id] = name
            if name in (names.OPEN_SUPERVISION_CASE, names.RECORD_CREDIT, names.REVOKE_LICENSE):
                [arg, *_] = await decode_payloads(converter, sched.input) or [None]
                what = {
                    names.OPEN_SUPERVISION_CASE: "escalation",
                    names.RECORD_CREDIT: "credit",
                    names.REVOKE_LICENSE: "revoke",
                }[name]
                out.append(_Event(at, what, arg if isinstance(arg, Mapping) else {}))
        elif kind == "activity_task_completed_event_attributes":
            done = event.activity_task_completed_event_attributes
            name = scheduled.get(done.scheduled_event_id, "")
            await _completed(out, at, name, done.result, converter)
        elif kind == "marker_recorded_event_attributes":
            data = local_activity_data(event)
            details = event.marker_recorded_event_attributes.details
            if data is not None and "result" in details:
                await _completed(
                    out, at, str(data.get("activity_type")), details["result"], converter
                )
        elif kind == "workflow_execution_completed_event_attributes":
            completed = event.workflow_execution_completed_event_attributes
            [result, *_] = await decode_payloads(converter, completed.result) or [None]
            status = result.get("status") if isinstance(result, Mapping) else None
            out.append(_Event(at, "end", {"status": status}))
        elif kind in _CLOSED:
            out.append(_Event(at, "end", {"status": None}))
    return out


async def _completed(
    out: list[_Event], at: datetime, name: str, payloads: Any, converter: DataConverter
) -> None:
    if name not in (names.ISSUE_LICENSE, names.COMPUTE_SCHEDULE):
        return
    [result, *_] = await decode_payloads(converter, payloads) or [None]
    if isinstance(result, Mapping):
        out.append(_Event(at, "license" if name == names.ISSUE_LICENSE else "schedule", result))


# --------------------------------------------------------------------------- projection


@dataclass
class _Pauses:
    open_at: dict[str, datetime] = field(default_factory=dict)
    days: int = 0

    def start(self, what: str, at: datetime) -> None:
        self.open_at.setdefault(what, at)

    def end(self, what: str, at: datetime, calendar: WorkingCalendar) -> None:
        began = self.open_at.pop(what, None)
        if began is not None:
            self.days += max(0, calendar.working_days_between(_day(began), _day(at)))


def _working_days(
    calendar: WorkingCalendar, start: datetime | None, end: datetime | None, paused: int
) -> int | None:
    if start is None or end is None:
        return None
    return max(0, calendar.working_days_between(_day(start), _day(end)) - paused)


def _met(
    decided: datetime | None,
    due: datetime | None,
    escalated: bool,
    days: int | None,
    budget: int,
) -> bool | None:
    if escalated:
        return False
    if decided is None:
        return None
    if due is not None:
        return decided <= due
    return days is not None and days <= budget


def _item(
    facts: list[_Event], accepted_at: datetime | None, calendar: WorkingCalendar
) -> tuple[store.ItemFact, int, int, int]:
    """The item's row, with its window trips, its steps and its materials."""
    start = facts[0].data if facts and isinstance(facts[0].data, Mapping) else {}
    item = start.get("item") or {}
    application_id = str(start.get("application_id"))
    path = start.get("path")
    row = store.ItemFact(
        application_id=application_id,
        item_code=str(item.get("code")),
        department=str(item.get("department")),
        path=path,
        outcome="open",
        promised_days=int(item.get("promised_days") or 0),
        statutory_days=int(item.get("statutory_days") or 0),
        started_at=facts[0].at if facts else None,
    )
    pauses = _Pauses()
    due: dict[str, datetime] = {}
    escalated: set[str] = set()
    trips = 0
    steps = 0
    materials: set[str] = set()
    if path == "commitment":
        row.decided_at, row.outcome = row.started_at, "approved"
        steps += 1
    for fact in facts[1:]:
        arg = fact.data if isinstance(fact.data, Mapping) else {}
        if fact.kind == f"update:{names.DECIDE}":
            verdict = arg.get("verdict")
            steps += 1
            if verdict == "request_correction":
                row.corrections += 1
                pauses.start("correction", fact.at)
            elif row.decided_at is None:
                row.decided_at = fact.at
                row.outcome = "approved" if verdict == "approve" else "rejected"
        elif fact.kind == f"update:{names.CORRECT}":
            pauses.end("correction", fact.at, calendar)
            trips += arg.get("channel") == "window"
            steps += 1
        elif fact.kind == f"update:{names.EXCLUDE_TIME}":
            row.excluded += 1
            pauses.start("excluded", fact.at)
        elif fact.kind == f"update:{names.END_EXCLUDED_TIME}":
            pauses.end("excluded", fact.at, calendar)
        elif fact.kind == f"update:{names.EXTEND}":
            row.extension_days += int(arg.get("days") or 0)
        elif fact.kind == f"update:{names.INSPECT}":
            steps += 1
            result = arg.get("result")
            if result == "passed":
                row.inspections_passed += 1
            else:
                row.inspections_failed += 1
                row.false_commitment |= result == "false_commitment"
        elif fact.kind == "license" and row.licensed_at is None:
            row.licensed_at = fact.at
            steps += 1
            if row.decided_at is None:  # a filing recorded on the spot
                row.decided_at, row.outcome = fact.at, "approved"
                steps += 1
        elif fact.kind == "revoke":
            row.revoked = True
        elif fact.kind == "schedule":
            limit, at = str(fact.data.get("limit")), parse_time(fact.data.get("due_at"))
            if at is not None:
                due[limit] = at
        elif fact.kind == "escalation":
            limit = str(arg.get("limit"))
            if arg.get("stage") == 2:
                row.escalations_2 += 1
            else:
                row.escalations_1 += 1
                escalated.add(limit)
        elif fact.kind == "end" and row.decided_at is None:
            status = arg.get("status")
            if status in _ISSUED:  # a filing recorded on the spot, with nothing to issue
                row.decided_at, row.outcome = fact.at, "approved"
                steps += 1
            else:
                row.outcome = "rejected" if status == "rejected" else "stopped"
    if row.revoked:
        row.outcome = "revoked"
    row.paused_days = pauses.days
    row.promised_due_at = next((due[k] for k in _PROMISED_LIMITS if k in due), None)
    row.statutory_due_at = due.get("statutory")
    row.decision_days = _working_days(calendar, accepted_at, row.decided_at, pauses.days)
    row.license_days = _working_days(calendar, accepted_at, row.licensed_at, pauses.days)
    row.promised_met = _met(
        row.decided_at,
        row.promised_due_at,
        bool(escalated & _PROMISED_LIMITS),
        row.decision_days,
        row.promised_days + row.extension_days,
    )
    row.statutory_met = _met(
        row.decided_at,
        row.statutory_due_at,
        "statutory" in escalated,
        row.decision_days,
        row.statutory_days + row.extension_days,
    )
    return row, trips, steps, len(materials)


def digest(histories: Sequence[WorkflowHistory]) -> tuple[str, int]:
    """sha256 of every workflow's (ID, last event ID), and the first history's last event."""
    marks = sorted(f"{h.workflow_id}:{h.events[-1].event_id if h.events else 0}" for h in histories)
    root = histories[0].events[-1].event_id if histories and histories[0].events else 0
    return hashlib.sha256("\n".join(marks).encode()).hexdigest(), root


async def project(
    histories: Sequence[WorkflowHistory],
    converter: DataConverter,
    calendar: WorkingCalendar,
    *,
    case_number: str | None = None,
) -> tuple[store.CaseFact, list[store.ItemFact]]:
    """The case's row and its items' rows from its histories (the application's first)."""
    if not histories:
        raise NotProjectable("no histories to project")
    facts = [await _facts(h, converter) for h in histories]
    root = facts[0]
    submission = root[0].data if root and isinstance(root[0].data, Mapping) else {}
    if not submission.get("application_id"):
        raise NotProjectable(f"{histories[0].workflow_id}: not an application's history")
    source, last = digest(histories)
    channel = str(submission.get("channel") or "window")
    case = store.CaseFact(
        application_id=str(submission["application_id"]),
        source_digest=source,
        last_event_id=last,
        case_number=case_number,
        target=str(submission.get("bundle_code") or submission.get("item_code")),
        is_bundle=bool(submission.get("bundle_code")),
        hall=str(submission.get("hall") or ""),
        channel=channel,
        assisted=submission.get("agent") is not None,
        status="submitted",
        received_at=root[0].at,
        trips=1 if channel == "window" else 0,
    )
    materials: set[str] = set(submission.get("materials") or [])
    statuses: list[str] = []
    extra_steps = 0
    for fact in root[1:]:
        arg = fact.data if isinstance(fact.data, Mapping) else {}
        if fact.kind == "status" and fact.data != case.status:
            case.status = str(fact.data)
            statuses.append(case.status)
            if case.status == "awaiting_correction":
                case.corrected = True
            if case.status in _ACCEPTED and case.accepted_at is None:
                case.accepted_at = fact.at
                case.deficiency = case.status == "awaiting_supplement"
        elif fact.kind == f"update:{names.SUPPLEMENT}":
            materials |= set(arg.get("materials") or [])
            case.trips += arg.get("channel") == "window"
            extra_steps += 1
            if case.status == "awaiting_correction":
                case.correction_rounds += 1
        elif fact.kind == "escalation":
            if arg.get("stage") == 2:
                case.escalations_2 += 1
            else:
                case.escalations_1 += 1
        elif fact.kind == "credit" and arg.get("kind") == "broken_pledge":
            case.pledge = "broken"
        elif fact.kind == "end":
            case.ended_at = fact.at
    if case.deficiency and case.pledge is None:
        after = statuses[statuses.index("awaiting_supplement") + 1 :]
        if any(s in ("in_progress", "completed") for s in after):
            case.pledge = "kept"
        elif "stopped" in after:
            case.pledge = "broken"
        else:
            case.pledge = "open"
    items: list[store.ItemFact] = []
    item_steps = 0
    for item_facts in facts[1:]:
        if not item_facts or not isinstance(item_facts[0].data, Mapping):
            continue
        if "item" not in item_facts[0].data:  # not an item's history
            continue
        row, trips, steps, _ = _item(item_facts, case.accepted_at, calendar)
        case.trips += trips
        item_steps += steps
        items.append(row)
    case.materials = len(materials)
    case.steps = (WINDOW_STEPS if case.accepted_at else 1) + item_steps + extra_steps
    return case, items


# --------------------------------------------------------------------------- refresh


async def _application_ids(client: Client, since: datetime | None) -> list[str]:
    """Applications with a workflow running, or closed since `since` (all when None)."""
    query = 'WorkflowId STARTS_WITH "application-"'
    if since is not None:
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        query += f' AND (ExecutionStatus = "Running" OR CloseTime >= "{stamp}")'
    found: set[str] = set()
    async for execution in client.list_workflows(query):
        application_id = application_id_of(execution.id)
        if application_id:
            found.add(application_id)
    return sorted(found)


async def refresh(
    client: Client,
    engine: Engine,
    calendar: WorkingCalendar,
    *,
    application_ids: Iterable[str] | None = None,
    since: datetime | None = None,
    beat: Callable[[], None] | None = None,
) -> RefreshResult:
    """Project the given applications (default: those the server lists, running or closed
    since `since`) into the store; an unchanged history writes nothing. `beat` is called
    after each application (the scheduled run's heartbeat)."""
    ids = (
        list(application_ids)
        if application_ids is not None
        else await _application_ids(client, since)
    )
    result = RefreshResult()
    for application_id in ids:
        try:
            await _refresh_one(client, engine, calendar, application_id, result)
        except Exception as exc:  # one case never stops the others
            why = _why(exc)
            result.failed[application_id] = why
            _log.warning("case not projected", application_id=application_id, why=why)
        if beat is not None:
            beat()
    return result


async def _refresh_one(
    client: Client,
    engine: Engine,
    calendar: WorkingCalendar,
    application_id: str,
    result: RefreshResult,
) -> None:
    histories = await fetch_histories(client, application_id)
    result.read += 1
    source, _ = digest(histories)
    # The store's calls block: off the event loop, which the worker's other activities share.
    if await asyncio.to_thread(store.digest_of, application_id, engine) == source:
        result.unchanged += 1
        return
    number = await asyncio.to_thread(case_numbers.find, engine, application_id)
    case, items = await project(
        histories,
        client.data_converter,
        calendar,
        case_number=str(number) if number else None,
    )
    if await asyncio.to_thread(store.write, engine, case, items):
        result.written += 1
    else:
        result.unchanged += 1


def _why(exc: Exception) -> str:
    """Why a case was not projected, without its data: the projector's own messages name
    only workflow IDs; any other error only its type and where it was raised, since its
    message may quote a payload."""
    if isinstance(exc, LookupError | NotProjectable):
        return str(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"
