"""The codec endpoint (/codec) for operators and auditors; the Web UI calls it from the
browser, so its origins get CORS."""

from __future__ import annotations

from collections.abc import Collection

from fastapi import FastAPI, Request
from temporalio.converter import PayloadCodec

from starter import auth
from starter.api.deps import current_principal
from starter.codec_endpoint import add_codec_cors, codec_router
from starter.errors import error_responses


def mount_codec(app: FastAPI, codec: PayloadCodec, codec_origins: Collection[str]) -> None:
    async def codec_authorize(request: Request) -> None:
        auth.may_use_codec(await current_principal(request))

    app.include_router(
        codec_router(codec, codec_authorize),
        responses=error_responses(400, 401, 403, 422),
    )
    add_codec_cors(app, codec_origins)
