"""The one revocation path (撤销许可) of the workflows: the item's and the application's.

The license registry of the item's department revokes, with its ground; the applicant is
told in a written decision; the caller gets the license as the registry now holds it.
After a revocation the case may be referred to supervision (移送监管) on purpose: a
referral of its own kind, never an overdue escalation in disguise.
Workflow code: call it from inside a workflow only.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.licensing import LicensingActivities, RevokeLicense
    from activities.supervision import SupervisionActivities
    from domain import notices
    from domain.application import LicenseRecord, RevocationGround
    from domain.supervision import Referral, ReferralKind, ReferralRef
    from workflows.common import (
        ACTIVITY_RETRY,
        ACTIVITY_TIMEOUT,
        central_queue,
        department_queue,
        notify,
        run_activity,
    )


async def revoke_license(
    *,
    application_id: str,
    item_code: str,
    item_name: str,
    department: str,
    license: LicenseRecord | None,
    reason: str,
    ground: RevocationGround,
) -> LicenseRecord | None:
    """Revoke the item's license on the department's queue, notify the applicant, and return
    `license` as revoked (None if the caller had no record of it; the registry has)."""
    revoked_at = workflow.now()
    await run_activity(
        LicensingActivities.revoke_license,
        RevokeLicense(
            application_id=application_id,
            item_code=item_code,
            reason=reason,
            revoked_at=revoked_at,
            ground=ground,
        ),
        task_queue=department_queue(department),
        summary="revoke the license",
    )
    await notify(
        application_id,
        "applicant",
        "revoked",
        notices.revocation(
            item_name, reason, (license.license_kind, license.number) if license else None
        ),
        key=f"revoked-{item_code}",
    )
    return license.revoked(revoked_at, ground) if license is not None else None


async def refer_to_supervision(
    kind: ReferralKind, *, department: str, subject: str, reason: str
) -> ReferralRef:
    """Refer this workflow's case to the supervision office. An activity, never a local one:
    the decision trail reads its input from history. `subject`: no personal data."""
    return await workflow.execute_activity_method(
        SupervisionActivities.refer_case,
        Referral(
            workflow_id=workflow.info().workflow_id,
            kind=kind,
            department=department,
            subject=subject,
            reason=reason[:500],
            referred_at=workflow.now(),
        ),
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=ACTIVITY_RETRY,
        task_queue=central_queue(),
        summary=f"refer to supervision: {kind.value}",
    )
