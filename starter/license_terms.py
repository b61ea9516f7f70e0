"""The typed client of licenses' terms: read a term, apply for renewal (延续), decide it.

Refusals come back as the application client's errors (`starter.client`): `Conflict`
naming the field (a renewal outside its window, a reviewer of another department), and
`NotFound` for a license whose term no workflow keeps (no validity, or unknown).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from domain.catalog import Catalog
from domain.license_term import (
    LicenseTermState,
    RenewalApplication,
    RenewalDecision,
    term_workflow_id,
)
from starter.client import ANSWER_WITHIN, Invalid, _execute_update, _named, _translate
from workflows.license_term import LicenseTermWorkflow

FIELD = "license_number"


class LicenseTerms:
    def __init__(
        self,
        client: Client,
        catalog: Catalog | None = None,
        answer_within: timedelta = ANSWER_WITHIN,
    ) -> None:
        self.temporal = client
        self.catalog = catalog  # when given, a renewal names one of its halls
        self.answer_within = answer_within  # then a request no worker carried out: Unanswered

    def _handle(self, license_number: str) -> WorkflowHandle[LicenseTermWorkflow, LicenseTermState]:
        # No run ID: after a renewal the latest run (the new term) answers.
        return self.temporal.get_workflow_handle_for(
            LicenseTermWorkflow.run, term_workflow_id(license_number)
        )

    async def state(self, license_number: str) -> LicenseTermState:
        try:
            return await self._handle(license_number).query(LicenseTermWorkflow.state)
        except RPCError as exc:
            raise _translate(exc, FIELD, license_number) from exc

    async def apply(self, license_number: str, application: RenewalApplication) -> LicenseTermState:
        """The holder applies for renewal within the window; answers with the case."""
        if self.catalog is not None and application.hall not in self.catalog.halls:
            raise Invalid([("hall", f"{_named(application.hall)}is not a hall of this center")])
        return await _execute_update(
            self._handle(license_number),
            LicenseTermWorkflow.apply_for_renewal,
            application,
            FIELD,
            license_number,
            self.answer_within,
        )

    async def decide(self, license_number: str, decision: RenewalDecision) -> LicenseTermState:
        """A reviewer of the item's department approves or refuses (with reasons)."""
        return await _execute_update(
            self._handle(license_number),
            LicenseTermWorkflow.decide_renewal,
            decision,
            FIELD,
            license_number,
            self.answer_within,
        )
