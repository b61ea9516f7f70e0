"""Running the API: the app from `Settings` (`build_api`; the public URL is
`Settings.public_base_url`), uvicorn standalone (`onething api`) or embedded
(`onething dev`)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Generator

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.converter import PayloadCodec

from domain.calendar import WorkingCalendar
from domain.catalog import Catalog
from domain.catalog_loading import load_seed_catalog
from onething.settings import Settings
from starter import auth
from starter.api.main import create_app
from starter.auth import TokenRegistry
from starter.client import OnethingClient


def _served_url(settings: Settings) -> str:
    """The address `onething dev` and `onething api` print for the API: its old public
    name when set (as before), else where it listens."""
    return settings.api_public_url.rstrip("/") or settings.api_url


def build_api(
    settings: Settings,
    temporal: Client,
    engine: Engine,
    *,
    codec: PayloadCodec | None = None,
    catalog: Catalog | None = None,
    tokens: TokenRegistry | None = None,
) -> FastAPI:
    """The app as `onething api` and `onething dev` serve it, from settings and open parts."""
    origins = [f"http://localhost:{settings.ui_port}", f"http://127.0.0.1:{settings.ui_port}"]
    return create_app(
        OnethingClient(temporal, settings.task_queue, catalog or load_seed_catalog()),
        engine,
        tokens or auth.load_api_tokens(settings.data_dir, env=settings),
        codec=codec,
        base_url=settings.public_base_url,
        codec_origins=origins,
        calendar=WorkingCalendar.from_file(settings.calendar_overrides),
    )


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def api_server(app: FastAPI, settings: Settings, *, embedded: bool = False) -> uvicorn.Server:
    """A uvicorn server for `app` on ONETHING_API_HOST:ONETHING_API_PORT; `await
    server.serve()`, stop with `should_exit = True`."""
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        lifespan="off",
        access_log=False,
    )
    return _EmbeddedServer(config) if embedded else uvicorn.Server(config)


@contextlib.asynccontextmanager
async def embedded_api(
    settings: Settings,
    temporal: Client,
    engine: Engine,
    *,
    codec: PayloadCodec | None = None,
) -> AsyncIterator[str]:
    """Serve the API inside another process (`onething dev`) while the block runs; yields
    its base URL. Signals stay with the embedding process."""
    server = api_server(build_api(settings, temporal, engine, codec=codec), settings, embedded=True)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # the error that stopped it (e.g. the port is taken)
                raise RuntimeError(
                    f"the API stopped at start-up on {settings.api_host}:{settings.api_port}"
                )
            await asyncio.sleep(0.02)
        yield _served_url(settings)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


class ApiStartError(Exception):
    """The API cannot start (Temporal unreachable, ...): one line, no traceback."""


async def run_api(settings: Settings) -> None:
    from onething.runtime import open_runtime

    # A wrong token document stops the API before anything connects.
    tokens = auth.load_api_tokens(settings.data_dir, env=settings)
    async with contextlib.AsyncExitStack() as stack:
        try:
            runtime = await stack.enter_async_context(open_runtime(settings))
        except RuntimeError as exc:  # the SDK's "Failed client connect: ..."
            raise ApiStartError(
                f"cannot reach Temporal at {settings.temporal_address}: {exc}"
            ) from None
        app = build_api(
            settings, runtime.client, runtime.engine, codec=runtime.codec, tokens=tokens
        )
        url = _served_url(settings)
        runtime.log.info("api listening", url=url, docs=f"{url}/docs")
        await api_server(app, settings).serve()


def serve_api(settings: Settings) -> None:
    """`onething api`: serve the HTTP API until Ctrl-C. A wrong token document stops it
    with one line on stderr (exit status 2), never a traceback; a wrong setting stopped it
    before, at `load_settings`."""
    try:
        asyncio.run(run_api(settings))
    except (auth.AuthConfigError, ApiStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
