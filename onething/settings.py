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


class LogFormat(StrEnum):
    AUTO = "auto"  # human-readable on a terminal, JSON otherwise
    CONSOLE = "console"
    JSON = "json"


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
    def store_url(self) -> str:
        """The store's URL: DATABASE_URL, or the embedded SQLite file."""
        return self.database_url or f"sqlite:///{self.data_dir / 'onething.db'}"

    @property
    def local_codec_keys_path(self) -> Path:
        return self.codec_keys_file or self.data_dir / "codec-keys.json"


_SECRET_VARIABLES = {"TEMPORAL_API_KEY", "ONETHING_CODEC_KEYS"}
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
