"""The simulated service-center desk: made-up applicants, staff of each role, and what
they do through the typed client — the demo (`make run`), the bench's staff and the
tests all use this one. It drives the typed client, so it sits beside it in `starter/`,
above the infrastructure (`onething/`), which imports nothing of the client.

People: `made_up_applicant(seed)` (one per seed, so one test's credit records never bar
another's) and `demo_applicant()` (the one `make run` submits for): valid ID numbers of
region 420684 that belong to nobody (the demo applicant born 1990-01-01).
`staff(role, department)`: a member of staff of that role and department.

Acting: `item_in` waits until an item is in a status with its staff task open; `approve`
and `inspect` wait for the task, then decide it as the item's department would;
`eventually` polls any probe with a timeout. `StaffDesk` is the department staff at work:
reviewers and inspectors deciding whatever their inbox shows (the bench's load), through
`InboxWatch`, which the bench's mixed desk watches the inbox with too.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine
from temporalio.client import WorkflowUpdateFailedError

from domain.application import (
    InspectionReport,
    InspectionResult,
    ItemState,
    ItemStatus,
    ReviewDecision,
    ReviewVerdict,
    Submission,
)
from domain.bundle import as_bundle, one_set_of_materials
from domain.catalog import Catalog
from domain.people import Applicant, Role, Staff, resident_id_check_digit
from starter.client import ClientError, OnethingClient
from store.db import session
from store.tasks import StaffTask, open_tasks

T = TypeVar("T")

# -- people ------------------------------------------------------------------------------

_REGION = "420684"
_MADE_UP_BORN, _MADE_UP_DAYS = date(1960, 1, 1), 14_000  # to 1998-04
_MADE_UP_PREFIX = "42068419900101"  # region 420684, born 1990-01-01; the sequence follows
_DEMO_SEQUENCE = 100


def made_up_id_number(sequence: int) -> str:
    """A valid ID number (check digit right) that belongs to nobody, by sequence 0-999."""
    first17 = f"{_MADE_UP_PREFIX}{sequence % 1000:03d}"
    return first17 + resident_id_check_digit(first17)


def made_up_applicant(seed: str) -> Applicant:
    """A made-up applicant per seed: one test's credit records never bar another's. The
    seed's hash picks a birthday (1960-1998) and a sequence, some ten million people and
    never the demo applicant: a thousand made the demo one seed in a thousand, and a
    random seed's false commitment then barred it."""
    hashed = zlib.crc32(seed.encode())
    born = _MADE_UP_BORN + timedelta(days=hashed % _MADE_UP_DAYS)
    sequence = hashed // _MADE_UP_DAYS % 1000
    first17 = f"{_REGION}{born:%Y%m%d}{sequence:03d}"
    if first17 == f"{_MADE_UP_PREFIX}{_DEMO_SEQUENCE:03d}":
        first17 = f"{_MADE_UP_PREFIX}{_DEMO_SEQUENCE + 1:03d}"
    return Applicant(
        name="测试", id_number=first17 + resident_id_check_digit(first17), phone="13900000001"
    )


def demo_applicant() -> Applicant:
    """The applicant of the demo, the bench and the embedded token file's demo entry."""
    return Applicant(
        name="王演示", id_number=made_up_id_number(_DEMO_SEQUENCE), phone="13900000000"
    )


def staff(role: Role, department: str, *, prefix: str = "") -> Staff:
    """A member of staff: `<prefix><role>-<department>` (the embedded token file's names
    for a reviewer or inspector, e.g. `reviewer-health`)."""
    return Staff(staff_id=f"{prefix}{role.value}-{department}", role=role, department=department)


def full_submission(
    catalog: Catalog,
    target: str,
    application_id: str,
    applicant: Applicant,
    *,
    leave_out: tuple[str, ...] = (),
    commitment: bool = False,
    pledge: bool = False,
    accepted_by: Staff | None = None,
) -> Submission:
    """Everything the one set of materials asks for (conditional ones aside), less `leave_out`."""
    materials = one_set_of_materials(catalog, as_bundle(catalog, target))
    return Submission.model_validate(
        {
            "application_id": application_id,
            "bundle_code" if target in catalog.bundles else "item_code": target,
            "applicant": applicant,
            "materials": [
                m.code for m in materials.to_bring if not m.condition and m.code not in leave_out
            ],
            "commitment_signed": commitment,
            "deficiency_pledge_signed": pledge,
            "accepted_by": accepted_by,
        }
    )


