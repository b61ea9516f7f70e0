"""The mixed soak (`onething bench --path mixed`, issue 18): many kinds of application at once.

A fixed, seeded mix of applications (`bench.mixed_plan`: a convenience store on commitment, a
food license reviewed, one with a deficiency supplemented by mail, one corrected at the
reviewer's request, some withdrawn, some rejected) runs on the bench's own dev server and
worker process, with simulated staff and applicants acting after seeded random delays, until
every application ends. It reports (`bench.mixed_report`), against the mix: how each kind
ended, the stuck (still running `stuck_after_s` after the last act on it) and the lost
(submitted, but no workflow or no result), throughput, end-to-end latency, history events and
billable actions per kind, and the worker's resident memory sampled every `rss_every_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Engine
from temporalio.client import WorkflowUpdateFailedError

from bench.environment import BenchEnvironment, bench_environment
from bench.measure import (
    HistoryFigures,
    Meter,
    Percentiles,
    ProgressFactory,
    gather_limited,
    history_figures,
    machine,
    metered,
    no_progress,
    percentiles,
)
from bench.mixed_plan import MIX, Case, Kind, MixedConfig, plan_mix
from bench.mixed_report import KindResult, MixedReport, RssSample, flat_after_warm_up, sampling_rss
from bench.paths import BENCH_STAFF, bench_submission, deferrable_material
from domain.application import (
    ApplicationStatus,
    Channel,
    Correction,
    InspectionReport,
    InspectionResult,
    ReviewDecision,
    ReviewVerdict,
    Supplement,
    Withdrawal,
    application_workflow_id,
)
from domain.catalog import Catalog
from domain.people import Role
from starter.client import ClientError, NotFound, OnethingClient
from starter.desk import InboxWatch, staff
from store.tasks import StaffTask


@dataclass
class MixedDesk:
    """Reviewers, inspectors and, for the withdrawn and corrected kinds, the applicant: each
    task in the staff inbox is acted on after a seeded random delay, as its case's kind says.

    A refused update (the workflow had not yet recorded the task as open) is tried again after
    reading the item's state (a query: free)."""

    client: OnethingClient
    engine: Engine
    cases: dict[str, Case]
    seed: int
    max_delay_s: float
    poll_s: float
    acts: Counter[str] = field(default_factory=Counter)
    rejected_updates: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._inbox = InboxWatch(
            self.engine,
            lambda row: self._act(self.cases[row.application_id], row),
            poll_s=self.poll_s,
            errors=self.errors,
            wanted=lambda row: row.application_id in self.cases,
        )

    def delay(self, case: Case, step: str) -> float:
        """The same delay for the same seed, case and step, whatever the timing of the run."""
        return random.Random(f"{self.seed}/{case.index}/{step}").uniform(0, self.max_delay_s)

    @asynccontextmanager
    async def at_work(self) -> AsyncIterator[MixedDesk]:
        async with self._inbox.watching():
            yield self

    async def _act(self, case: Case, row: StaffTask) -> None:
        assert row.item_code is not None and row.department is not None
        app, code, department = case.application_id, row.item_code, row.department
        if row.role == Role.INSPECTOR.value:
            report = InspectionReport(
                inspector=staff(Role.INSPECTOR, department, prefix=BENCH_STAFF),
                result=InspectionResult.PASSED,
            )
            await self._after(case, f"{code}/inspect", self.client.inspect, app, code, report)
            return
        if case.kind is Kind.WITHDRAWN:
            withdrawal = Withdrawal(reason="申请人决定暂不开办")
            await self._after(case, "withdraw", self.client.withdraw, app, withdrawal)
            return
        reviewer = staff(Role.REVIEWER, department, prefix=BENCH_STAFF)
        if case.kind is Kind.REJECTED:
            decision = ReviewDecision(
                reviewer=reviewer, verdict=ReviewVerdict.REJECT, reason="经营场所不符合要求"
            )
            await self._after(case, f"{code}/reject", self.client.decide, app, code, decision)
            return
        if case.kind is Kind.CORRECTION:
            ask = ReviewDecision(
                reviewer=reviewer,
                verdict=ReviewVerdict.REQUEST_CORRECTION,
                reason="健康证明已过期",
            )
            if not await self._after(case, f"{code}/ask", self.client.decide, app, code, ask):
                return
            answer = Correction(channel=Channel.ONLINE, note="已上传新的健康证明")
            if not await self._after(
                case, f"{code}/correct", self.client.correct, app, code, answer
            ):
                return
        approve = ReviewDecision(reviewer=reviewer, verdict=ReviewVerdict.APPROVE)
        await self._after(case, f"{code}/approve", self.client.decide, app, code, approve)

    async def _after(self, case: Case, step: str, act: object, *args: object) -> bool:
        """Wait the step's delay, then act, trying again while the workflow refuses (it had
        not yet recorded the task as open). False when the case ended meanwhile."""
        await asyncio.sleep(self.delay(case, step))
        assert callable(act)
        for _ in range(300):
            if case.ended_mono is not None:
                return False
            try:
                await act(*args)
                case.last_act = time.monotonic()
                self.acts[step.rsplit("/", 1)[-1]] += 1
                return True
            except ClientError as exc:
                if isinstance(exc.__cause__, WorkflowUpdateFailedError):
                    self.rejected_updates += 1  # billed, not in history
                else:
                    self.errors[type(exc).__name__] += 1
            except Exception as exc:
                self.errors[type(exc).__name__] += 1
            await asyncio.sleep(self.poll_s)
        self.errors["gave up"] += 1
        return False


