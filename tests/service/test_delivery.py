"""Delivery of notices: applicants by SMS through an HTTP gateway, staff by e-mail through
SMTP, against servers the tests start (a small HTTP server, aiosmtpd), with the production
worker on the time-skipping Temporal server. Retries with backoff, a status per notice and
channel, no personal data in logs, and the embedded default: the outbox only."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.notify import Notice, NotifyActivities
from domain.application import ApplicationStatus
from domain.catalog import Catalog
from domain.people import Applicant, resident_id_check_digit
from onething.delivery import (
    Deliverer,
    DeliveryPlan,
    HistoryContacts,
    RetryPolicy,
    SmsConfig,
    SmtpConfig,
)
from onething.settings import Settings, SettingsError, SmtpTls, load_settings
from starter.api import create_app
from starter.client import OnethingClient
from store import deliveries, notifications
from store.deliveries import NoticeDelivery
from tests.api.test_api import REGISTRY, as_
from tests.conftest import CODEC, new_application_id
from tests.desk import full_submission
from worker import build_workers, running

SALON = "open-beauty-salon"
MISSING = ("operator-id", "premises-proof")  # core: the salon gets a correction notice at once
TOKEN = "gw-secret-token-0123"
FAST = RetryPolicy(attempts=4, first_delay=timedelta(milliseconds=100))
POLL = timedelta(milliseconds=200)
MAILBOX = "health-desk@example.gov.cn"


def applicant(seed: int) -> Applicant:
    """Someone whose name, number and phone a log line would give away."""
    first17 = f"42068419880315{seed:03d}"
    return Applicant(
        name="赵送达",
        id_number=first17 + resident_id_check_digit(first17),
        phone=f"1371234{seed:04d}",
    )


# -- a small SMS gateway ------------------------------------------------------------------


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Gateway:
    """An HTTP server on 127.0.0.1 answering each POST with the next status of `script`
    (then 200), with the number in its error bodies, as some gateways do."""

    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        body = json.loads(await reader.readexactly(int(headers.get("content-length", "0"))))
        self.received.append(Received(time.monotonic(), headers, body))
        status = self.script.pop(0) if self.script else 200
        answer = json.dumps({"ok": status == 200, "to": body.get("to")}).encode()
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(answer)}\r\nConnection: close\r\n\r\n".encode()
            + answer
        )
        await writer.drain()
        writer.close()

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[Gateway]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/sms/send"
        async with server:
            yield self


# -- a small mail server ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class MailServer:
    refuse: str | None = None  # an RCPT answer, e.g. "550 ..."
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    port: int = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse:
            return self.refuse.format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"mail-pass")


@contextlib.contextmanager
def mail_server(
    tls: SmtpTls = SmtpTls.OFF, context: ssl.SSLContext | None = None, **options: Any
) -> Iterator[MailServer]:
    """aiosmtpd on 127.0.0.1: plain, STARTTLS required, or TLS from the first byte."""
    handler = MailServer(**options)
    handler.port = free_port()
    by_tls: dict[SmtpTls, dict[str, Any]] = {
        SmtpTls.OFF: {"auth_require_tls": False},
        SmtpTls.STARTTLS: {"tls_context": context, "require_starttls": True},
        # aiosmtpd offers AUTH on a TLS-wrapped socket only when told it need not wait for
        # STARTTLS.
        SmtpTls.IMPLICIT: {"ssl_context": context, "auth_require_tls": False},
    }
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=handler.port,
        authenticator=handler.authenticate,
        **by_tls[tls],
    )
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def smtp(port: int, **changes: Any) -> SmtpConfig:
    config = {"host": "127.0.0.1", "port": port, "sender": "notices@example.gov.cn"}
    return SmtpConfig(**{"tls": SmtpTls.OFF, **config, **changes})


# -- the worker, with delivery --------------------------------------------------------------


@asynccontextmanager
async def delivering(
    env: WorkflowEnvironment, engine: Engine, catalog: Catalog, plan: DeliveryPlan | None
) -> AsyncIterator[tuple[OnethingClient, asyncio.Task[None] | None]]:
    """The production worker; with `plan`, its delivery loop too (as `onething worker` runs
    them); without, as the embedded default builds it."""
    deliverer = Deliverer(engine, plan, HistoryContacts(env.client)) if plan else None
    queue = f"test-{new_application_id()}"
    async with running(build_workers(env.client, queue, engine, delivery=deliverer)):
        task = asyncio.create_task(deliverer.run()) if deliverer else None
        try:
            yield OnethingClient(env.client, queue, catalog), task
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def until(
    engine: Engine,
    application_id: str,
    kind: str,
    done: Callable[[list[NoticeDelivery]], bool],
    seconds: float = 20,
) -> tuple[notifications.Notification, list[NoticeDelivery]]:
    """The application's notice of `kind` once its deliveries satisfy `done`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [
            n for n in notifications.notifications_of(engine, application_id) if n.kind == kind
        ]
        if found:
            rows = deliveries.deliveries_of(engine, [found[0].key]).get(found[0].key, [])
            if done(rows):
                return found[0], rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"the {kind} notice's delivery never got there")


