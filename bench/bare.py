"""The bare workflow: the engine's own cost of start + signal + timer + activity, measured on
the same server beside the production workflows."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

BARE_TIMER = timedelta(milliseconds=100)


@activity.defn(name="bench_bare_activity")
async def bare_activity(n: int) -> int:
    return n + 1


@workflow.defn(name="BenchBareWorkflow")
class BareWorkflow:
    """Start, one activity, one signal, one timer: 4 billable actions, nothing else."""

    def __init__(self) -> None:
        self._go = False

    @workflow.run
    async def run(self, n: int) -> int:
        result = await workflow.execute_activity(
            bare_activity, n, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.wait_condition(lambda: self._go)
        await workflow.sleep(BARE_TIMER)
        return result

    @workflow.signal
    def go(self) -> None:
        self._go = True
