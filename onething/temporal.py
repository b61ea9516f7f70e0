"""Connecting to Temporal: one data converter (and codec) for worker, client and replayer."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

from onething.codec import data_converter_with_codec
from onething.settings import Settings
from workflows import search_attributes


def data_converter(codec: PayloadCodec | None = None) -> DataConverter:
    """Pydantic payloads, and failures, encrypted by `codec` when given."""
    return pydantic_data_converter if codec is None else data_converter_with_codec(codec)


async def connect(settings: Settings, codec: PayloadCodec | None = None) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(codec),
    )


def search_attribute_flags() -> list[str]:
    """`--search-attribute NAME=Type` arguments that register ours on the dev server."""
    flags = []
    for key in search_attributes.ALL:
        enum_name = IndexedValueType.Name(key.indexed_value_type)  # INDEXED_VALUE_TYPE_KEYWORD_LIST
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
            search_attributes={key.name: key.indexed_value_type for key in search_attributes.ALL},
        )
    )
