"""Delivery of the outbox: staff notices by e-mail (SMTP), applicant notices by SMS (an HTTP
gateway), with bounded retries and a status per notice and channel (`store.deliveries`).

The notify activity only records a notice and its pending deliveries (fast, idempotent by
the notice key) and wakes the loop; `Deliverer.run`, beside the worker in the same process,
sends. A slow or failing gateway never holds an activity or a workflow, and its retries are
no Temporal actions. The applicant's mobile number is read when the SMS is sent, from the
application's start input in its (encrypted) history: the store keeps no second copy.

Logs name notices by key, channels and attempts: never an address, a number, a name or
the text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.application import Submission, application_workflow_id
from onething.settings import Settings, SmtpTls
from store import deliveries
from store.deliveries import Channel, Claim, DeliveryStatus

log = logging.getLogger("onething.delivery")

APPLICANT = "applicant"
SUBJECT = "【高效办成一件事】申请 {application_id} 的通知"
MAX_DELAY = timedelta(hours=1)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # in all, the first included
    first_delay: timedelta = timedelta(seconds=30)  # doubles after each failed attempt

    def delay(self, attempt: int) -> timedelta:
        """The wait after failed attempt number `attempt` (1, 2, ...)."""
        delay: timedelta = self.first_delay * 2 ** (attempt - 1)
        return min(delay, MAX_DELAY)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    tls: SmtpTls = SmtpTls.STARTTLS
    user: str = ""
    password: str = field(default="", repr=False)
    timeout_s: float = 10.0


@dataclass(frozen=True)
class SmsConfig:
    url: str
    token: str = field(default="", repr=False)
    auth_header: str = "Authorization"
    timeout_s: float = 10.0

    def headers(self) -> dict[str, str]:
        if not self.token:
            return {}
        if self.auth_header.lower() == "authorization":
            return {"Authorization": f"Bearer {self.token}"}
        return {self.auth_header: self.token}


@dataclass(frozen=True)
class DeliveryPlan:
    """Which channels a recipient's notices go by; none at all is the outbox only."""

    smtp: SmtpConfig | None = None
    sms: SmsConfig | None = None
    mailboxes: Mapping[str, str] = field(default_factory=dict, repr=False)
    retry: RetryPolicy = RetryPolicy()
    poll: timedelta = timedelta(seconds=5)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPlan:
        timeout = settings.delivery_timeout_s
        smtp = (
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_from,
                tls=settings.smtp_tls,
                user=settings.smtp_user,
                password=(
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                ),
                timeout_s=timeout,
            )
            if settings.smtp_host
            else None
        )
        sms = (
            SmsConfig(
                url=settings.sms_gateway_url,
                token=(
                    settings.sms_gateway_token.get_secret_value()
                    if settings.sms_gateway_token
                    else ""
                ),
                auth_header=settings.sms_gateway_auth_header,
                timeout_s=timeout,
            )
            if settings.sms_gateway_url
            else None
        )
        return cls(
            smtp=smtp,
            sms=sms,
            mailboxes=settings.staff_mailbox_map,
            retry=RetryPolicy(
                attempts=settings.delivery_attempts,
                first_delay=timedelta(seconds=settings.delivery_backoff_s),
            ),
            poll=timedelta(seconds=settings.delivery_poll_s),
        )

    @property
    def enabled(self) -> bool:
        return self.smtp is not None or self.sms is not None

    def mailbox_for(self, recipient: str) -> str | None:
        """A staff recipient (`reviewer:health`) by its own entry, else its department's."""
        if recipient == APPLICANT:
            return None
        _, _, department = recipient.partition(":")
        return self.mailboxes.get(recipient) or (
            self.mailboxes.get(department) if department else None
        )

    def channels_for(self, recipient: str) -> list[Channel]:
        """The applicant: SMS (the submission has a mobile number, no e-mail address).
        Staff: e-mail to their department's mailbox, if one is configured."""
        if recipient == APPLICANT:
            return [Channel.SMS] if self.sms is not None else []
        if self.smtp is not None and self.mailbox_for(recipient) is not None:
            return [Channel.EMAIL]
        return []

    def describe(self) -> dict[str, object]:
        """For the start-up log line: what is on, without addresses or secrets."""
        return {
            "email": self.smtp is not None,
            "sms": self.sms is not None,
            "staff_mailboxes": sorted(self.mailboxes),
            "attempts": self.retry.attempts,
        }


