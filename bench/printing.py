"""The bench's reports as tables (and its progress bars) for a terminal or a log."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.harness import BenchReport
from bench.measure import Advance, Percentiles, PhaseResult, ProgressFactory
from bench.mixed_report import MixedReport, RssSample


def report_table(report: BenchReport) -> Table:
    table = Table(title=f"onething bench: {report.target} ({report.config.path.value})")
    table.add_column("figure")
    table.add_column("bare workflow", justify="right")
    table.add_column("onething", justify="right")
    bare, run = report.bare, report.run

    def lat(p: Percentiles | None) -> str:
        return f"{p.p50:.3f} / {p.p95:.3f} / {p.p99:.3f}" if p else "-"

    rows = [
        (
            "runs (concurrency)",
            f"{bare.runs} ({bare.concurrency})",
            f"{run.runs} ({run.concurrency})",
        ),
        (
            "completed / failed",
            f"{bare.completed} / {bare.failed}",
            f"{run.completed} / {run.failed}",
        ),
        ("wall time s", f"{bare.wall_s:.1f}", f"{run.wall_s:.1f}"),
        ("completed /s", f"{bare.completed_per_s:.2f}", f"{run.completed_per_s:.2f}"),
        (
            "history events /s",
            f"{bare.history_events_per_s:.0f}",
            f"{run.history_events_per_s:.0f}",
        ),
        ("history events per run", f"{bare.events_per_run:.1f}", f"{run.events_per_run:.1f}"),
        (
            "billable actions per run",
            f"{bare.billable_actions_per_run:.1f}",
            f"{run.billable_actions_per_run:.1f}",
        ),
        (
            "workflow tasks timed out",
            f"{bare.workflow_task_timeouts}",
            f"{run.workflow_task_timeouts}",
        ),
        (
            "latency to all licenses and filings p50/p95/p99 s",
            "-",
            lat(run.latency_licenses_and_filings_s),
        ),
        (
            "the same, a local license at its marker",
            "-",
            lat(run.latency_licenses_at_markers_s),
        ),
        (
            "licenses and filings per run",
            "-",
            "-"
            if run.licenses_and_filings_per_run is None
            else f"{run.licenses_and_filings_per_run}",
        ),
        (
            "latency to result p50/p95/p99 s",
            lat(bare.latency_completed_s),
            lat(run.latency_completed_s),
        ),
        ("worker CPU s (% of a core)", _cpu(bare), _cpu(run)),
        ("dev server CPU % of a core", f"{bare.server_cpu_percent}", f"{run.server_cpu_percent}"),
        ("driver CPU % of a core", f"{bare.driver_cpu_percent}", f"{run.driver_cpu_percent}"),
        (
            "worker peak RSS MiB",
            f"{bare.worker_peak_rss_mib:.0f}",
            f"{run.worker_peak_rss_mib:.0f}",
        ),
    ]
    for row in rows:
        table.add_row(*row)
    table.add_row("events/s ratio (ours / bare)", "", f"{report.events_per_s_ratio:.3f}")
    if report.memory:
        m = report.memory
        table.add_row(
            f"worker RSS, {m.open_applications} open waiting on staff MiB",
            "",
            f"{m.worker_rss_mib:.0f} (peak {m.worker_peak_rss_mib:.0f})",
        )
        if m.open_s is not None:
            table.add_row(
                f"opened in s ({m.open_concurrency} at once), RSS before MiB",
                "",
                f"{m.open_s:.0f}, {m.rss_before_mib:.0f}",
            )
        if m.max_cached_workflows is not None:
            table.add_row(
                "worker's workflow cache (max_cached_workflows)", "", f"{m.max_cached_workflows}"
            )
    return table


def _cpu(phase: PhaseResult) -> str:
    return f"{phase.worker_cpu_s:.1f} ({phase.worker_cpu_percent:.0f}%)"


def twin_table(report: BenchReport) -> Table | None:
    """The same-shape twin beside ours: what the SDK and the server charge for the shape
    (twin ÷ bare) and what our own code adds to it (ours ÷ twin)."""
    twin, bare, run = report.twin, report.bare, report.run
    if twin is None:
        return None
    table = Table(title="same-shape twin (bench/twin.py)")
    table.add_column("figure")
    table.add_column("twin", justify="right")
    table.add_column("onething", justify="right")

    def ratio(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    def both(figure: Callable[[PhaseResult], str]) -> tuple[str, str]:
        return figure(twin), figure(run)

    rows = [
        ("runs (concurrency)", *both(lambda p: f"{p.runs} ({p.concurrency})")),
        ("completed / failed", *both(lambda p: f"{p.completed} / {p.failed}")),
        ("completed /s", *both(lambda p: f"{p.completed_per_s:.2f}")),
        ("history events per run", *both(lambda p: f"{p.events_per_run:.1f}")),
        ("billable actions per run", *both(lambda p: f"{p.billable_actions_per_run:.1f}")),
        ("worker CPU ms per run", *both(lambda p: f"{1000 * p.worker_cpu_s / max(1, p.runs):.0f}")),
        (
            "worker CPU per history event ÷ bare",
            *both(lambda p: ratio(p.cpu_per_event_ratio(bare))),
        ),
        ("worker CPU per history event, ours ÷ twin", "", ratio(run.cpu_per_event_ratio(twin))),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def targets_table(report: BenchReport) -> Table:
    table = Table(title="targets")
    for column in ("target", "wanted", "measured", "met"):
        table.add_column(column)
    for t in report.targets:
        met = "-" if t.met is None else ("yes" if t.met else "NO")
        table.add_row(t.name, t.target, "-" if t.measured is None else f"{t.measured}", met)
    return table


@contextlib.contextmanager
def rich_progress(console: Console) -> Iterator[ProgressFactory]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:

        def factory(description: str, total: int) -> Advance:
            task = bar.add_task(description, total=total)
            return lambda: bar.advance(task)

        yield factory


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
        ("workflow tasks timed out", f"{report.workflow_task_timeouts}", "0"),
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