async def supplement_by_mail(
    client: OnethingClient, case: Case, missing: str, delay_s: float, poll_s: float
) -> None:
    """The applicant mails the deferred material once the deficiency is recorded, after its
    delay."""
    app = case.application_id
    while case.ended_mono is None:
        with contextlib.suppress(ClientError):
            state = await client.state(app)
            if state.status is ApplicationStatus.AWAITING_SUPPLEMENT:
                break
            if state.status.closed:
                return
        await asyncio.sleep(poll_s * 2)
    await asyncio.sleep(delay_s)
    for _ in range(300):
        try:
            await client.supplement(app, Supplement(materials=[missing], channel=Channel.MAIL))
            case.last_act = time.monotonic()
            return
        except ClientError:
            if case.ended_mono is not None:
                return
        await asyncio.sleep(poll_s)


async def follow(
    client: OnethingClient,
    catalog: Catalog,
    desk: MixedDesk,
    case: Case,
    stuck_after_s: float,
) -> None:
    """Submit one case and wait for its end; stuck when nothing ends it within `stuck_after_s`
    of the last act on it, lost when its workflow is gone or ends without a result."""
    app = case.application_id
    case.submitted_at, case.submitted_mono = time.time(), time.monotonic()
    case.last_act = case.submitted_mono
    try:
        await client.submit(case.submission)
    except Exception as exc:  # never started: not submitted, counted as lost
        case.status, case.lost = f"submit failed: {type(exc).__name__}", True
        return
    case.status = ApplicationStatus.SUBMITTED.value
    helper: asyncio.Task[None] | None = None
    if case.kind is Kind.DEFICIENCY:
        missing = deferrable_material(catalog, case.kind.target)
        delay = desk.delay(case, "supplement")
        helper = asyncio.create_task(supplement_by_mail(client, case, missing, delay, desk.poll_s))
    result = asyncio.ensure_future(client.result(app))
    try:
        while True:
            wait = case.last_act + stuck_after_s - time.monotonic()
            done, _ = await asyncio.wait({result}, timeout=max(wait, 0.0))
            if done:
                break
            if time.monotonic() >= case.last_act + stuck_after_s:
                case.stuck = True
                try:
                    case.status = "stuck: " + (await client.state(app)).status.value
                except NotFound:
                    case.status, case.lost = "lost: no workflow", True
                except ClientError as exc:
                    case.status = f"stuck: {type(exc).__name__}"
                return
        try:
            outcome = result.result()
            case.status = outcome.status.value
        except NotFound:
            case.status, case.lost = "lost: no workflow", True
        except ClientError as exc:  # ended without a result: failed, terminated, timed out
            case.status, case.lost = f"lost: {type(exc).__name__}", True
    finally:
        case.ended_mono = time.monotonic()
        result.cancel()
        if helper is not None:
            helper.cancel()


async def run_mixed(
    config: MixedConfig, *, progress: ProgressFactory = no_progress, command: str = ""
) -> MixedReport:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    async with bench_environment(
        None, config.database_url, in_memory=config.in_memory_server
    ) as env:
        return await _run(env, config, progress, command, started)


