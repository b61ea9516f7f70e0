"""`onething report refresh` without application IDs: it lists the applications on the dev
server (visibility), running or closed since `--since` (all without it), and projects them;
a case closed before `--since` is not read, and a run over unchanged histories writes
nothing."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from starter.demo import DEMO_ITEM, demo_submission
from starter.kpis import kpi_report
from store import case_facts
from store.db import session
from tests.conftest import cli_reaches, new_application_id, onething_client, run_cli
from tests.desk import complete_demo, eventually


def counts(output: str) -> dict[str, int]:
    found = re.search(r"read (\d+), written (\d+), unchanged (\d+)", output)
    assert found, output
    return dict(zip(("read", "written", "unchanged"), map(int, found.groups()), strict=True))


async def test_refresh_lists_the_applications_itself(
    dev_env: WorkflowEnvironment,
    store_engine: Engine,
    catalog: Catalog,
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with onething_client(dev_env, store_engine, catalog) as client:
        cli_reaches(monkeypatch, dev_env, store_engine, client.task_queue)
        done, waiting = new_application_id(), new_application_id()
        await client.submit(demo_submission(catalog, waiting))
        await complete_demo(client, catalog, done)
        # Visibility is eventually consistent: wait until the listing sees both.
        query = f'WorkflowId = "application-{done}" AND ExecutionStatus = "Completed"'

        async def listed() -> list[str]:
            return [e.id async for e in dev_env.client.list_workflows(query)]

        await eventually(listed, bool, "the listing sees the completed one", poll_s=0.1)

        async def refresh(*args: str) -> dict[str, int]:
            result = await asyncio.to_thread(run_cli, "report", "refresh", *args)
            return counts(result.stdout)

        before = datetime.now(UTC) - timedelta(minutes=5)
        first = await refresh("--since", before.isoformat())
        assert first["read"] >= 2 and first["written"] >= 2, first
        projected = {a: case_facts.cases(store_engine, a)[0] for a in (done, waiting)}
        assert projected[done] is not None and projected[done].status == "completed"
        assert projected[waiting] is not None and projected[waiting].status == "in_progress"
        # Digests that no history has: whichever application a run reads, it writes again.
        forget = update(case_facts.CaseFact).values(source_digest="forgotten")
        with session(store_engine) as s:
            s.exec(forget.where(case_facts.CaseFact.application_id.in_([done, waiting])))  # type: ignore[call-overload,attr-defined]
        # Since a moment after the first closed: only the running one is listed.
        await refresh("--since", (datetime.now(UTC) + timedelta(seconds=1)).isoformat())
        digests = {a: case_facts.digest_of(a, store_engine) for a in (done, waiting)}
        assert digests == {done: "forgotten", waiting: projected[waiting].source_digest}
        # Without --since: every application, the closed one too; then nothing changes.
        await refresh()
        assert case_facts.digest_of(done, store_engine) == projected[done].source_digest
        again = await refresh()
        assert again["unchanged"] >= 2, again
        assert kpi_report(store_engine).by_item[DEMO_ITEM].cases >= 2
