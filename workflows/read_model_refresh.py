"""One scheduled run of the KPI read model's refresh (`onething.read_model_schedule` starts it
every `ONETHING_REPORT_REFRESH_SECONDS`).

It projects the applications running, or closed since the last successful run began: that
instant is the last run's result, which Temporal hands to the next run of a schedule
(`get_last_completion_result`), so nothing needs keeping elsewhere. The first run, or the
first after the schedule was made again, projects every application; unchanged ones write
nothing. A failed run is not retried: the schedule's next run starts from the last
successful one.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.read_model import ReadModelActivities, ReadModelRun, ScheduledRefresh

# A first run reads every application's histories; the heartbeat, after each one, is what
# tells a dead worker apart.
_RUN_LIMIT = timedelta(hours=12)
_HEARTBEAT = timedelta(minutes=2)


@workflow.defn
class ReadModelRefreshWorkflow:
    @workflow.run
    async def run(self) -> ScheduledRefresh:
        last = workflow.get_last_completion_result(ScheduledRefresh)
        return await workflow.execute_activity_method(
            ReadModelActivities.refresh_read_model,
            ReadModelRun(since=last.started_at if last else None),
            start_to_close_timeout=_RUN_LIMIT,
            heartbeat_timeout=_HEARTBEAT,
            retry_policy=RetryPolicy(maximum_attempts=1),
            summary="project the histories into the KPI read model",
        )
