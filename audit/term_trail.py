"""The trail of a license's term (`LicenseTermWorkflow`, every run across continue-as-new): each
term as the registry planned it, the renewal reminder, the renewal application and who received
it, the department's decision (who, which way, why), the next term it gave or the renewal
deemed granted when undecided at expiry (Art. 50), and the expiry or revocation that ended it.

Read from the history alone, as `audit.trail` reads an application's: the updates' inputs,
the activities' results (`plan_license_term`, `accept_renewal`, `conclude_license_term`,
remote or local) and the run's own result. The holder's name is not taken from any payload.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from audit.kinds import Kind
from audit.trail_steps import ActivityReader
from domain.license_term import (
    RenewalApplication,
    RenewalCase,
    RenewalDecision,
    RenewalVerdict,
    TermConcluded,
    TermPhase,
    TermPlan,
    last_valid_day,
)
from domain.notices import RENEWAL_LAW, local_day
from onething import history_names as names
from onething.history_payloads import decode_payloads, pick

__all__ = ["TermReader"]

_ENDINGS = {
    TermPhase.EXPIRED.value: (Kind.EXPIRED, "term ended: expired"),
    TermPhase.REVOKED.value: (Kind.REVOCATION, "term ended: the license was revoked"),
    TermPhase.NO_TERM.value: (Kind.TERM, "no term kept: the registry knows no expiry"),
}


M = TypeVar("M", bound=BaseModel)


class TermReader(ActivityReader):
    """One run of a license's term workflow, event by event."""

    def __init__(self, history: WorkflowHistory, converter: DataConverter) -> None:
        super().__init__(history, converter)
        self.plan: TermPlan | None = None
        self.application: RenewalApplication | None = None  # the renewal received
        self.decision: RenewalDecision | None = None

    async def _model(
        self, event: HistoryEvent, model: type[M], payloads: Any, what: str
    ) -> M | None:
        [value, *_] = await decode_payloads(self.converter, payloads) or [None]
        try:
            return model.model_validate(value)
        except ValidationError as exc:  # a payload of no era's model: say so, read on
            problem = pick(value, ("undecodable",)) or f"{exc.error_count()} validation errors"
            self.row(event, Kind.UPDATE, f"{what}: unreadable", detail=problem)
            return None

    async def on_workflow_execution_started_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        self.ctx.workflow_type = attrs.workflow_type.name

    async def _completed(self, event: HistoryEvent, activity_type: str, result: Any) -> None:
        """An activity's result, remote or local (`ActivityReader` hands it over)."""
        if activity_type == names.NOTIFY and self.plan is not None:
            self.row(event, Kind.REMINDER, f"term {self.plan.term}: holder reminded to renew")
        elif activity_type == names.PLAN_TERM:
            plan = await self._model(event, TermPlan, result, "the term's plan")
            if plan is not None:
                self._planned(event, plan)
        elif activity_type == names.ACCEPT_RENEWAL:
            case = await self._model(event, RenewalCase, result, "the renewal's case")
            if case is not None:
                self._received(event, case)
        elif activity_type == names.CONCLUDE_TERM:
            concluded = await self._model(event, TermConcluded, result, "the conclusion")
            if concluded is not None:
                self._concluded(event, concluded)

    def _planned(self, event: HistoryEvent, plan: TermPlan) -> None:
        self.plan = plan
        ctx = self.ctx
        ctx.application_id, ctx.item_code = plan.application_id, plan.item_code
        ctx.catalog_version = plan.catalog_version
        if plan.expires_at is None:
            return
        through = local_day(last_valid_day(plan.expires_at))
        window = plan.window
        self.row(
            event,
            Kind.TERM,
            f"term {plan.term}: valid through {through}",
            detail=(
                f"{plan.license_number}; 延续申请期 {local_day(window.opens_on)} 至 "
                f"{local_day(window.closes_on)}"
                if window
                else plan.license_number
            ),
        )

    def _received(self, event: HistoryEvent, case: RenewalCase) -> None:
        clerk = self.application.received_by if self.application else None
        self.row(
            event,
            Kind.RENEWAL_APPLIED,
            "renewal application accepted",
            at=case.received_at,
            actor=clerk.staff_id if clerk else "applicant",
            role=clerk.role.value if clerk else "applicant",
            detail=f"办件编号 {case.case_number}; {case.channel.value} at {case.hall}",
        )

    def _concluded(self, event: HistoryEvent, concluded: TermConcluded) -> None:
        plan = self.plan
        if plan is None or concluded.term <= plan.term or concluded.expires_at is None:
            return  # a refusal recorded, an expiry or a revocation: their own rows say so
        through = local_day(last_valid_day(concluded.expires_at))
        decided = self.decision
        if decided is not None and decided.verdict is RenewalVerdict.APPROVE:
            self.row(
                event,
                Kind.RENEWAL,
                f"renewed: term {concluded.term} valid through {through}",
                actor=decided.reviewer.staff_id,
                role=decided.reviewer.role.value,
            )
            return
        self.row(
            event,
            Kind.DEEMED_RENEWED,
            f"deemed renewed, undecided at expiry: term {concluded.term} through {through}",
            reason=f"{RENEWAL_LAW}第二款",
        )

    async def on_workflow_execution_update_accepted_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        request = attrs.accepted_request.input
        if request.name == names.APPLY_FOR_RENEWAL:
            self.application = await self._model(
                event, RenewalApplication, request.args, "the renewal application"
            )
        elif request.name == names.DECIDE_RENEWAL:
            decision = await self._model(event, RenewalDecision, request.args, "the decision")
            if decision is None:
                return
            self.decision = decision
            reviewer = decision.reviewer
            approved = decision.verdict is RenewalVerdict.APPROVE
            self.row(
                event,
                Kind.RENEWAL,
                "renewal approved" if approved else "renewal refused",
                actor=reviewer.staff_id,
                role=reviewer.role.value,
                reason=decision.reason or None,
                detail=f"department {reviewer.department}" if reviewer.department else None,
            )

    async def on_workflow_execution_completed_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        [state, *_] = await decode_payloads(self.converter, attrs.result) or [None]
        ending = _ENDINGS.get(pick(state, ("phase",)) or "")
        if ending is not None:
            kind, action = ending
            self.row(event, kind, action)

    async def on_workflow_execution_continued_as_new_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        if self.plan is None:
            return
        self.row(event, Kind.STATUS, f"term {self.plan.term} closed: the next term runs on")
