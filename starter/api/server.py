"""Running the API: its settings and public URL, the app from settings (`build_api`),
uvicorn standalone (`onething api`) or embedded (`onething dev`)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Generator

import uvicorn
from fastapi import FastAPI
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.converter import PayloadCodec

from domain.catalog import Catalog, load_seed_catalog
from onething.settings import Settings
from starter import auth
from starter.api.main import create_app
from starter.auth import TokenRegistry
from starter.client import OnethingClient


class ApiSettings(BaseSettings):
    """Where the API listens; tokens come from `starter.auth` (ONETHING_API_TOKENS…)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    host: str = Field("127.0.0.1", validation_alias="ONETHING_API_HOST")
    port: int = Field(8000, ge=1, le=65535, validation_alias="ONETHING_API_PORT")
    # The address printed in guide QR codes; default http://{host}:{port}.
    public_url: str = Field("", validation_alias="ONETHING_API_PUBLIC_URL")

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def public_base_url(settings: Settings, api: ApiSettings | None = None) -> str:
    """The one public base URL of guide links and QR codes (API and CLI alike):
    ONETHING_PUBLIC_URL (or its old names), else the API's own address."""
    api = api or ApiSettings()
    return (api.public_url.rstrip("/") or settings.public_url) or api.base_url


def build_api(
    settings: Settings,
    temporal: Client,
    engine: Engine,
    *,
    codec: PayloadCodec | None = None,
    catalog: Catalog | None = None,
    api: ApiSettings | None = None,
    tokens: TokenRegistry | None = None,
) -> FastAPI:
    """The app as `onething api` and `onething dev` serve it, from settings and open parts."""
    api = api or ApiSettings()
    origins = [f"http://localhost:{settings.ui_port}", f"http://127.0.0.1:{settings.ui_port}"]
    return create_app(
        OnethingClient(temporal, settings.task_queue, catalog or load_seed_catalog()),
        engine,
        tokens or auth.load_api_tokens(settings.data_dir),
        codec=codec,
        base_url=public_base_url(settings, api),
        codec_origins=origins,
    )


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def api_server(
    app: FastAPI, api: ApiSettings | None = None, *, embedded: bool = False
) -> uvicorn.Server:
    """A uvicorn server for `app`; `await server.serve()`, stop with `should_exit = True`."""
    api = api or ApiSettings()
    config = uvicorn.Config(
        app, host=api.host, port=api.port, log_level="warning", lifespan="off", access_log=False
    )
    return _EmbeddedServer(config) if embedded else uvicorn.Server(config)


@contextlib.asynccontextmanager
async def embedded_api(
    settings: Settings,
    temporal: Client,
    engine: Engine,
    *,
    codec: PayloadCodec | None = None,
    api: ApiSettings | None = None,
) -> AsyncIterator[str]:
    """Serve the API inside another process (`onething dev`) while the block runs; yields
    its base URL. Signals stay with the embedding process."""
    api = api or ApiSettings()
    server = api_server(
        build_api(settings, temporal, engine, codec=codec, api=api), api, embedded=True
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # the error that stopped it (e.g. the port is taken)
                raise RuntimeError(f"the API stopped at start-up on {api.host}:{api.port}")
            await asyncio.sleep(0.02)
        yield api.base_url
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


class ApiStartError(Exception):
    """The API cannot start (Temporal unreachable, ...): one line, no traceback."""


async def run_api(settings: Settings, api: ApiSettings | None = None) -> None:
    from onething.runtime import open_runtime

    api = api or ApiSettings()
    # A wrong token document stops the API before anything connects.
    tokens = auth.load_api_tokens(settings.data_dir)
    async with contextlib.AsyncExitStack() as stack:
        try:
            runtime = await stack.enter_async_context(open_runtime(settings))
        except RuntimeError as exc:  # the SDK's "Failed client connect: ..."
            raise ApiStartError(
                f"cannot reach Temporal at {settings.temporal_address}: {exc}"
            ) from None
        app = build_api(
            settings, runtime.client, runtime.engine, codec=runtime.codec, api=api, tokens=tokens
        )
        runtime.log.info("api listening", url=api.base_url, docs=f"{api.base_url}/docs")
        await api_server(app, api).serve()


def load_api_settings() -> ApiSettings:
    """The API's own settings from the environment; one line naming the variable if wrong."""
    try:
        return ApiSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{e['loc'][0] if e['loc'] else 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise auth.AuthConfigError(f"invalid setting {problems}") from None


def serve_api(settings: Settings, api: ApiSettings | None = None) -> None:
    """`onething api`: serve the HTTP API until Ctrl-C. A wrong token document or API
    setting stops it with one line on stderr (exit status 2), never a traceback."""
    try:
        asyncio.run(run_api(settings, api or load_api_settings()))
    except (auth.AuthConfigError, ApiStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
