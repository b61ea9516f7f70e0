"""What staff and the application send to an item (workflow code, for ItemWorkflow): Updates,
each beside its validator (bad input is refused before it enters history), and the
application's signals."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.application import (
        ApprovalPath,
        Channel,
        Correction,
        ExtensionReceipt,
        InspectionReport,
        InspectionResult,
        ItemStatus,
        LimitExtension,
        ReviewDecision,
        ReviewVerdict,
        StopOrder,
    )
    from domain.excluded_time import ExcludedTimeEnd, ExcludedTimeStart
    from domain.extension import check_legacy_extension
    from domain.people import Role, Staff
    from workflows.item_record import ItemRecord


class ItemHandlers(ItemRecord):
    @workflow.update(description="A reviewer approves, rejects, or asks for a correction.")
    def decide(self, decision: ReviewDecision) -> ItemStatus:
        reviewer = decision.reviewer
        self._record(
            f"review {decision.verdict.value}",
            actor=reviewer.staff_id,
            role=reviewer.role.value,
            detail=decision.reason,
        )
        if decision.verdict is ReviewVerdict.REQUEST_CORRECTION:
            assert self._clock is not None and decision.reason is not None
            if self.case.revised:  # the statutory limit waits for the applicant too
                self.limits.pause(self._clock, f"补正: {decision.reason}")
            else:
                self._clock.pause(f"补正: {decision.reason}")
            self._status = ItemStatus.CORRECTION_REQUESTED
        elif self.case.revised:  # the answer is the state after the decision
            approved = decision.verdict is ReviewVerdict.APPROVE
            self._status = ItemStatus.APPROVED if approved else ItemStatus.REJECTED
        self._decision = decision
        return self._status

    @decide.validator
    def _validate_decide(self, decision: ReviewDecision) -> None:
        if self._status is not ItemStatus.UNDER_REVIEW or self._task is None:
            raise ValueError(
                f"status: no review is open for this item (it is {self._status.value})"
            )
        self._check_staff(decision.reviewer, Role.REVIEWER, "reviewer")
        self.limits.check_not_excluded()

    @workflow.update(description="The applicant answers a correction request; the clock resumes.")
    def correct(self, correction: Correction) -> ItemStatus:
        assert self._clock is not None
        if self.case.revised:
            self.limits.resume(self._clock)
        else:
            self._clock.resume()
        self._decision = None
        self._status = ItemStatus.UNDER_REVIEW
        if correction.channel is Channel.WINDOW:
            self._trips += 1
        actor = correction.received_by
        self._record(
            "correction received",
            actor=actor.staff_id if actor else correction.channel.value,
            role=actor.role.value if actor else "applicant",
            detail=correction.note,
        )
        return self._status

    @correct.validator
    def _validate_correct(self, correction: Correction) -> None:
        if self._status is not ItemStatus.CORRECTION_REQUESTED:
            raise ValueError(f"status: no correction was requested (item is {self._status.value})")

    @workflow.update(description="An inspector records the on-site inspection result.")
    def inspect(self, report: InspectionReport) -> ItemStatus:
        self._report = report
        self._record(
            f"inspection {report.result.value}",
            actor=report.inspector.staff_id,
            role=report.inspector.role.value,
            detail=report.findings,
        )
        if self.case.revised:  # the answer is the state after the inspection
            self._status = self._after_inspection(report.result)
        return self._status

    def _after_inspection(self, result: InspectionResult) -> ItemStatus:
        """Where an inspection result leads: the item's status once it is acted on."""
        before_issuance = self._license is None
        if result is InspectionResult.PASSED:
            return ItemStatus.APPROVED if before_issuance else ItemStatus.CLOSED
        if result is InspectionResult.FAILED and self._status is ItemStatus.INSPECTING:
            return ItemStatus.RECTIFYING
        return ItemStatus.REJECTED if before_issuance else ItemStatus.REVOKED

    @inspect.validator
    def _validate_inspect(self, report: InspectionReport) -> None:
        if self._status not in (ItemStatus.INSPECTING, ItemStatus.RECTIFYING) or self._report:
            raise ValueError(
                f"status: no inspection is open for this item (it is {self._status.value})"
            )
        self._check_staff(report.inspector, Role.INSPECTOR, "inspector")
        self.limits.check_not_excluded()
        if (
            report.result is InspectionResult.FALSE_COMMITMENT
            and self.case.path is not ApprovalPath.COMMITMENT
        ):
            raise ValueError(
                "result: false_commitment applies only to items approved on commitment"
            )

    @workflow.update(
        description=(
            "The head of the item's department extends the running limit once (Art. 42), "
            "with a reason the applicant is told (before revision 2026-12: a supervisor)."
        )
    )
    def extend(self, extension: LimitExtension) -> ExtensionReceipt:
        assert self._clock is not None
        if self.case.revised:
            self.limits.extend(self._clock, extension)
            return ExtensionReceipt(limit=self._clock.limit, days=extension.days)
        by = extension.decided_by
        self._clock.extend(extension.days, extension.reason, by=by.staff_id)
        self._record(
            f"{self._clock.limit} extended by {extension.days} working days",
            actor=by.staff_id,
            role=by.role.value,
            detail=extension.reason,
        )
        return ExtensionReceipt(limit=self._clock.limit, days=extension.days)

    @extend.validator
    def _validate_extend(self, extension: LimitExtension) -> None:
        if self._clock is None or self._task is None:
            raise ValueError("status: no limit is running for this item")
        if self.case.revised:
            self.limits.validate_extension(self._clock, extension)
            return
        check_legacy_extension(extension)
        self._clock.validate_extend(extension.days, extension.reason)

    @workflow.update(
        description=(
            "Excluded time starts (Art. 45: hearing, testing, third-party inspection, "
            "quarantine, appraisal, expert review): the running limits pause and the "
            "applicant is told in writing what is done and how long it takes."
        )
    )
    def exclude_time(self, start: ExcludedTimeStart) -> ItemStatus:
        assert self._clock is not None
        self.limits.exclude(self._clock, start)
        return self._status

    @exclude_time.validator
    def _validate_exclude_time(self, start: ExcludedTimeStart) -> None:
        self.limits.validate_exclude(
            start, self._status, step_open=self._task is not None and self._license is None
        )

    @workflow.update(description="Excluded time ends with its result; the limits run again.")
    def end_excluded_time(self, end: ExcludedTimeEnd) -> ItemStatus:
        self.limits.end_excluded(self._step_limit, end)
        return self._status

    @end_excluded_time.validator
    def _validate_end_excluded_time(self, end: ExcludedTimeEnd) -> None:
        self.limits.validate_end_excluded(end)

    @workflow.signal(description="The application's deficient materials have all arrived.")
    def supplemented(self) -> None:
        self._supplemented = True

    @workflow.signal(description="The application stops this item (withdrawn, cancelled, lapsed).")
    def stop(self, order: StopOrder) -> None:
        if self._license is not None and not order.revoke:
            # Withdrawn or cancelled after issuance: the license stays valid, and so does
            # the duty to inspect it.
            self._record("stop order noted: license stays, inspection goes on", detail=order.reason)
            return
        self._stop = self._stop or order

    def _check_staff(self, staff: Staff, role: Role, field: str) -> None:
        if staff.role is not role:
            raise ValueError(f"{field}.role: must be {role.value}, not {staff.role.value}")
        if staff.department != self.item.department:
            raise ValueError(
                f"{field}.department: {staff.department!r} may not act on {self.item.code}, "
                f"which belongs to {self.item.department!r}"
            )
