"""Small workflows that run legal clocks, for the time-skipping clock tests."""

from __future__ import annotations

import asyncio
from datetime import datetime

from pydantic import BaseModel, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.clock import ClockEvent, ClockPolicy, ClockSnapshot, DueMoved
    from domain.staff_words import clock_words

from workflows.clock import LegalClock, publish_clock_state


class ClockTestInput(BaseModel):
    limit: str = "promised"
    budget_days: int
    policy: ClockPolicy = ClockPolicy()
    department: str = "market-regulation"
    subject: str = "TEST-APP/ITEM-1"
    publish_search_attributes: bool = False


class ExtendInput(BaseModel):
    days: int
    reason: str
    by: str = "office-head"


@workflow.defn(sandboxed=True)
class ClockTestWorkflow:
    @workflow.init
    def __init__(self, params: ClockTestInput) -> None:
        self.finished = False
        self.reminders: list[ClockEvent] = []
        self.escalations: list[ClockEvent] = []
        self.changes = 0
        self.publish = params.publish_search_attributes
        self.clock = LegalClock(
            params.limit,
            params.budget_days,
            policy=params.policy,
            department=params.department,
            subject=params.subject,
            on_warning=self._remind,
            on_escalation=self._escalated,
            on_change=self._changed,
        )

    async def _remind(self, event: ClockEvent) -> None:
        self.reminders.append(event)

    async def _escalated(self, event: ClockEvent) -> None:
        self.escalations.append(event)

    async def _changed(self, snapshot: ClockSnapshot) -> None:
        self.changes += 1
        workflow.set_current_details(clock_words(snapshot))
        if self.publish:
            await publish_clock_state(snapshot)

    @workflow.run
    async def run(self, params: ClockTestInput) -> ClockSnapshot:
        return await self.clock.run_until(lambda: self.finished)

    @workflow.signal
    def finish(self) -> None:
        self.finished = True

    @workflow.update
    def pause(self, reason: str) -> None:
        self.clock.pause(reason)

    @pause.validator
    def _check_pause(self, reason: str) -> None:
        self.clock.validate_pause(reason)

    @workflow.update
    def resume(self) -> None:
        self.clock.resume()

    @resume.validator
    def _check_resume(self) -> None:
        self.clock.validate_resume()

    @workflow.update
    def extend(self, request: ExtendInput) -> None:
        self.clock.extend(request.days, request.reason, request.by)

    @extend.validator
    def _check_extend(self, request: ExtendInput) -> None:
        self.clock.validate_extend(request.days, request.reason)

    @workflow.query
    def snapshot(self) -> ClockSnapshot:
        return self.clock.snapshot()

    @workflow.query
    def reminder_count(self) -> int:
        return len(self.reminders)


class TwoClocksInput(BaseModel):
    """An item's promised and statutory limits, as two clocks of the same machinery."""

    promised_days: int
    statutory_days: int
    never_earlier: bool = True  # the workflows pass their revision flag here
    policy: ClockPolicy = ClockPolicy()


class LimitExtend(BaseModel):
    limit: str
    days: int


class ClockLog(BaseModel):
    """What one clock told its owner: every due instant on_change showed, every move later, every
    escalation."""

    shown_dues: list[datetime] = Field(default_factory=list)
    moves: list[DueMoved] = Field(default_factory=list)
    escalations: list[ClockEvent] = Field(default_factory=list)
    snapshot: ClockSnapshot | None = None


@workflow.defn(sandboxed=True)
class TwoClocksTestWorkflow:
    @workflow.init
    def __init__(self, params: TwoClocksInput) -> None:
        self.finished = False
        self.logs: dict[str, ClockLog] = {"promised": ClockLog(), "statutory": ClockLog()}
        self.clocks = {
            limit: LegalClock(
                limit,
                days,
                policy=params.policy,
                department="market-regulation",
                subject=f"TEST-APP/{limit}",
                open_supervision_cases=False,
                on_escalation=self._escalated,
                on_change=self._changed,
                never_earlier=params.never_earlier,
                on_due_moved_later=self._moved,
            )
            for limit, days in (
                ("promised", params.promised_days),
                ("statutory", params.statutory_days),
            )
        }

    async def _escalated(self, event: ClockEvent) -> None:
        self.logs[event.limit].escalations.append(event)

    async def _changed(self, snapshot: ClockSnapshot) -> None:
        log = self.logs[snapshot.limit]
        if snapshot.due_at is not None and snapshot.due_at not in log.shown_dues[-1:]:
            log.shown_dues.append(snapshot.due_at)

    async def _moved(self, move: DueMoved) -> None:
        self.logs[move.limit].moves.append(move)

    @workflow.run
    async def run(self, params: TwoClocksInput) -> None:
        await asyncio.gather(
            *(clock.run_until(lambda: self.finished) for clock in self.clocks.values())
        )

    @workflow.signal
    def finish(self) -> None:
        self.finished = True

    @workflow.update
    def extend(self, request: LimitExtend) -> None:
        self.clocks[request.limit].extend(request.days, "Art. 42", "department_head")

    @workflow.query
    def log(self, limit: str) -> ClockLog:
        clock = self.clocks[limit]
        shown = self.logs[limit]
        return shown.model_copy(update={"snapshot": clock.snapshot() if clock.record else None})
