"""Settings from environment variables, with defaults for the embedded case.

Every variable is validated at start-up; a wrong value stops the process with
one line that names the variable and the problem (`SettingsError`).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The Temporal SDK's own default (the sticky cache of `ONETHING_MAX_CACHED_WORKFLOWS`).
DEFAULT_CACHED_WORKFLOWS = 1000


class LogFormat(StrEnum):
    AUTO = "auto"  # human-readable on a terminal, JSON otherwise
    CONSOLE = "console"
    JSON = "json"


class SmtpTls(StrEnum):
    STARTTLS = "starttls"  # plain connection upgraded by STARTTLS (port 587); required
    IMPLICIT = "implicit"  # TLS from the first byte (SMTPS, port 465)
    OFF = "off"  # plain: only for a relay on the same host or a test server


_MAILBOX = re.compile(r"[^@\s,;<>\"']{1,64}@[A-Za-z0-9.\-]{1,190}\.[A-Za-z]{2,24}")
_PUBLIC_URL = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(:\d{1,5})?(/[^\s?#]*)?")
_MAILBOX_KEY = re.compile(r"([a-z_]+:)?[a-z0-9][a-z0-9_\-]{0,63}")


def parse_mailboxes(value: str) -> dict[str, str]:
    """`market=desk@example.gov.cn,reviewer:health=b@example.gov.cn` as a mapping; errors
    name the entry by its position, never its address."""
    mailboxes: dict[str, str] = {}
    for index, entry in enumerate(e.strip() for e in value.split(",")):
        if not entry:
            continue
        key, sep, address = (part.strip() for part in entry.partition("="))
        if not sep or not _MAILBOX_KEY.fullmatch(key):
            raise ValueError(
                f"entry {index + 1}: must be department=address or role:department=address"
            )
        if not _MAILBOX.fullmatch(address):
            raise ValueError(f"entry {index + 1} ({key}): is not an e-mail address")
        if key in mailboxes:
            raise ValueError(f"entry {index + 1} ({key}): named twice")
        mailboxes[key] = address
    return mailboxes


class SettingsError(RuntimeError):
    """A setting has a wrong value; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    temporal_address: str = Field("127.0.0.1:7233", validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field("default", validation_alias="TEMPORAL_NAMESPACE")
    task_queue: str = Field("onething", validation_alias="ONETHING_TASK_QUEUE")
    database_url: str = Field("", validation_alias="DATABASE_URL")
    data_dir: Path = Field(PROJECT_ROOT / ".data", validation_alias="ONETHING_DATA_DIR")
    log_format: LogFormat = Field(LogFormat.AUTO, validation_alias="ONETHING_LOG_FORMAT")
    log_level: str = Field("INFO", validation_alias="ONETHING_LOG_LEVEL")
    ui_port: int = Field(8233, ge=1, le=65535, validation_alias="ONETHING_UI_PORT")
    codec_port: int = Field(8234, ge=1, le=65535, validation_alias="ONETHING_CODEC_PORT")
    codec_keys: str = Field("", validation_alias="ONETHING_CODEC_KEYS")
    codec_keys_file: Path | None = Field(None, validation_alias="ONETHING_CODEC_KEYS_FILE")

    # A secured cluster or Temporal Cloud. TLS is on when TEMPORAL_TLS says so, or when a
    # certificate, CA or API key is given (unset: auto); PEM files, read at connect time.
    temporal_tls: bool | None = Field(None, validation_alias="TEMPORAL_TLS")
    # The second names are the Temporal SDKs' and CLI's environment configuration.
    temporal_tls_cert: Path | None = Field(
        None, validation_alias=AliasChoices("TEMPORAL_TLS_CERT", "TEMPORAL_TLS_CLIENT_CERT_PATH")
    )
    temporal_tls_key: Path | None = Field(
        None, validation_alias=AliasChoices("TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CLIENT_KEY_PATH")
    )
    temporal_tls_ca: Path | None = Field(
        None, validation_alias=AliasChoices("TEMPORAL_TLS_CA", "TEMPORAL_TLS_SERVER_CA_CERT_PATH")
    )
    temporal_tls_server_name: str = Field("", validation_alias="TEMPORAL_TLS_SERVER_NAME")
    temporal_api_key: SecretStr | None = Field(None, validation_alias="TEMPORAL_API_KEY")
    temporal_api_key_file: Path | None = Field(None, validation_alias="TEMPORAL_API_KEY_FILE")
    # Prometheus metrics of the SDK (host:port), or "off".
    metrics_bind: str = Field("127.0.0.1:9464", validation_alias="ONETHING_METRICS_BIND")
    calendar_overrides: Path | None = Field(None, validation_alias="ONETHING_CALENDAR_OVERRIDES")
    # Where the public reaches this service (scheme://host[:port][/prefix]): every guide
    # link and doorplate QR code, from the API and the CLI alike. Unset: the API's own
    # listening address (a loopback one by default, which `onething dev` warns about).
    # The old names (the API's, the CLI's) are still read.
    public_url: str = Field(
        "",
        validation_alias=AliasChoices(
            "ONETHING_PUBLIC_URL", "ONETHING_API_PUBLIC_URL", "ONETHING_GUIDE_BASE_URL"
        ),
    )
    # The API's old name, read on its own as well: when set it outranks the others, as it
    # did when the API kept its own settings (`public_base_url`).
    api_public_url: str = Field("", validation_alias="ONETHING_API_PUBLIC_URL", repr=False)

    # The HTTP API (`onething api`, and inside `onething dev`): where it listens.
    api_host: str = Field("127.0.0.1", validation_alias="ONETHING_API_HOST")
    api_port: int = Field(8000, ge=1, le=65535, validation_alias="ONETHING_API_PORT")
    # Bearer tokens (starter.auth): the document inline, else its file, else the embedded
    # default <data_dir>/api-tokens.json.
    api_tokens: str = Field("", validation_alias="ONETHING_API_TOKENS", repr=False)
    api_tokens_file: Path | None = Field(None, validation_alias="ONETHING_API_TOKENS_FILE")
    # HMAC keys of references to people (onething.keys): inline, else a file, else the
    # embedded default <data_dir>/subject-keys.json.
    subject_keys: str = Field("", validation_alias="ONETHING_SUBJECT_KEYS", repr=False)
    subject_keys_file: Path | None = Field(None, validation_alias="ONETHING_SUBJECT_KEYS_FILE")
    # A font file with Chinese glyphs for doorplates (starter.doorplate), checked when one
    # is drawn; unset: a usual place.
    doorplate_font: str = Field("", validation_alias="ONETHING_DOORPLATE_FONT")

    # Delivery of notices (onething.delivery). Neither an SMTP host nor an SMS gateway:
    # notices stay in the outbox (the embedded default).
    smtp_host: str = Field("", validation_alias="ONETHING_SMTP_HOST")
    smtp_port: int = Field(587, ge=1, le=65535, validation_alias="ONETHING_SMTP_PORT")
    smtp_user: str = Field("", validation_alias="ONETHING_SMTP_USER")
    smtp_password: SecretStr | None = Field(None, validation_alias="ONETHING_SMTP_PASSWORD")
    smtp_from: str = Field("", validation_alias="ONETHING_SMTP_FROM")
    smtp_tls: SmtpTls = Field(SmtpTls.STARTTLS, validation_alias="ONETHING_SMTP_TLS")
    # Staff notices by e-mail: department (or role:department) = mailbox, comma-separated.
    staff_mailboxes: str = Field("", validation_alias="ONETHING_STAFF_MAILBOXES")
    sms_gateway_url: str = Field("", validation_alias="ONETHING_SMS_GATEWAY_URL")
    sms_gateway_token: SecretStr | None = Field(None, validation_alias="ONETHING_SMS_GATEWAY_TOKEN")
    # "Authorization" sends `Bearer <token>`; any other header name sends the token as is.
    sms_gateway_auth_header: str = Field(
        "Authorization", validation_alias="ONETHING_SMS_GATEWAY_AUTH_HEADER"
    )
    delivery_attempts: int = Field(5, ge=1, le=20, validation_alias="ONETHING_DELIVERY_ATTEMPTS")
    # The wait after the first failed attempt; it doubles after each one, up to an hour.
    delivery_backoff_s: float = Field(
        30.0, gt=0, le=3600, validation_alias="ONETHING_DELIVERY_BACKOFF_S"
    )
    delivery_poll_s: float = Field(5.0, gt=0, le=300, validation_alias="ONETHING_DELIVERY_POLL_S")
    delivery_timeout_s: float = Field(
        10.0, gt=0, le=120, validation_alias="ONETHING_DELIVERY_TIMEOUT_S"
    )
    # The KPI read model's scheduled refresh (onething.read_model_schedule); 0: off.
    report_refresh_seconds: int = Field(
        300, ge=0, le=86400, validation_alias="ONETHING_REPORT_REFRESH_SECONDS"
    )
    # Workflows the workflows' worker keeps in memory (its sticky cache); the rest replay
    # their history on their next task. Bounds the worker's memory (docs/performance.md).
    max_cached_workflows: int = Field(
        DEFAULT_CACHED_WORKFLOWS, ge=1, le=100_000, validation_alias="ONETHING_MAX_CACHED_WORKFLOWS"
    )

    @field_validator("temporal_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}", value):
            raise ValueError("must be host:port, e.g. 127.0.0.1:7233")
        return value

    @field_validator("temporal_namespace", "task_queue")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,199}", value):
            raise ValueError("must be letters, digits, '.', '_' or '-'")
        return value

    @field_validator("codec_keys_file", "calendar_overrides", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("metrics_bind")
    @classmethod
    def _metrics_bind(cls, value: str) -> str:
        value = value.strip()
        if value.lower() in ("", "off", "none", "0"):
            return "off"
        if not re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):\d{1,5}", value):
            raise ValueError("must be host:port (e.g. 127.0.0.1:9464) or off")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not re.fullmatch(_PUBLIC_URL, value):
            raise ValueError("must be http(s)://host[:port][/path], no query or spaces")
        return value

    @field_validator("calendar_overrides")
    @classmethod
    def _overrides_exist(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("no such file")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not re.match(r"(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @field_validator("temporal_tls_cert", "temporal_tls_key", "temporal_tls_ca")
    @classmethod
    def _pem_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        value = value.expanduser()
        try:
            head = value.read_bytes()[:4096]
        except OSError as exc:
            raise ValueError(f"cannot read the file: {exc.strerror or exc}") from None
        if b"-----BEGIN " not in head:
            raise ValueError("is not a PEM file (no -----BEGIN line)")
        return value

    @field_validator("temporal_api_key_file")
    @classmethod
    def _key_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        value = value.expanduser()
        try:
            text = value.read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the file: {exc.strerror or exc}") from None
        if not text or any(c.isspace() for c in text):
            raise ValueError("must hold one API key, no spaces")
        return value

    @field_validator("temporal_api_key")
    @classmethod
    def _api_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if any(c.isspace() for c in value.get_secret_value().strip()):
            raise ValueError("must be one API key, no spaces")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("smtp_host")
    @classmethod
    def _smtp_host(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]", value):
            raise ValueError("must be a host name or address, without a port")
        return value

    @field_validator("smtp_tls", mode="before")
    @classmethod
    def _smtp_tls(cls, value: object) -> object:
        if isinstance(value, str):
            word = value.strip().lower()
            if word in ("true", "on", "yes", "1"):
                return SmtpTls.STARTTLS
            if word in ("false", "no", "0"):
                return SmtpTls.OFF
            return word
        return value

    @field_validator("smtp_from")
    @classmethod
    def _smtp_from(cls, value: str) -> str:
        value = value.strip()
        if value and not _MAILBOX.fullmatch(value):
            raise ValueError("is not an e-mail address")
        return value

    @field_validator("staff_mailboxes")
    @classmethod
    def _staff_mailboxes(cls, value: str) -> str:
        parse_mailboxes(value)
        return value

    @field_validator("sms_gateway_url")
    @classmethod
    def _sms_gateway_url(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"https?://[^\s/@]+(/\S*)?", value):
            raise ValueError("must be an http:// or https:// URL (credentials go in the token)")
        return value

    @field_validator("sms_gateway_auth_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9\-]{1,64}", value):
            raise ValueError("must be an HTTP header name (letters, digits, '-')")
        return value

    @field_validator("smtp_password", "sms_gateway_token")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _delivery_consistent(self) -> Settings:
        if self.smtp_host and not self.smtp_from:
            raise ValueError("ONETHING_SMTP_HOST needs ONETHING_SMTP_FROM (the sender address)")
        if bool(self.smtp_user) != (self.smtp_password is not None):
            raise ValueError("ONETHING_SMTP_USER and ONETHING_SMTP_PASSWORD go together")
        if not self.smtp_host and (self.staff_mailboxes.strip() or self.smtp_user):
            raise ValueError(
                "ONETHING_STAFF_MAILBOXES and ONETHING_SMTP_USER need ONETHING_SMTP_HOST"
            )
        if self.sms_gateway_token is not None and not self.sms_gateway_url:
            raise ValueError("ONETHING_SMS_GATEWAY_TOKEN needs ONETHING_SMS_GATEWAY_URL")
        return self

    @model_validator(mode="after")
    def _tls_consistent(self) -> Settings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            raise ValueError("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both or none")
        if self.temporal_api_key is not None and self.temporal_api_key_file is not None:
            raise ValueError("set TEMPORAL_API_KEY or TEMPORAL_API_KEY_FILE, not both")
        secured = self.temporal_tls_cert or self.temporal_tls_ca or self.temporal_tls_server_name
        if self.temporal_tls is False and secured:
            raise ValueError("TEMPORAL_TLS=false contradicts the TEMPORAL_TLS_* files given")
        return self

    @property
    def api_key(self) -> str | None:
        """The Temporal API key (Temporal Cloud), from TEMPORAL_API_KEY or its file."""
        if self.temporal_api_key is not None:
            return self.temporal_api_key.get_secret_value()
        if self.temporal_api_key_file is not None:
            return self.temporal_api_key_file.read_text().strip()
        return None

    @property
    def tls_enabled(self) -> bool:
        if self.temporal_tls is not None:
            return self.temporal_tls
        return bool(
            self.temporal_tls_cert
            or self.temporal_tls_ca
            or self.temporal_tls_server_name
            or self.api_key
        )

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def api_url(self) -> str:
        """The API's own address, from where it listens (a wildcard host as loopback)."""
        host = "127.0.0.1" if self.api_host in ("0.0.0.0", "::") else self.api_host
        return f"http://{host}:{self.api_port}"

    @property
    def public_base_url(self) -> str:
        """The one public base URL of guide links and QR codes (API and CLI alike):
        ONETHING_PUBLIC_URL (or its old names), else the API's own address."""
        return self.api_public_url.rstrip("/") or self.public_url or self.api_url

    @property
    def store_url(self) -> str:
        """The store's URL: DATABASE_URL, or the embedded SQLite file."""
        return self.database_url or f"sqlite:///{self.data_dir / 'onething.db'}"

    @property
    def staff_mailbox_map(self) -> dict[str, str]:
        """ONETHING_STAFF_MAILBOXES as department (or role:department) to mailbox."""
        return parse_mailboxes(self.staff_mailboxes)

    @property
    def local_codec_keys_path(self) -> Path:
        return self.codec_keys_file or self.data_dir / "codec-keys.json"


# Never echoed in an error: secrets, and addresses (a mailbox may name a person).
_SECRET_VARIABLES = {
    "TEMPORAL_API_KEY",
    "ONETHING_CODEC_KEYS",
    "ONETHING_API_TOKENS",
    "ONETHING_SUBJECT_KEYS",
    "ONETHING_SMTP_PASSWORD",
    "ONETHING_SMTP_USER",
    "ONETHING_SMTP_FROM",
    "ONETHING_STAFF_MAILBOXES",
    "ONETHING_SMS_GATEWAY_TOKEN",
    "ONETHING_SMS_GATEWAY_URL",
}
# Variables read under two names: an error names both, whichever was set.
_OTHER_NAMES = {
    choices.choices[0]: "/".join(str(c) for c in choices.choices)
    for field in Settings.model_fields.values()
    if isinstance(choices := field.validation_alias, AliasChoices)
    and isinstance(choices.choices[0], str)
}


def load_settings() -> Settings:
    """Read and validate the environment; raise `SettingsError` with one clear line."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if not error["loc"]:  # a rule across variables: its message names them
                problems.append(message)
                continue
            variable = _OTHER_NAMES.get(str(error["loc"][0]), str(error["loc"][0]))
            if variable in _SECRET_VARIABLES:  # never echo a secret into a log line
                problems.append(f"{variable}: {message}")
            else:
                problems.append(f"{variable}={error.get('input')!r}: {message}")
        raise SettingsError("invalid setting " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()
