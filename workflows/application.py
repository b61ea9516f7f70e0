"""ApplicationWorkflow: one application at the general window, from acceptance to result."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.catalog import CatalogActivities, CatalogSnapshot, PinCatalog
    from domain.acceptance import Acceptance, AcceptanceVerdict, assess
    from domain.application import (
        ApplicationOutcome,
        ApplicationStatus,
        ItemOutcome,
        ItemStatus,
        MissingMaterialsNotice,
        Submission,
        TrailEntry,
        item_workflow_id,
    )
    from domain.catalog import Item
    from workflows import search_attributes as sa
    from workflows.item import ItemCase, ItemWorkflow

ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)


class ItemRef(BaseModel):
    item_code: str
    workflow_id: str
    status: ItemStatus


class ApplicationState(BaseModel):
    """What anyone allowed to see the application may read; no personal data."""

    application_id: str
    status: ApplicationStatus
    target: str
    channel: str
    hall: str
    catalog_version: str | None
    notice: MissingMaterialsNotice | None
    items: list[ItemRef]
    trail: list[TrailEntry]


@workflow.defn
class ApplicationWorkflow:
    def __init__(self) -> None:
        self._submission: Submission | None = None
        self._status = ApplicationStatus.SUBMITTED
        self._snapshot: CatalogSnapshot | None = None
        self._notice: MissingMaterialsNotice | None = None
        self._items: dict[str, ItemRef] = {}
        self._trail: list[TrailEntry] = []

    @workflow.run
    async def run(self, submission: Submission) -> ApplicationOutcome:
        self._submission = submission
        self._snapshot = await self._pin_catalog(submission)
        acceptance = self._assess(submission, self._snapshot)
        if acceptance.verdict is AcceptanceVerdict.REFUSED:
            return self._refuse(submission, acceptance)
        self._accept(submission, acceptance)
        outcomes = [await self._run_item(submission, item) for item in self._snapshot.items]
        return self._close(submission, outcomes)

    # -- steps a clerk would name --------------------------------------------------------

    async def _pin_catalog(self, submission: Submission) -> CatalogSnapshot:
        """The catalog version this application is handled under, for its whole life."""
        return await workflow.execute_activity_method(
            CatalogActivities.pin_catalog,
            PinCatalog(
                item_code=submission.item_code,
                bundle_code=submission.bundle_code,
                version=submission.catalog_version,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
            summary=f"pin catalog for {submission.target}",
        )

    def _assess(self, submission: Submission, snapshot: CatalogSnapshot) -> Acceptance:
        return assess(
            snapshot.items,
            submission.materials,
            pledge_signed=submission.deficiency_pledge_signed,
            # Deficiency acceptance arrives with the lifecycle issue; until then it is refused.
            deficiency_allowed=False,
        )

    def _refuse(self, submission: Submission, acceptance: Acceptance) -> ApplicationOutcome:
        """不予受理, with one notice that lists every missing material (一次性告知)."""
        self._notice = MissingMaterialsNotice(
            application_id=submission.application_id,
            missing=acceptance.missing,
            issued_at=workflow.now(),
        )
        self._record("refused", detail=f"{acceptance.reason}; {self._notice.summary()}")
        self._set_status(ApplicationStatus.REFUSED)
        return self._outcome(reason=acceptance.reason)

    def _accept(self, submission: Submission, acceptance: Acceptance) -> None:
        self._record("accepted", detail=acceptance.reason)
        self._set_status(ApplicationStatus.IN_PROGRESS)

    async def _run_item(self, submission: Submission, item: Item) -> ItemOutcome:
        assert self._snapshot is not None
        child_id = item_workflow_id(submission.application_id, item.code)
        self._items[item.code] = ItemRef(
            item_code=item.code, workflow_id=child_id, status=ItemStatus.UNDER_REVIEW
        )
        outcome = await workflow.execute_child_workflow(
            ItemWorkflow.run,
            ItemCase(
                application_id=submission.application_id,
                item=item,
                catalog_version=self._snapshot.version,
                hall=submission.hall,
                holder_name=submission.applicant.enterprise_name or submission.applicant.name,
            ),
            id=child_id,
            static_summary=f"{item.name} ({item.code})",
            static_details=f"申请 {submission.application_id} · 部门 {item.department}",
        )
        self._items[item.code] = ItemRef(
            item_code=item.code, workflow_id=child_id, status=outcome.status
        )
        return outcome

    def _close(self, submission: Submission, outcomes: list[ItemOutcome]) -> ApplicationOutcome:
        rejected = [o for o in outcomes if o.status is ItemStatus.REJECTED]
        status = ApplicationStatus.REJECTED if rejected else ApplicationStatus.COMPLETED
        reason = "; ".join(f"{o.item_code}: {o.reason}" for o in rejected) or None
        self._record(status.value, detail=reason)
        self._set_status(status)
        return self._outcome(items=outcomes, reason=reason)

    # -- reading ------------------------------------------------------------------------

    @workflow.query(description="The application's status, items, notice and decision trail.")
    def state(self) -> ApplicationState:
        submission = self._submission
        assert submission is not None
        return ApplicationState(
            application_id=submission.application_id,
            status=self._status,
            target=submission.target,
            channel=submission.channel.value,
            hall=submission.hall,
            catalog_version=self._snapshot.version if self._snapshot else None,
            notice=self._notice,
            items=list(self._items.values()),
            trail=self._trail,
        )

    # -- bookkeeping --------------------------------------------------------------------

    def _set_status(self, status: ApplicationStatus) -> None:
        self._status = status
        updates = [sa.APPLICATION_STATUS.value_set(status.value)]
        if self._snapshot is not None:
            updates.append(sa.CATALOG_VERSION.value_set(self._snapshot.version))
        workflow.upsert_search_attributes(updates)
        workflow.set_current_details(f"状态: {status.value}")

    def _outcome(
        self, items: list[ItemOutcome] | None = None, reason: str | None = None
    ) -> ApplicationOutcome:
        assert self._submission is not None
        return ApplicationOutcome(
            application_id=self._submission.application_id,
            status=self._status,
            catalog_version=self._snapshot.version if self._snapshot else None,
            notice=self._notice,
            items=items or [],
            reason=reason,
        )

    def _record(self, action: str, detail: str | None = None) -> None:
        submission = self._submission
        assert submission is not None
        clerk = submission.accepted_by
        self._trail.append(
            TrailEntry(
                at=workflow.now(),
                action=action,
                actor=clerk.staff_id if clerk else submission.channel.value,
                role=clerk.role.value if clerk else "system",
                rule=self._snapshot.version if self._snapshot else None,
                detail=detail,
            )
        )
