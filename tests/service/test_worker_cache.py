"""The workers' caches, the bound on their memory, are sized by one setting.

Its effect on memory is measured by the bench (docs/performance.md, worker memory with
10,000 applications open); here: the setting is read, checked, and reaches the worker.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from onething.settings import DEFAULT_CACHED_WORKFLOWS, SettingsError, load_settings
from worker import build_workers


def test_the_cache_size_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONETHING_MAX_CACHED_WORKFLOWS", raising=False)
    assert load_settings().max_cached_workflows == DEFAULT_CACHED_WORKFLOWS == 1000
    monkeypatch.setenv("ONETHING_MAX_CACHED_WORKFLOWS", "250")
    assert load_settings().max_cached_workflows == 250


def test_a_cache_of_no_workflows_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONETHING_MAX_CACHED_WORKFLOWS", "0")
    with pytest.raises(SettingsError, match="ONETHING_MAX_CACHED_WORKFLOWS='0'"):
        load_settings()


async def test_the_workflows_worker_gets_the_cache_size(
    ts_env: WorkflowEnvironment, store_engine: Engine
) -> None:
    def queue() -> str:  # one worker a queue: the SDK refuses a second on the same
        return f"cache-{uuid.uuid4().hex[:8]}"

    [default] = build_workers(ts_env.client, queue(), store_engine, departments=[])
    [sized] = build_workers(
        ts_env.client, queue(), store_engine, departments=[], max_cached_workflows=7
    )
    assert default.config()["max_cached_workflows"] == DEFAULT_CACHED_WORKFLOWS
    assert sized.config()["max_cached_workflows"] == 7


async def test_the_departments_workers_share_the_cache_with_the_workflows_worker(
    ts_env: WorkflowEnvironment, store_engine: Engine
) -> None:
    """Items run on their departments' queues: one process's workers share one budget."""
    queue = f"cache-{uuid.uuid4().hex[:8]}"
    central, *departments = build_workers(
        ts_env.client, queue, store_engine, departments=["market", "tobacco", "health"]
    )
    sizes = [w.config()["max_cached_workflows"] for w in departments]
    assert central.config()["max_cached_workflows"] == 500
    assert sizes == [166, 166, 166]
    assert central.config()["max_cached_workflows"] + sum(sizes) <= DEFAULT_CACHED_WORKFLOWS
    # A process of department workers only gives them the whole budget.
    alone = build_workers(
        ts_env.client,
        f"cache-{uuid.uuid4().hex[:8]}",
        store_engine,
        workflows=False,
        departments=["market", "tobacco"],
        max_cached_workflows=100,
    )
    assert [w.config()["max_cached_workflows"] for w in alone] == [50, 50]


async def test_no_worker_gets_a_cache_of_one_however_small_the_budget(
    ts_env: WorkflowEnvironment, store_engine: Engine
) -> None:
    """With a cache of 1 a worker leaves its sticky queue unpolled and each task sent there
    waits out the 10 s timeout (`worker.MIN_CACHED_PER_WORKER`; the bench's tiny run counts
    those timeouts, `tests/bench/test_bench.py`)."""
    queue = f"cache-{uuid.uuid4().hex[:8]}"
    workers = build_workers(
        ts_env.client,
        queue,
        store_engine,
        departments=["market", "tobacco", "health"],
        max_cached_workflows=4,
    )
    assert [w.config()["max_cached_workflows"] for w in workers] == [2, 2, 2, 2]
    [alone] = build_workers(
        ts_env.client, f"{queue}-alone", store_engine, departments=[], max_cached_workflows=1
    )
    assert alone.config()["max_cached_workflows"] == 2
