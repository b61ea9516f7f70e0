"""A small workflow that runs one legal clock, for the time-skipping tests (no tests here)."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.clock import ClockEvent, ClockPolicy, ClockSnapshot

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
        workflow.set_current_details(snapshot.summary())
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
