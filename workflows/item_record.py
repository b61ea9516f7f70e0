"""What an item knows and shows (workflow code, for ItemWorkflow): its state, its trail, the
`state` query, how a stop order and a revocation end it, and its outcome. The workflow's
parts build on it: one staff step (`item_steps`), the on-site inspection
(`item_inspection`), what staff and the application send (`item_handlers`).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.application import (
        ApprovalPath,
        InspectionReport,
        ItemCase,
        ItemOutcome,
        ItemState,
        ItemStatus,
        LicenseRecord,
        ReviewDecision,
        RevocationGround,
        StaffTaskRef,
        StopOrder,
    )
    from domain.catalog_models import Item
    from domain.clock import ClockEvent
    from workflows import search_attributes as sa
    from workflows.clock import LegalClock
    from workflows.common import Trail
    from workflows.limits import ItemLimits
    from workflows.revocation import revoke_license


class ItemRecord:
    def __init__(self, case: ItemCase) -> None:
        self.case = case
        self.item: Item = case.item
        self._status = ItemStatus.WAITING
        self._decision: ReviewDecision | None = None
        self._report: InspectionReport | None = None
        self._stop: StopOrder | None = None
        self._license: LicenseRecord | None = None
        self._task: StaffTaskRef | None = None
        self._clock: LegalClock | None = None
        self._trips = 0
        self._trail = Trail()
        self.central_activities_local = case.central_activities_local
        self.central_queue = case.central_queue  # workflows.common.central_queue
        self.department_here = case.item.department if case.central_queue else None
        # Held until the application's deficient materials arrive (its `supplemented` signal
        # may come with the start: handlers run only after this).
        self._supplemented = not case.hold_until_supplemented
        # Procedure revision 2026-12: the statutory limit beside the step's, excluded time.
        self.limits = ItemLimits(
            case, record=self._record, on_escalation=self._escalated, step=lambda: self._clock
        )

    @property
    def _step_limit(self) -> LegalClock | None:
        """The running step's limit; None when no staff task is open."""
        return self._clock if self._task is not None else None

    @property
    def _path_shown(self) -> ApprovalPath | None:
        """None for a filing recorded on the spot: nobody decides it, by review or on a
        commitment (its input says review, as it always has)."""
        return None if self.item.recorded_on_the_spot else self.case.path

    @workflow.query(description="Status, open task, running clock, license and decision trail.")
    def state(self) -> ItemState:
        return ItemState(
            item_code=self.item.code,
            status=self._status,
            path=self._path_shown,
            open_task=self._task,
            clock=self._clock.snapshot() if self._clock and self._clock.record else None,
            license=self._license,
            trips=self._trips,
            trail=self._trail.entries,
            statutory_clock=self.limits.statutory_snapshot(),
            excluded_time=self.limits.excluded,
        )

    async def _escalated(self, event: ClockEvent) -> None:
        level = event.level.value if event.level else ""
        self._record(f"escalated stage {event.stage}", detail=f"{event.limit} overdue → {level}")
        workflow.upsert_search_attributes([sa.ESCALATED.value_set(True)])

    async def _handle_stop(self) -> str | None:
        """Act on a stop order from the application; returns its outcome word, if any."""
        order = self._stop
        if order is None:
            return None
        if order.revoke and self._license is not None and self._status is not ItemStatus.REVOKED:
            await self._revoke(order.reason, RevocationGround.BROKEN_PLEDGE)
        elif self._status is not ItemStatus.REVOKED:
            self._status = ItemStatus.STOPPED
            self._record("stopped", actor=order.actor, role=order.role, detail=order.reason)
        return "stopped"

    async def _revoke(self, reason: str, ground: RevocationGround) -> None:
        self._license = await revoke_license(
            application_id=self.case.application_id,
            item_code=self.item.code,
            item_name=self.item.name,
            department=self.item.department,
            license=self._license,
            reason=reason,
            ground=ground,
        )
        self._status = ItemStatus.REVOKED
        self._record("license revoked", detail=reason)

    # -- small helpers ---------------------------------------------------------------------

    def _last_outcome(self) -> str:
        if self._report is not None:
            return self._report.result.value
        return self._decision.verdict.value if self._decision else "closed"

    def _last_actor(self) -> str:
        if self._report is not None:
            return self._report.inspector.staff_id
        return self._decision.reviewer.staff_id if self._decision else "system"

    def _record(
        self, action: str, *, actor: str = "system", role: str = "system", detail: str | None = None
    ) -> None:
        self._trail.record(
            action,
            actor=actor,
            role=role,
            item_code=self.item.code,
            rule=f"{self.case.catalog_version}/{self.item.code}",
            detail=detail,
        )

    def _outcome(self) -> ItemOutcome:
        reason = None
        if self._status is ItemStatus.REJECTED:
            reason = (self._report.findings if self._report else None) or (
                self._decision.reason if self._decision else None
            )
        elif self._stop is not None:
            reason = self._stop.reason
        return ItemOutcome(
            item_code=self.item.code,
            status=self._status,
            path=self._path_shown,
            license=self._license,
            reason=reason,
        )
