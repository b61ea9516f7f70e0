"""`onething dev|worker|api`: running the service. Mounted by `register(app)`
(starter/cli.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from starter.cli_common import fail, settings_or_exit


def dev() -> None:
    """Everything `make run` starts: dev server, Web UI, codec endpoint, worker, a demo."""
    from starter.embedded import run_embedded

    asyncio.run(run_embedded(settings_or_exit()))


def worker(
    departments: Annotated[
        str | None,
        typer.Option(
            help="Serve only these departments' queues (e.g. market,tax): items, licensing."
        ),
    ] = None,
    workflows_only: Annotated[
        bool,
        typer.Option(
            "--workflows-only",
            help="Only the workflows' queue: applications and central activities, no items.",
        ),
    ] = False,
) -> None:
    """Run a worker; with neither option it serves the workflows and every department queue."""
    from worker import run_worker

    settings_or_exit()
    if departments is not None and workflows_only:
        raise fail("--departments and --workflows-only exclude each other")
    if departments is not None:
        chosen = [d.strip() for d in departments.split(",") if d.strip()]
        if not chosen:
            raise fail("--departments: name at least one department code")
        asyncio.run(run_worker(workflows=False, departments=chosen))
    else:
        asyncio.run(run_worker(workflows=True, departments=[] if workflows_only else None))


def api() -> None:
    """Serve the HTTP API (OpenAPI at /docs) against the configured Temporal and store."""
    from starter.api import serve_api

    serve_api(settings_or_exit())


def register(app: typer.Typer) -> None:
    """Mount these commands on `onething`, in the order `--help` lists them."""
    app.command("dev")(dev)
    app.command("worker")(worker)
    app.command("api")(api)
