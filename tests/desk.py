"""The simulated service-center desk the scenario tests share: `starter.desk` (the one
the demo and the bench use too), and the tests' own fixed reviewer.

The tests' one way to wait is `eventually` (poll until a value is right) and, on the
time-skipping server, `skip_to` (move its clock on to an instant)."""

from __future__ import annotations

from datetime import datetime

from temporalio.testing import WorkflowEnvironment

from domain.application import ApplicationState, ApplicationStatus, ItemState, ItemStatus
from domain.catalog import Catalog
from domain.people import Role, Staff
from starter.client import OnethingClient
from starter.demo import DEMO_ITEM, demo_submission
from starter.desk import (
    approve,
    eventually,
    full_submission,
    inspect,
    item_in,
    made_up_applicant,
    staff,
)

__all__ = [
    "approve",
    "complete_demo",
    "eventually",
    "full_submission",
    "inspect",
    "item_in",
    "made_up_applicant",
    "reviewer",
    "skip_to",
    "staff",
    "wait_for_assessment",
    "wait_for_review",
]


def reviewer(catalog: Catalog, department: str | None = None) -> Staff:
    """The reviewer `rev-007` of `department` (default: the demo item's), as the recorded
    histories name them."""
    return Staff(
        staff_id="rev-007",
        role=Role.REVIEWER,
        department=department or catalog.item(DEMO_ITEM).department,
    )


async def wait_for_review(
    client: OnethingClient, application_id: str, item_code: str = DEMO_ITEM
) -> ItemState:
    """Until the item's review is open (its task with it)."""
    return await item_in(client, application_id, item_code, ItemStatus.UNDER_REVIEW)


async def wait_for_assessment(client: OnethingClient, application_id: str) -> ApplicationState:
    """Until the application has been assessed at the window (accepted or told to correct)."""
    return await eventually(
        lambda: client.state(application_id),
        lambda s: s.status is not ApplicationStatus.SUBMITTED,
        f"{application_id} assessed",
    )


async def complete_demo(client: OnethingClient, catalog: Catalog, application_id: str) -> None:
    """The demo application submitted, approved by its reviewer, and run to its end."""
    await client.submit(demo_submission(catalog, application_id))
    await approve(client, catalog, application_id, DEMO_ITEM)
    await eventually(
        lambda: client.state(application_id),
        lambda s: s.status is ApplicationStatus.COMPLETED,
        "the application completes",
    )


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    """The time-skipping server's clock moved on to `instant` (never back)."""
    now = await env.get_current_time()
    if instant > now:
        await env.sleep(instant - now)
