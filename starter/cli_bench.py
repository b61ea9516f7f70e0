"""`onething bench`: the load driver and the mixed soak (`bench`), run and printed.

Mounted by starter/cli.py: `app.add_typer(bench_app, name="bench")`.

    onething bench --applications 200 --concurrency 20 --path commitment --out bench.json
    onething bench --path mixed --applications 2000 --concurrency 40 --out soak.json
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.harness import run_bench
from bench.measure import no_progress
from bench.mixed import run_mixed
from bench.mixed_plan import MixedConfig
from bench.paths import BenchConfig, BenchPath, deferrable_material
from bench.printing import (
    mixed_table,
    report_table,
    rich_progress,
    rss_curve,
    sparkline,
    summary_table,
    targets_table,
    twin_table,
)
from bench.twin import TWIN_TARGET
from domain.catalog_loading import load_seed_catalog
from onething.settings import DEFAULT_CACHED_WORKFLOWS

bench_app = typer.Typer(
    name="bench",
    help="Load driver: N applications end to end on an embedded dev server of its own.",
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _stopped(signum: int, frame: object) -> None:
    """Stopped (kill, a CI timeout) as by Ctrl-C: its dev server and worker stop with it."""
    raise KeyboardInterrupt


@bench_app.callback(invoke_without_command=True)
def bench(
    applications: Annotated[int, typer.Option(min=1, help="Applications to drive.")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, help="Applications in flight at once.")] = 20,
    path: Annotated[BenchPath, typer.Option(help="How the applications go.")] = (
        BenchPath.COMMITMENT
    ),
    bundle: Annotated[str | None, typer.Option(help="Bundle code (default by path).")] = None,
    item: Annotated[str | None, typer.Option(help="Item code, instead of a bundle.")] = None,
    open_applications: Annotated[
        int, typer.Option(min=0, help="Applications left waiting on staff to weigh the worker.")
    ] = 1000,
    bare_workflows: Annotated[int, typer.Option(min=1, help="Bare workflows to drive.")] = 400,
    bare_concurrency: Annotated[
        int, typer.Option(min=1, help="Bare workflows in flight (enough to load the server).")
    ] = 100,
    database_url: Annotated[
        str | None, typer.Option(help="Store URL (default: a SQLite file in the temp dir).")
    ] = None,
    warmup: Annotated[
        int, typer.Option(min=0, help="Unmeasured runs first (imports, caches, connections).")
    ] = 5,
    profile: Annotated[
        Path | None,
        typer.Option(help="py-spy the worker in the timed phase; collapsed stacks to this file."),
    ] = None,
    passthrough: Annotated[
        list[str] | None,
        typer.Option(help="Experiment: modules the sandbox shares instead of re-importing."),
    ] = None,
    in_memory: Annotated[
        bool, typer.Option(help="Dev server without its SQLite file (the engine's best case).")
    ] = False,
    max_cached_workflows: Annotated[
        int,
        typer.Option(
            min=1,
            help="Workflows the worker keeps in memory (as ONETHING_MAX_CACHED_WORKFLOWS).",
        ),
    ] = DEFAULT_CACHED_WORKFLOWS,
    twin: Annotated[
        bool,
        typer.Option(
            help="Also run the same-shape twin (bench/twin.py): the 便利店 on commitment only."
        ),
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Write the report as JSON here.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    seed: Annotated[int, typer.Option(help="--path mixed: the mix's order and delays.")] = 18,
    staff_delay: Annotated[
        float, typer.Option(min=0, help="--path mixed: staff act after uniform(0, this) s.")
    ] = 2.0,
    rss_every: Annotated[
        float, typer.Option(min=0.1, help="--path mixed: sample the worker's RSS every N s.")
    ] = 5.0,
    stuck_after: Annotated[
        float, typer.Option(min=1, help="--path mixed: stuck if not ended N s after its last act.")
    ] = 120.0,
) -> None:
    """Run the bench and print (and write) its report."""
    if bundle and item:
        typer.echo("error: give --bundle or --item, not both", err=True)
        raise typer.Exit(2)
    if path is BenchPath.MIXED:  # the soak: its own driver and report (bench/mixed.py)
        signal.signal(signal.SIGTERM, _stopped)
        mixed = MixedConfig(
            applications=applications,
            concurrency=concurrency,
            seed=seed,
            staff_delay_s=staff_delay,
            rss_every_s=rss_every,
            stuck_after_s=stuck_after,
            database_url=database_url,
            in_memory_server=in_memory,
            max_cached_workflows=max_cached_workflows,
        )
        mixed_command(mixed, out=out, quiet=quiet)
        return
    config = BenchConfig(
        applications=applications,
        concurrency=concurrency,
        path=path,
        target=bundle or item,
        open_applications=open_applications,
        bare_workflows=bare_workflows,
        bare_concurrency=bare_concurrency,
        database_url=database_url,
        in_memory_server=in_memory,
        warmup=warmup,
        profile=profile,
        worker_passthrough=passthrough or [],
        max_cached_workflows=max_cached_workflows,
        twin=twin,
    )
    if twin and (path is not BenchPath.COMMITMENT or config.chosen_target != TWIN_TARGET):
        typer.echo(f"error: --twin is the twin of {TWIN_TARGET} on commitment only", err=True)
        raise typer.Exit(2)
    catalog = load_seed_catalog()
    target = config.chosen_target
    if target not in catalog.bundles and target not in catalog.items:
        typer.echo(f"error: {target!r} is neither a bundle nor an item of the catalog", err=True)
        raise typer.Exit(2)
    if (bundle and bundle not in catalog.bundles) or (item and item not in catalog.items):
        typer.echo(f"error: {target!r} is not a {'bundle' if bundle else 'item'}", err=True)
        raise typer.Exit(2)
    if path is BenchPath.DEFICIENCY:
        try:
            deferrable_material(catalog, target)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    console = Console()
    signal.signal(signal.SIGTERM, _stopped)
    with contextlib.ExitStack() as stack:
        factory = no_progress if quiet else stack.enter_context(rich_progress(console))
        report = asyncio.run(run_bench(config, progress=factory, command=_command()))
    console.print(report_table(report))
    if (beside := twin_table(report)) is not None:
        console.print(beside)
    console.print(targets_table(report))
    if out is not None:
        out.write_text(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2))
        console.print(f"report written to {out}")


def mixed_command(config: MixedConfig, *, out: Path | None, quiet: bool) -> None:
    """`onething bench --path mixed`: run the soak, print its tables, write its JSON; exits 1
    when any application was stuck, lost or ended not as its kind must."""
    console = Console()
    if not console.is_terminal:  # a log file: wide enough for the tables
        console.width = 160
    with contextlib.ExitStack() as stack:
        factory = no_progress if quiet else stack.enter_context(rich_progress(console))
        report = asyncio.run(run_mixed(config, progress=factory, command=_command()))
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


def _command() -> str:
    """The command line as given, for the report (`onething bench ...`)."""
    given = sys.argv[1:]
    return " ".join(["onething bench", *(given[1:] if given[:1] == ["bench"] else given)])