class DeliveryFailure(Exception):
    """An attempt that did not deliver; `reason` is short and holds no personal data."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


# -- where an applicant is reached --------------------------------------------------------


class Contacts(Protocol):
    async def phone_of(self, application_id: str) -> str: ...


class HistoryContacts:
    """The applicant's mobile number from the application's start input (the Submission),
    decoded with the client's converter and codec. Read per SMS, kept nowhere."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def phone_of(self, application_id: str) -> str:
        handle = self._client.get_workflow_handle(application_workflow_id(application_id))
        try:
            async for event in handle.fetch_history_events(page_size=1):
                started = event.workflow_execution_started_event_attributes
                decoded = await self._client.data_converter.decode(
                    list(started.input.payloads), [Submission]
                )
                submission = decoded[0]
                if not isinstance(submission, Submission):
                    break
                return submission.applicant.phone
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise DeliveryFailure("申请记录已不可读 (已过保留期)", permanent=True) from None
            raise DeliveryFailure("暂时读不到申请记录") from None
        except DeliveryFailure:
            raise
        except Exception:  # a payload this code cannot read: retrying will not help
            raise DeliveryFailure("读不出申请人的联系方式", permanent=True) from None
        raise DeliveryFailure("读不出申请人的联系方式", permanent=True)


# -- senders ------------------------------------------------------------------------------


def reference(notice_key: str, channel: Channel) -> str:
    """Stable per notice and channel: the gateway's de-duplication key, the mail's ID."""
    return hashlib.sha256(f"{notice_key}#{channel.value}".encode()).hexdigest()[:32]


