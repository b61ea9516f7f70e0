"""The follow-up (回访) of a 差评 by one department of the case, on the legal clock.

As the center tells it: the 差评 opens a task in the department's inbox with its due
instant (the hall's follow-up limit in working days, else 15); the department calls the
applicant back and fixes the matter or explains it, and answers (an Update: fixed or
explained, with what was done). Near the due instant its reviewers are reminded; past it,
the limit escalates like any other (stage 1 the department's supervisor, stage 2 效能督办),
and the answer is still taken, counted late. The applicant is told the answer. An appeal
upheld (the rating excluded) ends the follow-up with nothing left to do.

Deterministic: every instant from workflow time or the calendar activity.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.ratings import RatingActivities
    from domain import notices
    from domain.clock import ClockEvent, ClockRecord, ClockSchedule, ClockSnapshot
    from domain.people import Role
    from domain.rating import (
        FOLLOW_UP_LIMIT,
        FOLLOW_UP_ROLE,
        FollowUpAnswer,
        FollowUpDue,
        FollowUpOutcome,
        FollowUpRecord,
        FollowUpStart,
        FollowUpState,
        OpenFollowUp,
        check_answerer,
    )
    from workflows.clock import LegalClock
    from workflows.common import notify, run_activity


@workflow.defn
class RatingFollowUpWorkflow:
    @workflow.init
    def __init__(self, start: FollowUpStart) -> None:
        self._start = start
        self._clock: LegalClock | None = None
        self._opened = False
        self._answer: FollowUpAnswer | None = None
        self._excluded = False
        self._record: FollowUpRecord | None = None
        self._due_kept: object = None
        self._escalation_stage = 0

    @workflow.run
    async def run(self, start: FollowUpStart) -> FollowUpState:
        workflow_id = workflow.info().workflow_id

        async def open_task(record: ClockRecord) -> ClockSchedule:
            schedule = await run_activity(
                RatingActivities.open_follow_up,
                OpenFollowUp(start=start, workflow_id=workflow_id, clock=record),
                summary=f"open the follow-up task at {start.department}",
            )
            self._opened, self._due_kept = True, schedule.due_at
            return schedule

        clock = LegalClock(
            FOLLOW_UP_LIMIT,
            start.days,
            department=start.department,
            subject=start.case_number,  # a case number, no personal data
            on_warning=self._remind,
            on_escalation=self._escalated,
            on_change=self._due_changed,
            first_schedule=open_task,
            never_earlier=True,  # a due instant once told never moves earlier
        )
        self._clock = clock
        workflow.set_current_details(f"差评回访: 办件 {start.case_number}, {start.department}")
        clock.start()  # from the workflow's start, a moment after the rating
        snap = await clock.run_until(lambda: self._answer is not None or self._excluded)
        now = workflow.now()
        if self._answer is not None:
            answer = self._answer
            due = snap.due_at
            record = FollowUpRecord(
                workflow_id=workflow_id,
                case_number=start.case_number,
                department=start.department,
                outcome=answer.outcome,
                text=answer.text,
                answered_by=answer.answered_by.staff_id,
                answered_at=now,
                in_time=due is not None and now <= due,
            )
        else:
            record = FollowUpRecord(
                workflow_id=workflow_id,
                case_number=start.case_number,
                department=start.department,
                outcome=FollowUpOutcome.EXCLUDED,
                answered_by="system",
                answered_at=now,
                in_time=None,
            )
        await run_activity(
            RatingActivities.conclude_follow_up, record, summary=f"follow-up {record.outcome}"
        )
        if self._answer is not None:
            await notify(
                start.application_id,
                "applicant",
                "rating_follow_up",
                notices.rating_follow_up_answered(
                    start.case_number,
                    start.department_name or start.department,
                    record.outcome.label,
                    self._answer.text,
                ),
                key="answered",
            )
        self._record = record  # the update answers now: recorded, task closed, applicant told
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _remind(self, event: ClockEvent) -> None:
        await notify(
            self._start.application_id,
            f"{FOLLOW_UP_ROLE.value}:{self._start.department}",
            "warning",
            notices.rating_follow_up_warning(self._start.case_number, event.due_at),
            key=f"warning-{event.total_days}",
        )

    async def _escalated(self, event: ClockEvent) -> None:
        self._escalation_stage = max(self._escalation_stage, event.stage)
        if event.stage == 1:  # the head of the department learns it is overdue
            await notify(
                self._start.application_id,
                f"{Role.DEPARTMENT_HEAD.value}:{self._start.department}",
                "warning",
                notices.rating_follow_up_warning(self._start.case_number, event.due_at),
                key=f"overdue-{event.stage}",
            )

    async def _due_changed(self, snap: ClockSnapshot) -> None:
        """Only a due instant that moved later after the task opened is written again."""
        if not self._opened or snap.due_at is None or snap.due_at == self._due_kept:
            return
        self._due_kept = snap.due_at
        await run_activity(
            RatingActivities.follow_up_due,
            FollowUpDue(
                case_number=self._start.case_number,
                department=self._start.department,
                workflow_id=workflow.info().workflow_id,
                due_at=snap.due_at,
            ),
            summary="the follow-up's due instant moved later",
        )

    # -- what callers see and do ----------------------------------------------------------

    @workflow.query
    def state(self) -> FollowUpState:
        clock = self._clock
        snap = clock.snapshot() if clock is not None and clock.record is not None else None
        record = self._record
        return FollowUpState(
            case_number=self._start.case_number,
            department=self._start.department,
            due_at=snap.due_at if snap else None,
            clock_state=snap.state.value if snap else None,
            escalation_stage=snap.escalation_stage if snap else 0,
            outcome=record.outcome if record else None,
            answered_by=record.answered_by if record and self._answer else None,
            answered_at=record.answered_at if record else None,
            in_time=record.in_time if record else None,
        )

    @workflow.update
    async def answer(self, answer: FollowUpAnswer) -> FollowUpState:
        """The department answers: fixed or explained; answered once it is recorded."""
        self._answer = answer
        await workflow.wait_condition(lambda: self._record is not None)
        return self.state()

    @answer.validator
    def _may_answer(self, answer: FollowUpAnswer) -> None:
        if self._answer is not None or self._record is not None:
            raise ValueError("case_number: this follow-up has been answered already")
        if self._excluded:
            raise ValueError("case_number: the rating was excluded on appeal; nothing to answer")
        check_answerer(answer.answered_by, self._start.department)  # who, whenever asked
        if not self._opened:
            raise ValueError("case_number: the follow-up's task is being opened; retry")

    @workflow.signal
    def rating_excluded(self) -> None:
        """An appeal was upheld: the rating counts nowhere and the follow-up ends."""
        if self._answer is None:
            self._excluded = True
