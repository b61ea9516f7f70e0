"""The department's report of a license issued (`report_issued`), against a real server."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.issuance_reports import IssuanceReports, ReportIssued
from domain.application import ApprovalPath, ItemIssued, LicenseRecord

ISSUED = ItemIssued(
    item_code="tobacco-retail-license",
    license=LicenseRecord(
        number="YC-TEST-1",
        item_code="tobacco-retail-license",
        license_kind="tobacco_retail_license",
        verification_code="V-TEST-1",
        valid_from=datetime(2026, 12, 3, 2, 0, tzinfo=UTC),
    ),
    path=ApprovalPath.COMMITMENT,
)


async def test_a_report_to_an_application_that_has_ended_is_not_retried_forever(
    ts_env: WorkflowEnvironment,
) -> None:
    """Terminated by an operator, or never there: the registry holds the license all the same,
    so the report says it told no one instead of failing the item's workflow task forever."""
    report = ReportIssued(application_workflow_id="application-gone", issued=ISSUED)

    told = await ActivityEnvironment().run(IssuanceReports(ts_env.client).report_issued, report)

    assert told is False
