"""The workflow side of the legal clock: one object per limit, one timer per boundary.

    clock = LegalClock("promised", item.promised_days, department=item.department,
                       subject=application_id, on_warning=self._remind)
    await clock.run_until(lambda: self._decision is not None)

`run_until` computes the schedule in an activity (recorded in history), waits on
`workflow.wait_condition` with one timer to the next boundary, fires the reminder at warning and
the escalations when overdue (stage 1: the department's supervisor; stage 2: 效能督办), and
returns only when `done()` is true: escalation never cancels the work. `pause`, `resume` and
`extend` are plain methods for signal and update handlers; the waiting loop wakes and asks the
activity for the new schedule.

A told deadline never moves earlier (`never_earlier=True`, the revision's behaviour):

    clock = LegalClock("supplement", days, never_earlier=self.revised,
                       on_change=self._clock_changed, on_due_moved_later=self._due_moved)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.clock import (
        COMPUTE_SCHEDULE_ACTIVITY,
        OPEN_SUPERVISION_CASE_ACTIVITY,
        ClockError,
        ClockEvent,
        ClockEventKind,
        ClockPolicy,
        ClockRecord,
        ClockSchedule,
        ClockSnapshot,
        ClockState,
        DueMoved,
        EscalationRequest,
        FiredMarks,
        SupervisionCaseRef,
        due_events,
        due_move_cause,
        due_moved_later,
        mark_fired,
        next_wakeup,
        snapshot,
    )

from workflows.common import central_queue
from workflows.search_attributes import CLOCK_STATE, DUE_AT, ESCALATED

EventHandler = Callable[[ClockEvent], Awaitable[None]]
ChangeHandler = Callable[[ClockSnapshot], Awaitable[None]]
DueMovedHandler = Callable[[DueMoved], Awaitable[None]]
ScheduleComputer = Callable[[ClockRecord], Awaitable[ClockSchedule]]

# Computing a schedule is quick and local; retry for long (a broken override file gets fixed).
DEFAULT_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))


class LegalClock:
    """One legal limit counted in working days, inside a workflow.

    Args:
        limit: the limit's name, unique within the workflow ("promised", "supplement", ...).
        budget_days: working days; 0 = on the spot.
        policy: warning share, stage-2 delay, end of the working day, time zone.
        department, subject: written on supervision cases (no personal data in `subject`).
        on_warning: awaited when the warning starts (remind whoever holds the task).
        on_escalation: awaited after each escalation stage opened its supervision case.
        on_change: awaited when state, due instant, pause or stage changed (e.g. to upsert
            search attributes; each upsert is a billable action, so this fires sparingly).
        open_supervision_cases: call the supervision activity on each escalation stage.
        task_queue: where the calendar and supervision activities run (default: the workflows'
            queue, `workflows.common.central_queue`).
        first_schedule: computes the first schedule in place of the calendar activity, for a
            caller that folds it into an activity it runs anyway (opening the staff task with
            its due instant); it must return what the calendar activity would.
        never_earlier: a told due instant never moves earlier. Every due instant the clock
            computes is taken as told: it is what `on_change` and the snapshot show, and the
            workflows notify from them. A recomputation (a provisional year announced, the
            override file corrected) whose due instant is earlier keeps the told one, with
            warning and stage 2 derived from it; one that is later moves and calls
            `on_due_moved_later`. Pass the workflow's revision flag (`self.revised`,
            `self.case.revised`): False (the default) computes as before, so recorded
            histories replay unchanged.
        on_due_moved_later: awaited (only with `never_earlier`) when the told due instant moved
            later, before `on_change` shows it, with a `DueMoved`: previous and new instant and
            the cause (CALENDAR: tell the new date; EXTENSION: the Art. 42 notice already
            says it; RESUMPTION: a pause ended). It is not awaited for the first schedule.
        lean_on: another clock of the same workflow whose timer may serve this one (the
            item's statutory limit beside its running step's): while that clock waits on a
            timer that fires at or before this one's next boundary, this one sets no timer
            of its own (a timer is a billable action and two events) and wakes with it. While
            that clock is still computing, this one waits for it to settle; when it is not
            running, this one sets its own timer.
        anchored_refresh: a provisional schedule refreshes on whole weeks from the clock's
            start, not a week from each computation (`domain.clock.next_wakeup`): a clock
            that leans on another compares their wake-ups, and "now" after a local activity
            can differ by milliseconds between a live run and its replay.
        lapse_when_done: once `done()`, leave the pending timer to lapse rather than cancel it
            (a cancellation is one more event): the workflow's completion discards it. The
            owner calls `drop_leftover_timer` if it goes on to wait for someone, where the
            timer could still fire.
    """

    def __init__(
        self,
        limit: str,
        budget_days: int,
        *,
        policy: ClockPolicy | None = None,
        department: str = "",
        subject: str = "",
        on_warning: EventHandler | None = None,
        on_escalation: EventHandler | None = None,
        on_change: ChangeHandler | None = None,
        open_supervision_cases: bool = True,
        task_queue: str | None = None,
        activity_timeout: timedelta = timedelta(seconds=30),
        retry_policy: RetryPolicy = DEFAULT_RETRY,
        first_schedule: ScheduleComputer | None = None,
        never_earlier: bool = False,
        on_due_moved_later: DueMovedHandler | None = None,
        lean_on: Callable[[], LegalClock | None] | None = None,
        anchored_refresh: bool = False,
        lapse_when_done: bool = False,
    ) -> None:
        if budget_days < 0:
            raise ClockError("budget must not be negative")
        self.limit = limit
        self.budget_days = budget_days
        self.policy = policy or ClockPolicy()
        self.department = department
        self.subject = subject
        self._on_warning = on_warning
        self._on_escalation = on_escalation
        self._on_change = on_change
        self._open_cases = open_supervision_cases
        self._task_queue = task_queue
        self._timeout = activity_timeout
        self._retry = retry_policy
        self._first_schedule = first_schedule
        self._never_earlier = never_earlier
        self._on_due_moved_later = on_due_moved_later
        self._told: ClockRecord | None = None  # the record as of the due instant last told
        self._moves: list[DueMoved] = []
        self._record: ClockRecord | None = None
        self._schedule: ClockSchedule | None = None
        self._fired = FiredMarks()
        self._events: list[ClockEvent] = []
        self._cases: dict[int, SupervisionCaseRef] = {}
        self._notified: tuple[object, ...] | None = None
        self._lean_on = lean_on
        self._anchored_refresh = anchored_refresh
        self._lapse_when_done = lapse_when_done
        self._leftover: asyncio.Task[None] | None = None  # the timer left to lapse
        # What a clock leaning on this one reads: whether it counts, waits, and on what timer.
        self._running = False
        self._waiting = False
        self._timer_at: datetime | None = None  # the pending timer's instant, while waiting
        self._timer_fired_at: datetime | None = None  # the instant of the last timer fired
        self._waits = 0  # waits ended: a leaning clock wakes when this changes

    # --- reading -------------------------------------------------------------------------

    @property
    def record(self) -> ClockRecord | None:
        return self._record

    @property
    def schedule(self) -> ClockSchedule | None:
        return self._schedule

    @property
    def events(self) -> list[ClockEvent]:
        return list(self._events)

    @property
    def notified_due_at(self) -> datetime | None:
        """The latest due instant told (with `never_earlier`); None before the first."""
        return self._record.notified_due_at if self._record is not None else None

    @property
    def moves(self) -> list[DueMoved]:
        """Every time the told due instant moved later, in order."""
        return list(self._moves)

    @property
    def supervision_cases(self) -> dict[int, SupervisionCaseRef]:
        """Stage -> the supervision case it opened."""
        return dict(self._cases)

    @property
    def state(self) -> ClockState:
        return self.snapshot().state

    @property
    def due_at(self) -> datetime | None:
        return self._schedule.due_at if self._schedule is not None else None

    def snapshot(self) -> ClockSnapshot:
        """For Queries: state now (workflow time), boundaries, pauses, extensions, events."""
        return snapshot(
            self._record,
            self._schedule,
            self._fired,
            self._events,
            workflow.now(),
            limit=self.limit,
            budget_days=self.budget_days,
        )

    # --- changing (from signal/update handlers; validate_* fit update validators) ---------

    def start(self, at: datetime | None = None) -> None:
        """Start counting at `at` (default: now). `run_until` starts the clock if needed."""
        if self._record is None:
            self._record = ClockRecord(
                limit=self.limit,
                budget_days=self.budget_days,
                started_at=at or workflow.now(),
                policy=self.policy,
            )

    def validate_pause(self, reason: str) -> None:
        self._started().pause(reason, workflow.now())

    def validate_resume(self) -> None:
        self._started().resume(workflow.now())

    def validate_extend(self, days: int, reason: str) -> None:
        self._started().extend(days, reason, workflow.now())

    def pause(self, reason: str) -> None:
        """Stop counting: Art. 45 excluded time, or while the applicant corrects (补正, which
        is not Art. 45 time: the limit counts from complete materials). The reason is kept."""
        self._record = self._started().pause(reason, workflow.now())

    def resume(self) -> None:
        self._record = self._started().resume(workflow.now())

    def extend(self, days: int, reason: str, by: str = "") -> None:
        """Add working days by an authorized decision (`by`: a role or staff code)."""
        self._record = self._started().extend(days, reason, workflow.now(), by)

    def _started(self) -> ClockRecord:
        if self._record is None:
            raise ClockError(f"clock {self.limit!r} has not started")
        return self._record

    # --- running -------------------------------------------------------------------------

    async def run_until(
        self, done: Callable[[], bool], *, started_at: datetime | None = None
    ) -> ClockSnapshot:
        """Count, remind and escalate until `done()` is true; then stop and return the final
        snapshot (`met` says whether it finished before the due instant)."""
        self.start(started_at)
        self._running = True
        refresh = False
        fired_at: datetime | None = None
        # The boundary this clock leant towards when another clock's earlier timer woke it:
        # kept, so a wake-up relative to now (a provisional schedule's weekly one) comes.
        planned: tuple[ClockSchedule, datetime] | None = None
        while True:
            record = self._started()
            if refresh or self._schedule is None or self._schedule.version != record.version:
                self._schedule = await self._compute(record)
                refresh = False
                if self._never_earlier:
                    await self._tell(self._schedule, record)
                await self._maybe_notify()
            if done():
                break
            # A timer fires at its instant; never let rounding make it look early.
            now = max(workflow.now(), fired_at) if fired_at is not None else workflow.now()
            fired_at = None
            for event in due_events(self._schedule, self._fired, now):
                await self._fire(event)
            if done():
                break
            anchor = record.started_at if self._anchored_refresh else None
            wake = next_wakeup(self._schedule, self._fired, now, self.policy, anchor)
            if planned is not None and wake is not None and planned[0] is self._schedule:
                wake = min(wake, planned[1])
                if wake <= now:  # reached while another clock's timers woke this one
                    planned, fired_at = None, wake
                    refresh = self._schedule.provisional
                    continue
            planned = None
            version = record.version

            def woken(version: int = version) -> bool:
                return done() or self._started().version != version

            if wake is not None and self._lean_on is not None:
                leaned, fired_at = await self._lean(wake, woken)
                if leaned:
                    refresh = fired_at is not None and self._schedule.provisional
                    planned = None if fired_at is not None else (self._schedule, wake)
                    continue
            if wake is None:
                await self._wait(woken)
                continue
            try:
                await self._wait(woken, wake, now, done=done)
            except TimeoutError:
                fired_at = wake
                refresh = self._schedule.provisional  # a newly announced year may move it
        self._running = False
        self._record = self._started().stop(workflow.now())
        await self._maybe_notify()
        return self.snapshot()

    async def _wait(
        self,
        woken: Callable[[], bool],
        wake: datetime | None = None,
        now: datetime | None = None,
        *,
        done: Callable[[], bool] | None = None,
    ) -> None:
        """Wait until `woken()`, or on a timer until `wake` (TimeoutError when it fires)."""
        self._waiting, self._timer_at = True, wake
        try:
            if wake is None or now is None:
                await workflow.wait_condition(woken)
                return
            if self._lapse_when_done and done is not None:
                await self._wait_leaving_timer(woken, wake - now, done)
                return
            try:
                await workflow.wait_condition(
                    woken, timeout=wake - now, timeout_summary=f"{self.limit} clock boundary"
                )
            except TimeoutError:
                self._timer_fired_at = wake
                raise
        finally:
            self._waiting, self._timer_at = False, None
            self._waits += 1

    async def _wait_leaving_timer(
        self, woken: Callable[[], bool], delay: timedelta, done: Callable[[], bool]
    ) -> None:
        """`_wait` on a timer that is cancelled only when the clock goes on counting."""
        assert self._timer_at is not None
        timer = asyncio.create_task(workflow.sleep(delay, summary=f"{self.limit} clock boundary"))
        await workflow.wait_condition(lambda: woken() or timer.done())
        if timer.done():
            self._timer_fired_at = self._timer_at
            raise TimeoutError
        if done():
            self._leftover = timer
        else:
            timer.cancel()

    def drop_leftover_timer(self) -> None:
        """Cancel the timer left to lapse (`lapse_when_done`), if any is still pending."""
        if self._leftover is not None and not self._leftover.done():
            self._leftover.cancel()
        self._leftover = None

    async def _lean(
        self, wake: datetime, woken: Callable[[], bool]
    ) -> tuple[bool, datetime | None]:
        """Wait on the timer of the clock this one leans on, when it serves `wake`.

        Returns (False, None) when there is none to lean on: set a timer of its own. Else,
        once woken, (True, `wake` if that timer fired at this clock's boundary, else None).
        """
        other = self._lean_on() if self._lean_on is not None else None
        if other is None or other is self or not other._running:
            return False, None
        if not other._waiting:  # computing its schedule, or acting on a boundary
            await self._wait(lambda: woken() or self._lean_on_changed(other) or other._waiting)
            return True, None
        at, waits = other._timer_at, other._waits
        if at is None or at > wake:
            return False, None
        await self._wait(lambda: woken() or self._lean_on_changed(other) or other._waits != waits)
        return True, (wake if other._timer_fired_at == at == wake else None)

    def _lean_on_changed(self, other: LegalClock) -> bool:
        return self._lean_on is None or self._lean_on() is not other or not other._running

    async def _tell(self, schedule: ClockSchedule, basis: ClockRecord) -> None:
        """Take the schedule's due instant as told (the floor of later computations); when it
        is later than the one told before, say so. `basis`: the record it was computed from (a
        handler may have changed the record meanwhile; then the loop computes again)."""
        if schedule.paused:
            return  # the boundaries from before the pause: told already
        previous = self._started().notified_due_at
        self._record = self._started().notify(schedule.due_at)
        told, self._told = self._told, basis
        if previous is None or told is None or not due_moved_later(previous, schedule):
            return
        move = DueMoved(
            limit=self.limit,
            previous_due_at=previous,
            due_at=schedule.due_at,
            moved_at=workflow.now(),
            cause=due_move_cause(told, basis),
            provisional=schedule.provisional,
        )
        self._moves.append(move)
        if self._on_due_moved_later is not None:
            await self._on_due_moved_later(move)

    async def _compute(self, record: ClockRecord) -> ClockSchedule:
        if self._schedule is None and self._first_schedule is not None:
            return await self._first_schedule(record)
        result: ClockSchedule = await workflow.execute_activity(
            COMPUTE_SCHEDULE_ACTIVITY,
            record,
            result_type=ClockSchedule,
            task_queue=self._task_queue or central_queue(),
            start_to_close_timeout=self._timeout,
            retry_policy=self._retry,
            summary=f"{self.limit}: working-day schedule",
        )
        return result

    async def _fire(self, event: ClockEvent) -> None:
        self._events.append(event)
        self._fired = mark_fired(self._fired, event)
        if event.kind is ClockEventKind.WARNING:
            if self._on_warning is not None:
                await self._on_warning(event)
        else:
            if self._open_cases and event.level is not None:
                request = EscalationRequest(
                    workflow_id=workflow.info().workflow_id,
                    limit=self.limit,
                    stage=event.stage,
                    level=event.level,
                    department=self.department,
                    subject=self.subject,
                    due_at=event.due_at,
                    boundary_at=event.at,
                    escalated_at=event.fired_at,
                    total_days=event.total_days,
                    provisional=event.provisional,
                )
                ref: SupervisionCaseRef = await workflow.execute_activity(
                    OPEN_SUPERVISION_CASE_ACTIVITY,
                    request,
                    result_type=SupervisionCaseRef,
                    task_queue=self._task_queue or central_queue(),
                    start_to_close_timeout=self._timeout,
                    retry_policy=self._retry,
                    summary=f"{self.limit}: escalation stage {event.stage} ({event.level.value})",
                )
                self._cases[event.stage] = ref
            if self._on_escalation is not None:
                await self._on_escalation(event)
        await self._maybe_notify()

    async def _maybe_notify(self) -> None:
        if self._on_change is None:
            return
        snap = self.snapshot()
        key = (snap.state, snap.due_at, snap.paused, snap.escalation_stage, snap.stopped_at)
        if key != self._notified:
            self._notified = key
            await self._on_change(snap)


async def publish_clock_state(snapshot: ClockSnapshot) -> None:
    """An `on_change` for a workflow's main clock: its state, due instant and whether it has
    escalated, as search attributes (OnethingClockState, OnethingDueAt, OnethingEscalated)."""
    workflow.upsert_search_attributes(
        [
            CLOCK_STATE.value_set(snapshot.state.value),
            DUE_AT.value_set(snapshot.due_at) if snapshot.due_at else DUE_AT.value_unset(),
            ESCALATED.value_set(snapshot.escalation_stage > 0),
        ]
    )
