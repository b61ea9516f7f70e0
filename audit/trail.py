"""The decision trail: who decided what, when, under which rule, and why, read from the
history events themselves (decoded update, signal and activity payloads, search-attribute
upserts), not from what the workflow code says about itself today.

Only staff IDs, roles, codes and staff-written reasons are taken from payloads, never the
applicant's personal data. Which kind of row an event is: `audit.kinds`; the activities and
updates it recognises: `onething.history_names`; its rows: `audit.rows`; what the activities say:
`audit.trail_steps`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter

from audit import kinds
from audit.kinds import Kind
from audit.rows import DecisionTrail, RowReader, TrailRow
from audit.term_trail import TermReader
from audit.trail_steps import ActivityReader
from domain import notices
from domain.application import ApplicationStatus, RefusalGround
from domain.excluded_time import ExcludedTimeKind
from domain.people import Agent
from onething import history_names as names
from onething.histories import fetch_histories, load_histories, started
from onething.history_payloads import (
    REASON_KEYS,
    VERDICT_KEYS,
    decode_payloads,
    find_staff,
    pick,
    typed_search_attributes,
)
from workflows import search_attributes as sa

__all__ = ["decision_trail", "trail_of"]


def _redacted_agent(agent: Mapping[str, Any]) -> str:
    """The agent as logs and the Web UI may show them (surname, last four ID digits)."""
    try:
        shown = Agent.model_validate(agent).redacted()
    except ValueError:
        return "details withheld"
    organisation = agent.get("organisation")
    return f"{shown}, {organisation}" if organisation else shown


class _TrailReader(ActivityReader):
    def __init__(
        self,
        history: WorkflowHistory,
        converter: DataConverter,
        internal_signals: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(history, converter)
        self.internal_signals = internal_signals
        self.last_status: str | None = None
        self.status_rows: list[TrailRow] = []  # one per status the workflow set
        self.refused_by_update = False  # a clerk's `refuse`: the status only echoes it
        self.excluded: str | None = None  # the excluded time running (its label)
        self.updates: dict[str, TrailRow] = {}

    # -- start and end ----------------------------------------------------------------

    async def on_workflow_execution_started_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        ctx = self.ctx
        ctx.workflow_type = attrs.workflow_type.name
        [arg, *_] = await decode_payloads(self.converter, attrs.input) or [None]
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
                Kind.COMMITMENT,
                "approved on commitment",
                actor="system",
                role="system",
                detail="applicant signed the commitment; credit standing allows it",
            )

    async def on_workflow_execution_completed_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        [result, *_] = await decode_payloads(self.converter, attrs.result) or [None]
        if not isinstance(result, Mapping):
            return
        reason = result.get("reason")
        notice = result.get("notice")
        missing = None
        if isinstance(notice, Mapping) and notice.get("missing"):
            missing = "缺少材料: " + "、".join(
                str(m.get("name") or m.get("code")) for m in notice["missing"]
            )
        # The notice lists what was missing: at a correction (补正) the notice's own list; a
        # refusal before the revision refused for it.
        corrections = [r for r in self.status_rows if r.kind == Kind.CORRECTION]
        accepted = any(r.kind == Kind.ACCEPTED for r in self.status_rows)
        correction_notice = isinstance(notice, Mapping) and (
            notice.get("consequence") == notices.CORRECTION_CONSEQUENCE
        )
        if corrections and missing and (correction_notice or not accepted):
            notice_row = corrections[0]
            notice_row.detail = "; ".join(filter(None, (missing, notice_row.detail)))
        # The outcome explains the last status change (refused, lapsed, rejected, stopped,
        # ...); after a deficiency acceptance the notice lists what was deferred, not why
        # the application ended.
        if not self.status_rows:
            return
        last = self.status_rows[-1]
        if last.kind == Kind.REFUSED and missing and not corrections:
            last.detail = last.detail or missing
            last.reason = last.reason or reason or missing
        elif reason and last.kind != Kind.COMPLETED:
            last.reason = last.reason or reason

    async def on_workflow_execution_terminated_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        self.row(
            event,
            Kind.TERMINATED,
            "workflow terminated",
            actor=attrs.identity or "unknown",
            role="operator",
            reason=attrs.reason or None,
        )

    async def on_workflow_execution_canceled_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        self.row(event, Kind.CANCELLATION, "workflow cancelled")

    async def on_workflow_execution_failed_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        self.row(event, Kind.FAILED, "workflow failed", reason=attrs.failure.message or None)

    # -- status, escalation flags ------------------------------------------------------

    async def on_upsert_workflow_search_attributes_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        typed = typed_search_attributes(attrs.search_attributes)
        version = typed.get(sa.CATALOG_VERSION)
        if version:
            self.ctx.catalog_version = version
        status = typed.get(sa.APPLICATION_STATUS)
        if status and status != self.last_status:
            self.last_status = status
            self._status(event, status)
        if typed.get(sa.ESCALATED) and not any(r.kind == Kind.ESCALATION for r in self.rows):
            self.row(event, Kind.ESCALATION, "escalated (search attribute)")

    def _status(self, event: HistoryEvent, status: str) -> None:
        kind = kinds.status_kind(
            status,
            accepted_before=any(r.kind == Kind.ACCEPTED for r in self.status_rows),
            refused_by_update=self.refused_by_update,
        )
        actor, role = "system", "system"
        agent = None
        if kind in kinds.AT_THE_WINDOW:  # the receipt of the application says it
            received = any(r.kind in kinds.AT_THE_WINDOW for r in self.status_rows)
            agent = None if received else self.ctx.agent
            clerk = self.ctx.clerk
            if clerk:
                actor, role = str(clerk.get("staff_id")), str(clerk.get("role"))
            elif kind == Kind.CORRECTION:  # no clerk: the system sends the notice
                pass
            else:  # no clerk in between: handed in online or by mail
                actor = self.ctx.channel or "system"
                role = "applicant" if actor in ("online", "mail") else "system"
        action = _STATUS_ACTIONS.get(status, status) if kind != Kind.STATUS else status
        self.status_rows.append(
            self.row(
                event,
                kind,
                action,
                actor=actor,
                role=role,
                item_code=None,
                detail=f"submitted by an agent (帮办代办): {agent}" if agent else None,
            )
        )

    # -- human decisions: updates and signals ----------------------------------------

    async def on_workflow_execution_update_accepted_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        request = attrs.accepted_request
        name = request.input.name
        args = await decode_payloads(self.converter, request.input.args)
        row = self._human(event, name, args, default_kind=Kind.UPDATE)
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
        args = await decode_payloads(self.converter, attrs.input)
        self._human(event, attrs.signal_name, args, default_kind=Kind.SIGNAL)

    def _human(
        self, event: HistoryEvent, name: str, args: list[Any], default_kind: Kind
    ) -> TrailRow:
        arg = args[0] if args else None
        staff = find_staff(arg) or {}
        verdict = pick(arg, VERDICT_KEYS)
        reason = pick(arg, REASON_KEYS)
        kind = _EXACT_KINDS.get(name) or kinds.kind_of_name(name, default_kind)
        self.extension_updates |= kind == Kind.EXTENSION
        action = name if verdict is None else f"{name}: {verdict}"
        if name == names.ANSWER_FOLLOW_UP:
            reason = pick(arg, ("text",))  # the department's own words: what it did
        elif name == names.RATING_EXCLUDED:
            action, staff = "rating excluded: the department's appeal upheld", SYSTEM
        if kind == Kind.DECISION and verdict is not None:
            action = f"review {verdict}"
        actor, role = staff.get("staff_id"), staff.get("role")
        if not actor and isinstance(arg, Mapping):
            if isinstance(arg.get("actor"), str) and isinstance(arg.get("role"), str):
                actor, role = arg["actor"], arg["role"]
            elif "channel" in arg or kind in (Kind.WITHDRAWAL, Kind.CORRECTION, Kind.SUPPLEMENT):
                # Handed in by the applicant (online, by mail) with no staff in between.
                actor, role = str(arg.get("channel") or "applicant"), "applicant"
        details = []
        on_behalf_of = None
        if isinstance(arg, Mapping):
            for key, unit in (("days", ""), ("expected_days", "expected ")):
                if isinstance(arg.get(key), int):
                    details.append(f"{unit}{arg[key]} working days")
            materials = arg.get("materials")
            if isinstance(materials, list) and all(isinstance(m, str) for m in materials):
                details.append("materials: " + ", ".join(materials))
            if kind == Kind.WITHDRAWAL and isinstance(arg.get("received_by"), Mapping):
                on_behalf_of = "applicant"  # a clerk at the window, for the applicant
            kind, action, reason = self._procedure(name, kind, action, reason, arg, details)
        department = pick(staff, ("department",))
        if department:
            details.append(f"department {department}")
        undecodable = pick(arg, ("undecodable",))
        return self.row(
            event,
            kind,
            action,
            actor=str(actor or "unknown"),
            role=str(role or "unknown"),
            on_behalf_of=on_behalf_of,
            reason=reason,
            detail=undecodable or "; ".join(details) or None,
        )

    def _procedure(
        self,
        name: str,
        kind: Kind,
        action: str,
        reason: str | None,
        arg: Mapping[str, Any],
        details: list[str],
    ) -> tuple[Kind, str, str | None]:
        """The updates of procedure revision 2026-12 that need more than their name: the
        applicant's materials while a correction is awaited (补正), a clerk's refusal with its
        ground, and excluded time (Art. 45) started and ended with its result."""
        if name == names.SUPPLEMENT and self.last_status == _AWAITING_CORRECTION:
            channel = arg.get("channel") or "unknown"
            return Kind.CORRECTION, f"correction received by {channel}", reason
        if name == names.REFUSE:
            self.refused_by_update = True
            ground = str(arg.get("ground"))
            label = RefusalGround(ground).label if ground in _REFUSAL_GROUNDS else ground
            office = arg.get("competent_office")
            details.append(f"{label}; 有权机关: {office}" if office else label)
            return Kind.REFUSED, f"refused: {ground}", reason
        if name == names.EXCLUDE_TIME:
            what = str(arg.get("kind"))
            self.excluded = ExcludedTimeKind(what).label if what in _EXCLUDED_KINDS else what
            return Kind.EXCLUDED_TIME, f"excluded time started: {self.excluded}", reason
        if name == names.END_EXCLUDED_TIME:
            what = self.excluded or "unknown"
            self.excluded = None
            return Kind.EXCLUDED_TIME, f"excluded time ended: {what}", pick(arg, ("result",))
        return kind, action, reason


_AWAITING_CORRECTION = ApplicationStatus.AWAITING_CORRECTION.value
_STATUS_ACTIONS = {
    ApplicationStatus.AWAITING_SUPPLEMENT.value: "accepted with deficiency",
    ApplicationStatus.IN_PROGRESS.value: "accepted",
    _AWAITING_CORRECTION: "correction requested (补正)",
    ApplicationStatus.LAPSED.value: "lapsed: the correction did not arrive in time",
    ApplicationStatus.REVOKED.value: "revoked: none of its licenses stands",
}
_REFUSAL_GROUNDS = frozenset(g.value for g in RefusalGround)
# Names a word of them would mislead on (`kinds.NAME_WORDS`: "exclud" is Art. 45 time).
_EXACT_KINDS = {names.ANSWER_FOLLOW_UP: Kind.FOLLOW_UP, names.RATING_EXCLUDED: Kind.APPEAL}
SYSTEM = {"staff_id": "system", "role": "system"}
_EXCLUDED_KINDS = frozenset(k.value for k in ExcludedTimeKind)


async def trail_of(histories: Sequence[WorkflowHistory], converter: DataConverter) -> DecisionTrail:
    """The trail of an application's histories (parent and children), or of a license's
    term (`audit.term_trail`), in time order."""
    rows: list[TrailRow] = []
    application_id: str | None = None
    # Signals the application's own workflows send each other (parent <-> child), and the
    # one a department's system sends for an item (`report_issued`): none is a decision.
    internal = frozenset(
        e.signal_external_workflow_execution_initiated_event_attributes.signal_name
        for h in histories
        for e in h.events
        if e.HasField("signal_external_workflow_execution_initiated_event_attributes")
    ) | {names.ITEM_ISSUED}
    for history in histories:
        reader: RowReader = (
            TermReader(history, converter)
            if started(history).workflow_type.name == names.LICENSE_TERM
            else _TrailReader(history, converter, internal)
        )
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
    return await trail_of(histories, converter)
