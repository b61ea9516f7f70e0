"""The legal clock: a limit counted in working days that pauses, extends, warns and escalates.

Two halves, both pure:
- `compute_schedule(record, calendar)` turns what happened (start, pauses, extensions) into
  instants (warning, due, second escalation). It needs the calendar, so it runs in an activity
  and its answer is recorded in history: a new calendar never changes a replay.
- `state_at`, `due_events`, `next_wakeup` work on a schedule and an instant only; workflow code
  uses them to decide what to wait for and what to fire.

Counting (行政许可法 art. 82: working days; 民法典 art. 201: the first day is not counted):
the clock runs in segments (start to first pause, resume to next pause, ...). A segment counts
the working days after its first day up to and including the day it ends, so the day of a pause
counts and the day of resumption does not, as with the start. The due instant is the end of the
service center's working day (`ClockPolicy.day_end`) on the day the budget is used up.

A notified deadline never moves earlier: a record carries the latest due instant told
(`notified_due_at`, set by `ClockRecord.notify`); a schedule whose own due instant is earlier
(a provisional year replaced by the published one with a make-up workday) keeps the told one,
with its warning and stage 2 derived from it. A later one moves (`due_moved_later`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from domain.calendar import WorkingCalendar

# Activity names, shared by activities/ (definitions) and workflows/clock.py (callers).
COMPUTE_SCHEDULE_ACTIVITY = "clock.compute_schedule"
OPEN_SUPERVISION_CASE_ACTIVITY = "supervision.open_case"


class ClockError(ValueError):
    """A clock operation that makes no sense now (resume while running, extend by 0 days, ...)."""


class ClockState(StrEnum):
    NORMAL = "normal"  # 正常
    WARNING = "warning"  # 预警
    OVERDUE = "overdue"  # 逾期


class EscalationLevel(StrEnum):
    DEPARTMENT_SUPERVISOR = "department_supervisor"  # stage 1: the department's supervisor
    SUPERVISION_OFFICE = "supervision_office"  # stage 2: 效能督办


ESCALATION_LEVELS = {
    1: EscalationLevel.DEPARTMENT_SUPERVISOR,
    2: EscalationLevel.SUPERVISION_OFFICE,
}


class ClockEventKind(StrEnum):
    WARNING = "warning"
    ESCALATION = "escalation"


class DueMoveCause(StrEnum):
    """Why a told due instant moved later."""

    CALENDAR = "calendar"  # a provisional year was announced (or the override file corrected)
    EXTENSION = "extension"  # an Art. 42 extension (its own notice already gives the date)
    RESUMPTION = "resumption"  # a pause ended (excluded time, waiting for the applicant)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("instants must carry a time zone")
    return value.astimezone(UTC)


# An instant with a time zone, kept in UTC.
Instant = Annotated[datetime, AfterValidator(_aware)]


def _unset(value: object) -> bool:
    return value is None


class ClockPolicy(BaseModel):
    """How a service center runs its clocks; every number configurable."""

    model_config = ConfigDict(frozen=True)

    warning_percent: int = Field(80, ge=1, le=99)  # share of the budget used when warning starts
    stage2_after_days: int = Field(5, ge=1)  # working days overdue before 效能督办
    day_end: time = time(17, 30)  # the service center's working day ends here
    timezone: str = "Asia/Shanghai"
    # A provisional schedule is recomputed this often, so a newly announced year takes effect.
    provisional_refresh: timedelta = timedelta(days=7)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value


class ClockPause(BaseModel):
    model_config = ConfigDict(frozen=True)

    reason: str = Field(min_length=1)
    paused_at: Instant
    resumed_at: Instant | None = None


class ClockExtension(BaseModel):
    model_config = ConfigDict(frozen=True)

    days: int = Field(ge=1)
    reason: str = Field(min_length=1)
    decided_at: Instant
    decided_by: str = ""  # a role or staff code, never a person's name


class ClockRecord(BaseModel):
    """Everything that happened to one limit; the only input of `compute_schedule`."""

    model_config = ConfigDict(frozen=True)

    limit: str = Field(min_length=1)  # e.g. "promised", "supplement", "inspection"
    budget_days: int = Field(ge=0)  # 0 = on the spot (即办件)
    started_at: Instant
    policy: ClockPolicy = ClockPolicy()
    pauses: tuple[ClockPause, ...] = ()
    extensions: tuple[ClockExtension, ...] = ()
    stopped_at: Instant | None = None
    # The latest due instant told to anyone; `compute_schedule` never returns an earlier one.
    # Left out of the JSON when unset, so activity inputs without it are byte-identical.
    notified_due_at: Instant | None = Field(default=None, exclude_if=_unset)

    @property
    def total_days(self) -> int:
        return self.budget_days + sum(e.days for e in self.extensions)

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].resumed_at is None

    @property
    def version(self) -> int:
        """Changes that move the schedule; a schedule computed for an older version is stale."""
        return len(self.pauses) * 2 - self.paused + len(self.extensions)

    def pause(self, reason: str, at: datetime) -> ClockRecord:
        if self.stopped_at is not None:
            raise ClockError(f"clock {self.limit!r} is stopped")
        if self.paused:
            raise ClockError(f"clock {self.limit!r} is already paused")
        if not reason.strip():
            raise ClockError("a pause needs a reason")
        if _aware(at) < self._last_change():
            raise ClockError("a pause cannot start before the clock's last change")
        pause = ClockPause(reason=reason.strip(), paused_at=at)
        return self.model_copy(update={"pauses": (*self.pauses, pause)})

    def resume(self, at: datetime) -> ClockRecord:
        if not self.paused:
            raise ClockError(f"clock {self.limit!r} is not paused")
        last = self.pauses[-1]
        if _aware(at) < last.paused_at:
            raise ClockError("cannot resume before the pause started")
        done = last.model_copy(update={"resumed_at": _aware(at)})
        return self.model_copy(update={"pauses": (*self.pauses[:-1], done)})

    def extend(self, days: int, reason: str, at: datetime, by: str = "") -> ClockRecord:
        if self.stopped_at is not None:
            raise ClockError(f"clock {self.limit!r} is stopped")
        if days < 1:
            raise ClockError("an extension adds at least one working day")
        if not reason.strip():
            raise ClockError("an extension needs a reason")
        ext = ClockExtension(days=days, reason=reason.strip(), decided_at=at, decided_by=by)
        return self.model_copy(update={"extensions": (*self.extensions, ext)})

    def notify(self, due_at: datetime) -> ClockRecord:
        """Record `due_at` as told; the floor only rises. Not a version change: the schedule
        that was told stays current."""
        floor = _aware(due_at)
        if self.notified_due_at is not None and self.notified_due_at >= floor:
            return self
        return self.model_copy(update={"notified_due_at": floor})

    def stop(self, at: datetime) -> ClockRecord:
        if self.stopped_at is not None:
            return self
        return self.model_copy(update={"stopped_at": _aware(at)})

    def _last_change(self) -> datetime:
        last = self.started_at
        for p in self.pauses:
            last = max(last, p.resumed_at or p.paused_at)
        return last


class ClockSchedule(BaseModel):
    """The instants of one clock as of `version` of its record (all UTC)."""

    model_config = ConfigDict(frozen=True)

    limit: str
    version: int
    total_days: int
    consumed_days: int  # working days counted up to the start of the running segment (or pause)
    remaining_days: int  # total - consumed: left at the last start/resume; negative = overdue
    due_date: date  # the service center's local date
    due_at: datetime
    warning_at: datetime | None  # None when the budget is too small to warn before due
    stage2_at: datetime
    paused_since: datetime | None = None  # while paused no boundary fires
    provisional_years: list[int] = Field(default_factory=list)

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)

    @property
    def paused(self) -> bool:
        return self.paused_since is not None


def _close(day: date, policy: ClockPolicy) -> datetime:
    local = datetime.combine(day, policy.day_end, tzinfo=ZoneInfo(policy.timezone))
    return local.astimezone(UTC)


def local_date(instant: datetime, policy: ClockPolicy) -> date:
    return instant.astimezone(ZoneInfo(policy.timezone)).date()


def _segment_due(
    calendar: WorkingCalendar, segment_start: datetime, remaining: int, policy: ClockPolicy
) -> date:
    """The due day of a segment that starts with `remaining` working days left."""
    base = local_date(segment_start, policy)
    due = calendar.shift_working_days(base, remaining)
    if remaining == 0 and _close(due, policy) < segment_start:
        # Started (or resumed) after the day's close with nothing left: next working day.
        due = calendar.add_working_days(due, 1)
    return due


def compute_schedule(record: ClockRecord, calendar: WorkingCalendar) -> ClockSchedule:
    """The schedule of `record`; pure given the calendar. Runs in an activity."""
    policy = record.policy
    segment_start = record.started_at
    consumed = 0
    paused_since: datetime | None = None
    for pause in record.pauses:
        left = record.budget_days - consumed
        left += sum(e.days for e in record.extensions if e.decided_at <= pause.paused_at)
        counted_from = local_date(segment_start, policy)
        if left == 0:
            # On the spot with nothing left: the due day itself (the next working day when the
            # segment began on a day off or after hours) is not yet used up.
            counted_from = max(counted_from, _segment_due(calendar, segment_start, 0, policy))
        counted = calendar.working_days_between(counted_from, local_date(pause.paused_at, policy))
        consumed += max(counted, 0)
        if pause.resumed_at is None:
            paused_since = pause.paused_at
            break
        segment_start = pause.resumed_at
    total = record.total_days
    if paused_since is not None:
        # While paused, the boundaries stay where they were before the pause (for display and
        # for the state at the pause); they are recomputed from the resumption.
        before = record.model_copy(update={"pauses": record.pauses[:-1]})
        frozen = compute_schedule(before, calendar)
        return frozen.model_copy(
            update={
                "version": record.version,
                "consumed_days": consumed,
                "remaining_days": total - consumed,
                "paused_since": paused_since,
            }
        )
    base = local_date(segment_start, policy)
    remaining = total - consumed
    due_date = _segment_due(calendar, segment_start, remaining, policy)
    due_at = _close(due_date, policy)
    floor = record.notified_due_at
    held = floor is not None and due_at < floor
    if floor is not None and held:
        # Told already: keep it; warning and stage 2 follow from the kept day.
        due_at, due_date = floor, local_date(floor, policy)
    warning_at: datetime | None = None
    warn_days = total * policy.warning_percent // 100
    if total > 0:
        if held:
            warning_date = calendar.subtract_working_days(due_date, total - warn_days)
        else:
            warning_date = calendar.shift_working_days(base, warn_days - consumed)
        if warning_date < due_date:
            warning_at = _close(warning_date, policy)
    stage2_date = calendar.add_working_days(due_date, policy.stage2_after_days)
    return ClockSchedule(
        limit=record.limit,
        version=record.version,
        total_days=total,
        consumed_days=consumed,
        remaining_days=remaining,
        due_date=due_date,
        due_at=due_at,
        warning_at=warning_at,
        stage2_at=_close(stage2_date, policy),
        provisional_years=calendar.provisional_years(
            local_date(record.started_at, policy), stage2_date
        ),
    )


def due_moved_later(notified: datetime | None, schedule: ClockSchedule) -> bool:
    """The schedule's due instant is later than the one told (None: nothing told yet). A paused
    schedule shows the boundaries from before the pause, so it never moves."""
    return notified is not None and not schedule.paused and schedule.due_at > notified


def due_move_cause(told: ClockRecord, now: ClockRecord) -> DueMoveCause:
    """Why the due instant moved from when `told` was told to `now`: the record's own changes
    first (an extension, a pause ended); with none, the calendar answered differently."""
    if len(now.extensions) > len(told.extensions):
        return DueMoveCause.EXTENSION
    if now.pauses != told.pauses:
        return DueMoveCause.RESUMPTION
    return DueMoveCause.CALENDAR


class DueMoved(BaseModel):
    """A told due instant moved later; the owner of the clock tells the new one."""

    model_config = ConfigDict(frozen=True)

    limit: str
    previous_due_at: datetime  # the one told before
    due_at: datetime  # the new one (now the one told)
    moved_at: datetime  # workflow time
    cause: DueMoveCause
    provisional: bool = False  # the new one still rests on a provisional year


def state_at(schedule: ClockSchedule, now: datetime) -> ClockState:
    """Normal, warning or overdue at `now`; while paused, the state at the pause."""
    at = min(now, schedule.paused_since) if schedule.paused_since is not None else now
    if at >= schedule.due_at:
        return ClockState.OVERDUE
    if schedule.warning_at is not None and at >= schedule.warning_at:
        return ClockState.WARNING
    return ClockState.NORMAL


class FiredMarks(BaseModel):
    """What a clock already fired. Escalation stages latch; a warning fires again only after an
    extension moved the budget (then there is a new warning boundary)."""

    warned_total_days: int | None = None
    escalation_stage: int = 0


class ClockEvent(BaseModel):
    """A reminder (warning) or an escalation, as fired; recorded in the clock's snapshot."""

    model_config = ConfigDict(frozen=True)

    kind: ClockEventKind
    limit: str
    stage: int = 0  # 1 or 2 for escalations
    level: EscalationLevel | None = None
    at: datetime  # the boundary instant
    fired_at: datetime  # workflow time when it fired
    due_at: datetime
    total_days: int
    provisional: bool = False


