"""Notices to staff by e-mail through SMTP (aiosmtpd on loopback): each department's
mailbox, a refusing server, two delivery loops sending each notice once, and TLS (STARTTLS
and implicit) to a server whose certificate is trusted."""

from __future__ import annotations

import logging
import ssl
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities.notify import NotifyActivities
from onething.delivery import Deliverer, DeliveryPlan, RetryPolicy
from onething.settings import SmtpTls
from store import deliveries
from tests.conftest import new_application_id
from tests.support.delivery import (
    FAST,
    MAILBOX,
    POLL,
    loop_of,
    mail_server,
    notices_settled,
    personal_data_in,
    smtp,
    staff_notice,
)

# -- e-mail to staff mailboxes ----------------------------------------------------------------


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
