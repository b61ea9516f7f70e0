"""ItemWorkflow: one service item of an application, from approval to license and inspection.

Two approval paths:
- review: a reviewer of the item's department approves, rejects, or asks for a correction
  (the clock pauses until the applicant corrects), within the item's promised limit;
- commitment (告知承诺 / 信用审批、先入后核): approved at once on the applicant's
  commitment, the license issued, and an inspector checks on site afterwards.
Inspection: pass closes it; fail orders rectification, then re-inspection; a second fail,
or a commitment found false, revokes the license, writes a credit record and opens a
supervision case.

Under procedure revision 2026-12 (`ItemCase.revised`) the item follows the law:
- the on-site check follows the approval path (`InspectionRule.for_path`): on review a
  required check comes before the decision (failing twice: not granted, with reasons); on
  commitment, after issuance;
- a filing (备案) without a limit (`Item.recorded_on_the_spot`) is recorded on the spot
  once the materials are complete, no review; a filing with a limit is reviewed;
- the item's statutory limit is counted beside the step limits, from the item's start to
  the decision, warning and escalating on its own;
- one extension per limit (Art. 42, `domain.extension`), approved by the head of the
  item's department, the applicant told; excluded time (Art. 45) pauses the running
  limits with a written notice and ends with its result;
- a revocation refers the case to supervision explicitly (`supervision.refer_case`).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.issuance_reports import IssuanceReports, ReportIssued
    from activities.licensing import IssueLicense, LicensingActivities
    from domain import notices
    from domain.application import (
        ITEM_ISSUED_SIGNAL,
        ApprovalPath,
        ItemCase,
        ItemIssued,
        ItemOutcome,
        ItemStatus,
        ReviewVerdict,
    )
    from domain.catalog_models import InspectionTiming
    from domain.people import Role
    from workflows.common import notify, run_department_activity
    from workflows.item_handlers import ItemHandlers
    from workflows.item_inspection import OnSiteInspection


@workflow.defn
class ItemWorkflow(ItemHandlers, OnSiteInspection):
    """The process, step by step. Its parts are plain classes beside it: the record (state,
    trail, query), one staff step, the inspection, the handlers (workflows/item_*.py)."""

    @workflow.init
    def __init__(self, case: ItemCase) -> None:
        super().__init__(case)

    # -- the process, as a clerk would tell it --------------------------------------------

    @workflow.run
    async def run(self, case: ItemCase) -> ItemOutcome:
        if case.revised:
            return await self._run_by_the_law()
        if case.path is ApprovalPath.COMMITMENT:
            self._record("approved on commitment", detail="告知承诺: 申请人已签署承诺书, 信用良好")
        elif not await self._review():
            return self._outcome()
        inspect_first = self.item.inspection.timing is InspectionTiming.BEFORE_ISSUANCE
        if inspect_first and not await self._inspect(before_issuance=True):
            return self._outcome()
        if not await self._wait_for_supplements():
            return self._outcome()
        await self._issue_license()
        if self.item.inspection.timing is InspectionTiming.AFTER_ISSUANCE:
            await self._inspect(before_issuance=False)
        if self._status is ItemStatus.ISSUED:
            self._status = ItemStatus.CLOSED
        return self._outcome()

    async def _run_by_the_law(self) -> ItemOutcome:
        """The procedure the law prescribes (procedure revision 2026-12)."""
        if self.item.recorded_on_the_spot:  # a filing with a limit is reviewed within it
            await self._file()
            return self._outcome()
        timing = self.item.inspection.for_path(self.case.path.value)
        check_first = timing is InspectionTiming.BEFORE_ISSUANCE
        if self.case.path is ApprovalPath.REVIEW or check_first:
            self.limits.start_statutory()  # a decision that takes time: the law's limit runs
        granted = await self._reach_decision(check_first)
        await self.limits.stop_statutory()
        if not granted or not await self._wait_for_supplements():
            return self._outcome()
        await self._issue_license()
        if timing is InspectionTiming.AFTER_ISSUANCE:
            await self._inspect(before_issuance=False)
        if self._status is ItemStatus.ISSUED:
            self._status = ItemStatus.CLOSED
        return self._outcome()

    async def _reach_decision(self, check_first: bool) -> bool:
        """Commitment or review, then the on-site check where it comes before the decision.
        True when granted."""
        if self.case.path is ApprovalPath.COMMITMENT:
            self._record("approved on commitment", detail="告知承诺: 申请人已签署承诺书, 信用良好")
        elif not await self._review():
            return False
        return not check_first or await self._inspect(before_issuance=True)

    async def _file(self) -> None:
        """A filing (备案) without a limit is done on the spot once the materials are
        complete: no review."""
        self._record("filing received", detail="备案: 材料齐全, 当场办结")
        if not await self._wait_for_supplements():
            return
        await self._issue_license()
        self._record("filing recorded", detail=self._license.number if self._license else None)
        self._status = ItemStatus.CLOSED

    async def _review(self) -> bool:
        """A reviewer of the department decides within the promised limit; True if approved."""
        decision = await self._staff_step(
            "review",
            Role.REVIEWER,
            self.item.promised_days,
            ItemStatus.UNDER_REVIEW,
            lambda: (
                self._decision is not None
                and self._decision.verdict is not (ReviewVerdict.REQUEST_CORRECTION)
            ),
        )
        if not decision:
            return False
        assert self._decision is not None
        if self._decision.verdict is ReviewVerdict.REJECT:
            self._status = ItemStatus.REJECTED
            await notify(
                self.case.application_id,
                "applicant",
                "rejected",
                notices.rejection(self.item.name, self._decision.reason),
                key="rejected",
            )
            return False
        self._status = ItemStatus.APPROVED
        return True

    async def _wait_for_supplements(self) -> bool:
        """Items whose rule says 'issue after the materials arrive' wait for the supplements."""
        if self._supplemented:
            return True
        self._status = ItemStatus.APPROVED
        self._go_on_waiting()
        workflow.set_current_details(f"{self.item.name}: 已批准, 待补齐容缺材料后发证")
        await workflow.wait_condition(lambda: self._supplemented or self._stop is not None)
        return await self._handle_stop() is None

    async def _issue_license(self) -> None:
        if self.item.produces is None:
            self._status = ItemStatus.ISSUED
            return
        self._license = await run_department_activity(
            LicensingActivities.issue_license,
            IssueLicense(
                application_id=self.case.application_id,
                item_code=self.item.code,
                license_kind=self.item.produces,
                holder_name=self.case.holder_name,
                issued_at=workflow.now(),
            ),
            department=self.item.department,
            summary=f"issue {self.item.produces}",
        )
        self._status = ItemStatus.ISSUED
        self._record("license issued", detail=self._license.number)
        if not (self.case.has_dependents or self.case.revised):
            return  # before: the application learnt of it when this item closed
        if self.case.fewer_events and not self._goes_on_after_issuing():
            return  # this item ends now: its completion carries the license
        # Later items of the bundle may start now (their material is this license).
        issued = ItemIssued(item_code=self.item.code, license=self._license, path=self.case.path)
        if self.case.lighter:  # the department's system tells the window, in this task
            await run_department_activity(
                IssuanceReports.report_issued,
                ReportIssued(
                    application_workflow_id=self.case.application_workflow_id, issued=issued
                ),
                department=self.item.department,
                summary="tell the application: license issued",
            )
            return
        parent = workflow.get_external_workflow_handle(self.case.application_workflow_id)
        await parent.signal(ITEM_ISSUED_SIGNAL, issued)

    def _goes_on_after_issuing(self) -> bool:
        """An inspection after issuance follows the license; otherwise the item ends with it."""
        if self.item.recorded_on_the_spot:
            return False
        timing = self.item.inspection.for_path(self.case.path.value)
        return timing is InspectionTiming.AFTER_ISSUANCE
