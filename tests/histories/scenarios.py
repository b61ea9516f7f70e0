"""Lifecycle scenarios whose histories are recorded under tests/histories/<name>/.

Each scenario drives a real worker through the typed client and returns the decision
trail it expects: what it did, by whom, in what role. `record.py` stores that beside the
histories; tests compare it with what `starter.audit.decision_trail` reads back.

To add a scenario: write an async function (client, catalog) -> list[Expect], add it to
SCENARIOS with a fixed application ID, and rerun `python -m tests.histories.record`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel

from domain.application import ItemStatus, ReviewDecision, ReviewVerdict, Submission
from domain.catalog import Catalog
from domain.people import Role, Staff
from onething.demo import DEMO_ITEM, demo_submission
from starter.audit import DecisionTrail
from starter.client import ClientError, Conflict, OnethingClient

# Only these kinds are compared: status rows the lead may add for bookkeeping are not
# decisions, but every one of these is.
DECISION_KINDS = frozenset(
    {
        "accepted",
        "refused",
        "decision",
        "supplement",
        "inspection",
        "extension",
        "escalation",
        "revocation",
        "license",
        "completed",
        "rejected",
        "commitment",
    }
)

CLERK = Staff(staff_id="clerk-001", role=Role.WINDOW_CLERK, hall="yicheng-center")


class Expect(BaseModel):
    kind: str
    actor: str = "system"
    role: str = "system"
    item_code: str | None = None
    reason: str | None = None


def observed(trail: DecisionTrail) -> list[Expect]:
    """The trail as a scenario states it: decision rows only, in order."""
    return [
        Expect(
            kind=r.kind,
            actor=r.actor,
            role=r.role,
            item_code=r.item_code,
            reason=r.reason if r.kind in ("decision", "refused", "rejected") else None,
        )
        for r in trail.rows
        if r.kind in DECISION_KINDS
    ]


def reviewer(catalog: Catalog, department: str | None = None) -> Staff:
    return Staff(
        staff_id="rev-007",
        role=Role.REVIEWER,
        department=department or catalog.item(DEMO_ITEM).department,
    )


def at_window(submission: Submission) -> Submission:
    return submission.model_copy(update={"accepted_by": CLERK})


async def wait_for_review(client: OnethingClient, application_id: str, item_code: str) -> None:
    for _ in range(400):
        try:
            state = await client.item_state(application_id, item_code)
        except ClientError:
            state = None
        if state is not None and state.status is ItemStatus.UNDER_REVIEW:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"the review of {application_id}/{item_code} never opened")


# -- scenarios ------------------------------------------------------------------------------


async def approved(client: OnethingClient, catalog: Catalog, application_id: str) -> list[Expect]:
    """Accepted at the window, approved by the reviewer, license issued."""
    await client.submit(at_window(demo_submission(catalog, application_id)))
    await wait_for_review(client, application_id, DEMO_ITEM)
    await client.decide(
        application_id,
        DEMO_ITEM,
        ReviewDecision(reviewer=reviewer(catalog), verdict=ReviewVerdict.APPROVE),
    )
    await client.result(application_id)
    return [
        Expect(kind="accepted", actor=CLERK.staff_id, role="window_clerk"),
        Expect(kind="decision", actor="rev-007", role="reviewer", item_code=DEMO_ITEM),
        Expect(kind="license", item_code=DEMO_ITEM),
        Expect(kind="completed"),
    ]


async def refused(client: OnethingClient, catalog: Catalog, application_id: str) -> list[Expect]:
    """Core materials missing: refused with one notice listing them all."""
    full = at_window(demo_submission(catalog, application_id))
    core = {m.code for m in catalog.item(DEMO_ITEM).materials if m.core and m.asked_for}
    await client.submit(
        full.model_copy(update={"materials": [c for c in full.materials if c not in core]})
    )
    outcome = await client.result(application_id)
    return [
        Expect(kind="refused", actor=CLERK.staff_id, role="window_clerk", reason=outcome.reason),
    ]


async def rejected(client: OnethingClient, catalog: Catalog, application_id: str) -> list[Expect]:
    """A wrong-department decision is refused by the validator (not in history); then a
    rejection with its reason."""
    await client.submit(at_window(demo_submission(catalog, application_id)))
    await wait_for_review(client, application_id, DEMO_ITEM)
    try:
        await client.decide(
            application_id,
            DEMO_ITEM,
            ReviewDecision(
                reviewer=reviewer(catalog, department="tax"), verdict=ReviewVerdict.APPROVE
            ),
        )
    except Conflict:
        pass
    else:
        raise AssertionError("a wrong-department decision was accepted")
    reason = "执业证书已过期"
    await client.decide(
        application_id,
        DEMO_ITEM,
        ReviewDecision(reviewer=reviewer(catalog), verdict=ReviewVerdict.REJECT, reason=reason),
    )
    await client.result(application_id)
    return [
        Expect(kind="accepted", actor=CLERK.staff_id, role="window_clerk"),
        Expect(
            kind="decision", actor="rev-007", role="reviewer", item_code=DEMO_ITEM, reason=reason
        ),
        Expect(kind="rejected", reason=f"{DEMO_ITEM}: {reason}"),
    ]


ScenarioRun = Callable[[OnethingClient, Catalog, str], Awaitable[list[Expect]]]


@dataclass(frozen=True)
class Scenario:
    name: str
    application_id: str
    run: ScenarioRun


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("approved", "rec-approved", approved),
    Scenario("refused", "rec-refused", refused),
    Scenario("rejected", "rec-rejected", rejected),
)
