"""The decision trail's rows, and the base of the reader that writes them from one history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from onething.history_payloads import when

__all__ = ["Context", "DecisionTrail", "RowReader", "TrailRow"]


class TrailRow(BaseModel):
    """One decision or consequential event, as the history proves it."""

    at: datetime
    kind: str  # a `audit.kinds.Kind`: accepted, correction, decision, referral, ...
    action: str
    actor: str
    role: str
    on_behalf_of: str | None = None  # e.g. a clerk withdrawing for the applicant
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


@dataclass
class Context:
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


class RowReader:
    """Reads one history event by event: each kind of event to the `on_<its attributes>`
    method a subclass has for it, each row through `row`."""

    def __init__(self, history: WorkflowHistory, converter: DataConverter) -> None:
        self.history = history
        self.converter = converter
        self.ctx = Context(workflow_id=history.workflow_id, workflow_type="")
        self.rows: list[TrailRow] = []
        self.scheduled: dict[int, str] = {}  # activity event id -> its type
        self.extension_updates = False  # an extension update said so: the clock need not

    def row(self, event: HistoryEvent, kind: str, action: str, **values: Any) -> TrailRow:
        values.setdefault("actor", "system")
        values.setdefault("role", "system")
        values.setdefault("rule", self.ctx.rule)
        values.setdefault("item_code", self.ctx.item_code)
        row = TrailRow(
            at=values.pop("at", None) or when(event),
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
