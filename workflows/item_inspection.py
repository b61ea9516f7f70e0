"""The on-site inspection of an item (workflow code, for ItemWorkflow): before the decision
or after issuance as the rule and the approval path say; a failure orders rectification and
one re-inspection; a second failure, or a commitment found false, revokes the license,
writes a credit record and hands the case to supervision."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.credit import CreditActivities
    from activities.supervision import SupervisionActivities
    from domain import notices
    from domain.application import InspectionReport, InspectionResult, ItemStatus, RevocationGround
    from domain.clock import EscalationLevel, EscalationRequest
    from domain.credit import CreditEntry, CreditRecordKind
    from domain.people import Role
    from domain.supervision import ReferralKind
    from workflows import search_attributes as sa
    from workflows.common import notify, run_activity
    from workflows.item_steps import StaffSteps
    from workflows.revocation import refer_to_supervision


class OnSiteInspection(StaffSteps):
    async def _inspect(self, *, before_issuance: bool) -> bool:
        """On-site inspection; a failure orders rectification and one re-inspection.

        True when the item may go on (passed); False when it ended (rejected or revoked).
        """
        rule = self.item.inspection
        for attempt in (1, 2):
            self._report = None
            limit = rule.within_days if attempt == 1 else rule.rectification_days
            if self.case.revised and attempt == 1:
                limit = rule.within_days_for(self.case.path.value)
            inspected = await self._staff_step(
                "inspection" if attempt == 1 else "re-inspection",
                Role.INSPECTOR,
                limit or self.item.promised_days,
                ItemStatus.INSPECTING if attempt == 1 else ItemStatus.RECTIFYING,
                lambda: self._report is not None,
            )
            if not inspected:
                return False
            assert self._report is not None
            result = self._report.result
            if result is InspectionResult.PASSED:
                if not before_issuance:
                    self._status = ItemStatus.ISSUED
                elif self.case.revised:
                    self._status = ItemStatus.APPROVED  # granted: the license comes next
                return True
            if result is InspectionResult.FAILED and attempt == 1:
                await notify(
                    self.case.application_id,
                    "applicant",
                    "rectification",
                    notices.rectification_order(
                        self.item.name, rule.rectification_days, self._report.findings
                    ),
                    key="rectification",
                )
                self._record("rectification ordered", detail=self._report.findings)
                continue
            break
        assert self._report is not None
        if before_issuance:
            self._status = ItemStatus.REJECTED
            self._record("rejected after inspection", detail=self._report.findings)
            if self.case.revised:  # 不予许可, with the reasons
                await notify(
                    self.case.application_id,
                    "applicant",
                    "rejected",
                    notices.rejection(self.item.name, self._report.findings),
                    key="rejected",
                )
            return False
        await self._revoke_for_inspection(self._report)
        return False

    async def _revoke_for_inspection(self, report: InspectionReport) -> None:
        false_commitment = report.result is InspectionResult.FALSE_COMMITMENT
        ground = (
            RevocationGround.FALSE_COMMITMENT
            if false_commitment
            else RevocationGround.FAILED_REINSPECTION
        )
        reason = f"{ground.label}: {report.findings}"
        await self._revoke(reason, ground)
        await run_activity(
            CreditActivities.record_credit,
            CreditEntry(
                subject=self.case.credit_subject,
                kind=(
                    CreditRecordKind.FALSE_COMMITMENT
                    if false_commitment
                    else CreditRecordKind.REVOCATION
                ),
                application_id=self.case.application_id,
                item_code=self.item.code,
                recorded_at=workflow.now(),
                detail=reason,
            ),
            summary="write credit record",
        )
        if self.case.revised:
            await refer_to_supervision(
                ReferralKind.REVOCATION,
                department=self.item.department,
                subject=f"{self.case.application_id}/{self.item.code}",
                reason=reason,
            )
            self._record("referred to supervision", detail=ReferralKind.REVOCATION.label)
            return
        now = workflow.now()
        await run_activity(
            SupervisionActivities.open_case,
            EscalationRequest(
                workflow_id=workflow.info().workflow_id,
                limit="revocation",
                stage=2,
                level=EscalationLevel.SUPERVISION_OFFICE,
                department=self.item.department,
                subject=f"{self.case.application_id}/{self.item.code}",
                due_at=now,
                boundary_at=now,
                escalated_at=now,
                total_days=0,
            ),
            summary="hand the revocation to supervision",
        )
        workflow.upsert_search_attributes([sa.ESCALATED.value_set(True)])
