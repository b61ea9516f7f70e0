"""When the service, not the rules, does not carry a request out, staff and the operator
read why in one line: the workers cannot decrypt it (a command run with another keyring),
or no worker answered in time. Real dev server: what production runs."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import ItemStatus, ReviewDecision, ReviewVerdict
from domain.catalog import Catalog
from domain.people import Role
from domain.staff_words import ITEM_STATUS
from onething.codec import Keyring
from starter.client import OnethingClient, Unanswered
from starter.demo import DEMO_ITEM, demo_submission
from starter.desk import eventually, item_in, staff
from tests.conftest import cli, cli_reaches, new_application_id, onething_client
from worker import build_workers, running

pytestmark = pytest.mark.parametrize("store_engine", ["sqlite"], indirect=True)


async def test_a_command_sealed_with_a_key_the_workers_lack_says_so_and_changes_nothing(
    dev_env: WorkflowEnvironment,
    store_engine: Engine,
    catalog: Catalog,
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    async with onething_client(dev_env, store_engine, catalog) as client:
        cli_reaches(monkeypatch, dev_env, store_engine, client.task_queue)
        application_id = new_application_id()
        await client.submit(demo_submission(catalog, application_id))
        await item_in(client, application_id, DEMO_ITEM, ItemStatus.UNDER_REVIEW)
        department = catalog.item(DEMO_ITEM).department
        decide = ["decide", application_id, DEMO_ITEM, "approve", "--department", department]

        ours = tmp_path / "keys.json"  # the workers' keys, as `cli_env` wrote them
        other = tmp_path / "other-keys.json"
        other.write_text(Keyring.generate("laptop-key").to_json(), "utf-8")
        monkeypatch.setenv("ONETHING_CODEC_KEYS_FILE", str(other))
        refused = await cli(*decide, "--reviewer", "rev-1", code=2)
        line = refused.stderr.strip()
        assert len(line.splitlines()) == 1, line
        assert line.startswith("error: worker: the workers cannot decrypt this request"), line
        assert "'laptop-key'" in line and "nothing was changed" in line, line

        # Nothing was changed, and the item goes on: the same decision with the workers' keys.
        monkeypatch.setenv("ONETHING_CODEC_KEYS_FILE", str(ours))
        # (its next workflow task, without the request, answers again within seconds)
        await item_in(client, application_id, DEMO_ITEM, ItemStatus.UNDER_REVIEW)
        decided = await cli(*decide, "--reviewer", "rev-1")
        said = decided.stdout.strip()
        assert said in ITEM_STATUS.values() and said != ITEM_STATUS[ItemStatus.UNDER_REVIEW]


async def test_a_request_no_worker_carries_out_ends_at_its_deadline_saying_so(
    dev_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    async with onething_client(dev_env, store_engine, catalog) as client:
        application_id = new_application_id()
        await client.submit(demo_submission(catalog, application_id))
        await item_in(client, application_id, DEMO_ITEM, ItemStatus.UNDER_REVIEW)
    # The worker has stopped: the review waits for one.
    impatient = OnethingClient(
        dev_env.client, client.task_queue, catalog, answer_within=timedelta(seconds=2)
    )
    reviewer = staff(Role.REVIEWER, catalog.item(DEMO_ITEM).department)
    started = time.monotonic()
    with pytest.raises(Unanswered) as refused:
        await impatient.decide(
            application_id,
            DEMO_ITEM,
            ReviewDecision(reviewer=reviewer, verdict=ReviewVerdict.APPROVE),
        )
    assert time.monotonic() - started < 10
    assert refused.value.field == "worker"
    assert "within 2 s" in refused.value.problem
    assert "may still be carried out" in refused.value.problem

    # As it says: a worker again on the queue carries the request out, with no second one.
    async with running(build_workers(dev_env.client, client.task_queue, store_engine)):
        await eventually(
            lambda: client.item_state(application_id, DEMO_ITEM),
            lambda s: s.status is not ItemStatus.UNDER_REVIEW,
            "the review decided by the request that waited",
            attempts=600,  # up to 30 s: the new worker starts and polls first
        )