def settled(rows: list[NoticeDelivery]) -> bool:
    return bool(rows) and all(r.status != "pending" for r in rows)


def personal_data_in(records: list[logging.LogRecord], *secrets: str) -> list[str]:
    """Our log lines (message, arguments and extras) that contain any of `secrets`; the
    test's mail server (aiosmtpd, `mail.log`) is the far side and logs what it receives."""
    leaks = []
    for record in records:
        if record.name.startswith("mail.log"):
            continue
        text = record.getMessage() + repr(sorted(record.__dict__.items(), key=lambda kv: kv[0]))
        leaks += [f"{record.name}: {secret[:3]}…" for secret in secrets if secret in text]
    return leaks


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
            notice, [row] = await until(
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
            notice, [row] = await until(
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
            _, [row] = await until(store_engine, sub.application_id, "correction_notice", settled)
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
        _, [row] = await until(store_engine, sub.application_id, "correction_notice", settled)
    assert (row.status, row.attempts, row.reason) == ("failed", 2, "无法连接短信网关")


# -- e-mail to staff mailboxes ----------------------------------------------------------------


@asynccontextmanager
async def loop_of(deliverer: Deliverer) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(deliverer.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def staff_notice(application_id: str, recipient: str, n: int = 0) -> Notice:
    return Notice(
        key=f"application-{application_id}/warning-{n}",
        application_id=application_id,
        recipient=recipient,
        kind="warning",
        message=f"护士执业注册 审查 即将到期 (2026-12-0{n % 9 + 1} 17:30)",
        at=datetime.now(UTC),
    )


async def notices_settled(
    engine: Engine, keys: list[str], seconds: float = 10
) -> dict[str, list[NoticeDelivery]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = deliveries.deliveries_of(engine, keys)
        if all(settled(rows.get(k, [])) for k in keys):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError("the deliveries never settled")


async def test_staff_notices_go_to_their_departments_mailbox_by_smtp(
    store_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = new_application_id()
    with mail_server() as server:
        plan = DeliveryPlan(
            smtp=smtp(server.port, user="onething", password="mail-pass"),
            mailboxes={"health": MAILBOX},
            retry=FAST,
            poll=POLL,
        )
        deliverer = Deliverer(store_engine, plan, contacts=None)
        activities = NotifyActivities(store_engine, deliverer)
        async with loop_of(deliverer):
            health = staff_notice(app, "reviewer:health", 1)
            market = staff_notice(app, "reviewer:market", 2)  # no mailbox for market
            for notice in (health, market, health):  # the retried activity: one notice
                ActivityEnvironment().run(activities.notify, notice)
            rows = await notices_settled(store_engine, [health.key])

    [row] = rows[health.key]
    assert (row.channel, row.status, row.attempts, row.reason) == ("email", "sent", 1, None)
    assert market.key not in deliveries.deliveries_of(store_engine, [market.key])
    assert deliveries.summary([]) == "outbox_only"
    [(to, message)] = server.messages
    assert to == [MAILBOX]
    assert message["From"] == "notices@example.gov.cn" and message["To"] == MAILBOX
    assert message["Subject"] == f"【高效办成一件事】申请 {app} 的通知"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert health.message in body.get_content() and app in body.get_content()
    assert message["Message-ID"].endswith("@onething>")
    assert server.logins == [(b"onething", b"mail-pass")]
    assert not personal_data_in(caplog.records, MAILBOX, health.message, "mail-pass")


async def test_a_refusing_mail_server_fails_the_notice_without_naming_the_address(
    store_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = new_application_id()
    with mail_server(refuse="550 5.1.1 <{address}>: no such mailbox") as server:
        plan = DeliveryPlan(
            smtp=smtp(server.port), mailboxes={"reviewer:health": MAILBOX}, retry=FAST, poll=POLL
        )
        deliverer = Deliverer(store_engine, plan, contacts=None)
        async with loop_of(deliverer) as loop:
            notice = staff_notice(app, "reviewer:health")
            ActivityEnvironment().run(NotifyActivities(store_engine, deliverer).notify, notice)
            [row] = (await notices_settled(store_engine, [notice.key]))[notice.key]
            assert not loop.done()
    assert (row.status, row.attempts, row.reason) == ("failed", 1, "邮件服务器拒收 (SMTP 550)")
    assert server.messages == []
    assert not personal_data_in(caplog.records, MAILBOX, notice.message)


async def test_two_delivery_loops_send_each_notice_once(store_engine: Engine) -> None:
    app = new_application_id()
    with mail_server() as server:
        plan = DeliveryPlan(
            smtp=smtp(server.port), mailboxes={"health": MAILBOX}, retry=FAST, poll=POLL
        )
        one, two = (Deliverer(store_engine, plan, contacts=None) for _ in range(2))
        notices = [staff_notice(app, "reviewer:health", n) for n in range(12)]
        async with loop_of(one), loop_of(two):
            for notice in notices:
                ActivityEnvironment().run(NotifyActivities(store_engine, one).notify, notice)
                two.wake()
            rows = await notices_settled(store_engine, [n.key for n in notices])
    assert {r.status for rs in rows.values() for r in rs} == {"sent"}
    assert len(server.messages) == len(notices)  # not one twice
    sent = sorted(m["Message-ID"] for _, m in server.messages)
    assert len(set(sent)) == len(notices)


# -- the embedded default ---------------------------------------------------------------------


DELIVERY_VARIABLES = (
    "ONETHING_SMTP_HOST",
    "ONETHING_SMTP_PORT",
    "ONETHING_SMTP_USER",
    "ONETHING_SMTP_PASSWORD",
    "ONETHING_SMTP_FROM",
    "ONETHING_SMTP_TLS",
    "ONETHING_STAFF_MAILBOXES",
    "ONETHING_SMS_GATEWAY_URL",
    "ONETHING_SMS_GATEWAY_TOKEN",
    "ONETHING_SMS_GATEWAY_AUTH_HEADER",
)


@pytest.fixture
def no_delivery_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in DELIVERY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.usefixtures("no_delivery_settings")
async def test_the_embedded_default_keeps_notices_in_the_outbox(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog
) -> None:
    plan = DeliveryPlan.from_settings(Settings())
    assert not plan.enabled
    assert plan.channels_for("applicant") == [] and plan.channels_for("reviewer:health") == []
    sub = full_submission(catalog, SALON, new_application_id(), applicant(5), leave_out=MISSING)
    async with delivering(ts_env, store_engine, catalog, None) as (client, _):
        await client.submit(sub)
        _, rows = await until(
            store_engine, sub.application_id, "correction_notice", lambda rows: True
        )
        api = create_app(client, store_engine, REGISTRY, codec=CODEC)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api), base_url="http://api.test"
        ) as http:
            shown = await http.get(
                f"/applications/{sub.application_id}/notices", headers=as_("sup")
            )
    assert rows == []
    [out] = [n for n in shown.json() if n["kind"] == "correction_notice"]
    assert (out["delivery"], out["deliveries"]) == ("outbox_only", [])


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_delivery_settings")
def test_delivery_settings_are_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONETHING_SMTP_HOST", "smtp.example.gov.cn")
    monkeypatch.setenv("ONETHING_SMTP_FROM", "notices@example.gov.cn")
    monkeypatch.setenv("ONETHING_SMTP_TLS", "on")
    monkeypatch.setenv("ONETHING_STAFF_MAILBOXES", f"health={MAILBOX}, reviewer:market=m@x.cn")
    monkeypatch.setenv("ONETHING_SMS_GATEWAY_URL", "https://sms.example.gov.cn/send")
    monkeypatch.setenv("ONETHING_SMS_GATEWAY_TOKEN", TOKEN)
    monkeypatch.setenv("ONETHING_SMS_GATEWAY_AUTH_HEADER", "X-Api-Key")
    plan = DeliveryPlan.from_settings(load_settings())
    assert plan.smtp is not None and plan.smtp.tls is SmtpTls.STARTTLS and plan.smtp.port == 587
    assert plan.sms is not None and plan.sms.headers() == {"X-Api-Key": TOKEN}
    assert plan.channels_for("applicant") == ["sms"]
    assert plan.channels_for("department_head:health") == ["email"]  # the department's
    assert plan.mailbox_for("reviewer:market") == "m@x.cn"  # a role's own entry
    assert plan.channels_for("inspector:market") == []  # no mailbox: the outbox only
    assert TOKEN not in repr(plan) and MAILBOX not in repr(plan)
    assert plan.describe() == {
        "email": True,
        "sms": True,
        "staff_mailboxes": ["health", "reviewer:market"],
        "attempts": 5,
    }


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"ONETHING_SMTP_HOST": "smtp.x.cn"}, "needs ONETHING_SMTP_FROM"),
        (
            {"ONETHING_SMTP_HOST": "h", "ONETHING_SMTP_FROM": "王五 <not-an-address>"},
            "ONETHING_SMTP_FROM: is not an e-mail address",
        ),
        (
            {"ONETHING_SMTP_HOST": "h", "ONETHING_SMTP_FROM": "a@b.cn", "ONETHING_SMTP_TLS": "x"},
            "ONETHING_SMTP_TLS='x'",
        ),
        (
            {"ONETHING_SMTP_HOST": "h", "ONETHING_SMTP_FROM": "a@b.cn", "ONETHING_SMTP_USER": "u"},
            "ONETHING_SMTP_USER and ONETHING_SMTP_PASSWORD go together",
        ),
        ({"ONETHING_STAFF_MAILBOXES": "health=a@b.cn"}, "need ONETHING_SMTP_HOST"),
        (
            {
                "ONETHING_SMTP_HOST": "h",
                "ONETHING_SMTP_FROM": "a@b.cn",
                "ONETHING_STAFF_MAILBOXES": "health=a@b.cn,market=13712340000",
            },
            "ONETHING_STAFF_MAILBOXES: entry 2 (market): is not an e-mail address",
        ),
        (
            {"ONETHING_SMS_GATEWAY_URL": "ftp://user:pw@sms.x.cn/"},
            "ONETHING_SMS_GATEWAY_URL: must be an http:// or https:// URL",
        ),
        ({"ONETHING_SMS_GATEWAY_TOKEN": TOKEN}, "needs ONETHING_SMS_GATEWAY_URL"),
    ],
)
@pytest.mark.usefixtures("no_delivery_settings")
def test_a_wrong_delivery_setting_is_named_without_echoing_addresses_or_secrets(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], expected: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert expected in message
    for secret in (TOKEN, "13712340000", "a@b.cn", "王五", "pw@"):
        assert secret not in message


