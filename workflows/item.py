"""ItemWorkflow: one service item of an application, from review to license."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.licensing import IssueLicense, LicensingActivities
    from activities.tasks import CloseTask, OpenTask, TaskActivities
    from domain.application import (
        ItemOutcome,
        ItemStatus,
        LicenseRecord,
        ReviewDecision,
        ReviewVerdict,
        TrailEntry,
    )
    from domain.catalog import Item
    from domain.people import Role

ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)


class ItemCase(BaseModel):
    """What the item workflow needs; the item is the catalog version the application pinned."""

    model_config = ConfigDict(frozen=True)

    application_id: str
    item: Item
    catalog_version: str
    hall: str
    holder_name: str


class ItemState(BaseModel):
    item_code: str
    status: ItemStatus
    review_task_id: str | None
    license: LicenseRecord | None
    trail: list[TrailEntry]


@workflow.defn
class ItemWorkflow:
    def __init__(self) -> None:
        self._status = ItemStatus.WAITING
        self._decision: ReviewDecision | None = None
        self._license: LicenseRecord | None = None
        self._trail: list[TrailEntry] = []
        self._case: ItemCase | None = None
        self._review_task_id: str | None = None

    @workflow.run
    async def run(self, case: ItemCase) -> ItemOutcome:
        self._case = case
        decision = await self._review(case)
        if decision.verdict is ReviewVerdict.REJECT:
            self._status = ItemStatus.REJECTED
            return ItemOutcome(
                item_code=case.item.code, status=self._status, reason=decision.reason
            )
        self._status = ItemStatus.APPROVED
        await self._issue_license(case)
        return ItemOutcome(item_code=case.item.code, status=self._status, license=self._license)

    # -- steps ---------------------------------------------------------------------------

    async def _review(self, case: ItemCase) -> ReviewDecision:
        """A reviewer of the item's department decides within the promised limit."""
        self._review_task_id = f"{workflow.info().workflow_id}/review"
        await workflow.execute_activity_method(
            TaskActivities.open_task,
            OpenTask(
                task_id=self._review_task_id,
                application_id=case.application_id,
                workflow_id=workflow.info().workflow_id,
                item_code=case.item.code,
                kind="review",
                department=case.item.department,
                role=Role.REVIEWER.value,
                hall=case.hall,
                due_at=None,
                opened_at=workflow.now(),
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            summary=f"open review task at {case.item.department}",
        )
        self._status = ItemStatus.UNDER_REVIEW
        workflow.set_current_details(f"等待{case.item.department_name}审查: {case.item.name}")
        await workflow.wait_condition(lambda: self._decision is not None)
        assert self._decision is not None
        await workflow.execute_activity_method(
            TaskActivities.close_task,
            CloseTask(
                task_id=self._review_task_id,
                outcome=self._decision.verdict.value,
                closed_by=self._decision.reviewer.staff_id,
                closed_at=workflow.now(),
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            summary="close review task",
        )
        return self._decision

    async def _issue_license(self, case: ItemCase) -> None:
        if case.item.produces is None:
            return
        self._license = await workflow.execute_activity_method(
            LicensingActivities.issue_license,
            IssueLicense(
                application_id=case.application_id,
                item_code=case.item.code,
                license_kind=case.item.produces,
                holder_name=case.holder_name,
                issued_at=workflow.now(),
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            summary=f"issue {case.item.produces}",
        )
        self._status = ItemStatus.ISSUED
        self._record("license issued", "system", "system", detail=self._license.number)

    # -- staff actions -------------------------------------------------------------------

    @workflow.update(description="A department reviewer approves or rejects (with a reason).")
    def decide(self, decision: ReviewDecision) -> ItemStatus:
        self._decision = decision
        self._record(
            f"review {decision.verdict.value}",
            decision.reviewer.staff_id,
            decision.reviewer.role.value,
            detail=decision.reason,
        )
        return self._status

    @decide.validator
    def _validate_decide(self, decision: ReviewDecision) -> None:
        case = self._case
        if case is None or self._status is not ItemStatus.UNDER_REVIEW or self._decision:
            raise ValueError(f"no review is open for this item (status {self._status.value})")
        if decision.reviewer.role is not Role.REVIEWER:
            raise ValueError(f"reviewer.role: must be reviewer, not {decision.reviewer.role.value}")
        if decision.reviewer.department != case.item.department:
            raise ValueError(
                f"reviewer.department: {decision.reviewer.department!r} may not decide on "
                f"{case.item.code}, which belongs to {case.item.department!r}"
            )

    @workflow.query(description="This item's status, review task, license and decision trail.")
    def state(self) -> ItemState:
        return ItemState(
            item_code=self._case.item.code if self._case else "",
            status=self._status,
            review_task_id=self._review_task_id,
            license=self._license,
            trail=self._trail,
        )

    def _record(self, action: str, actor: str, role: str, detail: str | None = None) -> None:
        case = self._case
        self._trail.append(
            TrailEntry(
                at=workflow.now(),
                action=action,
                actor=actor,
                role=role,
                item_code=case.item.code if case else None,
                rule=f"{case.catalog_version}/{case.item.code}" if case else None,
                detail=detail,
            )
        )
