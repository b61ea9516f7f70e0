"""The bench's own server: an embedded dev server on free ports (never the user's 7233/8233)
in a temporary directory, the store, the payload key, the client."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from temporalio.client import Client

from bench.worker_process import WorkerProcess, WorkerSpec
from domain.catalog import Catalog
from onething.codec import EncryptionCodec, Keyring
from onething.devserver import SQLITE_PRAGMAS, DevServer, start_on_free_ports
from onething.settings import DEFAULT_CACHED_WORKFLOWS
from onething.temporal import data_converter
from starter.client import OnethingClient
from store.db import init_db, make_engine


@dataclass
class BenchEnvironment:
    """A dev server on free ports and a temporary directory, the store, the payload key."""

    data_dir: Path
    server: DevServer
    engine: Engine
    store_url: str
    keyring: Keyring
    client: Client
    catalog: Catalog
    workers: list[WorkerProcess] = field(default_factory=list)

    def worker(
        self,
        kind: str,
        task_queue: str,
        passthrough: list[str] | None = None,
        max_cached_workflows: int = DEFAULT_CACHED_WORKFLOWS,
    ) -> WorkerProcess:
        process = WorkerProcess(
            WorkerSpec(
                kind=kind,
                address=self.server.address,
                task_queue=task_queue,
                store_url=self.store_url,
                keyring=self.keyring.to_json(),
                ready_file=str(self.data_dir / f"{kind}-{uuid.uuid4().hex[:6]}.ready"),
                passthrough=passthrough or [],
                max_cached_workflows=max_cached_workflows,
            ),
            log_path=self.data_dir / f"worker-{kind}.log",
        )
        self.workers.append(process)
        return process

    def onething_client(self, task_queue: str) -> OnethingClient:
        return OnethingClient(self.client, task_queue, self.catalog)

    async def connect(self) -> Client:
        codec = EncryptionCodec(self.keyring)
        return await Client.connect(self.server.address, data_converter=data_converter(codec))


class InMemoryDevServer(DevServer):
    """The dev server without its SQLite file: the engine's upper bound on this machine."""

    def command(self) -> list[str]:
        cmd = super().command()
        at = cmd.index("--db-filename")
        return cmd[:at] + cmd[at + 2 + len(SQLITE_PRAGMAS) :]


@asynccontextmanager
async def bench_environment(
    data_dir: Path | None = None, database_url: str | None = None, *, in_memory: bool = False
) -> AsyncIterator[BenchEnvironment]:
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="onething-")))
        kind = InMemoryDevServer if in_memory else DevServer
        store_url = database_url or f"sqlite:///{data_dir / 'onething.db'}"
        engine = make_engine(store_url)
        stack.callback(engine.dispose)
        init_db(engine)
        from activities.catalog import current_catalog

        catalog = current_catalog(engine)  # loads the seed once, before any worker runs
        keyring = Keyring.generate("bench")
        server = await start_on_free_ports(
            lambda port, ui_port: kind(data_dir=data_dir, port=port, ui_port=ui_port)
        )
        stack.callback(server.stop)
        codec = EncryptionCodec(keyring)
        client = await Client.connect(server.address, data_converter=data_converter(codec))
        env = BenchEnvironment(data_dir, server, engine, store_url, keyring, client, catalog)
        try:
            yield env
        finally:
            for process in env.workers:
                process.stop()
