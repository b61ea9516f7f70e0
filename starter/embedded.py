"""The embedded default (`make run`, `onething dev`): everything on this machine, stopped
together on Ctrl-C.

A composition root: it puts together the dev server, the worker, the API, the codec endpoint
and the demo application, so it sits on top, beside the command line that runs it; the
infrastructure it uses (`onething/`) imports nothing of it (docs/development.md, "Layers").
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import uvicorn
from temporalio.converter import PayloadCodec

from activities.catalog import current_catalog
from onething.devserver import DevServer
from onething.logs import configure_logging, get_logger
from onething.runtime import metrics_runtime, open_codec, open_store
from onething.settings import Settings
from onething.temporal import connect
from starter.api import embedded_api
from starter.client import OnethingClient
from starter.codec_endpoint import codec_app
from starter.demo import demo_submission
from starter.doorplate import is_loopback_url
from worker import build_workers, keep_read_model_schedule, reconcile_ratings


def codec_server(settings: Settings, codec: PayloadCodec) -> tuple[uvicorn.Server, str]:
    """The token-less codec endpoint for the dev server's Web UI, and its URL. It decrypts
    for whoever reaches it, so: loopback only, only its own Host (a page that rebinds its
    DNS name to 127.0.0.1 still sends that name), and of browsers only the UI's Origin."""
    port = settings.codec_port
    hosts = [f"127.0.0.1:{port}", f"localhost:{port}"]
    origins = [f"http://localhost:{settings.ui_port}", f"http://127.0.0.1:{settings.ui_port}"]
    server = uvicorn.Server(
        uvicorn.Config(
            codec_app(codec, origins=origins, hosts=hosts),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    return server, f"http://127.0.0.1:{port}/codec"


async def run_embedded(settings: Settings) -> None:
    configure_logging(settings.log_format, settings.log_level)
    log = get_logger("onething.dev")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    engine = open_store(settings)
    codec = open_codec(settings)
    if codec.keyring.created:
        log.info("created a local payload key", source=codec.keyring.source)

    codec_http, codec_url = codec_server(settings, codec)
    host, _, port = settings.temporal_address.rpartition(":")
    server = DevServer(
        data_dir=settings.data_dir,
        host=host,
        port=int(port),
        ui_port=settings.ui_port,
        codec_endpoint=codec_url,
    )
    codec_task = asyncio.create_task(codec_http.serve())
    stack = contextlib.AsyncExitStack()
    try:
        await server.start()
        client = await connect(settings, codec, metrics_runtime(settings))
        workers = build_workers(
            client,
            settings.task_queue,
            engine,
            calendar_overrides=settings.calendar_overrides,
            max_cached_workflows=settings.max_cached_workflows,
            public_url=settings.public_base_url,
        )
        # What a crash between the store and Temporal left undone, as `onething worker` does.
        reconcile = reconcile_ratings(client, settings.task_queue, engine, log)
        worker_task = asyncio.gather(*(w.run() for w in workers), reconcile)
        await keep_read_model_schedule(client, settings, log)
        api = await stack.enter_async_context(embedded_api(settings, client, engine, codec=codec))
        catalog = current_catalog(engine)
        receipt = await OnethingClient(client, settings.task_queue, catalog).submit(
            demo_submission(catalog)
        )
        public = settings.public_base_url
        if is_loopback_url(public):
            log.warning(
                "guide links and QR codes point at this machine only; a phone cannot open "
                "them: set ONETHING_PUBLIC_URL to the address the public reaches",
                public_url=public,
            )
        print(
            "\n  onething is running (embedded default)\n"
            f"  Temporal Web UI   {server.ui_url}/namespaces/{settings.temporal_namespace}"
            "/workflows\n"
            f"  Temporal address  {server.address}   (state: {settings.data_dir / 'temporal.db'})\n"
            f"  Store             {settings.store_url}\n"
            f"  Codec endpoint    {codec_url}\n"
            f"  HTTP API          {api}/docs   (tokens: .venv/bin/python -m starter.auth list)\n"
            f"  Public guides     {public}/guides/{{code}}"
            f"{'   (loopback: set ONETHING_PUBLIC_URL)' if is_loopback_url(public) else ''}\n"
            f"  Metrics           "
            f"{'off' if settings.metrics_bind == 'off' else f'http://{settings.metrics_bind}/metrics'}\n"
            f"  Demo application  {receipt.application_id} "
            f"({'started' if receipt.created else 'already there'}): "
            f"onething status {receipt.application_id}\n"
            "  Stop              Ctrl-C (stops the worker, the codec endpoint and the server)\n",
            flush=True,
        )
        await stop.wait()
        log.info("stopping")
        await asyncio.gather(*(w.shutdown() for w in workers))
        with contextlib.suppress(asyncio.CancelledError):
            await worker_task
    finally:
        await stack.aclose()
        codec_http.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await codec_task
        server.stop()
        engine.dispose()
