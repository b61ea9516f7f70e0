"""Recorded scenarios to a license and after it: on commitment (承诺制), with a material
deferred (容缺), inspected, revoked for a failed re-inspection or an untrue commitment.
Listed in `scenarios.SCENARIOS`, which says how they are recorded."""

from __future__ import annotations

from domain.application import Channel, InspectionResult, ItemStatus, Supplement
from domain.people import Agent, resident_id_check_digit
from tests.histories.steps import (
    ACCEPTED,
    DAY,
    Expect,
    Run,
    approve,
    inspect,
    item_in,
    license_of,
    lifecycle_submission,
)


async def commitment_inspected(run: Run) -> list[Expect]:
    """开办便利店 on commitment, the 15-minute store (catalog 2026.12.1): the individual
    business registration decided by the market department the same day (即办), the
    pre-packaged food filing recorded on the spot, tobacco retail approved on the applicant's
    commitment and issued at once; its site check after issuance passes; completed."""
    tobacco = "tobacco-retail-license"
    await run.client.submit(lifecycle_submission(run, "open-convenience-store", commitment=True))
    business = await approve(run, "business-license-individual")
    await item_in(run, tobacco, ItemStatus.INSPECTING)
    await run.pass_time(5 * DAY)  # the inspector comes within the 10 working days
    tobacco_inspected = await inspect(run, tobacco, InspectionResult.PASSED)
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        business,
        license_of("business-license-individual"),
        *filing_receipt(run, "food-filing-prepackaged"),
        Expect(kind="commitment", item_code=tobacco),
        license_of(tobacco),
        tobacco_inspected,  # after issuance, on the commitment path
        Expect(kind="completed"),
    ]


def filing_receipt(run: Run, code: str) -> list[Expect]:
    """A filing recorded on the spot issues its receipt where the catalog says it produces
    one (the food filing from catalog 2026.12.3; recordings made under 2026.12.1 have none)."""
    return [license_of(code)] if run.catalog.item(code).produces else []


async def deficiency_supplemented(run: Run) -> list[Expect]:
    """容缺受理: accepted without the equipment layout; approved; the layout arrives by mail
    two days later; on review the on-site check comes before issuance: inspected, issued,
    completed."""
    code = "food-business-license"
    await run.client.submit(
        lifecycle_submission(run, code, leave_out=("equipment-layout",), pledge=True)
    )
    decision = await approve(run, code)
    await run.pass_time(2 * DAY)
    await run.client.supplement(
        run.application_id, Supplement(materials=["equipment-layout"], channel=Channel.MAIL)
    )
    inspected = await inspect(run, code, InspectionResult.PASSED)
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        decision,
        Expect(kind="supplement", actor="mail", role="applicant"),
        inspected,
        license_of(code),
        Expect(kind="completed"),
    ]


async def deficiency_lapsed(run: Run) -> list[Expect]:
    """Issued first on commitment with a material deferred; the supplement deadline passes:
    escalation, the application stops, the license issued on trust is revoked, and a
    broken-pledge credit record is written."""
    item = run.catalog.item("public-venue-hygiene-license")
    deferrable = next(m.code for m in item.materials if m.deferrable)
    await run.client.submit(
        lifecycle_submission(run, item.code, leave_out=(deferrable,), pledge=True, commitment=True)
    )
    await item_in(run, item.code, ItemStatus.INSPECTING)  # issued on trust
    await run.env.sleep(20 * DAY)  # past the supplement deadline
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        Expect(kind="commitment", item_code=item.code),
        license_of(item.code),
        Expect(kind="escalation"),
        Expect(kind="stopped"),
        Expect(kind="credit"),
        Expect(kind="revocation", item_code=item.code),
    ]


async def inspection_failed_twice(run: Run) -> list[Expect]:
    """On commitment, the inspection fails, rectification is ordered, the re-inspection
    fails: the license is revoked, a credit record written, the case referred to
    supervision; the application, its only license revoked, ends revoked."""
    code = "food-business-license"
    await run.client.submit(lifecycle_submission(run, code, commitment=True))
    first = await inspect(run, code, InspectionResult.FAILED, "冷藏设备不足")
    await item_in(run, code, ItemStatus.RECTIFYING)
    await run.pass_time(7 * DAY)
    second = await inspect(run, code, InspectionResult.FAILED, "仍未整改")
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        Expect(kind="commitment", item_code=code),
        license_of(code),
        first,
        second,
        Expect(kind="revocation", item_code=code),
        Expect(kind="credit", item_code=code),
        Expect(kind="referral", item_code=code),  # handed over on purpose, not overdue
        Expect(kind="revocation"),  # the application's status: nothing of it stands
    ]


async def false_commitment_by_agent(run: Run) -> list[Expect]:
    """An agent applies for the applicant (帮办代办) on commitment; the inspection finds the
    commitment untrue: the license is revoked at once, a credit record written, and the
    case referred to supervision; the application ends revoked."""
    code = "food-business-license"
    first17 = "42068419850505100"
    agent = Agent(
        name="代办员", id_number=first17 + resident_id_check_digit(first17), phone="13900000002"
    )
    submission = lifecycle_submission(run, code, commitment=True)
    await run.client.submit(submission.model_copy(update={"agent": agent}))
    inspected = await inspect(
        run, code, InspectionResult.FALSE_COMMITMENT, "承诺的冷链设备并不存在"
    )
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        Expect(kind="commitment", item_code=code),
        license_of(code),
        inspected,
        Expect(kind="revocation", item_code=code),
        Expect(kind="credit", item_code=code),
        Expect(kind="referral", item_code=code),
        Expect(kind="revocation"),  # the application's status: nothing of it stands
    ]


async def enterprise_false_commitment(run: Run) -> list[Expect]:
    """An enterprise (with its unified social credit code) applies on commitment and the
    inspection finds the commitment untrue: the credit record is the enterprise's, under its
    code (patch credit-subject-by-code), not its representative's ID number."""
    code = "food-business-license"
    submission = lifecycle_submission(run, code, commitment=True)
    enterprise = submission.applicant.model_copy(
        update={"credit_code": "91420684MA4E8X7Y1L", "enterprise_name": "宜城某某商贸有限公司"}
    )
    await run.client.submit(submission.model_copy(update={"applicant": enterprise}))
    inspected = await inspect(run, code, InspectionResult.FALSE_COMMITMENT, "承诺的冷库并不存在")
    await run.client.result(run.application_id)
    return [
        ACCEPTED,
        Expect(kind="commitment", item_code=code),
        license_of(code),
        inspected,
        Expect(kind="revocation", item_code=code),
        Expect(kind="credit", item_code=code),
        Expect(kind="referral", item_code=code),
        Expect(kind="revocation"),
    ]
