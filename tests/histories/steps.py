"""What the recorded scenarios (tests/histories/scenarios.py) share: the trail rows they
expect and how they compare with the trail read back, who acts, and the steps a window and
a department take through the typed client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel
from temporalio.testing import WorkflowEnvironment

from audit.kinds import Kind
from audit.rows import DecisionTrail
from domain.application import (
    ApplicationStatus,
    InspectionResult,
    ItemState,
    ItemStatus,
    Submission,
)
from domain.catalog import Catalog
from domain.people import Role, Staff
from starter.client import OnethingClient
from starter.demo import DEMO_ITEM, demo_submission
from tests.desk import approve as desk_approve
from tests.desk import eventually, full_submission, made_up_applicant
from tests.desk import inspect as desk_inspect
from tests.desk import item_in as desk_item_in

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)

# Only these kinds are compared: status rows the lead may add for bookkeeping are not
# decisions, but every one of these is.
DECISION_KINDS = frozenset(
    {
        Kind.ACCEPTED,
        Kind.CORRECTION,
        Kind.LAPSED,
        Kind.REFUSED,
        Kind.DECISION,
        Kind.SUPPLEMENT,
        Kind.INSPECTION,
        Kind.EXTENSION,
        Kind.EXCLUDED_TIME,
        Kind.ESCALATION,
        Kind.REFERRAL,
        Kind.REVOCATION,
        Kind.LICENSE,
        Kind.COMPLETED,
        Kind.REJECTED,
        Kind.COMMITMENT,
        Kind.STOPPED,
        Kind.CREDIT,
        Kind.WITHDRAWAL,
        Kind.CANCELLATION,
    }
)

CLERK = Staff(staff_id="clerk-001", role=Role.WINDOW_CLERK, hall="yicheng-center")
# Another clerk of the hall, who receives materials later.
CLERK_2 = Staff(staff_id="clerk-002", role=Role.WINDOW_CLERK, hall="yicheng-center")


class Expect(BaseModel):
    kind: str
    actor: str = "system"
    role: str = "system"
    item_code: str | None = None
    reason: str | None = None


# Reasons are compared where a person or a rule gave them.
REASON_KINDS = frozenset(
    {
        Kind.DECISION,
        Kind.REFUSED,
        Kind.LAPSED,
        Kind.REJECTED,
        Kind.INSPECTION,
        Kind.EXTENSION,
        Kind.EXCLUDED_TIME,
        Kind.WITHDRAWAL,
        Kind.CANCELLATION,
    }
)


def observed(trail: DecisionTrail) -> list[Expect]:
    """The trail as a scenario states it: decision rows only, in order."""
    return [
        Expect(
            kind=r.kind,
            actor=r.actor,
            role=r.role,
            item_code=r.item_code,
            reason=r.reason if r.kind in REASON_KINDS else None,
        )
        for r in trail.rows
        if r.kind in DECISION_KINDS
    ]


def per_workflow(rows: list[Expect]) -> dict[str | None, list[Expect]]:
    """Rows per item (None: the application); items of a bundle run in parallel, so only
    the order within one workflow is fixed."""
    grouped: dict[str | None, list[Expect]] = {}
    for row in rows:
        grouped.setdefault(row.item_code, []).append(row)
    return grouped


def at_window(submission: Submission) -> Submission:
    return submission.model_copy(update={"accepted_by": CLERK})


# -- a run of a scenario, and its steps --------------------------------------------------


@dataclass(frozen=True)
class Run:
    client: OnethingClient
    catalog: Catalog
    application_id: str
    env: WorkflowEnvironment

    async def pass_time(self, delta: timedelta) -> None:
        """Time that passes in the story but that no limit depends on: skipped over on the
        time-skipping server; on the dev server (real time) none passes."""
        if self.env.supports_time_skipping:
            await self.env.sleep(delta)


def lifecycle_submission(
    run: Run,
    target: str,
    *,
    leave_out: tuple[str, ...] = (),
    commitment: bool = False,
    pledge: bool = False,
) -> Submission:
    """The one set of materials for `target`, less `leave_out`, handed in at the window."""
    return full_submission(
        run.catalog,
        target,
        run.application_id,
        made_up_applicant(run.application_id),
        leave_out=leave_out,
        commitment=commitment,
        pledge=pledge,
        accepted_by=CLERK,
    )


async def item_in(run: Run, item_code: str, *statuses: ItemStatus) -> ItemState:
    return await desk_item_in(run.client, run.application_id, item_code, *statuses)


async def approve(run: Run, item_code: str) -> Expect:
    reviewer = await desk_approve(run.client, run.catalog, run.application_id, item_code)
    return Expect(kind="decision", actor=reviewer.staff_id, role="reviewer", item_code=item_code)


async def inspect(
    run: Run, item_code: str, result: InspectionResult, findings: str | None = None
) -> Expect:
    inspector = await desk_inspect(
        run.client, run.catalog, run.application_id, item_code, result, findings
    )
    return Expect(
        kind="inspection",
        actor=inspector.staff_id,
        role="inspector",
        item_code=item_code,
        reason=findings,
    )


async def filed(run: Run, item_code: str) -> None:
    """Until the application knows the filing recorded (on the spot: no staff task, the
    item's workflow ends)."""
    await eventually(
        lambda: run.client.state(run.application_id),
        lambda s: any(i.item_code == item_code and i.status is ItemStatus.CLOSED for i in s.items),
        f"{run.application_id}/{item_code} recorded",
        attempts=400,
        poll_s=0.025,
    )


ACCEPTED = Expect(kind="accepted", actor=CLERK.staff_id, role="window_clerk")


def license_of(item_code: str) -> Expect:
    return Expect(kind="license", item_code=item_code)


def incomplete(run: Run, *missing: str) -> Submission:
    """The demo item at the window without `missing` (core materials of the applicant's)."""
    full = at_window(demo_submission(run.catalog, run.application_id))
    return full.model_copy(update={"materials": [c for c in full.materials if c not in missing]})


def core_materials(run: Run) -> list[str]:
    """The demo item's core materials the applicant brings (not shared data)."""
    return [m.code for m in run.catalog.item(DEMO_ITEM).materials if m.core and m.asked_for]


async def awaiting_correction(run: Run) -> None:
    await eventually(
        lambda: run.client.state(run.application_id),
        lambda s: s.status is ApplicationStatus.AWAITING_CORRECTION,
        f"{run.application_id} waits for a correction",
        attempts=400,
        poll_s=0.025,
    )


# 补正: the window's correction notice, listing every missing material (the clerk's).
CORRECTION_NOTICE = Expect(kind="correction", actor=CLERK.staff_id, role="window_clerk")
