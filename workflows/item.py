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

from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.credit import CreditActivities
    from activities.licensing import IssueLicense, LicensingActivities
    from activities.supervision import SupervisionActivities
    from activities.tasks import CloseTask, OpenStaffTask, OpenTask, TaskActivities
    from domain import notices
    from domain.application import (
        ApprovalPath,
        Channel,
        Correction,
        ExtensionReceipt,
        InspectionReport,
        InspectionResult,
        ItemCase,
        ItemIssued,
        ItemOutcome,
        ItemState,
        ItemStatus,
        LicenseRecord,
        LimitExtension,
        ReviewDecision,
        ReviewVerdict,
        RevocationGround,
        StaffTaskRef,
        StopOrder,
    )
    from domain.catalog_models import InspectionTiming, Item
    from domain.clock import (
        ClockEvent,
        ClockRecord,
        ClockSchedule,
        ClockSnapshot,
        EscalationLevel,
        EscalationRequest,
    )
    from domain.credit import CreditEntry, CreditRecordKind
    from domain.excluded_time import ExcludedTimeEnd, ExcludedTimeStart
    from domain.extension import check_legacy_extension
    from domain.people import Role, Staff
    from domain.supervision import ReferralKind
    from workflows import search_attributes as sa
    from workflows.clock import LegalClock
    from workflows.common import Trail, department_queue, notify, run_activity
    from workflows.limits import ItemLimits
    from workflows.revocation import refer_to_supervision, revoke_license


