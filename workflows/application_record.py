"""What an application knows and shows (workflow code, for ApplicationWorkflow).

Its state, the catalog it is pinned to, its trail, its status in the search attributes and
the Web UI, the `state` query and its outcome. The workflow's parts build on it: the
bundle's items (`application_items`), the materials it waits for (`application_materials`),
the joint limit (`application_joint_limit`), what staff and the applicant send
(`application_handlers`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.catalog import CatalogSnapshot
    from domain import notices, staff_words
    from domain.acceptance import Acceptance, assess
    from domain.application import (
        ApplicationOutcome,
        ApplicationState,
        ApplicationStatus,
        ItemOutcome,
        ItemRef,
        ItemStatus,
        MissingMaterial,
        MissingMaterialsNotice,
        Refusal,
        StopOrder,
        Submission,
    )
    from domain.credit import CreditStanding, credit_subject
    from workflows import search_attributes as sa
    from workflows.clock import LegalClock
    from workflows.common import CREDIT_BY_CODE, Trail


# How an item may end: without a license (its dependents cannot start), or at all.
ENDED_WITHOUT_LICENSE = frozenset({ItemStatus.REJECTED, ItemStatus.STOPPED})
FINISHED = frozenset(
    {ItemStatus.CLOSED, ItemStatus.REJECTED, ItemStatus.REVOKED, ItemStatus.STOPPED}
)


class ApplicationRecord:
    def __init__(self, submission: Submission, *, fewer_events: bool, revised: bool) -> None:
        self.fewer_events = fewer_events
        self.revised = revised  # procedure revision 2026-12 (implied by fewer_events)
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
        self.items_at_departments = False  # each item on its department's queue
        self.lighter_histories = False  # "lighter-histories-2026-12", handed to the items

    @property
    def snapshot(self) -> CatalogSnapshot:
        assert self._snapshot is not None
        return self._snapshot

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

    def _unaccepted_end(self) -> bool:
        return self._lapsed or self._refusal is not None or self._stop is not None

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
        line = f"{self.submission.application_id} {staff_words.APPLICATION_STATUS[self._status]}"
        if self._case_number is not None:
            line = f"{self._case_number} {line}"
        clock = self._supplement_clock
        correction = self._correction_clock
        if self._status is ApplicationStatus.AWAITING_CORRECTION and correction:
            due = staff_words.clock_words(correction.snapshot()) if correction.record else ""
            missing = self._assess().missing
            line += ": 待补正 " + "、".join(m.name for m in missing) + f" ({due})"
        elif self._status is ApplicationStatus.AWAITING_SUPPLEMENT and self._outstanding:
            due = staff_words.clock_words(clock.snapshot()) if clock and clock.record else ""
            line += ": 待补齐 " + "、".join(m.name for m in self._outstanding) + f" ({due})"
        elif not self._status.closed and self._items:
            waiting = [r.name for r in self._items.values() if r.status not in FINISHED]
            issued = [r.name for r in self._items.values() if r.license is not None]
            line += f": 在办 {'、'.join(waiting) or '-'}; 已发证 {'、'.join(issued) or '-'}"
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
