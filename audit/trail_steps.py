"""The trail's system steps: what the activities a workflow ran say (escalations, referrals to
supervision, extensions on the legal clock, revocations, credit records, licenses, the pinned
catalog version), read through the activities' own input and result models."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.api.history.v1 import HistoryEvent

from activities.catalog import CatalogSnapshot
from activities.licensing import RevokeLicense
from audit import kinds
from audit.kinds import Kind
from audit.rows import RowReader
from domain.application import LicenseRecord
from domain.clock import ClockRecord, EscalationRequest
from domain.credit import CreditEntry
from domain.supervision import Referral
from onething import history_names as names
from onething.costs import local_activity_data
from onething.history_payloads import decode_payloads, instant, pick

__all__ = ["ActivityReader"]


class ActivityReader(RowReader):
    async def on_activity_task_scheduled_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        activity_type = attrs.activity_type.name
        self.scheduled[event.event_id] = activity_type
        if activity_type not in _INPUTS:
            return
        model, kind = _INPUTS[activity_type]
        [arg, *_] = await decode_payloads(self.converter, attrs.input) or [None]
        try:
            request = model.model_validate(arg)
        except ValidationError as exc:  # a payload of no era's model: say so, read on
            problem = pick(arg, ("undecodable",)) or f"{exc.error_count()} validation errors"
            self.row(event, kind, f"{activity_type}: input unreadable", detail=problem)
            return
        if isinstance(request, EscalationRequest):
            self._escalation(event, request)
        elif isinstance(request, Referral):
            self._referral(event, request)
        elif isinstance(request, ClockRecord):
            self._extensions(event, request)
        elif isinstance(request, RevokeLicense):
            self.row(event, kind, "license revoked", reason=request.reason or None)
        elif isinstance(request, CreditEntry):
            action = f"credit record: {request.kind.value}"
            self.row(event, kind, action, reason=request.detail or None)

    def _referral(self, event: HistoryEvent, referral: Referral) -> None:
        """The procedure hands the case to supervision on purpose (after a revocation): not
        an overdue limit."""
        self.row(
            event,
            Kind.REFERRAL,
            f"referred to supervision: {referral.kind.label}",
            at=referral.referred_at,
            reason=referral.reason,
            detail=referral.department or None,
        )

    def _escalation(self, event: HistoryEvent, request: EscalationRequest) -> None:
        overdue = request.due_at != request.escalated_at or request.total_days
        self.row(
            event,
            Kind.ESCALATION,
            f"escalation stage {request.stage} to {request.level.value}",
            at=request.escalated_at,
            reason=(
                f"{request.limit} limit overdue (due {instant(request.due_at)})"
                if overdue
                else f"{request.limit}: handed to supervision"
            ),
            detail=request.department or None,
        )

    def _extensions(self, event: HistoryEvent, record: ClockRecord) -> None:
        """Extensions recorded on the legal clock; only when no extension update said so
        already (a clock extended by other means still shows)."""
        if self.extension_updates:
            return
        seen = self.ctx.extensions_seen.get(record.limit, 0)
        for extension in record.extensions[seen:]:
            decided_by = extension.decided_by or "unknown"
            self.row(
                event,
                Kind.EXTENSION,
                f"{record.limit} limit extended by {extension.days} working days",
                at=extension.decided_at,
                actor=decided_by,
                role=decided_by if decided_by in kinds.ROLES else "unknown",
                reason=extension.reason,
            )
        self.ctx.extensions_seen[record.limit] = max(seen, len(record.extensions))

    async def on_activity_task_completed_event_attributes(
        self, event: HistoryEvent, attrs: Any
    ) -> None:
        activity_type = self.scheduled.get(attrs.scheduled_event_id, "")
        await self._completed(event, activity_type, attrs.result)

    async def on_marker_recorded_event_attributes(self, event: HistoryEvent, attrs: Any) -> None:
        """A local activity: its marker holds its type and result (not its input)."""
        data = local_activity_data(event)
        if data is not None and "result" in attrs.details:
            await self._completed(event, str(data.get("activity_type")), attrs.details["result"])

    async def _completed(self, event: HistoryEvent, activity_type: str, payloads: Any) -> None:
        if activity_type in (names.PIN_CATALOG, names.RECEIVE_APPLICATION):
            [result, *_] = await decode_payloads(self.converter, payloads) or [None]
            if activity_type == names.RECEIVE_APPLICATION and isinstance(result, dict):
                result = result.get("snapshot")
            with suppress(ValidationError):  # a pin that says no version leaves it as it was
                snapshot = CatalogSnapshot.model_validate(result)
                self.ctx.catalog_version = snapshot.version or self.ctx.catalog_version
        elif activity_type == names.ISSUE_LICENSE:
            [result, *_] = await decode_payloads(self.converter, payloads) or [None]
            try:
                license = LicenseRecord.model_validate(result)
            except ValidationError as exc:
                problem = pick(result, ("undecodable",)) or f"{exc.error_count()} errors"
                self.row(event, Kind.LICENSE, "license issued (result unreadable)", detail=problem)
                return
            self.row(
                event,
                Kind.LICENSE,
                f"license issued ({license.license_kind})",
                detail=license.number,
            )


# The activities whose inputs the trail reads, with the models they take and the kind of row.
_INPUTS: dict[str, tuple[type[BaseModel], Kind]] = {
    names.OPEN_SUPERVISION_CASE: (EscalationRequest, Kind.ESCALATION),
    names.REFER_CASE: (Referral, Kind.REFERRAL),
    names.COMPUTE_SCHEDULE: (ClockRecord, Kind.EXTENSION),
    names.REVOKE_LICENSE: (RevokeLicense, Kind.REVOCATION),
    names.RECORD_CREDIT: (CreditEntry, Kind.CREDIT),
}
