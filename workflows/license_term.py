"""One workflow per license with a validity: its term, its renewal window, its renewal.

It reads as the clerk tells it: wait until the renewal window opens, remind the holder;
take a renewal application (an Update: its own case, numbered, with a receipt); a reviewer
of the item's department decides (an Update). Approved: a new term from the old expiry.
Refused: the license expires at its expiry. Undecided at expiry: deemed renewed
(视为准予延续, Art. 50). No application: it expires at expiry. A revoked license ends its
term (the registry signals it; the registry is read again on every plan too).

A renewed license continues as new with the next term, so its history stays short. Every
instant comes from the registry or the calendar through activities; none from the clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.license_terms import LicenseTermActivities
    from domain import notices
    from domain.license_term import (
        AcceptRenewal,
        ConcludeTerm,
        LicenseTermState,
        PlanTerm,
        RenewalApplication,
        RenewalCase,
        RenewalDecision,
        RenewalStatus,
        RenewalVerdict,
        RenewedAs,
        TermConcluded,
        TermPhase,
        TermPlan,
        TermStart,
        last_valid_day,
        renewal_id,
    )
    from domain.notices import local_day
    from workflows.common import notify, run_activity

_ENDED = frozenset({TermPhase.EXPIRED, TermPhase.REVOKED, TermPhase.NO_TERM, TermPhase.RENEWED})


@workflow.defn
class LicenseTermWorkflow:
    @workflow.init
    def __init__(self, start: TermStart) -> None:
        self._start = start
        self._plan: TermPlan | None = None
        self._phase = TermPhase.PLANNING
        self._revoked = False
        self._applying = False
        self._renewal: RenewalCase | None = None
        self._decision: RenewalDecision | None = None
        self._reminded_at: datetime | None = None

    # -- the term -----------------------------------------------------------------------

    @workflow.run
    async def run(self, start: TermStart) -> LicenseTermState:
        plan = await run_activity(
            LicenseTermActivities.plan_license_term,
            PlanTerm(license_number=start.license_number, term=start.term),
            summary="plan the term",
        )
        self._plan = plan
        self._phase = TermPhase.VALID
        if plan.status == "revoked":
            return await self._end(TermPhase.REVOKED)
        if plan.status == "expired":
            return await self._end(TermPhase.EXPIRED)
        if plan.term > start.term:  # the registry is a term ahead (renewed before a restart)
            workflow.continue_as_new(TermStart(license_number=plan.license_number, term=plan.term))
        if plan.expires_at is None or plan.window is None:
            return await self._end(TermPhase.NO_TERM)
        window, expires_at = plan.window, plan.expires_at
        last = local_day(last_valid_day(expires_at))
        title = notices.license_name(plan.license_kind)
        workflow.set_current_details(f"{title} 第{plan.term}个有效期, 至 {last}")

        if not await self._until(window.opens_at, lambda: self._revoked, "until the window"):
            return await self._revoke()
        if workflow.now() < window.closes_at:
            self._phase = TermPhase.WINDOW_OPEN
            await self._remind(plan)
            await self._until(
                window.closes_at,
                lambda: self._revoked or self._renewal is not None,
                "renewal window open",
            )
            # An application accepted as the window closed is still taken.
            await workflow.wait_condition(lambda: not self._applying)
        if self._revoked:
            return await self._revoke()

        if self._renewal is None:
            self._phase = TermPhase.WINDOW_CLOSED
            if not await self._until(expires_at, lambda: self._revoked, "until expiry"):
                return await self._revoke()
            return await self._expire(plan)

        self._phase = TermPhase.RENEWAL_PENDING
        await self._until(
            expires_at,
            lambda: self._revoked or self._decision is not None,
            "renewal awaits the decision",
        )
        if self._revoked:
            return await self._revoke()
        if self._decision is None:  # Art. 50: not decided before the expiry
            return await self._renew(plan, RenewedAs.DEEMED_RENEWED)
        if self._decision.verdict is RenewalVerdict.APPROVE:
            return await self._renew(plan, RenewedAs.RENEWED)
        await self._conclude(TermPhase.RENEWAL_REFUSED)
        self._phase = TermPhase.RENEWAL_REFUSED
        self._renewal = self._renewal.model_copy(
            update={
                "status": RenewalStatus.REFUSED,
                "decided_at": workflow.now(),
                "decided_by": self._decision.reviewer.staff_id,
                "reason": self._decision.reason,
            }
        )
        if not await self._until(expires_at, lambda: self._revoked, "refused: until expiry"):
            return await self._revoke()
        return await self._expire(plan)

    async def _until(self, at: datetime, done: Callable[[], bool], summary: str) -> bool:
        """Wait until `at` or until `done`; False when it ended by revocation."""
        left = at - workflow.now()
        if left > timedelta(0) and not done():
            with contextlib.suppress(TimeoutError):  # the time came
                await workflow.wait_condition(done, timeout=left, timeout_summary=summary)
        return not self._revoked

    async def _remind(self, plan: TermPlan) -> None:
        assert plan.window is not None and plan.expires_at is not None
        await notify(
            plan.application_id,
            "applicant",
            "renewal_reminder",
            notices.renewal_reminder(
                notices.license_name(plan.license_kind),
                plan.license_number,
                plan.window.opens_on,
                plan.window.closes_on,
                last_valid_day(plan.expires_at),
            ),
            key=f"term-{plan.term}/reminder",
        )
        self._reminded_at = workflow.now()

    async def _conclude(
        self, phase: TermPhase, renewed_as: RenewedAs | None = None
    ) -> TermConcluded:
        plan = self._current_plan()
        decision = self._decision
        return await run_activity(
            LicenseTermActivities.conclude_license_term,
            ConcludeTerm(
                license_number=plan.license_number,
                term=plan.term,
                phase=phase,
                renewed_as=renewed_as,
                validity_years=plan.validity_years,
                at=workflow.now(),
                renewal_id=self._renewal.renewal_id if self._renewal else None,
                decided_by=decision.reviewer.staff_id if decision else None,
                reason=decision.reason if decision else None,
            ),
            summary=f"term {plan.term}: {phase.value}",
        )

    async def _renew(self, plan: TermPlan, renewed_as: RenewedAs) -> LicenseTermState:
        concluded = await self._conclude(TermPhase.RENEWED, renewed_as)
        if concluded.status != "issued":  # revoked meanwhile: the registry has the last word
            return await self._end(TermPhase.REVOKED)
        # What the decider is answered: the new term (the next run plans its window).
        self._plan = plan.model_copy(
            update={
                "term": concluded.term,
                "expires_at": concluded.expires_at,
                "window": None,
                "renewed_as": renewed_as,
            }
        )
        if self._renewal is not None:
            approved = renewed_as is RenewedAs.RENEWED
            self._renewal = self._renewal.model_copy(
                update={
                    "status": RenewalStatus.APPROVED if approved else RenewalStatus.DEEMED_RENEWED,
                    "decided_at": workflow.now(),
                    "decided_by": self._decision.reviewer.staff_id if self._decision else None,
                }
            )
        self._phase = TermPhase.RENEWED
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(TermStart(license_number=plan.license_number, term=concluded.term))

    async def _expire(self, plan: TermPlan) -> LicenseTermState:
        concluded = await self._conclude(TermPhase.EXPIRED)
        phase = TermPhase.EXPIRED if concluded.status == "expired" else TermPhase.REVOKED
        return await self._end(phase)

    async def _revoke(self) -> LicenseTermState:
        if self._renewal is not None and self._renewal.status is RenewalStatus.ACCEPTED:
            await self._conclude(TermPhase.REVOKED)
            self._renewal = self._renewal.model_copy(update={"status": RenewalStatus.ENDED})
        return await self._end(TermPhase.REVOKED)

    async def _end(self, phase: TermPhase) -> LicenseTermState:
        self._phase = phase
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    def _current_plan(self) -> TermPlan:
        assert self._plan is not None
        return self._plan

    # -- what callers see and do ----------------------------------------------------------

    @workflow.query
    def state(self) -> LicenseTermState:
        plan = self._plan
        return LicenseTermState(
            license_number=self._start.license_number,
            term=plan.term if plan else self._start.term,
            phase=self._phase,
            valid_from=plan.valid_from if plan else None,
            expires_at=plan.expires_at if plan else None,
            window=plan.window if plan else None,
            renewal=self._renewal,
            reminded_at=self._reminded_at,
            renewed_as=plan.renewed_as if plan else None,
        )

    @workflow.signal
    def license_revoked(self) -> None:
        """The registry revoked the license: its term ends (and a pending renewal with it)."""
        self._revoked = True

    @workflow.update
    async def apply_for_renewal(self, application: RenewalApplication) -> LicenseTermState:
        """受理 of a renewal application within the window: its case number and receipt."""
        self._applying = True
        try:
            plan = self._current_plan()
            assert plan.expires_at is not None
            case = await run_activity(
                LicenseTermActivities.accept_renewal,
                AcceptRenewal(
                    renewal_id=renewal_id(plan.license_number, plan.term),
                    license_number=plan.license_number,
                    term=plan.term,
                    application_id=plan.application_id,
                    item_code=plan.item_code,
                    hall=application.hall,
                    channel=application.channel,
                    received_at=workflow.now(),
                    received_by=application.received_by.staff_id
                    if application.received_by
                    else None,
                    decision_days=plan.decision_days,
                    expires_at=plan.expires_at,
                ),
                summary="accept the renewal application",
            )
            self._renewal = case
            if self._phase is TermPhase.WINDOW_OPEN:
                self._phase = TermPhase.RENEWAL_PENDING
        finally:
            self._applying = False
        return self.state()

    @apply_for_renewal.validator
    def _may_apply(self, application: RenewalApplication) -> None:
        self._refuse_if_over()
        plan = self._current_plan()
        if self._renewal is not None or self._applying:
            raise ValueError("license_number: a renewal of this term was applied for already")
        window = plan.window
        if window is None or self._phase is not TermPhase.WINDOW_OPEN:
            if window is not None and workflow.now() < window.opens_at:
                raise ValueError(
                    f"license_number: the renewal window opens on {local_day(window.opens_on)} "
                    f"and closes on {local_day(window.closes_on)} (Beijing time)"
                )
            closes = f" (it closed on {local_day(window.closes_on)})" if window else ""
            raise ValueError(
                f"license_number: the renewal window is not open{closes}; after it a renewal "
                "is not taken, the holder applies anew"
            )
        if application.channel.value == "window" and application.received_by is None:
            raise ValueError("received_by: an application at the window is received by a clerk")

    @workflow.update
    async def decide_renewal(self, decision: RenewalDecision) -> LicenseTermState:
        """The department's reviewer decides; answers once the decision is recorded."""
        self._decision = decision
        await workflow.wait_condition(
            lambda: self._phase in _ENDED or self._phase is TermPhase.RENEWAL_REFUSED
        )
        return self.state()

    @decide_renewal.validator
    def _may_decide(self, decision: RenewalDecision) -> None:
        self._refuse_if_over()
        plan = self._current_plan()
        if self._renewal is None or self._phase is not TermPhase.RENEWAL_PENDING:
            raise ValueError("license_number: no renewal of this license awaits a decision")
        if self._decision is not None:
            raise ValueError("license_number: the renewal was decided already")
        if decision.reviewer.department != plan.department:
            raise ValueError(f"reviewer: only a reviewer of department {plan.department!r} decides")
        assert plan.expires_at is not None
        if workflow.now() >= plan.expires_at:
            raise ValueError("license_number: the term has ended; the renewal is deemed granted")

    def _refuse_if_over(self) -> None:
        if self._plan is None:
            raise ValueError("license_number: the term is being read from the registry; retry")
        if self._revoked or self._phase in _ENDED:
            raise ValueError(f"license_number: the license's term has ended ({self._phase.value})")
