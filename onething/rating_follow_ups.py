"""A 差评's follow-up workflows (`RatingFollowUpWorkflow`, one per department of the case),
started and told of an upheld appeal: by the ratings service when a rating is recorded or
an appeal decided (`starter.ratings`), and beside the worker when it starts (`reconcile`:
what a crash between the store and Temporal left undone).

It lives here, below both, so the worker needs nothing of the client's package.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.catalog import Catalog
from domain.rating import FollowUpStart, FollowUpState, follow_up_workflow_id
from store import ratings as store
from workflows.rating_follow_up import RatingFollowUpWorkflow


class FollowUps:
    def __init__(self, temporal: Client, task_queue: str, engine: Engine, catalog: Catalog) -> None:
        self.temporal = temporal
        self.task_queue = task_queue
        self.engine = engine
        self.catalog = catalog

    def handle(
        self, case_number: str, department: str
    ) -> WorkflowHandle[RatingFollowUpWorkflow, FollowUpState]:
        return self.temporal.get_workflow_handle_for(
            RatingFollowUpWorkflow.run, follow_up_workflow_id(case_number, department)
        )

    async def start_open(self, row: store.Rating) -> None:
        """One workflow per open follow-up of the rating; starting again finds it."""
        follow_ups = await asyncio.to_thread(store.follow_ups_of, self.engine, row.case_number)
        for f in follow_ups:
            if f.status == "open":
                await self.start(row, f)

    async def start(self, row: store.Rating, f: store.RatingFollowUp) -> None:
        """Started once: a running one is found, one that ended is not begun again."""
        names = [
            i.department_name for i in self.catalog.items.values() if i.department == f.department
        ]
        # One that ran and ended is not begun again: its outcome is the store's to tell.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self.temporal.start_workflow(
                RatingFollowUpWorkflow.run,
                FollowUpStart(
                    case_number=row.case_number,
                    application_id=row.application_id,
                    department=f.department,
                    department_name=names[0] if names else "",
                    hall=row.hall,
                    level=row.level_enum,
                    days=f.days,
                    rated_at=row.at,
                ),
                id=f.workflow_id,
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"差评回访 {row.case_number} ({f.department})",
            )

    async def excluded(self, case_number: str, department: str) -> None:
        """An upheld appeal excluded the rating: its follow-up ends. One never started, or
        ended meanwhile (answered), has nothing to end."""
        try:
            await self.handle(case_number, department).signal(
                RatingFollowUpWorkflow.rating_excluded
            )
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise

    async def reconcile(self) -> int:
        """What a crash between the store and Temporal may have left undone, done now:
        a 差评's follow-up recorded but never started is started; one whose rating an upheld
        appeal excluded is told so. Idempotent; the worker runs it when it starts. Returns
        how many follow-ups it looked at."""
        pending = await asyncio.to_thread(store.open_follow_ups, self.engine)
        for rating, f in pending:
            if rating.excluded:
                await self.excluded(rating.case_number, f.department)
            else:
                await self.start(rating, f)
        return len(pending)