# -- acting through the client ----------------------------------------------------------


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    ok: Callable[[T], object],
    what: str,
    *,
    attempts: int = 300,
    poll_s: float = 0.05,
) -> T:
    """Poll `probe` until its value is `ok` (`bool`: truthy); a `ClientError` (the workflow
    not there yet) counts as no value. AssertionError naming `what` if never (by default
    after 300 tries 0.05 s apart)."""
    for _ in range(attempts):
        try:
            value = await probe()
        except ClientError:
            value = None
        if value is not None and ok(value):
            return value
        await asyncio.sleep(poll_s)
    raise AssertionError(f"never happened: {what}")


async def item_in(
    client: OnethingClient, application_id: str, item_code: str, *statuses: ItemStatus
) -> ItemState:
    """Until the item is in one of `statuses` with its staff task open."""

    async def state() -> ItemState:
        return await client.item_state(application_id, item_code)

    return await eventually(
        state,
        lambda s: s.status in statuses and s.open_task is not None,
        f"{application_id}/{item_code} in {statuses}",
        attempts=400,
        poll_s=0.025,
    )


async def approve(
    client: OnethingClient, catalog: Catalog, application_id: str, item_code: str
) -> Staff:
    """Once the review is open, its department's reviewer approves; returns the reviewer."""
    await item_in(client, application_id, item_code, ItemStatus.UNDER_REVIEW)
    reviewer = staff(Role.REVIEWER, catalog.item(item_code).department)
    await client.decide(
        application_id,
        item_code,
        ReviewDecision(reviewer=reviewer, verdict=ReviewVerdict.APPROVE),
    )
    return reviewer


async def inspect(
    client: OnethingClient,
    catalog: Catalog,
    application_id: str,
    item_code: str,
    result: InspectionResult,
    findings: str | None = None,
) -> Staff:
    """Once the inspection (or its re-inspection) is open, its department's inspector
    reports `result`; returns the inspector."""
    await item_in(client, application_id, item_code, ItemStatus.INSPECTING, ItemStatus.RECTIFYING)
    inspector = staff(Role.INSPECTOR, catalog.item(item_code).department)
    await client.inspect(
        application_id,
        item_code,
        InspectionReport(inspector=inspector, result=result, findings=findings),
    )
    return inspector


# -- the department staff at work --------------------------------------------------------

_STAFF_ROLES = frozenset({Role.REVIEWER.value, Role.INSPECTOR.value})
# Ended for good (ISSUED is not: a post-issuance inspection may be about to open).
_DONE = frozenset({ItemStatus.CLOSED, ItemStatus.REJECTED, ItemStatus.REVOKED, ItemStatus.STOPPED})


class InboxWatch:
    """The staff inbox watched every `poll_s`: each open task of a reviewer or inspector on
    an item goes once to `act`, run as a task of its own, if `wanted` says so; `forget`
    hands a task over again at the next look. The store may be down for a while: that is
    counted in `errors` and looked at again."""

    def __init__(
        self,
        engine: Engine,
        act: Callable[[StaffTask], Coroutine[Any, Any, None]],
        *,
        poll_s: float,
        errors: Counter[str],
        wanted: Callable[[StaffTask], bool] = lambda row: True,
    ) -> None:
        self.engine = engine
        self.act = act
        self.poll_s = poll_s
        self.errors = errors
        self.wanted = wanted
        self._seen: set[str] = set()
        self._acting: set[asyncio.Task[None]] = set()

    def forget(self, task_id: str) -> None:
        self._seen.discard(task_id)

    async def run(self) -> None:
        while True:
            try:
                rows = await asyncio.to_thread(open_tasks, self.engine)
            except Exception as exc:  # the store may be down for a while: try again
                self.errors[type(exc).__name__] += 1
                await asyncio.sleep(self.poll_s * 5)
                continue
            for row in rows:
                if row.task_id in self._seen or row.role not in _STAFF_ROLES or not row.item_code:
                    continue
                if not self.wanted(row):
                    continue
                self._seen.add(row.task_id)
                act = asyncio.create_task(self.act(row))
                self._acting.add(act)
                act.add_done_callback(self._acting.discard)
            await asyncio.sleep(self.poll_s)

    @asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """The watch runs while the block does; what it started is cancelled after."""
        loop = asyncio.create_task(self.run())
        try:
            yield
        finally:
            loop.cancel()
            for act in list(self._acting):
                act.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop


