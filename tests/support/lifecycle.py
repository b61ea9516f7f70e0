"""What the workflow scenario tests share beyond the desk (tests/desk.py): a full
submission with a fresh ID, the billable actions an application cost, its trail's actions,
and the beauty salon's application waiting at its correction notice (补正)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import (
    ApplicationState,
    ApplicationStatus,
    Submission,
    TrailEntry,
    application_workflow_id,
)
from domain.catalog import Catalog
from domain.people import Role
from onething.costs import application_actions
from starter.client import OnethingClient
from starter.demo import demo_applicant
from tests.conftest import new_application_id, onething_client
from tests.costs_report import SCENARIO_COSTS
from tests.desk import eventually, full_submission, made_up_applicant, staff

DAY = timedelta(days=1)
CLERK = staff(Role.WINDOW_CLERK, "window")
SALON = "open-beauty-salon"
MISSING = ("operator-id", "premises-proof")  # two of the salon's core materials


def submission(
    catalog: Catalog,
    target: str,
    *,
    leave_out: tuple[str, ...] = (),
    commitment: bool = False,
    pledge: bool = False,
    applicant_seed: str | None = None,
) -> Submission:
    """Everything the one set of materials asks for, less `leave_out`, with a fresh ID."""
    applicant = demo_applicant() if applicant_seed is None else made_up_applicant(applicant_seed)
    return full_submission(
        catalog,
        target,
        new_application_id(),
        applicant,
        leave_out=leave_out,
        commitment=commitment,
        pledge=pledge,
    )


async def report_cost(env: WorkflowEnvironment, scenario: str, application_id: str) -> int:
    """The application's billable actions, kept for the costs report; their sum."""
    counts = await application_actions(env.client, application_workflow_id(application_id))
    SCENARIO_COSTS[scenario] = counts
    return sum(counts.values())


def trail_actions(trail: list[TrailEntry]) -> list[str]:
    return [entry.action for entry in trail]


async def awaiting_correction(client: OnethingClient, application_id: str) -> ApplicationState:
    """Until the correction notice is out, its limit scheduled."""
    return await eventually(
        lambda: client.state(application_id),
        lambda s: (
            s.status is ApplicationStatus.AWAITING_CORRECTION
            and s.correction_clock is not None
            and s.correction_clock.due_at is not None
        ),
        "the correction notice",
    )


@asynccontextmanager
async def salon_awaiting_correction(
    env: WorkflowEnvironment, engine: Engine, catalog: Catalog
) -> AsyncIterator[tuple[OnethingClient, ApplicationState]]:
    """A beauty salon's application, two materials short, at its correction notice; with
    the client of a worker of `env`."""
    sub = submission(catalog, SALON, leave_out=MISSING)
    async with onething_client(env, engine, catalog) as client:
        await client.submit(sub)
        yield client, await awaiting_correction(client, sub.application_id)
