"""What the mixed soak reports: per kind and overall, and the worker's resident memory sampled
during the run, judged flat after warm-up by a stated rule (`flat_after_warm_up`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import BaseModel

from bench.measure import Machine, Percentiles
from bench.mixed_plan import Case, Kind, MixedConfig
from bench.worker_process import WorkerProcess


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
    workflow_task_timeouts: int = 0  # in every history read (`measure.task_timeouts`)
    worker_cpu_s: float
    worker_cpu_percent: float
    server_cpu_percent: float
    driver_cpu_percent: float
    worker_peak_rss_mib: float
    rss: list[RssSample]
    rss_flat: Flatness
    stuck_or_lost: list[str]  # application IDs (no personal data), the first 20
