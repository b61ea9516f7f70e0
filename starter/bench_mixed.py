"""`onething bench --path mixed`: a soak of many kinds of application at once (issue 18).

A fixed, seeded mix of applications (a convenience store on commitment, a food license
reviewed, one with a deficiency supplemented by mail, one corrected at the reviewer's request,
some withdrawn, some rejected) runs on the bench's own dev server and worker process, with
simulated staff and applicants acting after seeded random delays, until every application
ends. It reports, against the mix: how each kind ended, the stuck (still running
`stuck_after_s` after the last act on it) and the lost (submitted, but no workflow or no
result), throughput, end-to-end latency, history events and billable actions per kind, and the
worker's resident memory sampled every `rss_every_s`, judged flat after warm-up by a stated
rule (`flat_after_warm_up`).

    onething bench --path mixed --applications 2000 --concurrency 40 --out soak.json
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path

import typer
from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from temporalio.client import WorkflowUpdateFailedError

from domain.application import (
    ApplicationStatus,
    Channel,
    Correction,
    InspectionReport,
    InspectionResult,
    ReviewDecision,
    ReviewVerdict,
    Submission,
    Supplement,
    Withdrawal,
    application_workflow_id,
)
from domain.catalog import Catalog
from domain.people import Role, Staff
from starter.bench import (
    BenchEnvironment,
    BenchPath,
    HistoryFigures,
    Machine,
    Meter,
    Percentiles,
    ProgressFactory,
    WorkerProcess,
    _no_progress,
    bench_environment,
    bench_submission,
    deferrable_material,
    gather_limited,
    history_figures,
    machine,
    metered,
    percentiles,
)
from starter.client import ClientError, NotFound, OnethingClient
from store.tasks import StaffTask, open_tasks

STORE = "open-convenience-store"
FOOD = "food-business-license"


class Kind(StrEnum):
    """One kind of application in the mix, and the status it must end in."""

    COMMITMENT = "commitment"  # 开办便利店 on commitment, inspected after issuance
    REVIEW = "review"  # a food license reviewed and approved
    DEFICIENCY = "deficiency"  # a deferrable material supplemented by mail after acceptance
    CORRECTION = "correction"  # the reviewer asks for a correction, the applicant corrects
    WITHDRAWN = "withdrawn"  # the applicant withdraws while the review is open
    REJECTED = "rejected"  # the reviewer rejects

    @property
    def expected(self) -> ApplicationStatus:
        if self is Kind.WITHDRAWN:
            return ApplicationStatus.WITHDRAWN
        if self is Kind.REJECTED:
            return ApplicationStatus.REJECTED
        return ApplicationStatus.COMPLETED

    @property
    def target(self) -> str:
        return STORE if self is Kind.COMMITMENT else FOOD

    @property
    def path(self) -> BenchPath:
        if self is Kind.COMMITMENT:
            return BenchPath.COMMITMENT
        return BenchPath.DEFICIENCY if self is Kind.DEFICIENCY else BenchPath.REVIEW


# The mix, in percent; the counts of a run by largest remainder (`plan_mix`).
MIX: dict[Kind, int] = {
    Kind.COMMITMENT: 40,
    Kind.REVIEW: 25,
    Kind.DEFICIENCY: 15,
    Kind.CORRECTION: 10,
    Kind.WITHDRAWN: 5,
    Kind.REJECTED: 5,
}


def mix_counts(n: int) -> dict[Kind, int]:
    """How many of each kind among n: the mix's shares by largest remainder, at least one of
    each kind when n allows, so a small run still has every outcome."""
    exact = {kind: n * share / 100 for kind, share in MIX.items()}
    counts = {kind: int(value) for kind, value in exact.items()}
    by_remainder = sorted(MIX, key=lambda k: (-(exact[k] - counts[k]), list(MIX).index(k)))
    for kind in by_remainder[: n - sum(counts.values())]:
        counts[kind] += 1
    if n >= len(MIX):
        for kind in MIX:
            while counts[kind] == 0:  # take one from the largest
                largest = max(counts, key=lambda k: counts[k])
                counts[largest] -= 1
                counts[kind] += 1
    return counts


def plan_mix(n: int, seed: int) -> list[Kind]:
    """The kinds in submission order: the counts of `mix_counts`, shuffled by the seed."""
    kinds = [kind for kind, count in mix_counts(n).items() for _ in range(count)]
    random.Random(seed).shuffle(kinds)
    return kinds


class MixedConfig(BaseModel):
    applications: int = Field(2000, ge=1)
    concurrency: int = Field(40, ge=1)  # applications in flight at once
    seed: int = 18
    staff_delay_s: float = Field(2.0, ge=0)  # each act waits uniform(0, this) seconds
    rss_every_s: float = Field(5.0, gt=0)
    stuck_after_s: float = Field(120.0, gt=0)  # still running this long after the last act
    poll_s: float = Field(0.1, gt=0)  # how often the desk reads its inbox
    database_url: str | None = None
    in_memory_server: bool = False


# -- who acts, and when ---------------------------------------------------------------------


def _staff(role: Role, department: str) -> Staff:
    return Staff(staff_id=f"bench-{role.value}-{department}", role=role, department=department)


@dataclass
class Case:
    """One application of the mix as the driver follows it."""

    index: int
    kind: Kind
    submission: Submission
    submitted_at: float = 0.0  # wall clock, for the histories' event times
    submitted_mono: float = 0.0
    last_act: float = 0.0  # monotonic: the last time anyone acted on it
    ended_mono: float | None = None
    status: str = "not submitted"  # an ApplicationStatus value, or what went wrong
    stuck: bool = False
    lost: bool = False

    @property
    def application_id(self) -> str:
        return self.submission.application_id


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
    _seen: set[str] = field(default_factory=set)
    _acting: set[asyncio.Task[None]] = field(default_factory=set)

    def delay(self, case: Case, step: str) -> float:
        """The same delay for the same seed, case and step, whatever the timing of the run."""
        return random.Random(f"{self.seed}/{case.index}/{step}").uniform(0, self.max_delay_s)

    async def run(self) -> None:
        while True:
            try:
                rows = await asyncio.to_thread(open_tasks, self.engine)
            except Exception as exc:  # the store busy: try again
                self.errors[type(exc).__name__] += 1
                rows = []
            for row in rows:
                case = self.cases.get(row.application_id)
                if row.task_id in self._seen or case is None or not row.item_code:
                    continue
                if row.role not in (Role.REVIEWER.value, Role.INSPECTOR.value):
                    continue
                self._seen.add(row.task_id)
                act = asyncio.create_task(self._act(case, row))
                self._acting.add(act)
                act.add_done_callback(self._acting.discard)
            await asyncio.sleep(self.poll_s)

    @asynccontextmanager
    async def at_work(self) -> AsyncIterator[MixedDesk]:
        loop = asyncio.create_task(self.run())
        try:
            yield self
        finally:
            loop.cancel()
            for act in list(self._acting):
                act.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop

    async def _act(self, case: Case, row: StaffTask) -> None:
        assert row.item_code is not None and row.department is not None
        app, code, department = case.application_id, row.item_code, row.department
        if row.role == Role.INSPECTOR.value:
            report = InspectionReport(
                inspector=_staff(Role.INSPECTOR, department), result=InspectionResult.PASSED
            )
            await self._after(case, f"{code}/inspect", self.client.inspect, app, code, report)
            return
        if case.kind is Kind.WITHDRAWN:
            withdrawal = Withdrawal(reason="申请人决定暂不开办")
            await self._after(case, "withdraw", self.client.withdraw, app, withdrawal)
            return
        reviewer = _staff(Role.REVIEWER, department)
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


# -- the worker's memory, sampled ------------------------------------------------------------


class RssSample(BaseModel):
    at_s: float  # since the timed run began
    rss_mib: float
    ended: int  # applications ended so far
    in_flight: int


class Flatness(BaseModel):
    rule: str
    warm_up_samples: int
    middle_third_mib: float | None
    last_third_mib: float | None
    change_percent: float | None
    flat: bool | None  # None: too few samples to judge


FLAT_RULE = (
    "the first third of the samples is warm-up; flat when the last third's mean RSS is "
    "within 10 % of the middle third's"
)


def flat_after_warm_up(samples: list[RssSample], tolerance: float = 0.10) -> Flatness:
    """`FLAT_RULE`: thirds of the samples by count; at least six samples to judge."""
    n = len(samples)
    if n < 6:
        return Flatness(
            rule=FLAT_RULE,
            warm_up_samples=n // 3,
            middle_third_mib=None,
            last_third_mib=None,
            change_percent=None,
            flat=None,
        )
    third = n // 3
    middle = [s.rss_mib for s in samples[third : 2 * third]]
    last = [s.rss_mib for s in samples[n - third :]]
    middle_mean, last_mean = sum(middle) / len(middle), sum(last) / len(last)
    change = (last_mean - middle_mean) / middle_mean
    return Flatness(
        rule=FLAT_RULE,
        warm_up_samples=third,
        middle_third_mib=round(middle_mean, 1),
        last_third_mib=round(last_mean, 1),
        change_percent=round(100 * change, 1),
        flat=abs(change) <= tolerance,
    )


@asynccontextmanager
async def sampling_rss(
    worker: WorkerProcess, cases: list[Case], every_s: float
) -> AsyncIterator[list[RssSample]]:
    samples: list[RssSample] = []
    start = time.monotonic()

    def take() -> None:
        with contextlib.suppress(Exception):
            ended = sum(1 for c in cases if c.ended_mono is not None)
            started = sum(1 for c in cases if c.submitted_mono)
            samples.append(
                RssSample(
                    at_s=round(time.monotonic() - start, 1),
                    rss_mib=round(worker.rss() / 2**20, 1),
                    ended=ended,
                    in_flight=started - ended,
                )
            )

    async def loop() -> None:
        while True:
            take()
            await asyncio.sleep(every_s)

    sampler = asyncio.create_task(loop())
    try:
        yield samples
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        take()  # the end of the run


# -- the report ------------------------------------------------------------------------------


class KindResult(BaseModel):
    kind: Kind
    mix_percent: int
    planned: int
    expected_status: str
    as_expected: int
    outcomes: dict[str, int]  # status → count
    latency_s: Percentiles | None  # submission → ended
    events_per_application: float | None
    billable_actions_per_application: float | None


class MixedReport(BaseModel):
    started_at: str
    command: str
    machine: Machine
    config: MixedConfig
    applications: int
    ended: int
    stuck: int
    lost: int
    unexpected: int  # ended, but not as their kind must
    wall_s: float
    ended_per_s: float
    latency_s: Percentiles | None
    kinds: list[KindResult]
    staff_acts: dict[str, int]
    rejected_updates: int
    staff_errors: dict[str, int]
    history_events: int
    worker_cpu_s: float
    worker_cpu_percent: float
    server_cpu_percent: float
    driver_cpu_percent: float
    worker_peak_rss_mib: float
    rss: list[RssSample]
    rss_flat: Flatness
    stuck_or_lost: list[str]  # application IDs (no personal data), the first 20


async def run_mixed(
    config: MixedConfig, *, progress: ProgressFactory = _no_progress, command: str = ""
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
    worker = env.worker("onething", queue)
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


# -- printing --------------------------------------------------------------------------------

_BARS = " ▁▂▃▄▅▆▇█"


def rss_curve(samples: list[RssSample], rows: int = 24) -> Table:
    """The RSS curve as a table (at most `rows` samples, evenly picked) with a bar each."""
    table = Table(title="worker RSS during the soak")
    for column in ("t s", "RSS MiB", "", "ended", "in flight"):
        table.add_column(column, justify="right" if column != "" else "left")
    if not samples:
        return table
    step = max(1, -(-len(samples) // rows))
    shown = samples[::step]
    if shown[-1] is not samples[-1]:
        shown.append(samples[-1])
    top = max(s.rss_mib for s in samples)
    for s in shown:
        width = round(30 * s.rss_mib / top) if top else 0
        table.add_row(
            f"{s.at_s:.0f}", f"{s.rss_mib:.0f}", "█" * width, f"{s.ended}", f"{s.in_flight}"
        )
    return table


def sparkline(samples: list[RssSample]) -> str:
    if not samples:
        return ""
    low, high = min(s.rss_mib for s in samples), max(s.rss_mib for s in samples)
    span = (high - low) or 1.0
    return "".join(_BARS[1 + round(7 * (s.rss_mib - low) / span)] for s in samples)


def mixed_table(report: MixedReport) -> Table:
    table = Table(
        title=(
            f"onething bench --path mixed: {report.applications} applications, "
            f"{report.config.concurrency} in flight, seed {report.config.seed}"
        )
    )
    for column in ("kind", "mix %", "planned", "ended as expected", "outcomes", "p50 / p95 s"):
        table.add_column(column, justify="left" if column in ("kind", "outcomes") else "right")
    table.add_column("events", justify="right")
    table.add_column("actions", justify="right")
    for k in report.kinds:
        lat = f"{k.latency_s.p50:.1f} / {k.latency_s.p95:.1f}" if k.latency_s else "-"
        table.add_row(
            f"{k.kind.value} → {k.expected_status}",
            f"{k.mix_percent}",
            f"{k.planned}",
            f"{k.as_expected}",
            ", ".join(f"{s} {n}" for s, n in sorted(k.outcomes.items())),
            lat,
            "-" if k.events_per_application is None else f"{k.events_per_application}",
            "-"
            if k.billable_actions_per_application is None
            else f"{k.billable_actions_per_application}",
        )
    return table


def summary_table(report: MixedReport) -> Table:
    table = Table(title="soak")
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_column("wanted", justify="right")
    lat = report.latency_s
    flat = report.rss_flat
    rows = [
        ("stuck", f"{report.stuck}", "0"),
        ("lost", f"{report.lost}", "0"),
        ("ended not as their kind", f"{report.unexpected}", "0"),
        ("ended / s", f"{report.ended_per_s:.2f}", ""),
        ("end to end p50 / p95 s", f"{lat.p50:.2f} / {lat.p95:.2f}" if lat else "-", ""),
        ("wall time s", f"{report.wall_s:.0f}", ""),
        ("worker CPU s (% of a core)", f"{report.worker_cpu_s} ({report.worker_cpu_percent}%)", ""),
        (
            "dev server / driver CPU % of a core",
            f"{report.server_cpu_percent} / {report.driver_cpu_percent}",
            "",
        ),
        ("worker peak RSS MiB", f"{report.worker_peak_rss_mib:.0f}", ""),
        (
            "RSS last third vs middle third",
            "-" if flat.change_percent is None else f"{flat.change_percent:+.1f} %",
            "within ±10 %",
        ),
        ("RSS flat after warm-up", {None: "-", True: "yes", False: "NO"}[flat.flat], "yes"),
        (
            "staff and applicant acts",
            ", ".join(f"{k} {v}" for k, v in sorted(report.staff_acts.items())),
            "",
        ),
        ("refused updates (retried)", f"{report.rejected_updates}", ""),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def mixed_command(config: MixedConfig, *, out: Path | None, quiet: bool) -> None:
    """`onething bench --path mixed`: run the soak, print its tables, write its JSON; exits 1
    when any application was stuck, lost or ended not as its kind must."""
    from starter.bench import rich_progress

    console = Console()
    if not console.is_terminal:  # a log file: wide enough for the tables
        console.width = 160
    given = sys.argv[1:]
    command = " ".join(["onething bench", *(given[1:] if given[:1] == ["bench"] else given)])
    with contextlib.ExitStack() as stack:
        factory = _no_progress if quiet else stack.enter_context(rich_progress(console))
        report = asyncio.run(run_mixed(config, progress=factory, command=command))
    console.print(mixed_table(report))
    console.print(summary_table(report))
    console.print(rss_curve(report.rss))
    console.print(f"RSS {sparkline(report.rss)}  ({report.rss_flat.rule})")
    if report.stuck_or_lost:
        console.print("stuck or lost: " + "; ".join(report.stuck_or_lost))
    if out is not None:
        out.write_text(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2))
        console.print(f"report written to {out}")
    if report.stuck or report.lost or report.unexpected:
        raise typer.Exit(1)
