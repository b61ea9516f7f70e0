"""Notices to applicants by SMS through an HTTP gateway the tests start, with the
production worker on the time-skipping Temporal server: retries with backoff, a status per
notice, the reason of a failure, no personal data in logs; and `onething worker` delivering
as its settings say."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import ApplicationStatus
from domain.catalog import Catalog
from onething.delivery import DeliveryPlan, RetryPolicy, SmsConfig
from starter.api import create_app
from starter.client import OnethingClient
from starter.desk import full_submission
from tests.conftest import CODEC, new_application_id
from tests.support.api import REGISTRY, as_
from tests.support.delivery import (
    FAST,
    MISSING,
    POLL,
    SALON,
    TOKEN,
    Gateway,
    applicant,
    delivered_when,
    delivering,
    personal_data_in,
    settled,
)
from tests.support.net import free_port

# -- SMS ------------------------------------------------------------------------------------


async def test_sms_is_retried_with_backoff_until_the_gateway_takes_it(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    person = applicant(1)
    sub = full_submission(catalog, SALON, new_application_id(), person, leave_out=MISSING)
    async with Gateway(script=[503, 502]).serving() as gateway:
        plan = DeliveryPlan(sms=SmsConfig(url=gateway.url, token=TOKEN), retry=FAST, poll=POLL)
        async with delivering(ts_env, store_engine, catalog, plan) as (client, _):
            await client.submit(sub)
            notice, [row] = await delivered_when(
                store_engine, sub.application_id, "correction_notice", settled
            )
            api = create_app(client, store_engine, REGISTRY, codec=CODEC)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=api), base_url="http://api.test"
            ) as http:
                shown = await http.get(
                    f"/applications/{sub.application_id}/notices", headers=as_("sup")
                )

    assert (row.channel, row.status, row.attempts, row.reason) == ("sms", "sent", 3, None)
    assert row.last_attempt_at is not None and row.next_attempt_at is None
    assert len(gateway.received) == 3
    first = gateway.received[0]
    assert first.body == {
        "to": person.phone,
        "text": notice.message,
        "reference": first.body["reference"],
    }
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.headers["content-type"] == "application/json"
    # One reference for every attempt: the gateway can tell a retry from a new message.
    assert {r.body["reference"] for r in gateway.received} == {first.body["reference"]}
    gaps = [b.at - a.at for a, b in zip(gateway.received, gateway.received[1:], strict=False)]
    assert gaps[0] >= 0.09 and gaps[1] >= 0.19, gaps  # 0.1 s, then doubled
    assert shown.status_code == 200, shown.text
    [out] = [n for n in shown.json() if n["kind"] == "correction_notice"]
    assert out["delivery"] == "sent"
    assert out["deliveries"] == [
        {
            "channel": "sms",
            "status": "sent",
            "attempts": 3,
            "last_attempt_at": out["deliveries"][0]["last_attempt_at"],
            "reason": None,
        }
    ]
    assert datetime.fromisoformat(out["deliveries"][0]["last_attempt_at"]).tzinfo is not None


async def test_a_gateway_that_always_fails_leaves_the_notice_failed_with_its_reason(
    ts_env: WorkflowEnvironment,
    store_engine: Engine,
    catalog: Catalog,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    person = applicant(2)
    sub = full_submission(catalog, SALON, new_application_id(), person, leave_out=MISSING)
    plan_retry = RetryPolicy(attempts=3, first_delay=timedelta(milliseconds=50))
    async with Gateway(script=[503] * 100).serving() as gateway:
        plan = DeliveryPlan(
            sms=SmsConfig(url=gateway.url, token=TOKEN), retry=plan_retry, poll=POLL
        )
        async with delivering(ts_env, store_engine, catalog, plan) as (client, loop):
            await client.submit(sub)
            notice, [row] = await delivered_when(
                store_engine, sub.application_id, "correction_notice", settled
            )
            await asyncio.sleep(0.3)  # no further attempt after the last
            assert loop is not None and not loop.done()  # the loop goes on
            state = await client.state(sub.application_id)

    assert (row.status, row.attempts) == ("failed", 3)
    assert row.reason == "短信网关暂不可用 (HTTP 503)"
    assert row.next_attempt_at is None and row.last_attempt_at is not None
    assert len(gateway.received) == 3
    assert state.status is ApplicationStatus.AWAITING_CORRECTION  # the workflow never noticed
    logged = [r for r in caplog.records if r.name == "onething.delivery"]
    assert [r.getMessage() for r in logged if r.levelno == logging.WARNING] == [
        "notice not delivered"
    ]
    assert [getattr(r, "attempt", None) for r in logged if "notice" in r.__dict__] == [1, 2, 3]
    assert all(getattr(r, "notice", notice.key) == notice.key for r in logged)
    assert not personal_data_in(
        caplog.records,
        person.phone,
        person.name,
        person.id_number,
        notice.message,
        notice.message[:12],
        TOKEN,
    )


async def test_a_gateway_refusing_the_request_fails_at_once(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = full_submission(catalog, SALON, new_application_id(), applicant(3), leave_out=MISSING)
    async with Gateway(script=[400]).serving() as gateway:
        plan = DeliveryPlan(sms=SmsConfig(url=gateway.url, token=TOKEN), retry=FAST, poll=POLL)
        async with delivering(ts_env, store_engine, catalog, plan) as (client, _):
            await client.submit(sub)
            _, [row] = await delivered_when(
                store_engine, sub.application_id, "correction_notice", settled
            )
    # A 4xx other than 408/425/429 says the request itself is wrong: no retry.
    assert (row.status, row.attempts, row.reason) == ("failed", 1, "短信网关拒绝 (HTTP 400)")
    assert len(gateway.received) == 1


async def test_an_unreachable_gateway_is_retried_then_failed(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    sub = full_submission(catalog, SALON, new_application_id(), applicant(4), leave_out=MISSING)
    retry = RetryPolicy(attempts=2, first_delay=timedelta(milliseconds=50))
    plan = DeliveryPlan(
        sms=SmsConfig(url=f"http://127.0.0.1:{free_port()}/sms", timeout_s=2),
        retry=retry,
        poll=POLL,
    )
    async with delivering(ts_env, store_engine, catalog, plan) as (client, _):
        await client.submit(sub)
        _, [row] = await delivered_when(
            store_engine, sub.application_id, "correction_notice", settled
        )
    assert (row.status, row.attempts, row.reason) == ("failed", 2, "无法连接短信网关")


async def test_onething_worker_delivers_as_its_settings_say(
    ts_env: WorkflowEnvironment,
    store_engine: Engine,
    catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`onething worker` (run_worker): the settings make the plan, the loop runs beside the
    workers, and the number comes from history through the worker's own codec."""
    from worker import run_worker

    keys = tmp_path / "keys.json"
    keys.write_text(CODEC.keyring.to_json(), "utf-8")
    queue = f"test-{new_application_id()}"
    async with Gateway(script=[503]).serving() as gateway:
        for name, value in {
            "TEMPORAL_ADDRESS": ts_env.client.service_client.config.target_host,
            "ONETHING_TASK_QUEUE": queue,
            "DATABASE_URL": store_engine.url.render_as_string(hide_password=False),
            "ONETHING_DATA_DIR": str(tmp_path),
            "ONETHING_CODEC_KEYS_FILE": str(keys),
            "ONETHING_CODEC_KEYS": "",
            "ONETHING_METRICS_BIND": "off",
            "ONETHING_SMS_GATEWAY_URL": gateway.url,
            "ONETHING_SMS_GATEWAY_TOKEN": TOKEN,
            "ONETHING_DELIVERY_BACKOFF_S": "0.1",
            "ONETHING_DELIVERY_POLL_S": "0.2",
        }.items():
            monkeypatch.setenv(name, value)
        person = applicant(6)
        sub = full_submission(catalog, SALON, new_application_id(), person, leave_out=MISSING)
        running_worker = asyncio.create_task(run_worker())
        try:
            await OnethingClient(ts_env.client, queue, catalog).submit(sub)
            notice, [row] = await delivered_when(
                store_engine, sub.application_id, "correction_notice", settled
            )
        finally:
            running_worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running_worker
    assert (row.status, row.attempts) == ("sent", 2)
    assert [r.body["to"] for r in gateway.received] == [person.phone] * 2
    assert gateway.received[-1].body["text"] == notice.message
