"""Settings from environment variables, with defaults for the embedded case.

Every variable is validated at start-up; a wrong value stops the process with
one line that names the variable and the problem (`SettingsError`).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
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

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not re.match(r"(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

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


def load_settings() -> Settings:
    """Read and validate the environment; raise `SettingsError` with one clear line."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            variable = str(error["loc"][0]) if error["loc"] else "settings"
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{variable}={error.get('input')!r}: {message}")
        raise SettingsError("invalid setting " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()
