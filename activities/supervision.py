"""Supervision (督办) activities: open a case when a legal clock escalates; record a referral
when the procedure hands a case over (after a revocation)."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from temporalio import activity

from activities.store_errors import store_errors
from domain.clock import OPEN_SUPERVISION_CASE_ACTIVITY, EscalationRequest, SupervisionCaseRef
from domain.supervision import Referral, ReferralRef
from store.supervision import open_case, refer

REFER_CASE_ACTIVITY = "supervision.refer_case"


class SupervisionActivities:
    """Register `SupervisionActivities(engine).open_case` and `.refer_case` on the worker."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=OPEN_SUPERVISION_CASE_ACTIVITY)
    @store_errors
    async def open_case(self, request: EscalationRequest) -> SupervisionCaseRef:
        """Idempotent by (workflow id, limit, stage): a retry returns the same case."""
        case, created = await asyncio.to_thread(open_case, self._engine, request)
        assert case.id is not None
        activity.logger.info(
            "supervision case %s stage %d for %s/%s (%s)",
            case.id,
            request.stage,
            request.workflow_id,
            request.limit,
            "opened" if created else "already open",
        )
        return SupervisionCaseRef(case_id=case.id, created=created)

    @activity.defn(name=REFER_CASE_ACTIVITY)
    @store_errors
    async def refer_case(self, referral: Referral) -> ReferralRef:
        """Idempotent by (workflow id, kind, subject): a retry returns the same referral."""
        row, created = await asyncio.to_thread(refer, self._engine, referral)
        assert row.id is not None
        activity.logger.info(
            "supervision referral %s (%s) for %s (%s)",
            row.id,
            referral.kind.value,
            referral.workflow_id,
            "recorded" if created else "already recorded",
        )
        return ReferralRef(referral_id=row.id, created=created)
