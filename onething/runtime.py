"""What every process of onething starts with: settings, logs, the store, the codec, Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.runtime import Runtime as TemporalRuntime

from onething.codec import EncryptionCodec, Keyring, KeyringError, load_keyring
from onething.files import ensure_private_dir
from onething.logs import configure_logging, get_logger
from onething.metrics import telemetry_runtime
from onething.settings import Settings, SettingsError, load_settings
from onething.temporal import connect
from store import migrate
from store.db import make_engine


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    codec: EncryptionCodec
    client: Client
    log: structlog.stdlib.BoundLogger


def open_codec(settings: Settings) -> EncryptionCodec:
    """The payload codec over the configured keyring; a bad keyring is a SettingsError."""
    try:
        if not settings.codec_keys.strip() and settings.codec_keys_file is None:
            ensure_private_dir(settings.data_dir)  # the local key file goes there
        keyring: Keyring = load_keyring(
            env_value=settings.codec_keys,
            file=settings.codec_keys_file,
            local_default=settings.local_codec_keys_path,
        )
    except (KeyringError, OSError) as exc:
        variable = "ONETHING_CODEC_KEYS" if settings.codec_keys else "ONETHING_CODEC_KEYS_FILE"
        raise SettingsError(f"invalid setting {variable}: {exc}") from None
    return EncryptionCodec(keyring)


def open_store(settings: Settings) -> Engine:
    """The store, migrated to the schema this code expects."""
    if not settings.database_url:
        ensure_private_dir(settings.data_dir)  # the embedded SQLite file goes there
    engine = make_engine(settings.store_url)
    migrate.upgrade(engine)
    return engine


def metrics_runtime(settings: Settings) -> TemporalRuntime | None:
    """The SDK's Prometheus metrics at http://<ONETHING_METRICS_BIND>/metrics, unless off."""
    return None if settings.metrics_bind == "off" else telemetry_runtime(settings.metrics_bind)


@asynccontextmanager
async def open_runtime(settings: Settings | None = None) -> AsyncIterator[Runtime]:
    settings = settings or load_settings()
    configure_logging(settings.log_format, settings.log_level)
    log = get_logger("onething")
    engine = open_store(settings)
    codec = open_codec(settings)
    if codec.keyring.created:
        log.info("created a local payload key", path=str(codec.keyring.source))
    client = await connect(settings, codec, metrics_runtime(settings))
    try:
        yield Runtime(settings=settings, engine=engine, codec=codec, client=client, log=log)
    finally:
        engine.dispose()