def due_events(schedule: ClockSchedule, fired: FiredMarks, now: datetime) -> list[ClockEvent]:
    """The events whose boundary is at or before `now` and that have not fired yet, in order."""
    if schedule.paused:
        return []
    events: list[ClockEvent] = []
    common = {
        "limit": schedule.limit,
        "fired_at": now,
        "due_at": schedule.due_at,
        "total_days": schedule.total_days,
        "provisional": schedule.provisional,
    }
    warning_at = schedule.warning_at
    if (
        warning_at is not None
        and fired.warned_total_days != schedule.total_days
        and warning_at <= now < schedule.due_at
    ):
        events.append(ClockEvent(kind=ClockEventKind.WARNING, at=warning_at, **common))
    for stage, at in ((1, schedule.due_at), (2, schedule.stage2_at)):
        if fired.escalation_stage < stage and at <= now:
            events.append(
                ClockEvent(
                    kind=ClockEventKind.ESCALATION,
                    stage=stage,
                    level=ESCALATION_LEVELS[stage],
                    at=at,
                    **common,
                )
            )
    return events


def mark_fired(fired: FiredMarks, event: ClockEvent) -> FiredMarks:
    if event.kind is ClockEventKind.WARNING:
        return fired.model_copy(update={"warned_total_days": event.total_days})
    return fired.model_copy(update={"escalation_stage": max(fired.escalation_stage, event.stage)})


