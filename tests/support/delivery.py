"""What the delivery tests share: a small SMS gateway and a small mail server on loopback,
the production worker with its delivery loop, and waiting for a notice's deliveries."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from activities.notify import Notice
from domain.catalog import Catalog
from domain.people import Applicant, resident_id_check_digit
from onething.delivery import Deliverer, DeliveryPlan, HistoryContacts, RetryPolicy, SmtpConfig
from onething.settings import SmtpTls
from starter.client import OnethingClient
from starter.desk import eventually
from store import deliveries, notifications
from store.deliveries import NoticeDelivery
from tests.conftest import new_application_id
from tests.support.net import free_port
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


@dataclass
class MailServer:
    """aiosmtpd's handler: takes every message (or refuses each recipient with `refuse`)
    and a login with the password "mail-pass"; keeps what it got."""

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
    """The mail server on 127.0.0.1:`port`, plain unless `changes` say otherwise."""
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
        client = OnethingClient(env.client, queue, catalog)
        if deliverer is None:
            yield client, None
        else:
            async with loop_of(deliverer) as task:
                yield client, task


async def delivered_when(
    engine: Engine,
    application_id: str,
    kind: str,
    done: Callable[[list[NoticeDelivery]], bool],
    seconds: float = 20,
) -> tuple[notifications.Notification, list[NoticeDelivery]]:
    """The application's notice of `kind` once its deliveries satisfy `done`."""

    async def notice_and_rows() -> tuple[notifications.Notification, list[NoticeDelivery]] | None:
        found = [
            n for n in notifications.notifications_of(engine, application_id) if n.kind == kind
        ]
        if not found:
            return None
        return found[0], deliveries.deliveries_of(engine, [found[0].key]).get(found[0].key, [])

    return await eventually(
        notice_and_rows,
        lambda found: done(found[1]),
        f"the {kind} notice's delivery gets there",
        attempts=int(seconds / 0.05),
    )


def settled(rows: list[NoticeDelivery]) -> bool:
    """Delivered or given up on every channel."""
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


@asynccontextmanager
async def loop_of(deliverer: Deliverer) -> AsyncIterator[asyncio.Task[None]]:
    """`deliverer`'s loop running as a task, cancelled at the end."""
    task = asyncio.create_task(deliverer.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def staff_notice(application_id: str, recipient: str, n: int = 0) -> Notice:
    """The `n`th warning of the application to `recipient` (a role and department)."""
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
    """The deliveries of the notices `keys` once none is pending."""

    async def rows() -> dict[str, list[NoticeDelivery]]:
        return deliveries.deliveries_of(engine, keys)

    return await eventually(
        rows,
        lambda found: all(settled(found.get(k, [])) for k in keys),
        "the deliveries settle",
        attempts=int(seconds / 0.05),
    )