@workflow.defn
class ItemWorkflow:
    @workflow.init
    def __init__(self, case: ItemCase) -> None:
        self.case = case
        self.item: Item = case.item
        self._status = ItemStatus.WAITING
        self._decision: ReviewDecision | None = None
        self._report: InspectionReport | None = None
        self._correction_pending = False
        self._stop: StopOrder | None = None
        self._license: LicenseRecord | None = None
        self._task: StaffTaskRef | None = None
        self._clock: LegalClock | None = None
        self._trips = 0
        self._trail = Trail()
        self.central_activities_local = case.central_activities_local
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

    async def _wait_for_supplements(self) -> bool:
        """Items whose rule says 'issue after the materials arrive' wait for the supplements."""
        if self._supplemented:
            return True
        self._status = ItemStatus.APPROVED
        workflow.set_current_details(f"{self.item.name}: 已批准, 待补齐容缺材料后发证")
        await workflow.wait_condition(lambda: self._supplemented or self._stop is not None)
        return await self._handle_stop() is None

    async def _issue_license(self) -> None:
        if self.item.produces is None:
            self._status = ItemStatus.ISSUED
            return
        self._license = await run_activity(
            LicensingActivities.issue_license,
            IssueLicense(
                application_id=self.case.application_id,
                item_code=self.item.code,
                license_kind=self.item.produces,
                holder_name=self.case.holder_name,
                issued_at=workflow.now(),
            ),
            task_queue=department_queue(self.item.department),
            summary=f"issue {self.item.produces}",
        )
        self._status = ItemStatus.ISSUED
        self._record("license issued", detail=self._license.number)
        if not (self.case.has_dependents or self.case.revised):
            return  # before: the application learnt of it when this item closed
        if self.case.fewer_events and not self._goes_on_after_issuing():
            return  # this item ends now: its completion carries the license
        # Later items of the bundle may start now (their material is this license).
        parent = workflow.get_external_workflow_handle(self.case.application_workflow_id)
        await parent.signal(
            "item_issued",
            ItemIssued(item_code=self.item.code, license=self._license, path=self.case.path),
        )

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

    # -- one human step: a task in the inbox, a legal clock, a decision --------------------

    async def _staff_step(
        self,
        kind: str,
        role: Role,
        days: int,
        status: ItemStatus,
        decided: Callable[[], bool],
    ) -> bool:
        """Open the task, count its limit (reminding and escalating), wait for the decision or
        a stop order, close the task. True when decided."""
        task = StaffTaskRef(
            task_id=f"{workflow.info().workflow_id}/{kind}",
            kind=kind,
            role=role,
            department=self.item.department,
        )

        async def open_task_with_its_schedule(record: ClockRecord) -> ClockSchedule:
            schedule = await run_activity(
                TaskActivities.open_staff_task,
                OpenStaffTask(task=self._open_task_request(task), clock=record),
                summary=f"open {kind} task at {self.item.department}",
            )
            self._task, self._status = task, status  # decisions are taken once it is open
            return schedule

        self._clock = LegalClock(
            kind,
            days,
            department=self.item.department,
            subject=f"{self.case.application_id}/{self.item.code}",
            on_warning=self._remind,
            on_escalation=self._escalated,
            on_change=self._clock_changed,
            first_schedule=open_task_with_its_schedule,
            never_earlier=self.case.revised,  # a due instant once shown never moves earlier
        )
        workflow.set_current_details(f"{self.item.name}: 等待{self.item.department_name}{kind}")
        await self._clock.run_until(lambda: decided() or self._stop is not None)
        self._task = None
        stopped = await self._handle_stop()
        await run_activity(
            TaskActivities.close_task,
            CloseTask(
                task_id=task.task_id,
                outcome=stopped or self._last_outcome(),
                closed_by=self._last_actor(),
                closed_at=workflow.now(),
            ),
            summary=f"close {kind} task",
        )
        return stopped is None

    def _open_task_request(self, task: StaffTaskRef) -> OpenTask:
        return OpenTask(
            task_id=task.task_id,
            application_id=self.case.application_id,
            workflow_id=workflow.info().workflow_id,
            item_code=self.item.code,
            kind=task.kind,
            department=task.department,
            role=task.role.value,
            hall=self.case.hall,
            due_at=None,  # the activity sets it from the schedule it computes
            opened_at=workflow.now(),
        )

    async def _clock_changed(self, snap: ClockSnapshot) -> None:
        """The running clock's state and due instant, for operators' queries in the Web UI."""
        if self.case.revised:
            await self.limits.tell_when_scheduled(snap)
        if snap.stopped_at is not None:
            return  # the next step (or the close) says what comes next; an upsert costs
        clock: list[SearchAttributeUpdate[Any]] = [sa.CLOCK_STATE.value_set(snap.state.value)]
        if snap.due_at is not None:
            clock.append(sa.DUE_AT.value_set(snap.due_at))
        workflow.upsert_search_attributes(clock)
        workflow.set_current_details(f"{self.item.name}: {snap.summary()}")

    async def _remind(self, event: ClockEvent) -> None:
        assert self._task is not None
        await notify(
            self.case.application_id,
            f"{self._task.role.value}:{self.item.department}",
            "warning",
            notices.staff_warning(self.item.name, self._task.kind, event.due_at),
            key=f"{self._task.kind}-warning-{event.total_days}",
        )
        due = event.due_at
        detail = notices.due_detail(due) if self.case.revised else f"due {due.isoformat()}"
        self._record(f"{self._task.kind} warning", detail=detail)

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

    # -- what staff and the application send ----------------------------------------------

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

    @workflow.query(description="Status, open task, running clock, license and decision trail.")
    def state(self) -> ItemState:
        return ItemState(
            item_code=self.item.code,
            status=self._status,
            path=self.case.path,
            open_task=self._task,
            clock=self._clock.snapshot() if self._clock and self._clock.record else None,
            license=self._license,
            trips=self._trips,
            trail=self._trail.entries,
            statutory_clock=self.limits.statutory_snapshot(),
            excluded_time=self.limits.excluded,
        )

    # -- small helpers ---------------------------------------------------------------------

    def _check_staff(self, staff: Staff, role: Role, field: str) -> None:
        if staff.role is not role:
            raise ValueError(f"{field}.role: must be {role.value}, not {staff.role.value}")
        if staff.department != self.item.department:
            raise ValueError(
                f"{field}.department: {staff.department!r} may not act on {self.item.code}, "
                f"which belongs to {self.item.department!r}"
            )

    def _goes_on_after_issuing(self) -> bool:
        """An inspection after issuance follows the license; otherwise the item ends with it."""
        if self.item.recorded_on_the_spot:
            return False
        timing = self.item.inspection.for_path(self.case.path.value)
        return timing is InspectionTiming.AFTER_ISSUANCE

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
            path=self.case.path,
            license=self._license,
            reason=reason,
        )