class StaffDesk:
    """Reviewers and inspectors of every department, acting at once on what their inbox
    shows: every review approved, every inspection passed, by `staff(role, department,
    prefix=staff_prefix)`.

    The inbox row is written by the (local) activity that opens the task, and the workflow
    records it as open before it takes any update, so the desk decides at once, as a
    department's backend would. A refusal (billed by Temporal Cloud all the same, counted in
    `rejected_updates`) makes it read the item's state (a query: free) before it tries again.
    """

    def __init__(
        self,
        client: OnethingClient,
        engine: Engine,
        *,
        poll_s: float = 0.02,
        staff_prefix: str = "",
    ) -> None:
        self.client = client
        self.engine = engine
        self.poll_s = poll_s
        self.staff_prefix = staff_prefix
        self.decisions = 0
        self.rejected_updates = 0
        self.errors: Counter[str] = Counter()
        self._inbox = InboxWatch(engine, self._act, poll_s=poll_s, errors=self.errors)

    @asynccontextmanager
    async def at_work(self) -> AsyncIterator[StaffDesk]:
        async with self._inbox.watching():
            yield self

    async def _act(self, row: StaffTask) -> None:
        """Decide as soon as the task is in the inbox; read the item's state only after a
        refusal (the workflow had not yet recorded the task as open, or it moved on)."""
        assert row.item_code is not None and row.department is not None
        app, code = row.application_id, row.item_code
        for _ in range(500):
            try:
                await self._decide(row)
                self.decisions += 1
                return
            except Exception as exc:
                if isinstance(exc.__cause__, WorkflowUpdateFailedError):
                    self.rejected_updates += 1  # the validator refused it: billed, not in history
                else:
                    self.errors[type(exc).__name__] += 1
            await asyncio.sleep(self.poll_s)
            try:
                state = await self.client.item_state(app, code)
            except Exception as exc:  # not there yet, or the server restarting
                self.errors[type(exc).__name__] += 1
                await asyncio.sleep(self.poll_s * 5)
                continue
            task = state.open_task
            if task is not None and task.task_id == row.task_id:
                continue  # open now: decide again
            if state.status in _DONE or not await asyncio.to_thread(self._still_open, row):
                return  # the item moved on (stopped, or someone else decided)
        self.errors["gave up"] += 1
        self._inbox.forget(row.task_id)  # the next look at the inbox tries again

    def _still_open(self, row: StaffTask) -> bool:
        try:
            with session(self.engine) as s:
                found = s.get(StaffTask, row.task_id)
        except Exception as exc:  # the store may be down for a while: assume it is
            self.errors[type(exc).__name__] += 1
            return True
        return found is not None and found.status == "open"

    async def _decide(self, row: StaffTask) -> None:
        assert row.item_code is not None and row.department is not None
        app, code, department = row.application_id, row.item_code, row.department
        if row.role == Role.REVIEWER.value:
            await self.client.decide(
                app,
                code,
                ReviewDecision(
                    reviewer=staff(Role.REVIEWER, department, prefix=self.staff_prefix),
                    verdict=ReviewVerdict.APPROVE,
                ),
            )
        else:
            await self.client.inspect(
                app,
                code,
                InspectionReport(
                    inspector=staff(Role.INSPECTOR, department, prefix=self.staff_prefix),
                    result=InspectionResult.PASSED,
                ),
            )
