"""Activities of a 差评's follow-up (回访): open the department's task with the follow-up's
due instant, keep a moved due instant, and record the answer (closing the task)."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from activities.calendar import CalendarActivities
from activities.store_errors import store_errors
from domain.clock import ClockSchedule, compute_schedule
from domain.rating import FOLLOW_UP_ROLE, FOLLOW_UP_TASK, FollowUpDue, FollowUpRecord, OpenFollowUp
from store import ratings, tasks


def follow_up_task_id(workflow_id: str) -> str:
    return f"{workflow_id}/{FOLLOW_UP_TASK}"


class RatingActivities:
    def __init__(self, engine: Engine, calendar: CalendarActivities | None = None) -> None:
        self._engine = engine
        self._calendar = calendar or CalendarActivities()

    @activity.defn(name="ratings.open_follow_up")
    @store_errors
    def open_follow_up(self, request: OpenFollowUp) -> ClockSchedule:
        """The follow-up's first schedule; its task opened in the department's inbox with
        that due instant, which the rating's follow-up row keeps too. Idempotent."""
        schedule = compute_schedule(request.clock, self._calendar.calendar())
        start = request.start
        tasks.open_task(
            self._engine,
            tasks.StaffTask(
                task_id=follow_up_task_id(request.workflow_id),
                application_id=start.application_id,
                workflow_id=request.workflow_id,
                item_code=None,
                kind=FOLLOW_UP_TASK,
                department=start.department,
                role=FOLLOW_UP_ROLE.value,
                hall=start.hall,
                due_at=schedule.due_at,
                created_at=request.clock.started_at,
            ),
        )
        ratings.set_follow_up_due(
            self._engine, start.case_number, start.department, schedule.due_at
        )
        return schedule

    @activity.defn(name="ratings.follow_up_due")
    @store_errors
    def follow_up_due(self, due: FollowUpDue) -> None:
        """A due instant that moved later (a calendar published): the task and the row."""
        tasks.update_due(self._engine, follow_up_task_id(due.workflow_id), due.due_at)
        ratings.set_follow_up_due(self._engine, due.case_number, due.department, due.due_at)

    @activity.defn(name="ratings.conclude_follow_up")
    @store_errors
    def conclude_follow_up(self, record: FollowUpRecord) -> None:
        """The answer (or the exclusion on appeal) recorded once; the task closed."""
        ratings.record_answer(self._engine, record)
        tasks.close_task(
            self._engine,
            follow_up_task_id(record.workflow_id),
            outcome=record.outcome.value,
            closed_by=record.answered_by,
            closed_at=record.answered_at,
        )
