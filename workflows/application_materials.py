"""The materials an application waits for (workflow code, for ApplicationWorkflow).

Before acceptance, a correction (补正): one notice listing everything missing, the case open
until the materials arrive or the correction limit passes. After acceptance with deficiency
(容缺受理), the supplements: due before their deadline, reminded before it; past it the
pledge is broken, the application stops and what was issued on trust is revoked.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.credit import CreditActivities
    from domain import notices
    from domain.acceptance import Acceptance, AcceptanceVerdict
    from domain.application import (
        ApplicationOutcome,
        ApplicationStatus,
        MissingMaterialsNotice,
        StopOrder,
    )
    from domain.clock import ClockEvent, ClockSnapshot, DueMoved
    from domain.credit import CreditEntry, CreditRecordKind
    from workflows import search_attributes as sa
    from workflows.application_items import BundleItems
    from workflows.clock import LegalClock
    from workflows.common import notify, run_activity


class AwaitedMaterials(BundleItems):
    # -- the correction, before acceptance -------------------------------------------------

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

    # -- the deficiency clock --------------------------------------------------------------

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
