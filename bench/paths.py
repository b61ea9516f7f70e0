"""How the bench's applications go (its paths), what they apply for, its configuration, and the
submissions and supplements of its made-up applicants (the staff are the simulated desk's,
`starter.desk`)."""

from __future__ import annotations

import asyncio
import uuid
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field
from temporalio.client import WorkflowUpdateFailedError

from domain.application import ApplicationStatus, Channel, Submission, Supplement
from domain.bundle import as_bundle, one_set_of_materials
from domain.catalog import Catalog
from onething.settings import DEFAULT_CACHED_WORKFLOWS
from starter.client import ClientError, OnethingClient
from starter.desk import demo_applicant

# The bench's staff IDs start so, telling its decisions apart in a trail.
BENCH_STAFF = "bench-"


class BenchPath(StrEnum):
    COMMITMENT = "commitment"  # commitment signed: items that admit it issue at once
    REVIEW = "review"  # every item reviewed by its department
    DEFICIENCY = "deficiency"  # a deferrable material left out, supplemented by mail
    MIXED = "mixed"  # the soak: every kind at once, until each ends (bench/mixed.py)


DEFAULT_TARGETS = {
    BenchPath.COMMITMENT: "open-convenience-store",
    BenchPath.REVIEW: "food-business-license",
    BenchPath.DEFICIENCY: "food-business-license",
    BenchPath.MIXED: "open-convenience-store",  # the mix has its own targets
}


class BenchConfig(BaseModel):
    applications: int = Field(200, ge=1)
    concurrency: int = Field(20, ge=1)
    path: BenchPath = BenchPath.COMMITMENT
    target: str | None = None  # a bundle or item code; default by path
    bare_workflows: int = Field(400, ge=1)
    # Enough in flight that the dev server's one-second timer resolution does not bound it.
    bare_concurrency: int = Field(100, ge=1)
    open_applications: int = Field(1000, ge=0)
    open_concurrency: int = Field(50, ge=1)
    warmup: int = Field(5, ge=0)
    database_url: str | None = None  # default: a SQLite file beside the dev server's
    in_memory_server: bool = False  # the dev server without its SQLite file
    profile: Path | None = None  # py-spy's collapsed stacks of the worker in the timed phase
    worker_passthrough: list[str] = []  # an experiment (see the performance notes)
    # The worker's sticky cache (ONETHING_MAX_CACHED_WORKFLOWS): what bounds its memory.
    max_cached_workflows: int = Field(DEFAULT_CACHED_WORKFLOWS, ge=1)
    staff_poll_s: float = Field(0.02, gt=0)
    twin: bool = False  # also run the same-shape twin (bench/twin.py): commitment store only

    @property
    def chosen_target(self) -> str:
        return self.target or DEFAULT_TARGETS[self.path]


def bench_submission(catalog: Catalog, target: str, path: BenchPath) -> Submission:
    """Every material the one set asks for (less one deferrable on the deficiency path)."""
    materials = one_set_of_materials(catalog, as_bundle(catalog, target))
    codes = [m.code for m in materials.to_bring if not m.condition]
    if path is BenchPath.DEFICIENCY:
        deferrable = deferrable_material(catalog, target)
        codes = [c for c in codes if c != deferrable]
    return Submission(
        application_id=f"B{uuid.uuid4().hex[:14]}",
        **({"bundle_code": target} if target in catalog.bundles else {"item_code": target}),
        applicant=demo_applicant(),
        materials=codes,
        commitment_signed=path is BenchPath.COMMITMENT,
        deficiency_pledge_signed=path is BenchPath.DEFICIENCY,
    )


def deferrable_material(catalog: Catalog, target: str) -> str:
    bundle = as_bundle(catalog, target)
    for code in bundle.order():
        for material in catalog.item(code).materials:
            if material.deferrable:
                return material.code
    raise ValueError(f"{target!r} has no deferrable material: no deficiency path")


async def supplement_when_awaited(
    client: OnethingClient, submission: Submission, missing: list[str], poll_s: float = 0.02
) -> int:
    """The applicant mails the missing materials once the deficiency is recorded; returns
    how many supplements were refused before (billable)."""
    refused = 0
    for _ in range(1000):
        try:
            state = await client.state(submission.application_id)
        except ClientError:
            state = None
        if state is not None and state.status is ApplicationStatus.AWAITING_SUPPLEMENT:
            try:
                await client.supplement(
                    submission.application_id, Supplement(materials=missing, channel=Channel.MAIL)
                )
                return refused
            except ClientError as exc:
                if isinstance(exc.__cause__, WorkflowUpdateFailedError):
                    refused += 1  # billed, never in history
        elif state is not None and state.status.closed:
            return refused
        await asyncio.sleep(poll_s)
    raise TimeoutError(f"{submission.application_id}: the deficiency was never recorded")
