"""ApplicationWorkflow: one application at the general window, from acceptance to result.

The steps a clerk would name: pin the catalog the application is handled under, look up
the applicant's credit when a trust path is asked for, accept or refuse (one notice listing
every missing material), collect deficient materials before their deadline, run the items
in dependency order (independent ones in parallel, each a child workflow), and close.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.case_numbers import CaseNumberActivities, NumberCase
    from activities.catalog import CatalogActivities, CatalogSnapshot, PinCatalog
    from activities.credit import CreditActivities
    from activities.reception import Receive, ReceptionActivities
    from domain import notices
    from domain.acceptance import Acceptance, AcceptanceVerdict
    from domain.application import (
        ApplicationOutcome,
        ApplicationStatus,
        ApprovalPath,
        Channel,
        ItemRef,
        ItemStatus,
        MissingMaterialsNotice,
        Submission,
        item_workflow_id,
    )
    from domain.catalog_models import DEFAULT_REGION_CODE, Item
    from domain.credit import CreditStanding
    from workflows.application_handlers import ApplicationHandlers
    from workflows.application_joint_limit import JointLimit
    from workflows.application_materials import AwaitedMaterials
    from workflows.common import (
        CENTRAL_ACTIVITIES_LOCAL,
        FEWER_EVENTS,
        ITEMS_AT_DEPARTMENTS,
        LIGHTER_HISTORIES,
        PROCEDURE_REVISION,
        notify,
        run_activity,
    )


@workflow.defn
class ApplicationWorkflow(ApplicationHandlers, AwaitedMaterials, JointLimit):
    """The process, step by step. Its parts are plain classes beside it: the record (state,
    trail, query), the bundle's items, the awaited materials, the joint limit, the handlers
    (workflows/application_*.py)."""

    @workflow.init
    def __init__(self, submission: Submission) -> None:
        # Asked here, before any handler runs: a withdrawal that arrives with the start is
        # handled by the procedure the application is under. The newest patch first: it
        # implies the older ones, which an application under it never asks (each patch asked
        # is a marker and a search-attribute upsert).
        lighter = workflow.patched(LIGHTER_HISTORIES)
        at_departments = lighter or workflow.patched(ITEMS_AT_DEPARTMENTS)
        fewer_events = at_departments or workflow.patched(FEWER_EVENTS)
        revised = fewer_events or workflow.patched(PROCEDURE_REVISION)
        super().__init__(submission, fewer_events=fewer_events, revised=revised)
        self.items_at_departments = at_departments
        self.lighter_histories = lighter

    # -- the process -----------------------------------------------------------------------

    @workflow.run
    async def run(self, submission: Submission) -> ApplicationOutcome:
        self.central_activities_local = self.fewer_events or workflow.patched(
            CENTRAL_ACTIVITIES_LOCAL
        )
        self._trips = 1 if submission.channel is Channel.WINDOW else 0
        self._provided = set(submission.materials)
        if self.lighter_histories:
            self._snapshot, self._standing = await self._receive()
        else:
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

    async def _receive(self) -> tuple[CatalogSnapshot, CreditStanding | None]:
        """On arrival, in one look-up: the catalog version this application is handled under
        for its whole life, and the applicant's credit when a trust path is asked for."""
        submission = self.submission
        trusting = submission.commitment_signed or submission.deficiency_pledge_signed
        reception = await run_activity(
            ReceptionActivities.receive_application,
            Receive(
                catalog=PinCatalog(
                    target=submission.target,
                    version=submission.catalog_version,
                    hall=submission.hall,
                ),
                credit_subject=self._credit_subject() if trusting else None,
            ),
            summary=f"receive: catalog for {submission.target}"
            + (", credit look-up" if trusting else ""),
        )
        return reception.snapshot, reception.standing

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

    def _standing_text(self) -> str:
        return self._standing.explain() if self._standing else ""

    def _path_for(self, item: Item) -> ApprovalPath | None:
        """None for a filing recorded on the spot: nobody decides it (its item still starts
        with the review path as its input, as it always has)."""
        if item.recorded_on_the_spot:
            return None
        wants = self.submission.commitment_signed and item.admits_commitment
        return ApprovalPath.COMMITMENT if wants and not self._barred else ApprovalPath.REVIEW

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
