"""Activities of a license's term: the plan of a term (registry, catalog in force, calendar),
a renewal application's acceptance (its case number, its limit, its receipt) and the end of a
term (renewed, refused, expired), each written to the registry and, when the law makes it a
written act, as a document the holder receives.

The holder's notices and documents are kept under the application the license was issued
on (whose applicant is the holder: delivery finds their number there, and they read them
under /applications/{id}/documents), keyed under the item's workflow ID so the item's
department is their issuer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.calendar import CalendarActivities
from activities.notify import Notice, Outlet, record_notice
from activities.store_errors import store_errors
from domain import notices
from domain.application import item_workflow_id
from domain.catalog_models import DEFAULT_REGION_CODE, Item
from domain.clock import DueRequest, compute_due
from domain.license_term import (
    AcceptRenewal,
    ConcludeTerm,
    PlanTerm,
    RenewalCase,
    RenewalStatus,
    RenewedAs,
    TermConcluded,
    TermPhase,
    TermPlan,
    TermStart,
    expiry_after,
    last_valid_day,
    renewal_window,
    term_workflow_id,
)
from store import case_numbers, licenses
from store.catalog import get_latest_catalog
from store.db import in_utc

# The workflow by name: activities never import workflow modules.
TERM_WORKFLOW = "LicenseTermWorkflow"
_START_TIMEOUT_S = 30.0


def validity_until(item: Item | None, issued_at: datetime) -> datetime | None:
    """The end of a new license's first term by its item in the catalog in force; None when
    the item states no validity (or the catalog does not know it: None)."""
    if item is None or item.validity_years is None:
        return None
    return expiry_after(issued_at, item.validity_years)


class TermStarter:
    """Starts a license's term workflow, and tells it of a revocation, from the registry's
    (thread-pool) activities, on the worker's event loop. Idempotent: a start finds the
    running workflow (conflict policy USE_EXISTING) or the one that ran (reuse refused)."""

    def __init__(
        self, client: Client, task_queue: str, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self._client = client
        self._task_queue = task_queue  # the workflows' queue
        self._loop = loop or asyncio.get_running_loop()

    def start(self, license_number: str) -> None:
        self._run(self._start(license_number))

    def revoked(self, license_number: str) -> None:
        self._run(self._revoked(license_number))

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=_START_TIMEOUT_S)

    async def _start(self, license_number: str) -> None:
        # Its term ran already (e.g. ended by a revocation): nothing to start.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._client.start_workflow(
                TERM_WORKFLOW,
                TermStart(license_number=license_number),
                id=term_workflow_id(license_number),
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"许可证 {license_number} 的有效期与延续",
            )

    async def _revoked(self, license_number: str) -> None:
        handle = self._client.get_workflow_handle(term_workflow_id(license_number))
        try:
            await handle.signal("license_revoked")
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            # No term running (no validity, or it ended): the registry says revoked anyway.


class LicenseTermActivities:
    def __init__(
        self, engine: Engine, calendar: CalendarActivities, outlet: Outlet | None = None
    ) -> None:
        self._engine = engine
        self._calendar = calendar
        self._outlet = outlet  # None: the outbox only (the embedded default)

    def _item(self, code: str) -> tuple[Item | None, str | None]:
        catalog = get_latest_catalog(self._engine)
        if catalog is None:
            return None, None
        return catalog.items.get(code), catalog.version

    def _license(self, number: str) -> licenses.License:
        found = licenses.get(self._engine, number)
        if found is None:  # never retried into existence: the workflow was started wrongly
            raise ApplicationError(
                f"license_number: no license {number!r} in the registry", non_retryable=True
            )
        return found

    @activity.defn(name="plan_license_term")
    @store_errors
    def plan_license_term(self, request: PlanTerm) -> TermPlan:
        """The term as the registry holds it; its window by the catalog in force and the
        calendar (a running term picks up a new catalog or calendar at its next plan)."""
        found = self._license(request.license_number)
        item, version = self._item(found.item_code)
        rule = item.renewal_rule if item is not None else None
        expires_at = found.expires()
        window = None
        provisional: list[int] = []
        if expires_at is not None and rule is not None:
            calendar = self._calendar.calendar()
            window = renewal_window(expires_at, rule, calendar)
            provisional = calendar.provisional_years(window.opens_on, last_valid_day(expires_at))
        return TermPlan(
            license_number=found.number,
            application_id=found.application_id,
            item_code=found.item_code,
            item_name=item.name if item is not None else found.license_kind,
            license_kind=found.license_kind,
            department=item.department if item is not None else "",
            term=found.term,
            status=found.status,
            valid_from=in_utc(found.valid_from),
            expires_at=expires_at,
            validity_years=item.validity_years if item is not None else None,
            window=window,
            decision_days=rule.decision_days if rule is not None else 0,
            catalog_version=version,
            provisional_years=provisional,
            renewed_as=RenewedAs(found.renewed_as) if found.renewed_as else None,
        )

    @activity.defn(name="accept_renewal")
    @store_errors
    def accept_renewal(self, request: AcceptRenewal) -> RenewalCase:
        """受理: the renewal's case number (办件编号, the hall's region), its decision limit
        (working days, never past the expiry: then Art. 50 decides), its record and the
        holder's receipt. Idempotent by the renewal's ID."""
        catalog = get_latest_catalog(self._engine)
        hall = catalog.halls.get(request.hall) if catalog is not None else None
        region = hall.region_code if hall is not None else DEFAULT_REGION_CODE
        number = case_numbers.allocate(
            self._engine,
            application_id=request.renewal_id,
            hall=request.hall,
            region_code=region,
            accepted_at=request.received_at,
        )
        due = compute_due(
            DueRequest(start=request.received_at, days=request.decision_days),
            self._calendar.calendar(),
        ).due_at
        due = min(due, request.expires_at)
        row = licenses.open_renewal(
            self._engine,
            licenses.LicenseRenewal(
                renewal_id=request.renewal_id,
                license_number=request.license_number,
                term=request.term,
                case_number=str(number),
                hall=request.hall,
                channel=request.channel.value,
                received_at=request.received_at,
                received_by=request.received_by,
                decision_due_at=due,
            ),
        )
        item, _ = self._item(request.item_code)
        name = notices.license_name(self._license(request.license_number).license_kind)
        self._notice(
            request.application_id,
            request.item_code,
            f"renewal-{request.term}/accepted",
            "renewal_accepted",
            notices.renewal_accepted(
                name, request.license_number, row.case_number, due, request.expires_at
            ),
            request.received_at,
        )
        if item is not None:
            self._notice(
                request.application_id,
                request.item_code,
                f"renewal-{request.term}/to-decide",
                "renewal_to_decide",
                notices.renewal_to_decide(name, request.license_number, due),
                request.received_at,
                recipient=f"reviewer:{item.department}",
            )
        activity.logger.info(
            "renewal accepted",
            extra={"license_number": request.license_number, "term": request.term},
        )
        return RenewalCase(
            renewal_id=row.renewal_id,
            case_number=row.case_number,
            hall=row.hall,
            channel=request.channel,
            received_at=in_utc(row.received_at),
            decision_due_at=in_utc(row.decision_due_at),
        )

    @activity.defn(name="conclude_license_term")
    @store_errors
    def conclude_license_term(self, request: ConcludeTerm) -> TermConcluded:
        """Write how the term (or its renewal) ended, and tell the holder. Idempotent: the
        registry and the renewal case keep their first answer, each notice is one by key."""
        found = self._license(request.license_number)
        item, _ = self._item(found.item_code)
        name = notices.license_name(found.license_kind)
        expires_at = found.expires()
        phase = request.phase
        if phase is TermPhase.RENEWED:
            assert request.renewed_as is not None and expires_at is not None
            years = request.validity_years or (item.validity_years if item else None) or 1
            # The new term runs on from the old one's end, however late the decision came.
            old_end = expires_at if found.term == request.term else None
            if old_end is not None:
                licenses.renew(
                    self._engine,
                    found.number,
                    term=request.term,
                    valid_until=expiry_after(old_end, years),
                    renewed_as=request.renewed_as.value,
                )
            after = self._license(found.number)
            status = (
                RenewalStatus.APPROVED
                if request.renewed_as is RenewedAs.RENEWED
                else RenewalStatus.DEEMED_RENEWED
            )
            self._decide(request, status)
            new_end = after.expires()
            if after.status == "issued" and new_end is not None:
                kind = "renewed" if request.renewed_as is RenewedAs.RENEWED else "deemed_renewed"
                text = (
                    notices.renewed(name, found.number, last_valid_day(new_end))
                    if kind == "renewed"
                    else notices.deemed_renewed(name, found.number, last_valid_day(new_end))
                )
                self._notice(
                    found.application_id,
                    found.item_code,
                    f"renewal-{request.term}/{kind}",
                    kind,
                    text,
                    request.at,
                )
            return TermConcluded(status=after.status, expires_at=new_end, term=after.term)
        if phase is TermPhase.RENEWAL_REFUSED:
            self._decide(request, RenewalStatus.REFUSED)
            if expires_at is not None:
                self._notice(
                    found.application_id,
                    found.item_code,
                    f"renewal-{request.term}/refused",
                    "renewal_refused",
                    notices.renewal_refused(
                        name, found.number, request.reason or "", last_valid_day(expires_at)
                    ),
                    request.at,
                )
            return TermConcluded(status=found.status, expires_at=expires_at, term=found.term)
        if phase is TermPhase.EXPIRED:
            after = licenses.expire(self._engine, found.number, term=request.term) or found
            if after.status == "expired" and expires_at is not None:
                self._notice(
                    found.application_id,
                    found.item_code,
                    f"term-{request.term}/expired",
                    "license_expired",
                    notices.license_expired(name, found.number, last_valid_day(expires_at)),
                    request.at,
                )
            return TermConcluded(status=after.status, expires_at=expires_at, term=after.term)
        if phase is TermPhase.REVOKED:  # the revocation told the holder; a renewal ends here
            self._decide(request, RenewalStatus.ENDED)
            return TermConcluded(status=found.status, expires_at=expires_at, term=found.term)
        raise ApplicationError(f"phase: {phase.value} does not end a term", non_retryable=True)

    def _decide(self, request: ConcludeTerm, status: RenewalStatus) -> None:
        if request.renewal_id is None:
            return
        licenses.decide_renewal(
            self._engine,
            request.renewal_id,
            status=status.value,
            at=request.at,
            decided_by=request.decided_by,
            reason=request.reason,
        )

    def _notice(
        self,
        application_id: str,
        item_code: str,
        key: str,
        kind: str,
        message: str,
        at: datetime,
        *,
        recipient: str = "applicant",
    ) -> None:
        record_notice(
            self._engine,
            self._outlet,
            Notice(
                key=f"{item_workflow_id(application_id, item_code)}/{key}",
                application_id=application_id,
                recipient=recipient,
                kind=kind,
                message=message,
                at=at,
            ),
        )