def send_mail(config: SmtpConfig, to: str, subject: str, text: str, ref: str) -> None:
    """One message through the SMTP server (blocking: run it in a thread)."""
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(_now())
    message["Message-ID"] = f"<{ref}@onething>"
    message.set_content(text)
    context = ssl.create_default_context()
    try:
        smtp: smtplib.SMTP = (
            smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_s, context=context)
            if config.tls is SmtpTls.IMPLICIT
            else smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
        )
        with smtp:
            if config.tls is SmtpTls.STARTTLS:
                smtp.starttls(context=context)
            if config.user:
                smtp.login(config.user, config.password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        code = codes[0] if codes else 550
        raise DeliveryFailure(f"邮件服务器拒收 (SMTP {code})", permanent=code >= 500) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryFailure(f"邮件服务器登录失败 (SMTP {exc.smtp_code})") from None
    except smtplib.SMTPResponseException as exc:
        code = exc.smtp_code
        if code >= 500:
            raise DeliveryFailure(f"邮件服务器拒绝 (SMTP {code})", permanent=True) from None
        raise DeliveryFailure(f"邮件服务器暂不接收 (SMTP {code})") from None
    except smtplib.SMTPNotSupportedError:  # no STARTTLS, or no AUTH, offered
        raise DeliveryFailure("邮件服务器不支持 STARTTLS 或登录") from None
    except ssl.SSLError:
        raise DeliveryFailure("与邮件服务器的 TLS 握手失败") from None
    except TimeoutError:
        raise DeliveryFailure("邮件服务器超时") from None
    except (smtplib.SMTPException, OSError):
        raise DeliveryFailure("无法连接邮件服务器") from None


async def send_sms(
    http: httpx.AsyncClient, config: SmsConfig, to: str, text: str, ref: str
) -> None:
    """POST {"to", "text", "reference"} as JSON; any 2xx is accepted. The response body is
    not read: a gateway may echo the number."""
    try:
        response = await http.post(
            config.url,
            json={"to": to, "text": text, "reference": ref},
            headers=config.headers(),
            timeout=config.timeout_s,
        )
    except httpx.TimeoutException:
        raise DeliveryFailure("短信网关超时") from None
    except httpx.HTTPError:
        raise DeliveryFailure("无法连接短信网关") from None
    status = response.status_code
    if 200 <= status < 300:
        return
    if status in (408, 425, 429) or status >= 500:
        raise DeliveryFailure(f"短信网关暂不可用 (HTTP {status})")
    raise DeliveryFailure(f"短信网关拒绝 (HTTP {status})", permanent=True)


# -- the loop -----------------------------------------------------------------------------


class Deliverer:
    """Sends due deliveries, records each attempt, retries with backoff until the plan's
    attempts are spent. Several processes may run one: a row is held by one at a time."""

    def __init__(
        self,
        engine: Engine,
        plan: DeliveryPlan,
        contacts: Contacts | None,
        *,
        batch: int = 20,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self.engine = engine
        self.plan = plan
        self._contacts = contacts
        self._batch = batch
        self._now = now
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        # Long enough for an attempt's timeouts; a row a crashed loop held is free after it.
        timeout = max(
            self.plan.smtp.timeout_s if self.plan.smtp else 0,
            self.plan.sms.timeout_s if self.plan.sms else 0,
        )
        self._lease = timedelta(seconds=3 * timeout + 60)

    # What the notify activity asks (from its thread).

    def channels_for(self, recipient: str) -> Sequence[Channel]:
        return self.plan.channels_for(recipient)

    def wake(self) -> None:
        """A notice was recorded: look now rather than at the next poll. Thread-safe."""
        loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(event.set)

    async def run(self) -> None:
        """Until cancelled. A failing store or gateway is logged (by kind) and outlived."""
        self._loop, self._event = asyncio.get_running_loop(), asyncio.Event()
        log.info("notice delivery started", extra=self.plan.describe())
        async with httpx.AsyncClient() as http:
            while True:
                self._event.clear()
                try:
                    await self.deliver_due(http)
                    wait = await asyncio.to_thread(self._until_next)
                except Exception as exc:  # never its message: SQL parameters hold data
                    log.warning("notice delivery round failed", extra={"error": type(exc).__name__})
                    wait = self.plan.poll.total_seconds()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._event.wait(), timeout=wait)

    def _until_next(self) -> float:
        poll = self.plan.poll.total_seconds()
        due = deliveries.next_due_at(self.engine, self._now())
        if due is None:
            return poll
        return min(poll, max(0.0, (due - self._now()).total_seconds()))

    async def deliver_due(self, http: httpx.AsyncClient) -> int:
        """One round: claim what is due and try each; the number tried."""
        claims = await asyncio.to_thread(
            deliveries.claim_due, self.engine, self._now(), self._lease, self._batch
        )
        await asyncio.gather(*(self._attempt(http, claim) for claim in claims))
        return len(claims)

    async def _attempt(self, http: httpx.AsyncClient, claim: Claim) -> None:
        attempt = claim.attempts + 1
        ids = {"notice": claim.notice_key, "channel": claim.channel.value, "attempt": attempt}
        try:
            await self._send(http, claim)
        except Exception as exc:
            failure = (
                exc
                if isinstance(exc, DeliveryFailure)
                else DeliveryFailure(f"意外错误 ({type(exc).__name__})")
            )
            at = self._now()
            if failure.permanent or attempt >= self.plan.retry.attempts:
                await asyncio.to_thread(
                    deliveries.record_attempt,
                    self.engine,
                    claim,
                    at=at,
                    status=DeliveryStatus.FAILED,
                    reason=failure.reason,
                )
                log.warning("notice not delivered", extra={**ids, "reason": failure.reason})
                return
            next_at = at + self.plan.retry.delay(attempt)
            await asyncio.to_thread(
                deliveries.record_attempt,
                self.engine,
                claim,
                at=at,
                status=DeliveryStatus.PENDING,
                reason=failure.reason,
                next_attempt_at=next_at,
            )
            log.info(
                "notice delivery retried later",
                extra={**ids, "reason": failure.reason, "next_attempt_at": next_at.isoformat()},
            )
            return
        await asyncio.to_thread(
            deliveries.record_attempt,
            self.engine,
            claim,
            at=self._now(),
            status=DeliveryStatus.SENT,
        )
        log.info("notice delivered", extra=ids)

    async def _send(self, http: httpx.AsyncClient, claim: Claim) -> None:
        ref = reference(claim.notice_key, claim.channel)
        if claim.channel is Channel.SMS:
            if self.plan.sms is None:
                raise DeliveryFailure("短信网关未配置")
            if claim.recipient != APPLICANT:
                raise DeliveryFailure("此收件人不收短信", permanent=True)
            if self._contacts is None:
                raise DeliveryFailure("读不出申请人的联系方式")
            phone = await self._contacts.phone_of(claim.application_id)
            await send_sms(http, self.plan.sms, phone, claim.message, ref)
            return
        if self.plan.smtp is None:
            raise DeliveryFailure("邮件服务器未配置")
        mailbox = self.plan.mailbox_for(claim.recipient)
        if mailbox is None:
            raise DeliveryFailure("未配置收件邮箱", permanent=True)
        subject = SUBJECT.format(application_id=claim.application_id)
        text = f"{claim.message}\n\n申请编号: {claim.application_id}\n"
        await asyncio.to_thread(send_mail, self.plan.smtp, mailbox, subject, text, ref)
