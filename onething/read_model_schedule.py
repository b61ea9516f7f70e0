"""The KPI read model kept current as the workflows run: a Temporal Schedule that starts
`ReadModelRefreshWorkflow` every `ONETHING_REPORT_REFRESH_SECONDS` (0: no schedule).

Why a Temporal Schedule, and not a loop in the API or beside the worker:
- it runs once per interval however many workers or API processes are up (a loop would run
  in each, or need a lock), and on whichever worker is alive;
- overlapping runs are skipped, a missed one runs once when the worker comes back (the
  catch-up window is one interval), and every run is a workflow to look at in the Web UI;
- the last successful run's start, the next run's `since`, is the run's own result, which
  Temporal hands to the next run: nothing more to keep in the store.

The worker that runs the workflows (`onething worker`, and `make run`) keeps it at start:
made if missing, its interval and workflow set again if it was there (a pause an operator
set stays), removed when the setting is 0.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from workflows.read_model_refresh import ReadModelRefreshWorkflow

__all__ = ["SCHEDULE_ID", "keep_schedule"]

SCHEDULE_ID = "read-model-refresh"
# The server refuses a catch-up window under ten seconds.
_LEAST_CATCH_UP = timedelta(seconds=10)


def _schedule(task_queue: str, every: timedelta) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReadModelRefreshWorkflow.run,
            id=SCHEDULE_ID,  # the server adds each run's time
            task_queue=task_queue,
            static_summary="KPI 读模型刷新",
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP,
            catchup_window=max(every, _LEAST_CATCH_UP),
        ),
    )


async def keep_schedule(
    client: Client, task_queue: str, seconds: int
) -> Literal["created", "updated", "removed", "off"]:
    """Make the schedule match the setting; safe to call from every worker at every start."""
    handle = client.get_schedule_handle(SCHEDULE_ID)
    if seconds == 0:
        try:
            await handle.delete()
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
            return "off"
        return "removed"
    wanted = _schedule(task_queue, timedelta(seconds=seconds))
    try:
        # The first run at once: the read model is built when the worker first starts.
        await client.create_schedule(SCHEDULE_ID, wanted, trigger_immediately=True)
        return "created"
    except ScheduleAlreadyRunningError:

        def update(found: ScheduleUpdateInput) -> ScheduleUpdate:
            # Its state stays: a schedule an operator paused stays paused.
            now = found.description.schedule
            return ScheduleUpdate(schedule=replace(wanted, state=now.state))

        await handle.update(update)
        return "updated"