def next_wakeup(
    schedule: ClockSchedule,
    fired: FiredMarks,
    now: datetime,
    policy: ClockPolicy,
    anchor: datetime | None = None,
) -> datetime | None:
    """The next instant the clock must wake at: the next unfired boundary after `now`, or the
    provisional refresh if earlier. None: nothing left to wait for (or paused).

    `anchor` (the clock's start): the refreshes fall on whole periods from it, so two clocks
    started together refresh at one instant, whatever instant each computed its schedule at
    (a replay may see a local activity's result a few milliseconds later than it ran live).
    Without it, a period from `now`."""
    if schedule.paused:
        return None
    candidates: list[datetime] = []
    if (
        schedule.warning_at is not None
        and fired.warned_total_days != schedule.total_days
        and schedule.warning_at > now
    ):
        candidates.append(schedule.warning_at)
    if fired.escalation_stage < 1 and schedule.due_at > now:
        candidates.append(schedule.due_at)
    if fired.escalation_stage < 2 and schedule.stage2_at > now:
        candidates.append(schedule.stage2_at)
    if not candidates:
        return None
    wake = min(candidates)
    if schedule.provisional:
        wake = min(wake, provisional_refresh_after(now, policy.provisional_refresh, anchor))
    return wake


def provisional_refresh_after(
    now: datetime, period: timedelta, anchor: datetime | None
) -> datetime:
    """The next refresh of a provisional schedule: `period` after `now`, or, with an anchor,
    the first whole period from the anchor that lies after `now`."""
    if anchor is None or anchor > now:
        return now + period
    return anchor + period * ((now - anchor) // period + 1)


class ClockSnapshot(BaseModel):
    """What a Query shows of one clock."""

    limit: str
    state: ClockState
    paused: bool
    budget_days: int
    total_days: int
    remaining_days: int | None
    due_at: datetime | None
    warning_at: datetime | None
    stage2_at: datetime | None
    escalation_stage: int
    provisional: bool
    provisional_years: list[int]
    pauses: list[ClockPause]
    extensions: list[ClockExtension]
    events: list[ClockEvent]
    started_at: datetime | None
    stopped_at: datetime | None
    met: bool | None  # stopped before the due instant; None while running
    # The schedule shown is current when the versions agree (else a recomputation is under way).
    record_version: int | None = None
    schedule_version: int | None = None
    timezone: str = "Asia/Shanghai"  # the service center's, for showing instants
    # The latest due instant told (clocks that never move a told deadline earlier).
    notified_due_at: datetime | None = Field(default=None, exclude_if=_unset)

    @property
    def scheduled(self) -> bool:
        """The schedule shown is the record's current one (no recomputation under way)."""
        return self.due_at is not None and self.record_version == self.schedule_version


def snapshot(
    record: ClockRecord | None,
    schedule: ClockSchedule | None,
    fired: FiredMarks,
    events: list[ClockEvent],
    now: datetime,
    *,
    limit: str,
    budget_days: int,
) -> ClockSnapshot:
    at = record.stopped_at if record is not None and record.stopped_at is not None else now
    state = state_at(schedule, at) if schedule is not None else ClockState.NORMAL
    met: bool | None = None
    if record is not None and record.stopped_at is not None and schedule is not None:
        met = record.stopped_at < schedule.due_at
    return ClockSnapshot(
        limit=limit,
        state=state,
        paused=record.paused if record is not None else False,
        budget_days=budget_days,
        total_days=record.total_days if record is not None else budget_days,
        remaining_days=schedule.remaining_days if schedule is not None else None,
        due_at=schedule.due_at if schedule is not None else None,
        warning_at=schedule.warning_at if schedule is not None else None,
        stage2_at=schedule.stage2_at if schedule is not None else None,
        escalation_stage=fired.escalation_stage,
        provisional=schedule.provisional if schedule is not None else False,
        provisional_years=schedule.provisional_years if schedule is not None else [],
        pauses=list(record.pauses) if record is not None else [],
        extensions=list(record.extensions) if record is not None else [],
        events=list(events),
        started_at=record.started_at if record is not None else None,
        stopped_at=record.stopped_at if record is not None else None,
        met=met,
        record_version=record.version if record is not None else None,
        schedule_version=schedule.version if schedule is not None else None,
        timezone=record.policy.timezone if record is not None else "Asia/Shanghai",
        notified_due_at=record.notified_due_at if record is not None else None,
    )


class DueRequest(BaseModel):
    """A one-off deadline: `days` working days after `start` (the workflow's reference instant)."""

    start: Instant
    days: int = Field(ge=0)
    policy: ClockPolicy = ClockPolicy()


class DueResult(BaseModel):
    due_date: date
    due_at: Instant
    provisional_years: list[int] = Field(default_factory=list)

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)


def compute_due(request: DueRequest, calendar: WorkingCalendar) -> DueResult:
    schedule = compute_schedule(
        ClockRecord(
            limit="due", budget_days=request.days, started_at=request.start, policy=request.policy
        ),
        calendar,
    )
    return DueResult(
        due_date=schedule.due_date,
        due_at=schedule.due_at,
        provisional_years=calendar.provisional_years(
            local_date(request.start, request.policy), schedule.due_date
        ),
    )


class EscalationRequest(BaseModel):
    """Input of the activity that opens a supervision case; no personal data in it."""

    workflow_id: str
    limit: str
    stage: int = Field(ge=1, le=2)
    level: EscalationLevel
    department: str = ""
    subject: str = ""  # what is late: an application or item reference, never a person
    due_at: Instant
    boundary_at: Instant  # the instant the stage began
    escalated_at: Instant  # workflow time when it fired
    total_days: int
    provisional: bool = False


class SupervisionCaseRef(BaseModel):
    case_id: int
    created: bool  # False: the case already existed (a retried or repeated escalation)
