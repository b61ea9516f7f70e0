"""The delivery plan: the embedded default keeps notices in the outbox, the settings are
read and checked without echoing addresses or secrets, the backoff doubles and is bounded,
and a claimed delivery is held by its lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, event
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from onething.delivery import DeliveryPlan, RetryPolicy
from onething.settings import Settings, SettingsError, SmtpTls, load_settings
from starter.api import create_app
from starter.desk import full_submission
from store import deliveries, notifications
from tests.conftest import CODEC, new_application_id
from tests.support.api import REGISTRY, as_
from tests.support.delivery import (
    MAILBOX,
    MISSING,
    SALON,
    TOKEN,
    applicant,
    delivered_when,
    delivering,
)

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
        _, rows = await delivered_when(
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
    now = datetime.now(UTC)
    notice = _warning_by_mail(store_engine, now)
    app = notice.application_id
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
    _failed_once(store_engine, claim, now, retry_at=now + 10 * lease)
    assert notice.key not in [
        c.notice_key for c in deliveries.claim_due(store_engine, now + 5 * lease, lease, 500)
    ]  # not due yet
    [row] = deliveries.deliveries_of(store_engine, [notice.key])[notice.key]
    assert (row.status, row.attempts, row.reason, row.claimed_until) == ("pending", 1, "x", None)
    assert row.next_attempt_at == now + 10 * lease


def test_reading_deliveries_writes_nothing_back(store_engine: Engine) -> None:
    """A reader (the API, the CLI, a test) beside a delivery loop: what it read must not be
    written back over the loop's later attempt. SQLite hands instants back naive; made UTC
    inside the reading session, they were flushed back by its commit."""
    now = datetime.now(UTC)
    notice = _warning_by_mail(store_engine, now)
    app = notice.application_id
    [claim] = [
        c
        for c in deliveries.claim_due(store_engine, now, timedelta(minutes=1), 500)
        if c.application_id == app
    ]
    written: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        written.append(statement)

    event.listen(store_engine, "before_cursor_execute", record)
    try:
        [row] = deliveries.deliveries_of(store_engine, [notice.key])[notice.key]
    finally:
        event.remove(store_engine, "before_cursor_execute", record)
    assert row.claimed_until is not None and row.claimed_until.tzinfo is not None
    assert [s for s in written if not s.lstrip().upper().startswith("SELECT")] == []
    _failed_once(store_engine, claim, now, retry_at=now + timedelta(seconds=1))
    [after] = deliveries.deliveries_of(store_engine, [notice.key])[notice.key]
    assert (after.claimed_until, after.next_attempt_at) == (None, now + timedelta(seconds=1))


def _warning_by_mail(store_engine: Engine, now: datetime) -> notifications.Notification:
    """A new notice to a reviewer, with its mail delivery pending from `now`."""
    app = new_application_id()
    notice = notifications.Notification(
        key=f"application-{app}/n",
        application_id=app,
        recipient="reviewer:health",
        kind="warning",
        message="…",
        created_at=now,
    )
    assert notifications.notify(store_engine, notice, [deliveries.Channel.EMAIL], now=now)
    return notice


def _failed_once(
    store_engine: Engine, claim: deliveries.Claim, now: datetime, *, retry_at: datetime
) -> None:
    """The loop's attempt failed for reason "x": pending again, due at `retry_at`."""
    deliveries.record_attempt(
        store_engine,
        claim,
        at=now,
        status=deliveries.DeliveryStatus.PENDING,
        reason="x",
        next_attempt_at=retry_at,
    )
