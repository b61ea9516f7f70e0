"""Connecting to Temporal: one data converter (and codec) for worker, client and replayer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from onething.codec import data_converter_with_codec
from onething.settings import Settings
from workflows import search_attributes


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """Pydantic payloads, and failures, encrypted by `codec` when given."""
    return pydantic_data_converter if codec is None else data_converter_with_codec(codec)


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS for a secured cluster or Temporal Cloud: the client certificate (mTLS), the CA that
    signed the server's certificate (else the system's roots) and the name to verify; False
    for a plain connection (the embedded dev server)."""
    if not settings.tls_enabled:
        return False

    def read(path: Path | None) -> bytes | None:
        return path.read_bytes() if path is not None else None

    return TLSConfig(
        server_root_ca_cert=read(settings.temporal_tls_ca),
        client_cert=read(settings.temporal_tls_cert),
        client_private_key=read(settings.temporal_tls_key),
        domain=settings.temporal_tls_server_name or None,
    )


async def connect(
    settings: Settings, codec: PayloadCodec | None = None, runtime: Runtime | None = None
) -> Client:
    """A client with our converter (and codec); `runtime` carries the metrics exporter."""
    return await Client.connect(
        settings.temporal_address,
        runtime=runtime,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(codec),
        tls=tls_config(settings),
        api_key=settings.api_key,
    )


def _api_type(key: SearchAttributeKey[Any]) -> IndexedValueType.ValueType:
    """The SDK's indexed value type as the API's enum (they share their numbers)."""
    return IndexedValueType.ValueType(key.indexed_value_type.value)


def search_attribute_flags() -> list[str]:
    """`--search-attribute NAME=Type` arguments that register ours on the dev server."""
    flags = []
    for key in search_attributes.ALL:
        enum_name = IndexedValueType.Name(_api_type(key))  # INDEXED_VALUE_TYPE_KEYWORD_LIST
        type_name = "".join(
            part.capitalize() for part in enum_name.removeprefix("INDEXED_VALUE_TYPE_").split("_")
        )
        flags += ["--search-attribute", f"{key.name}={type_name}"]
    return flags


async def register_search_attributes(client: Client) -> None:
    """Register ours on a server that lacks them (the test server, a fresh cluster).

    The server skips attributes that already exist with the same type.
    """
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: _api_type(key) for key in search_attributes.ALL},
        )
    )
