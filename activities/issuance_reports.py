"""The department's licensing system tells the application at the general window that an
item's license is issued, while the item goes on to its inspection after issuance (under
"lighter-histories-2026-12"; before, the item's workflow signalled the application itself).

A local activity of the item, beside `issue_license`: the report is one marker in the
workflow task that issues, and the application hears of the license as soon as the registry
holds it. A retried report is harmless: the application records the same license again.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.application import ITEM_ISSUED_SIGNAL, ItemIssued


class ReportIssued(BaseModel):
    model_config = ConfigDict(frozen=True)

    application_workflow_id: str
    issued: ItemIssued


class IssuanceReports:
    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name="report_issued")
    async def report_issued(self, report: ReportIssued) -> bool:
        """True when the application was told; False when it had ended already (terminated:
        a withdrawal or a cancellation ends it only once its items have ended)."""
        handle = self._client.get_workflow_handle(report.application_workflow_id)
        try:
            await handle.signal(ITEM_ISSUED_SIGNAL, report.issued)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            activity.logger.warning(
                "application ended before its item's license was reported",
                extra={"item_code": report.issued.item_code},
            )
            return False
        return True
