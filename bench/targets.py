"""Issue 18's targets, each judged only where a run measures it."""

from __future__ import annotations

from pydantic import BaseModel

from bench.measure import MemoryResult, PhaseResult
from bench.paths import BenchConfig, BenchPath


class Target(BaseModel):
    name: str
    target: str
    measured: float | None
    met: bool | None


def targets(
    config: BenchConfig,
    bare: PhaseResult,
    run: PhaseResult,
    ratio: float,
    memory: MemoryResult | None = None,
) -> list[Target]:
    """Issue 18's targets, each judged only where this run measures it (else met is None)."""
    store = config.path is BenchPath.COMMITMENT and config.chosen_target == "open-convenience-store"
    found: list[Target] = []
    if store:
        found += [
            Target(
                name="history events per 便利店 commitment application (incl. inspection)",
                target="<= 80",
                measured=run.events_per_run,
                met=run.events_per_run <= 80,
            ),
            Target(
                name="billable actions per 便利店 commitment application (incl. inspection)",
                target="<= 26",
                measured=run.billable_actions_per_run,
                met=run.billable_actions_per_run <= 26,
            ),
        ]
    if (per_event := run.cpu_per_event_ratio(bare)) is not None:
        found.append(
            Target(
                name="worker CPU per history event, ours / bare",
                target="<= 1.3",
                measured=round(per_event, 2),
                met=per_event <= 1.3,
            )
        )
    found.append(
        Target(
            name="history events/s ratio, ours / bare",
            target=">= 0.9",
            measured=round(ratio, 3),
            met=ratio >= 0.9,
        )
    )
    latency = run.latency_licenses_and_filings_s
    if config.path is BenchPath.COMMITMENT and latency is not None:
        found.append(
            Target(
                name="commitment p95 submission → all licenses and filings, one at a time",
                target="< 0.5 s",
                measured=latency.p95,
                met=latency.p95 < 0.5 if config.concurrency == 1 else None,
            )
        )
        if run.completed_per_s > 0:
            little = latency.p95 / (config.concurrency / run.completed_per_s)
            found.append(
                Target(
                    name=(
                        f"commitment p95 at {config.concurrency} in flight / "
                        f"({config.concurrency} / applications per s)"
                    ),
                    target="<= 1.1",
                    measured=round(little, 2),
                    met=little <= 1.1 if config.concurrency >= 20 else None,
                )
            )
    if memory is not None:
        found.append(
            Target(
                name=f"worker RSS MiB with {memory.open_applications} open (target: 10,000)",
                target="< 2048 MiB",
                measured=memory.worker_rss_mib,
                met=memory.met if memory.open_applications >= 10_000 else None,
            )
        )
    return found
