"""The same-shape twin: a 开办便利店 on commitment that does nothing but its shape.

The bare workflow (`bench/bare.py`) is four commands; ours is a tree. To tell what our own
code costs from what the SDK and the server charge for the tree DESIGN.md prescribes, the
twin makes the same kinds of commands in about the same numbers, with no store, no domain
code and small payloads: an application with a patch, status upserts, three local activities
at acceptance and a joint-limit timer; a registration on the market department's queue
(two local activities, an upsert, a step timer, a decision update, two more local
activities, one of them issuing the license, which starts its term workflow); then a filing
recorded on the spot (one local activity) beside tobacco on the tobacco department's queue
(the license issued and reported to the application by a signal, an upsert, a step timer,
an inspection update, one more local activity). It runs in the worker's own sandbox, which
imports this module afresh for each new workflow as it does ours.

One difference stays: the twin's activities are async, run on the worker's event loop, where
ours are plain functions run in the activity threads. So the twin is the cheaper of the two
for the same shape; "twin ÷ bare" is a floor, and "ours ÷ twin" counts those thread hops as
our own code's.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client

with workflow.unsafe.imports_passed_through():
    from workflows.search_attributes import APPLICATION_STATUS

STEP = timedelta(seconds=30)  # a local activity's start-to-close
REGISTRATION, FILING, TOBACCO = "registration", "filing", "tobacco"
TWIN_TARGET = "open-convenience-store"  # the bundle whose shape the twin has


class TwinQueues(BaseModel):
    central: str
    market: str
    tobacco: str


class TwinRecord(BaseModel):
    key: str
    note: str = "记录" * 40  # about the size of one of our small payloads


class TwinActivities:
    """What the twin's local activities do: nothing, except what makes the shape: a license
    starts its term workflow, and tobacco's report signals the application."""

    def __init__(self, client: Client, central_queue: str) -> None:
        self._client, self._central = client, central_queue

    @activity.defn(name="bench_twin_step")
    async def step(self, key: str) -> TwinRecord:
        return TwinRecord(key=key)

    @activity.defn(name="bench_twin_issue")
    async def issue(self, key: str) -> TwinRecord:
        await self._client.start_workflow(
            "BenchTwinTerm", key, id=f"{key}-term", task_queue=self._central
        )
        return TwinRecord(key=key)

    @activity.defn(name="bench_twin_report")
    async def report(self, application_id: str) -> None:
        await self._client.get_workflow_handle(application_id).signal("issued", TOBACCO)


@workflow.defn(name="BenchTwinTerm")
class TwinTerm:
    """A license's term: one local activity, then a timer as long as a validity."""

    @workflow.run
    async def run(self, key: str) -> None:
        await workflow.execute_local_activity("bench_twin_step", key, start_to_close_timeout=STEP)
        await workflow.sleep(timedelta(days=365 * 5))


@workflow.defn(name="BenchTwinItem")
class TwinItem:
    def __init__(self) -> None:
        self._decided = False

    @workflow.run
    async def run(self, kind: str, application_id: str) -> TwinRecord:
        me = workflow.info().workflow_id
        if kind == FILING:
            return await self._step(f"{me}/receipt")
        if kind == REGISTRATION:
            await self._step(f"{me}/task")
            await self._step(f"{me}/limit")
        else:
            await self._step(f"{me}/license", "bench_twin_issue")
            await workflow.execute_local_activity(
                "bench_twin_report", application_id, start_to_close_timeout=STEP
            )
            await self._step(f"{me}/inspection")
        workflow.upsert_search_attributes([APPLICATION_STATUS.value_set("in_progress")])
        step_limit = asyncio.ensure_future(workflow.sleep(timedelta(days=5)))
        await workflow.wait_condition(lambda: self._decided)
        record = await self._step(f"{me}/close")
        if kind == REGISTRATION:
            record = await self._step(f"{me}/license", "bench_twin_issue")
        step_limit.cancel()
        return record

    async def _step(self, key: str, activity_name: str = "bench_twin_step") -> TwinRecord:
        result: TwinRecord = await workflow.execute_local_activity(
            activity_name, key, start_to_close_timeout=STEP, result_type=TwinRecord
        )
        return result

    @workflow.update
    async def decide(self, decision: str) -> str:
        self._decided = True
        return decision

    @decide.validator
    def _decision_given(self, decision: str) -> None:
        if not decision:
            raise ValueError("decision: empty")


@workflow.defn(name="BenchTwinApplication")
class TwinApplication:
    def __init__(self) -> None:
        self._reports: list[str] = []

    @workflow.run
    async def run(self, queues: TwinQueues) -> str:
        me = workflow.info().workflow_id
        workflow.patched("bench-twin")
        workflow.upsert_search_attributes([APPLICATION_STATUS.value_set("accepted")])
        for part in ("reception", "case-number", "joint-limit"):
            await workflow.execute_local_activity(
                "bench_twin_step", f"{me}/{part}", start_to_close_timeout=STEP
            )
        joint_limit = asyncio.ensure_future(workflow.sleep(timedelta(days=20)))
        await self._item(REGISTRATION, queues.market)
        await asyncio.gather(self._item(FILING, queues.market), self._item(TOBACCO, queues.tobacco))
        await workflow.wait_condition(lambda: TOBACCO in self._reports)
        joint_limit.cancel()
        workflow.upsert_search_attributes([APPLICATION_STATUS.value_set("completed")])
        return me

    async def _item(self, kind: str, queue: str) -> None:
        me = workflow.info().workflow_id
        await workflow.execute_child_workflow(
            TwinItem.run, args=[kind, me], id=twin_item_id(me, kind), task_queue=queue
        )

    @workflow.signal
    def issued(self, kind: str) -> None:
        self._reports.append(kind)


def twin_item_id(application_id: str, kind: str) -> str:
    return f"{application_id}-{kind}"
