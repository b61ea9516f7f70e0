"""The worker's Prometheus endpoint, scraped over HTTP after a real workflow ran."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from onething.metrics import (
    DEFAULT_BIND,
    METRICS_BIND_ENV,
    metrics_bind,
    parse_bind,
    telemetry_runtime,
)
from starter.client import OnethingClient
from tests.conftest import running_worker
from tests.histories.record import fresh_store
from tests.histories.scenarios import Run, refused
from tests.support.net import free_port


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = fresh_store(tmp_path_factory.mktemp("metrics-store"))
    yield engine
    engine.dispose()


async def test_worker_metrics_are_served_for_prometheus(
    ts_env: WorkflowEnvironment, sqlite_store: Engine, catalog: Catalog
) -> None:
    bind = f"127.0.0.1:{free_port()}"
    client = await Client.connect(
        ts_env.client.service_client.config.target_host,
        namespace=ts_env.client.namespace,
        data_converter=ts_env.client.data_converter,
        runtime=telemetry_runtime(bind),
    )
    async with running_worker(client, sqlite_store) as task_queue:
        # A refusal runs to completion without a person: one activity, then done.
        onething = OnethingClient(client, task_queue, catalog)
        await refused(Run(onething, catalog, f"M{uuid.uuid4().hex[:10]}", ts_env))
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://{bind}/metrics", timeout=5)

    assert response.status_code == 200
    text = response.text
    for name in (
        "temporal_workflow_completed",
        "temporal_local_activity_execution_latency_bucket",  # the central systems, local
        "temporal_workflow_task_execution_latency_bucket",
        "temporal_worker_task_slots_available",
    ):
        assert name in text, f"{name} missing from /metrics"
    completed = [
        line
        for line in text.splitlines()
        if line.startswith("temporal_workflow_completed{")
        and 'workflow_type="ApplicationWorkflow"' in line
    ]
    assert completed and float(completed[0].rsplit(" ", 1)[1]) >= 1


def test_bind_address_is_checked() -> None:
    assert parse_bind("0.0.0.0:9464") == "0.0.0.0:9464"
    assert metrics_bind({}, default=DEFAULT_BIND) == DEFAULT_BIND
    assert metrics_bind({METRICS_BIND_ENV: "off"}, default=DEFAULT_BIND) is None
    assert metrics_bind({METRICS_BIND_ENV: " 0.0.0.0:9500 "}) == "0.0.0.0:9500"
    for bad in ("9464", "localhost", "host:99999", "a b:1"):
        with pytest.raises(ValueError, match="host:port"):
            parse_bind(bad)
