"""ApplicationWorkflow: one application at the general window, from acceptance to result.

The steps a clerk would name: pin the catalog the application is handled under, look up
the applicant's credit when a trust path is asked for, accept or refuse (one notice listing
every missing material), collect deficient materials before their deadline, run the items
in dependency order (independent ones in parallel, each a child workflow), and close.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.calendar import CalendarActivities
    from activities.case_numbers import CaseNumberActivities, NumberCase
    from activities.catalog import CatalogActivities, CatalogSnapshot, PinCatalog
    from activities.credit import CreditActivities
    from activities.licensing import LicensingActivities, RevokeLicense
    from domain import notices
    from domain.acceptance import Acceptance, AcceptanceVerdict, assess
    from domain.application import (
        ApplicationOutcome,
        ApplicationState,
        ApplicationStatus,
        ApprovalPath,
        Cancellation,
        Channel,
        ExtensionReceipt,
        ItemCase,
        ItemIssued,
        ItemOutcome,
        ItemRef,
        ItemStatus,
        LimitExtension,
        MissingMaterial,
        MissingMaterialsNotice,
        Refusal,
        RevocationGround,
        StopOrder,
        Submission,
        Supplement,
        Withdrawal,
        item_workflow_id,
    )
    from domain.catalog_models import DEFAULT_REGION_CODE, DeficiencyConsequence, Item
    from domain.clock import ClockEvent, ClockRecord, ClockSchedule, ClockSnapshot, DueMoved
    from domain.credit import CreditEntry, CreditRecordKind, CreditStanding, credit_subject
    from domain.extension import JOINT_DAYS, check_joint_extension
    from domain.people import Role
    from workflows import search_attributes as sa
    from workflows.clock import LegalClock
    from workflows.common import (
        CENTRAL_ACTIVITIES_LOCAL,
        CREDIT_BY_CODE,
        FEWER_EVENTS,
        PROCEDURE_REVISION,
        Trail,
        department_queue,
        notify,
        run_activity,
    )
    from workflows.item import ItemWorkflow
    from workflows.revocation import revoke_license


@workflow.defn
class ApplicationWorkflow:
    @workflow.init
    def __init__(self, submission: Submission) -> None:
        # Asked here, before any handler runs: a withdrawal that arrives with the start is
        # handled by the procedure the application is under. The newest patch first: it
        # implies the older ones, which an application under it never asks (each patch asked
        # is a marker and a search-attribute upsert).
        self.fewer_events = workflow.patched(FEWER_EVENTS)
        self.revised = self.fewer_events or workflow.patched(PROCEDURE_REVISION)
        self.submission = submission
        self._status = ApplicationStatus.SUBMITTED
        self._snapshot: CatalogSnapshot | None = None
        self._standing: CreditStanding | None = None
        self._notice: MissingMaterialsNotice | None = None
        self._outstanding: list[MissingMaterial] = []
        self._supplement_clock: LegalClock | None = None
        self._provided: set[str] = set()  # materials handed in: with the submission, corrected
        self._correction_clock: LegalClock | None = None
        self._refusal: Refusal | None = None
        self._lapsed = False
        self._joint_clock: LegalClock | None = None  # Art. 42 (2): a bundle's joint limit
        self._joint_extended = False
        self._items: dict[str, ItemRef] = {}
        self._children: dict[str, workflow.ChildWorkflowHandle[Any, ItemOutcome]] = {}
        self._holding: set[str] = set()  # items waiting for the supplements before issuance
        self._released: set[str] = set()  # ... and told that they have arrived
        self._stop: StopOrder | None = None
        self._end_status: ApplicationStatus | None = None
        self._changes = 0  # bumped by every handler, so the item loop wakes
        self._items_done = False
        self._trips = 0
        self._trail = Trail()
        self._case_number: str | None = None  # 办件编号, given at acceptance (revised only)
        self.central_activities_local = False

    @property
    def snapshot(self) -> CatalogSnapshot:
        assert self._snapshot is not None
        return self._snapshot

    # -- the process -----------------------------------------------------------------------

    @workflow.run
    async def run(self, submission: Submission) -> ApplicationOutcome:
        self.central_activities_local = self.fewer_events or workflow.patched(
            CENTRAL_ACTIVITIES_LOCAL
        )
        self._trips = 1 if submission.channel is Channel.WINDOW else 0
        self._provided = set(submission.materials)
        self._snapshot = await self._pin_catalog()
        self._standing = await self._look_up_credit()
        if self.revised and self._stop is not None:  # withdrawn or cancelled before receipt
            return self._outcome(reason=self._stop.reason)
        acceptance = self._assess()
        if acceptance.verdict is AcceptanceVerdict.INCOMPLETE:
            if not self.revised:
                return await self._refuse(acceptance)
            acceptance = await self._wait_for_correction(acceptance)
            if acceptance.verdict is AcceptanceVerdict.INCOMPLETE:
                return await self._end_unaccepted(acceptance)
        if self.revised:
            self._case_number = await self._assign_case_number()
        self._accept(acceptance)
        work = [self._run_items(), self._count_joint_limit()]
        if acceptance.verdict is AcceptanceVerdict.ACCEPTED_WITH_DEFICIENCY:
            work.append(self._collect_supplements(acceptance))
        await asyncio.gather(*work)
        return self._close()

    async def _pin_catalog(self) -> CatalogSnapshot:
        """The catalog version this application is handled under, for its whole life."""
        submission = self.submission
        hall = submission.hall if self.revised else None  # for its region code
        return await run_activity(
            CatalogActivities.pin_catalog,
            PinCatalog(target=submission.target, version=submission.catalog_version, hall=hall),
            summary=f"pin catalog for {submission.target}",
        )

    async def _assign_case_number(self) -> str:
        """办件编号: the store gives the next number of the hall's region and the Beijing
        day of acceptance, the same one however often this is retried."""
        submission = self.submission
        return await run_activity(
            CaseNumberActivities.assign_case_number,
            NumberCase(
                application_id=submission.application_id,
                hall=submission.hall,
                region_code=self.snapshot.region_code or DEFAULT_REGION_CODE,
                accepted_at=workflow.now(),
                # For the receipt only: the activity's input, not a command, so histories
                # numbered without them replay unchanged.
                target=submission.target,
                catalog_version=self.snapshot.version,
            ),
            summary="assign case number",
        )

    async def _look_up_credit(self) -> CreditStanding | None:
        """Only an applicant asking for a trust path (deficiency, commitment) is looked up."""
        submission = self.submission
        if not (submission.commitment_signed or submission.deficiency_pledge_signed):
            return None
        return await run_activity(
            CreditActivities.credit_standing,
            self._credit_subject(),
            summary="credit look-up",
        )

    def _credit_subject(self) -> str:
        """Whose credit the trust paths ask about and a broken promise is recorded under:
        the enterprise's code when the applicant has one, else the applicant's ID number."""
        applicant = self.submission.applicant
        if applicant.credit_code is not None and (
            self.fewer_events or workflow.patched(CREDIT_BY_CODE)
        ):
            return credit_subject(applicant)
        return credit_subject(applicant.id_number)

    def _assess(self) -> Acceptance:
        submission = self.submission
        return assess(
            self.snapshot.materials,
            self._provided,
            pledge_signed=submission.deficiency_pledge_signed,
            deficiency_allowed=not self._barred,
        )

    async def _wait_for_correction(self, incomplete: Acceptance) -> Acceptance:
        """补正 (Art. 32(4)): one notice listing everything missing; the case stays open until
        the materials arrive (accepted from then, its limits counted from then), the
        correction limit passes (deemed withdrawn), a clerk refuses, or the applicant
        withdraws."""
        self._notice = MissingMaterialsNotice(
            application_id=self.submission.application_id,
            missing=incomplete.missing,
            issued_at=workflow.now(),
            consequence=notices.CORRECTION_CONSEQUENCE,
        )
        self._record_at_window("correction requested", self._notice.summary())
        self._set_status(ApplicationStatus.AWAITING_CORRECTION)
        self._correction_clock = LegalClock(
            "correction",
            self.snapshot.correction_days,
            department="window",
            subject=self.submission.application_id,
            open_supervision_cases=False,  # the applicant's time: nobody to supervise
            on_warning=self._remind_correction,
            on_escalation=self._correction_lapsed,
            on_change=self._correction_clock_changed,
            never_earlier=True,  # only revised applications wait for a correction
            on_due_moved_later=self._deadline_moved_later,
        )
        await self._correction_clock.run_until(
            lambda: (
                self._assess().verdict is not AcceptanceVerdict.INCOMPLETE
                or self._lapsed
                or self._refusal is not None
                or self._stop is not None
            )
        )
        acceptance = self._assess()
        if acceptance.verdict is not AcceptanceVerdict.INCOMPLETE and self._unaccepted_end():
            return acceptance.model_copy(update={"verdict": AcceptanceVerdict.INCOMPLETE})
        return acceptance

    def _unaccepted_end(self) -> bool:
        return self._lapsed or self._refusal is not None or self._stop is not None

    async def _end_unaccepted(self, acceptance: Acceptance) -> ApplicationOutcome:
        """Never accepted: refused by a clerk, lapsed, withdrawn or cancelled."""
        application_id = self.submission.application_id
        if self._refusal is not None:
            refusal = self._refusal
            await notify(
                application_id,
                "applicant",
                "refused",
                notices.refusal_decision(
                    refusal.ground.label, refusal.reason, refusal.competent_office
                ),
                key="refused",
            )
            return self._outcome(reason=refusal.reason)
        if self._stop is not None:
            return self._outcome(reason=self._stop.reason)
        missing = [m.name for m in acceptance.missing]
        reason = notices.lapsed(missing)
        self._record(ApplicationStatus.LAPSED.value, detail=reason)
        self._set_status(ApplicationStatus.LAPSED)
        await notify(application_id, "applicant", "lapsed", reason, key="lapsed")
        return self._outcome(reason=reason)

    async def _correction_clock_changed(self, snap: ClockSnapshot) -> None:
        notice = self._notice
        if notice is not None and notice.supplement_by is None and snap.due_at is not None:
            self._notice = notice.model_copy(update={"supplement_by": snap.due_at})
            await notify(
                self.submission.application_id,
                "applicant",
                "correction_notice",
                notices.correction_notice(notice.summary(), snap.due_at),
                key="correction-notice",
            )
        self._publish_clock(snap)

    async def _deadline_moved_later(self, move: DueMoved) -> None:
        """A deadline told to the applicant moved later (the calendar was published): a new
        notice. It never moves earlier."""
        notice = self._notice
        if notice is None:
            return
        self._notice = notice.model_copy(update={"supplement_by": move.due_at})
        await notify(
            self.submission.application_id,
            "applicant",
            "deadline_moved",
            notices.deadline_moved_later(notice.summary(), move.previous_due_at, move.due_at),
            key=f"{move.limit}-deadline-{move.due_at.isoformat()}",
        )
        self._record(f"{move.limit} deadline moved later", detail=self._due_detail(move.due_at))

    async def _remind_correction(self, event: ClockEvent) -> None:
        missing = [m.name for m in self._assess().missing]
        await notify(
            self.submission.application_id,
            "applicant",
            "correction_reminder",
            notices.correction_reminder(missing, event.due_at),
            key="correction-reminder",
        )
        self._record("correction reminder", detail=self._due_detail(event.due_at))

    async def _correction_lapsed(self, event: ClockEvent) -> None:
        if event.stage == 1:
            self._lapsed = True

    async def _refuse(self, acceptance: Acceptance) -> ApplicationOutcome:
        """不予受理, with one notice that lists every missing material (一次性告知)."""
        self._notice = MissingMaterialsNotice(
            application_id=self.submission.application_id,
            missing=acceptance.missing,
            issued_at=workflow.now(),
        )
        self._record_at_window("refused", f"{acceptance.reason}; {self._notice.summary()}")
        await notify(
            self.submission.application_id,
            "applicant",
            "refused",
            notices.refusal(acceptance.reason, self._notice.summary()),
            key="refused",
        )
        self._set_status(ApplicationStatus.REFUSED)
        return self._outcome(reason=acceptance.reason)

    def _accept(self, acceptance: Acceptance) -> None:
        """受理: the promised clock starts now."""
        submission = self.submission
        if submission.agent is not None:
            self._record_at_window("submitted by an agent (帮办代办)", submission.agent.redacted())
        if submission.commitment_signed and self._barred:
            self._record_at_window("commitment not offered", self._standing_text())
        detail = acceptance.reason
        if self._case_number is not None:
            detail = f"办件编号 {self._case_number}; {detail}"
        self._record_at_window(acceptance.verdict.value, detail)
        for item in self.snapshot.items:
            self._items[item.code] = ItemRef(
                item_code=item.code,
                name=item.name,
                department=item.department,
                workflow_id=item_workflow_id(submission.application_id, item.code),
                status=ItemStatus.WAITING,
                path=self._path_for(item),
            )
        if acceptance.verdict is AcceptanceVerdict.ACCEPTED_WITH_DEFICIENCY:
            if self.revised:
                self._notice = None  # the correction's notice is answered; the deficiency's next
            self._outstanding = list(acceptance.missing)
            self._set_status(ApplicationStatus.AWAITING_SUPPLEMENT)
        else:
            self._set_status(ApplicationStatus.IN_PROGRESS)

    async def _collect_supplements(self, acceptance: Acceptance) -> None:
        """容缺受理: the missing materials must arrive before the supplement deadline."""
        assert acceptance.supplement_days is not None
        self._supplement_clock = LegalClock(
            "supplement",
            acceptance.supplement_days,
            department="window",
            subject=self.submission.application_id,
            on_warning=self._remind_supplement,
            on_escalation=self._supplement_overdue,
            on_change=self._supplement_clock_changed,
            never_earlier=self.revised,
            on_due_moved_later=self._deadline_moved_later,
        )
        await self._supplement_clock.run_until(
            lambda: not self._outstanding or self._stop is not None or not self._still_needed()
        )
        broken = self._stop is not None and self._stop.revoke
        if broken and self._items_done and self.revised:
            # Every item has ended, so the item loop no longer passes the stop on: licenses
            # issued on trust are revoked here. (Before the revision they stayed.)
            await self._pass_on_stop(set())
        if not self._outstanding:
            self._record("materials complete")
            if self._status is ApplicationStatus.AWAITING_SUPPLEMENT:
                self._set_status(ApplicationStatus.IN_PROGRESS)
            await self._release_held_items()

    async def _release_held_items(self) -> None:
        """Once every material is in, items holding their license for it go on: those
        started already now, one still starting as soon as it has started."""
        if self._outstanding:
            return
        for code in sorted(self._holding - self._released):
            if self._items[code].status not in _FINISHED:
                self._released.add(code)
                await self._tell_item(self._children[code], ItemWorkflow.supplemented)

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

    async def _count_joint_limit(self) -> None:
        """Art. 42 (2): items of a bundle handled jointly are decided within 45 working days
        of acceptance, whatever each item's own limits say; escalated when overdue, the work
        goes on. (Before the revision, no joint limit was counted.)"""
        if not self.revised or len(self.snapshot.bundle.members) < 2:
            return
        self._joint_clock = LegalClock(
            "joint",
            JOINT_DAYS,
            department="window",
            subject=self.submission.application_id,
            on_escalation=self._joint_limit_overdue,
            never_earlier=True,
            first_schedule=self._joint_schedule,
        )
        await self._joint_clock.run_until(lambda: self._items_decided() or self._stop is not None)

    @staticmethod
    async def _joint_schedule(record: ClockRecord) -> ClockSchedule:
        """The calendar, local like the other central systems: it shares the workflow task
        that starts the items (one billable action for its markers)."""
        return await run_activity(
            CalendarActivities.compute_schedule, record, summary="joint: working-day schedule"
        )

    def _items_decided(self) -> bool:
        return all(r.license is not None or r.status in _FINISHED for r in self._items.values())

    async def _joint_limit_overdue(self, event: ClockEvent) -> None:
        level = event.level.value if event.level else ""
        self._record(f"escalated stage {event.stage}", detail=f"joint limit overdue → {level}")
        workflow.upsert_search_attributes([sa.ESCALATED.value_set(True)])

    def _ready(self, item: Item) -> bool:
        """Not started, and every item it depends on has issued its license."""
        ref = self._items[item.code]
        if ref.status is not ItemStatus.WAITING:
            return False
        depends_on = self.snapshot.bundle.member(item.code).depends_on
        blocked = [d for d in depends_on if self._items[d].status in _ENDED_WITHOUT_LICENSE]
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
            ),
            id=ref.workflow_id,
            static_summary=f"{item.name} ({item.code})",
            static_details=(
                f"申请 {submission.application_id} · {self.snapshot.bundle.name} · "
                f"{item.department_name} · {ref.path.value if ref.path else ''}"
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
            finished = ref.status in _FINISHED
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

    def _close(self) -> ApplicationOutcome:
        status = self._end_status or self._ended_as()
        reasons = [f"{r.item_code}: {r.reason}" for r in self._items.values() if r.reason]
        reason = self._stop.reason if self._stop else "; ".join(reasons) or None
        if not (self.revised and self._status is status):  # a stop said it already
            self._record(status.value, detail=reason)
            self._set_status(status)
        return self._outcome(reason=reason)

    def _ended_as(self) -> ApplicationStatus:
        """What the application ends as once its items have ended."""
        ended = [r.status for r in self._items.values()]
        if ItemStatus.REJECTED in ended:
            return ApplicationStatus.REJECTED
        nothing_stands = not any(s in (ItemStatus.CLOSED, ItemStatus.ISSUED) for s in ended)
        if self.revised and ItemStatus.REVOKED in ended and nothing_stands:
            return ApplicationStatus.REVOKED
        return ApplicationStatus.COMPLETED

    # -- the deficiency clock --------------------------------------------------------------

    async def _supplement_clock_changed(self, snap: ClockSnapshot) -> None:
        if self._notice is None and snap.due_at is not None:
            self._notice = MissingMaterialsNotice(
                application_id=self.submission.application_id,
                missing=list(self._outstanding),
                issued_at=workflow.now(),
                supplement_by=snap.due_at,
                consequence=notices.DEFICIENCY_CONSEQUENCE,
            )
            await notify(
                self.submission.application_id,
                "applicant",
                "deficiency_notice",
                notices.deficiency_notice(self._notice.summary(), snap.due_at),
                key="deficiency-notice",
            )
        self._publish_clock(snap)

    def _publish_clock(self, snap: ClockSnapshot) -> None:
        """The running clock in the Web UI: current details and search attributes."""
        self._show_details()
        if snap.stopped_at is None and snap.due_at is not None:
            clock: list[SearchAttributeUpdate[Any]] = [
                sa.CLOCK_STATE.value_set(snap.state.value),
                sa.DUE_AT.value_set(snap.due_at),
            ]
            workflow.upsert_search_attributes(clock)

    async def _remind_supplement(self, event: ClockEvent) -> None:
        await notify(
            self.submission.application_id,
            "applicant",
            "supplement_reminder",
            notices.supplement_reminder((m.name for m in self._outstanding), event.due_at),
            key="supplement-reminder",
        )
        self._record("supplement reminder", detail=self._due_detail(event.due_at))

    async def _supplement_overdue(self, event: ClockEvent) -> None:
        """The pledge is broken: stop, record it in the credit record, revoke what was trusted."""
        if event.stage != 1 or self._stop is not None:
            return
        reason = notices.broken_pledge_reason(m.name for m in self._outstanding)
        self._stop = StopOrder(reason=reason, actor="system", role="system", revoke=True)
        self._end_status = ApplicationStatus.STOPPED
        self._changes += 1
        self._record("escalated: supplement overdue", detail=reason)
        if self.revised:
            workflow.upsert_search_attributes([sa.ESCALATED.value_set(True)])
            self._record(ApplicationStatus.STOPPED.value, detail=reason)
            self._set_status(ApplicationStatus.STOPPED)
        else:
            workflow.upsert_search_attributes(
                [sa.ESCALATED.value_set(True), sa.APPLICATION_STATUS.value_set("stopped")]
            )
        await run_activity(
            CreditActivities.record_credit,
            CreditEntry(
                subject=self._credit_subject(),
                kind=CreditRecordKind.BROKEN_PLEDGE,
                application_id=self.submission.application_id,
                item_code=None,
                recorded_at=workflow.now(),
                detail=reason,
            ),
            summary="record the broken pledge",
        )
        await notify(
            self.submission.application_id,
            "applicant",
            "stopped",
            notices.stopped_for_broken_pledge(reason),
            key="stopped",
        )

    def _still_needed(self) -> bool:
        """Supplements matter while an item needing them runs or holds a license."""
        if not self._items_done:
            return True
        needing = {code for m in self._outstanding for code in m.item_codes}
        return any(self._items[c].license is not None for c in needing if c in self._items)

    # -- what the window, the applicant and operators send ---------------------------------

    @workflow.update(description="Deficient materials arrive (window, mail or online).")
    def supplement(self, supplement: Supplement) -> list[str]:
        arrived = set(supplement.materials)
        if supplement.channel is Channel.WINDOW:
            self._trips += 1
        clerk = supplement.received_by
        if self._status is ApplicationStatus.AWAITING_CORRECTION:
            self._provided |= arrived
            self._record(
                f"correction received by {supplement.channel.value}",
                actor=clerk.staff_id if clerk else supplement.channel.value,
                role=clerk.role.value if clerk else "applicant",
                detail=", ".join(sorted(arrived)),
            )
            self._changes += 1
            return [m.code for m in self._assess().missing]
        self._outstanding = [m for m in self._outstanding if m.code not in arrived]
        self._record(
            f"supplement received by {supplement.channel.value}",
            actor=clerk.staff_id if clerk else supplement.channel.value,
            role=clerk.role.value if clerk else "applicant",
            detail=", ".join(sorted(arrived)),
        )
        self._changes += 1
        return [m.code for m in self._outstanding]

    @supplement.validator
    def _validate_supplement(self, supplement: Supplement) -> None:
        awaiting = (ApplicationStatus.AWAITING_SUPPLEMENT, ApplicationStatus.AWAITING_CORRECTION)
        if self._status not in awaiting or self._stop is not None or self._unaccepted_end():
            raise ValueError(
                f"status: no materials are awaited (application is {self._status.value})"
            )
        if self._status is ApplicationStatus.AWAITING_CORRECTION:
            outstanding = {m.code for m in self._assess().missing}
        else:
            outstanding = {m.code for m in self._outstanding}
        for index, code in enumerate(supplement.materials):
            if code not in outstanding:
                raise ValueError(
                    f"materials[{index}]: {code!r} is not awaited; awaited: {sorted(outstanding)}"
                )

    @workflow.update(
        description="A window clerk refuses to accept (不予受理): no license needed, or outside "
        "the office's powers. Only before acceptance; never for incomplete materials."
    )
    def refuse(self, refusal: Refusal) -> ApplicationStatus:
        clerk = refusal.refused_by
        self._refusal = refusal
        self._record(
            ApplicationStatus.REFUSED.value,
            actor=clerk.staff_id,
            role=clerk.role.value,
            detail=f"{refusal.ground.label}: {refusal.reason}",
        )
        self._set_status(ApplicationStatus.REFUSED)
        self._changes += 1
        return ApplicationStatus.REFUSED

    @refuse.validator
    def _validate_refuse(self, refusal: Refusal) -> None:
        if refusal.refused_by.role is not Role.WINDOW_CLERK:
            raise ValueError(
                f"refused_by.role: only a window clerk refuses, not {refusal.refused_by.role.value}"
            )
        if self._status is not ApplicationStatus.AWAITING_CORRECTION or self._unaccepted_end():
            raise ValueError(
                f"status: only an application not yet accepted may be refused "
                f"(it is {self._status.value})"
            )

    @workflow.update(
        description="The joint limit of a bundle is extended once by up to 15 working days "
        "(Art. 42 (2)), with the government's approval recorded by a supervisor."
    )
    async def extend_joint_limit(self, extension: LimitExtension) -> ExtensionReceipt:
        clock = self._joint_clock
        assert clock is not None
        by = extension.decided_by
        clock.extend(extension.days, extension.reason, by=by.staff_id)
        self._joint_extended = True
        self._record(
            f"joint limit extended by {extension.days} working days",
            actor=by.staff_id,
            role=by.role.value,
            detail=extension.reason,
        )
        await notify(
            self.submission.application_id,
            "applicant",
            "extension",
            notices.joint_extension_notice(
                self.snapshot.bundle.name, extension.days, extension.reason
            ),
            key="joint-extension",
        )
        return ExtensionReceipt(limit="joint", days=extension.days)

    @extend_joint_limit.validator
    def _validate_extend_joint_limit(self, extension: LimitExtension) -> None:
        clock = self._joint_clock
        if clock is None or clock.record is None or self._stop is not None or self._status.closed:
            raise ValueError("status: no joint limit is running for this application")
        check_joint_extension(extension, extended_before=self._joint_extended)
        clock.validate_extend(extension.days, extension.reason)

    @workflow.update(description="The applicant withdraws; issued licenses stay valid.")
    def withdraw(self, withdrawal: Withdrawal) -> ApplicationStatus:
        clerk = withdrawal.received_by
        if clerk is not None and self.revised:  # at the window, for the applicant
            order = StopOrder(reason=withdrawal.reason, actor=clerk.staff_id, role=clerk.role.value)
            self._stop_with(order, ApplicationStatus.WITHDRAWN, on_behalf_of="applicant")
        else:
            order = StopOrder(reason=withdrawal.reason, actor="applicant", role="applicant")
            self._stop_with(order, ApplicationStatus.WITHDRAWN)
        return ApplicationStatus.WITHDRAWN

    @withdraw.validator
    def _validate_withdraw(self, withdrawal: Withdrawal) -> None:
        self._check_open()

    @workflow.update(description="An operator cancels; issued licenses stay valid.")
    def cancel(self, cancellation: Cancellation) -> ApplicationStatus:
        operator = cancellation.operator
        self._stop_with(
            StopOrder(
                reason=cancellation.reason, actor=operator.staff_id, role=operator.role.value
            ),
            ApplicationStatus.CANCELLED,
        )
        return ApplicationStatus.CANCELLED

    @cancel.validator
    def _validate_cancel(self, cancellation: Cancellation) -> None:
        if cancellation.operator.role is not Role.OPERATOR:
            role = cancellation.operator.role.value
            raise ValueError(f"operator.role: only an operator may cancel, not {role}")
        self._check_open()

    @workflow.signal(description="An item's license is issued; items depending on it may start.")
    def item_issued(self, issued: ItemIssued) -> None:
        ref = self._items[issued.item_code]
        ref.status, ref.license = ItemStatus.ISSUED, issued.license
        self._changes += 1
        self._show_details()

    @workflow.query(description="Status, items, outstanding materials, clocks, trips and trail.")
    def state(self) -> ApplicationState:
        submission = self.submission
        clock = self._supplement_clock
        correction, joint = self._correction_clock, self._joint_clock
        awaiting_correction = self._status is ApplicationStatus.AWAITING_CORRECTION
        return ApplicationState(
            application_id=submission.application_id,
            status=self._status,
            target=submission.target,
            name=self._snapshot.bundle.name if self._snapshot else None,
            channel=submission.channel.value,
            hall=submission.hall,
            case_number=self._case_number,
            assisted=submission.agent is not None,
            catalog_version=self._snapshot.version if self._snapshot else None,
            notice=self._notice,
            outstanding=self._assess().missing if awaiting_correction else self._outstanding,
            supplement_clock=clock.snapshot() if clock and clock.record else None,
            correction_clock=correction.snapshot() if correction and correction.record else None,
            joint_clock=joint.snapshot() if joint and joint.record else None,
            items=list(self._items.values()),
            trips=self._trips,
            trail=self._trail.entries,
        )

    # -- bookkeeping -----------------------------------------------------------------------

    @property
    def _barred(self) -> bool:
        return self._standing is not None and self._standing.barred

    def _standing_text(self) -> str:
        return self._standing.explain() if self._standing else ""

    def _path_for(self, item: Item) -> ApprovalPath:
        wants = self.submission.commitment_signed and item.admits_commitment
        return ApprovalPath.COMMITMENT if wants and not self._barred else ApprovalPath.REVIEW

    def _check_open(self) -> None:
        if self._status.closed or self._stop is not None:
            raise ValueError(f"status: the application is already {self._status.value}")

    def _stop_with(
        self, order: StopOrder, status: ApplicationStatus, *, on_behalf_of: str | None = None
    ) -> None:
        """Withdrawn or cancelled: the application says so at once; items wind down after."""
        self._stop, self._end_status = order, status
        self._record(
            status.value,
            actor=order.actor,
            role=order.role,
            detail=order.reason,
            on_behalf_of=on_behalf_of,
        )
        if self.revised:
            self._set_status(status)
        self._changes += 1

    def _set_status(self, status: ApplicationStatus) -> None:
        self._status = status
        updates: list[SearchAttributeUpdate[Any]] = [sa.APPLICATION_STATUS.value_set(status.value)]
        if status.closed:
            updates += [sa.CLOCK_STATE.value_unset(), sa.DUE_AT.value_unset()]
        workflow.upsert_search_attributes(updates)
        self._show_details()
        # Replay-safe logger; identifiers only, never the applicant's personal data.
        workflow.logger.info(
            "application %s", status.value, extra={"target": self.submission.target}
        )

    def _show_details(self) -> None:
        """One line in the Web UI: what the application waits for, and until when."""
        line = f"{self.submission.application_id} {self._status.value}"
        if self._case_number is not None:
            line = f"{self._case_number} {line}"
        clock = self._supplement_clock
        correction = self._correction_clock
        if self._status is ApplicationStatus.AWAITING_CORRECTION and correction:
            due = correction.snapshot().summary() if correction.record else ""
            missing = self._assess().missing
            line += ": 待补正 " + "、".join(m.name for m in missing) + f" ({due})"
        elif self._status is ApplicationStatus.AWAITING_SUPPLEMENT and self._outstanding:
            due = clock.snapshot().summary() if clock and clock.record else ""
            line += ": 待补齐 " + "、".join(m.name for m in self._outstanding) + f" ({due})"
        elif not self._status.closed and self._items:
            waiting = [r.name for r in self._items.values() if r.status not in _FINISHED]
            issued = [r.name for r in self._items.values() if r.license is not None]
            line += f": 办理中 {'、'.join(waiting) or '-'}; 已发证 {'、'.join(issued) or '-'}"
        workflow.set_current_details(line)

    def _outcome(self, reason: str | None = None) -> ApplicationOutcome:
        return ApplicationOutcome(
            application_id=self.submission.application_id,
            status=self._status,
            catalog_version=self._snapshot.version if self._snapshot else None,
            case_number=self._case_number,
            notice=self._notice,
            items=[
                ItemOutcome(
                    item_code=r.item_code,
                    status=r.status,
                    path=r.path,
                    license=r.license,
                    reason=r.reason,
                )
                for r in self._items.values()
            ],
            reason=reason,
        )

    def _record(
        self,
        action: str,
        *,
        actor: str | None = None,
        role: str | None = None,
        detail: str | None = None,
        on_behalf_of: str | None = None,
    ) -> None:
        """A line of the trail; the system's unless an actor is named."""
        if not self.revised:  # before: everything unnamed went to the accepting clerk
            self._record_at_window(action, detail, actor=actor, role=role)
            return
        self._trail.record(
            action,
            actor=actor or "system",
            role=role or "system",
            rule=self._snapshot.version if self._snapshot else None,
            detail=detail,
            on_behalf_of=on_behalf_of,
        )

    def _record_at_window(
        self,
        action: str,
        detail: str | None,
        *,
        actor: str | None = None,
        role: str | None = None,
    ) -> None:
        """What the window did on receipt: the accepting clerk's (online or mail: the
        channel's)."""
        clerk = self.submission.accepted_by
        self._trail.record(
            action,
            actor=actor or (clerk.staff_id if clerk else self.submission.channel.value),
            role=role or (clerk.role.value if clerk else "system"),
            rule=self._snapshot.version if self._snapshot else None,
            detail=detail,
        )

    def _due_detail(self, due: datetime) -> str:
        return notices.due_detail(due) if self.revised else f"due {due.isoformat()}"


_ENDED_WITHOUT_LICENSE = frozenset({ItemStatus.REJECTED, ItemStatus.STOPPED})
_FINISHED = frozenset(
    {ItemStatus.CLOSED, ItemStatus.REJECTED, ItemStatus.REVOKED, ItemStatus.STOPPED}
)