def test_backoff_doubles_and_is_bounded() -> None:
    retry = RetryPolicy(attempts=20, first_delay=timedelta(seconds=30))
    assert [retry.delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry.delay(19) == timedelta(hours=1)


def test_a_claimed_delivery_is_held_until_its_lease_runs_out(store_engine: Engine) -> None:
    """Of two loops, one holds a row while it tries; a loop that died frees it by its lease."""
    app = new_application_id()
    now = datetime.now(UTC)
    notice = notifications.Notification(
        key=f"application-{app}/n",
        application_id=app,
        recipient="reviewer:health",
        kind="warning",
        message="…",
        created_at=now,
    )
    assert notifications.notify(store_engine, notice, [deliveries.Channel.EMAIL], now=now)
    assert not notifications.notify(store_engine, notice, [deliveries.Channel.EMAIL], now=now)
    lease = timedelta(minutes=1)
    mine = [
        c for c in deliveries.claim_due(store_engine, now, lease, 500) if c.application_id == app
    ]
    assert [(c.notice_key, c.channel, c.attempts) for c in mine] == [(notice.key, "email", 0)]
    again = deliveries.claim_due(store_engine, now + lease / 2, lease, 500)
    assert notice.key not in [c.notice_key for c in again]  # held
    later = deliveries.claim_due(store_engine, now + 2 * lease, lease, 500)
    [claim] = [c for c in later if c.notice_key == notice.key]  # the holder died: free again
    deliveries.record_attempt(
        store_engine,
        claim,
        at=now,
        status=deliveries.DeliveryStatus.PENDING,
        reason="x",
        next_attempt_at=now + 10 * lease,
    )
    assert notice.key not in [
        c.notice_key for c in deliveries.claim_due(store_engine, now + 5 * lease, lease, 500)
    ]  # not due yet
    [row] = deliveries.deliveries_of(store_engine, [notice.key])[notice.key]
    assert (row.status, row.attempts, row.reason, row.claimed_until) == ("pending", 1, "x", None)
    assert row.next_attempt_at == now + 10 * lease


def server_certificate(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A self-signed certificate for 127.0.0.1: the server's context, and the file a client
    trusts it by."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "onething test mail")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


@pytest.mark.parametrize("tls", [SmtpTls.STARTTLS, SmtpTls.IMPLICIT])
async def test_mail_goes_over_tls_to_a_server_whose_certificate_is_trusted(
    tls: SmtpTls, store_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context, trusted = server_certificate(tmp_path)
    app = new_application_id()
    with mail_server(tls, context) as server:
        plan = DeliveryPlan(
            smtp=smtp(server.port, tls=tls, user="onething", password="mail-pass"),
            mailboxes={"health": MAILBOX},
            retry=RetryPolicy(attempts=1),
            poll=POLL,
        )
        deliverer = Deliverer(store_engine, plan, contacts=None)
        notify = NotifyActivities(store_engine, deliverer).notify
        async with loop_of(deliverer):
            untrusted = staff_notice(app, "reviewer:health", 1)
            ActivityEnvironment().run(notify, untrusted)
            refused = (await notices_settled(store_engine, [untrusted.key]))[untrusted.key]
            monkeypatch.setenv("SSL_CERT_FILE", str(trusted))  # the system's roots, here
            notice = staff_notice(app, "reviewer:health", 2)
            ActivityEnvironment().run(notify, notice)
            [row] = (await notices_settled(store_engine, [notice.key]))[notice.key]
    assert [(r.status, r.reason) for r in refused] == [("failed", "与邮件服务器的 TLS 握手失败")]
    assert (row.status, row.attempts) == ("sent", 1), row.reason
    assert [to for to, _ in server.messages] == [[MAILBOX]]
    assert server.logins == [(b"onething", b"mail-pass")]  # only ever inside TLS


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
            notice, [row] = await until(
                store_engine, sub.application_id, "correction_notice", settled
            )
        finally:
            running_worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running_worker
    assert (row.status, row.attempts) == ("sent", 2)
    assert [r.body["to"] for r in gateway.received] == [person.phone] * 2
    assert gateway.received[-1].body["text"] == notice.message
