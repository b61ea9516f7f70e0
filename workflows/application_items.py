"""The bundle's items (workflow code, for ApplicationWorkflow): in dependency order,
independent ones in parallel, each a child ItemWorkflow; told when the supplements have
arrived or the application stops, and revoked here once ended when a pledge broke."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.licensing import LicensingActivities, RevokeLicense
    from domain.application import (
        ON_THE_SPOT_LABEL,
        ApprovalPath,
        ItemCase,
        ItemOutcome,
        ItemRef,
        ItemStatus,
        RevocationGround,
    )
    from domain.catalog_models import DeficiencyConsequence, Item
    from workflows import search_attributes as sa
    from workflows.application_record import ENDED_WITHOUT_LICENSE, FINISHED, ApplicationRecord
    from workflows.common import department_queue, run_activity
    from workflows.item import ItemWorkflow
    from workflows.revocation import revoke_license


class BundleItems(ApplicationRecord):
    async def _run_items(self) -> None:
        """Items in dependency order; independent ones run in parallel as child workflows."""
        running: dict[str, asyncio.Task[ItemOutcome]] = {}
        stopped: set[str] = set()
        while True:
            if self._stop is None:
                for item in self.snapshot.items:
                    if self._ready(item):
                        self._items[item.code].status = ItemStatus.IN_PROGRESS
                        running[item.code] = asyncio.create_task(self._run_item(item))
            else:
                await self._pass_on_stop(stopped)
            if not any(not task.done() for task in running.values()):
                break
            seen = self._changes

            def woken(seen: int = seen) -> bool:
                return self._changes != seen or any(t.done() for t in running.values())

            await workflow.wait_condition(woken)
            for code, task in list(running.items()):
                if task.done():
                    self._finish_item(code, task.result())
                    del running[code]
        self._items_done = True
        self._changes += 1

    def _ready(self, item: Item) -> bool:
        """Not started, and every item it depends on has issued its license."""
        ref = self._items[item.code]
        if ref.status is not ItemStatus.WAITING:
            return False
        depends_on = self.snapshot.bundle.member(item.code).depends_on
        blocked = [d for d in depends_on if self._items[d].status in ENDED_WITHOUT_LICENSE]
        if blocked:
            ref.status = ItemStatus.STOPPED
            ref.reason = f"前置事项未办结: {', '.join(blocked)}"
            return False
        return all(self._items[d].license is not None for d in depends_on)

    async def _run_item(self, item: Item) -> ItemOutcome:
        submission = self.submission
        ref = self._items[item.code]
        hold = any(item.code in m.item_codes for m in self._outstanding) and (
            item.deficiency_consequence is DeficiencyConsequence.STOP
        )
        handle = await workflow.start_child_workflow(
            ItemWorkflow.run,
            ItemCase(
                application_id=submission.application_id,
                application_workflow_id=workflow.info().workflow_id,
                item=item,
                catalog_version=self.snapshot.version,
                hall=submission.hall,
                holder_name=submission.applicant.enterprise_name or submission.applicant.name,
                credit_subject=self._credit_subject(),
                path=ref.path or ApprovalPath.REVIEW,
                hold_until_supplemented=hold,
                has_dependents=any(item.code in m.depends_on for m in self.snapshot.bundle.members),
                licenses_from_bundle=[r.license for r in self._items.values() if r.license],
                central_activities_local=self.central_activities_local,
                revised=self.revised,
                fewer_events=self.fewer_events,
                central_queue=workflow.info().task_queue if self.items_at_departments else None,
                lighter=self.lighter_histories,
            ),
            id=ref.workflow_id,
            task_queue=department_queue(item.department) if self.items_at_departments else None,
            static_summary=f"{item.name} ({item.code})",
            static_details=(
                f"申请 {submission.application_id} · {self.snapshot.bundle.name} · "
                f"{item.department_name} · {ref.path.label if ref.path else ON_THE_SPOT_LABEL}"
            ),
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.ITEMS, [item.code]),
                    SearchAttributePair(sa.DEPARTMENTS, [item.department]),
                    SearchAttributePair(sa.HALL, submission.hall),
                    SearchAttributePair(sa.CATALOG_VERSION, self.snapshot.version),
                ]
            ),
        )
        self._children[item.code] = handle
        if hold:
            self._holding.add(item.code)
            await self._release_held_items()  # the last material may have come meanwhile
        self._changes += 1  # a stop order may now reach it
        return await handle

    def _finish_item(self, code: str, outcome: ItemOutcome) -> None:
        ref = self._items[code]
        ref.status, ref.reason = outcome.status, outcome.reason
        ref.license = outcome.license or ref.license
        self._show_details()

    async def _release_held_items(self) -> None:
        """Once every material is in, items holding their license for it go on: those
        started already now, one still starting as soon as it has started."""
        if self._outstanding:
            return
        for code in sorted(self._holding - self._released):
            if self._items[code].status not in FINISHED:
                self._released.add(code)
                await self._tell_item(self._children[code], ItemWorkflow.supplemented)

    async def _pass_on_stop(self, stopped: set[str]) -> None:
        """Tell running items to stop; revoke what was issued on trust when the pledge broke."""
        order = self._stop
        assert order is not None
        for code, ref in self._items.items():
            if code in stopped:
                continue
            handle = self._children.get(code)
            if handle is None:
                if ref.status is ItemStatus.IN_PROGRESS:
                    continue  # starting right now: told once its handle exists
                if ref.status is ItemStatus.WAITING:
                    ref.status, ref.reason = ItemStatus.STOPPED, order.reason
                stopped.add(code)
                continue
            on_trust = order.revoke and any(code in m.item_codes for m in self._outstanding)
            finished = ref.status in FINISHED
            if finished:
                if on_trust and ref.license is not None and ref.status is not ItemStatus.REVOKED:
                    await self._revoke_finished(ref, order.reason, RevocationGround.BROKEN_PLEDGE)
            elif ref.license is None or on_trust:
                told = await self._tell_item(
                    handle, ItemWorkflow.stop, order.model_copy(update={"revoke": on_trust})
                )
                if not told:
                    continue  # it ended meanwhile: the next pass acts on its outcome
            stopped.add(code)

    async def _tell_item(
        self, handle: workflow.ChildWorkflowHandle[Any, ItemOutcome], signal: Any, *args: Any
    ) -> bool:
        """Signal a running item; False when it had ended before the signal reached it (a
        withdrawal crossing the item's last step), which is no failure of the application."""
        try:
            await handle.signal(signal, *args)
        except FailureError:
            return False
        return True

    async def _revoke_finished(self, ref: ItemRef, reason: str, ground: RevocationGround) -> None:
        """Revoke the license of an item that has ended (its workflow can no longer act)."""
        if self.revised:  # the one revocation path: the applicant is told in writing
            ref.license = await revoke_license(
                application_id=self.submission.application_id,
                item_code=ref.item_code,
                item_name=ref.name,
                department=ref.department,
                license=ref.license,
                reason=reason,
                ground=ground,
            )
        else:
            await run_activity(
                LicensingActivities.revoke_license,
                RevokeLicense(
                    application_id=self.submission.application_id,
                    item_code=ref.item_code,
                    reason=reason,
                    revoked_at=workflow.now(),
                    ground=ground,
                ),
                task_queue=department_queue(ref.department),
                summary=f"revoke {ref.item_code}",
            )
        ref.status = ItemStatus.REVOKED
        self._record("license revoked", detail=reason)