async def _run(
    env: BenchEnvironment,
    config: MixedConfig,
    progress: ProgressFactory,
    command: str,
    started: str,
) -> MixedReport:
    queue = f"bench-mixed-{uuid.uuid4().hex[:6]}"
    worker = env.worker("onething", queue, max_cached_workflows=config.max_cached_workflows)
    await worker.start()
    client = env.onething_client(queue)
    cases = [
        Case(index, kind, bench_submission(env.catalog, kind.target, kind.path))
        for index, kind in enumerate(plan_mix(config.applications, config.seed))
    ]
    by_id = {c.application_id: c for c in cases}
    desk = MixedDesk(client, env.engine, by_id, config.seed, config.staff_delay_s, config.poll_s)
    advance = progress("mixed soak", len(cases))
    try:
        async with (
            desk.at_work(),
            metered(worker, env.server) as meter,
            sampling_rss(worker, cases, config.rss_every_s) as samples,
        ):
            await gather_limited(
                [
                    partial(follow, client, env.catalog, desk, case, config.stuck_after_s)
                    for case in cases
                ],
                config.concurrency,
                advance,
            )
    finally:
        worker.stop()
    figures: list[HistoryFigures | None] = await gather_limited(
        [partial(_figures, env, c) for c in cases], 20
    )
    return _report(config, command, started, cases, figures, desk, meter, samples)


async def _figures(env: BenchEnvironment, case: Case) -> HistoryFigures | None:
    if case.lost or case.status == "not submitted":
        return None
    with contextlib.suppress(Exception):
        return await history_figures(env.client, application_workflow_id(case.application_id))
    return None


def _report(
    config: MixedConfig,
    command: str,
    started: str,
    cases: list[Case],
    figures: list[HistoryFigures | None],
    desk: MixedDesk,
    meter: Meter,
    samples: list[RssSample],
) -> MixedReport:
    wall = meter.wall_s or 1e-9
    ended = [c for c in cases if c.ended_mono is not None and not c.stuck and not c.lost]

    def latency(of: list[Case]) -> Percentiles | None:
        return percentiles([c.ended_mono - c.submitted_mono for c in of if c.ended_mono])

    kinds: list[KindResult] = []
    for kind, share in MIX.items():
        mine = [(c, f) for c, f in zip(cases, figures, strict=True) if c.kind is kind]
        weighed = [f for _, f in mine if f is not None]
        kinds.append(
            KindResult(
                kind=kind,
                mix_percent=share,
                planned=len(mine),
                expected_status=kind.expected.value,
                as_expected=sum(1 for c, _ in mine if c.status == kind.expected.value),
                outcomes=dict(Counter(c.status for c, _ in mine)),
                latency_s=latency([c for c, _ in mine if c in ended]),
                events_per_application=(
                    round(sum(f.events for f in weighed) / len(weighed), 1) if weighed else None
                ),
                billable_actions_per_application=(
                    round(sum(sum(f.billable.values()) for f in weighed) / len(weighed), 1)
                    if weighed
                    else None
                ),
            )
        )
    stuck = [c for c in cases if c.stuck]
    lost = [c for c in cases if c.lost]
    unexpected = sum(1 for c in ended if c.status != c.kind.expected.value)
    return MixedReport(
        started_at=started,
        command=command,
        machine=machine(),
        config=config,
        applications=len(cases),
        ended=len(ended),
        stuck=len(stuck),
        lost=len(lost),
        unexpected=unexpected,
        wall_s=round(wall, 1),
        ended_per_s=round(len(ended) / wall, 2),
        latency_s=latency(ended),
        kinds=kinds,
        staff_acts=dict(desk.acts),
        rejected_updates=desk.rejected_updates,
        staff_errors=dict(desk.errors),
        history_events=sum(f.events for f in figures if f is not None),
        workflow_task_timeouts=sum(f.workflow_task_timeouts for f in figures if f is not None),
        worker_cpu_s=round(meter.worker_cpu_s, 1),
        worker_cpu_percent=round(100 * meter.worker_cpu_s / wall, 1),
        server_cpu_percent=round(100 * meter.server_cpu_s / wall, 1),
        driver_cpu_percent=round(100 * meter.driver_cpu_s / wall, 1),
        worker_peak_rss_mib=round(meter.peak_rss / 2**20, 1),
        rss=samples,
        rss_flat=flat_after_warm_up(samples),
        stuck_or_lost=[f"{c.application_id} ({c.kind.value}: {c.status})" for c in stuck + lost][
            :20
        ],
    )
