"""Codec endpoint: lets the Temporal Web UI and CLI show decrypted payloads.

Speaks the Temporal codec-server protocol: ``POST {endpoint}/decode`` and
``POST {endpoint}/encode`` with a proto3-JSON body
``{"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}``
(every metadata value and the data are base64 bytes) and the same shape back.
The UI adds ``X-Namespace`` and, when configured to pass the access token,
``Authorization``. The CLI can template the namespace into the path, so
``{endpoint}/{namespace}/decode`` is served too.

The Web UI calls the endpoint from the operator's browser, so the endpoint
needs CORS for the UI's origin (``add_codec_cors``). Whoever can call
``/decode`` reads personal data: mount it behind ``authorize`` outside a
loopback-only development set-up. Loopback alone is not a boundary: any web page
can rebind its own name to 127.0.0.1, so the token-less development endpoint also
takes ``hosts`` (``add_host_origin_guard``): a request whose ``Host`` is not the
address it listens on is refused with 421, a browser's whose ``Origin`` is not the
Web UI's with 403.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Awaitable, Callable, Collection, Sequence

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from onething.codec import CodecError
from starter.errors import ApiError, JsonBodyRoute, safe_segment, validation_problems

__all__ = [
    "CODEC_PREFIX",
    "DEFAULT_UI_ORIGINS",
    "Authorize",
    "WirePayload",
    "WirePayloads",
    "add_codec_cors",
    "add_host_origin_guard",
    "bearer_token_authorizer",
    "codec_app",
    "codec_router",
]

Authorize = Callable[[Request], Awaitable[None]]

CODEC_PREFIX = "/codec"
# The UI's origin is whatever host the operator typed, so both loopback names.
DEFAULT_UI_ORIGINS: tuple[str, ...] = ("http://localhost:8233", "http://127.0.0.1:8233")
UI_HEADERS: tuple[str, ...] = ("Content-Type", "Authorization", "X-Namespace")


class WirePayload(BaseModel):
    """One payload in proto3 JSON: bytes fields as base64 strings."""

    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""


class WirePayloads(BaseModel):
    payloads: list[WirePayload] = Field(default_factory=list)


def _b64decode(text: str, what: str) -> bytes:
    # proto3 JSON parsers accept standard or URL-safe base64, padded or not.
    normalized = text.strip().replace("-", "+").replace("_", "/")
    normalized += "=" * (-len(normalized) % 4)
    try:
        return base64.b64decode(normalized, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=f"{what} is not valid base64"
        ) from None


def _from_wire(body: WirePayloads) -> list[Payload]:
    return [
        Payload(
            metadata={
                k: _b64decode(v, f"payloads[{i}].metadata.{safe_segment(k)}")
                for k, v in p.metadata.items()
            },
            data=_b64decode(p.data, f"payloads[{i}].data"),
        )
        for i, p in enumerate(body.payloads)
    ]


def _to_wire(payloads: Sequence[Payload]) -> WirePayloads:
    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return WirePayloads(
        payloads=[
            WirePayload(metadata={k: b64(v) for k, v in p.metadata.items()}, data=b64(p.data))
            for p in payloads
        ]
    )


def codec_router(
    codec: PayloadCodec,
    authorize: Authorize | None = None,
    *,
    prefix: str = CODEC_PREFIX,
) -> APIRouter:
    """Routes ``POST {prefix}/decode`` and ``POST {prefix}/encode`` (also under ``/{namespace}``).

    ``authorize`` runs before each call and refuses by raising
    ``fastapi.HTTPException`` (401 unauthenticated, 403 not allowed); its
    ``detail`` becomes the JSON reason. ``None`` means no check (loopback dev only).
    """

    async def check(request: Request) -> None:
        if authorize is not None:
            await authorize(request)

    # JsonBodyRoute: a body too deep or with a lone surrogate is a 422 naming the field.
    router = APIRouter(
        prefix=prefix, tags=["codec"], dependencies=[Depends(check)], route_class=JsonBodyRoute
    )

    async def run(
        body: WirePayloads, op: Callable[[Sequence[Payload]], Awaitable[list[Payload]]]
    ) -> WirePayloads:
        try:
            return _to_wire(await op(_from_wire(body)))
        except CodecError as exc:
            # Names the key id or the failure; never payload contents.
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from None

    async def decode(body: WirePayloads) -> WirePayloads:
        return await run(body, codec.decode)

    async def encode(body: WirePayloads) -> WirePayloads:
        return await run(body, codec.encode)

    for path in ("", "/{namespace}"):
        router.add_api_route(
            f"{path}/decode", decode, methods=["POST"], summary="Decrypt payloads for the Web UI"
        )
        router.add_api_route(
            f"{path}/encode", encode, methods=["POST"], summary="Encrypt payloads from the Web UI"
        )
    return router


def add_codec_cors(app: FastAPI, origins: Collection[str] = DEFAULT_UI_ORIGINS) -> None:
    """Allow the Web UI's origins to call the codec routes from the browser.

    Credentials are allowed so the UI's "include cross-origin credentials"
    option (cookies) works; that requires explicit origins, never ``*``.
    """
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["POST", "OPTIONS"],
        allow_headers=list(UI_HEADERS),
        allow_credentials=True,
        max_age=600,
    )


class _HostOriginGuard:
    """Refuses, before any route or CORS runs, a request for another Host (421) or from a
    browser page of another Origin (403). Requests without Origin (the CLI) pass."""

    def __init__(self, app: ASGIApp, hosts: Collection[str], origins: Collection[str]) -> None:
        self.app = app
        self.hosts = frozenset(h.lower() for h in hosts)
        self.origins = frozenset(origins)
        self.expected = ", ".join(sorted(self.hosts))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal: JSONResponse | None = None
        # Never echo what was sent: it is the attacker's text.
        if headers.get("host", "").lower() not in self.hosts:
            refusal = JSONResponse(
                {"detail": f"this codec endpoint answers only for {self.expected}"},
                status_code=status.HTTP_421_MISDIRECTED_REQUEST,
            )
        elif "origin" in headers and headers["origin"] not in self.origins:
            refusal = JSONResponse(
                {"detail": "this codec endpoint serves only the Temporal Web UI's origin"},
                status_code=status.HTTP_403_FORBIDDEN,
            )
        await (refusal or self.app)(scope, receive, send)


def add_host_origin_guard(app: FastAPI, hosts: Collection[str], origins: Collection[str]) -> None:
    """Answer only requests for one of ``hosts`` (``host:port`` as the client writes it,
    e.g. ``127.0.0.1:8234``), and of browsers only those from ``origins``. Add it after
    ``add_codec_cors`` so it runs first."""
    app.add_middleware(_HostOriginGuard, hosts=list(hosts), origins=list(origins))


def bearer_token_authorizer(tokens: Collection[str]) -> Authorize:
    """A simple authorizer: ``Authorization: Bearer <token>`` must be one of ``tokens``."""
    allowed = [t.encode() for t in tokens if t]

    async def authorize(request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="codec endpoint needs 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        given = token.strip().encode()
        # Compare against every token so timing does not reveal which one matched.
        if not any([secrets.compare_digest(given, t) for t in allowed]):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail="this token may not decode payloads",
            )

    return authorize


def _install_error_handlers(app: FastAPI) -> None:
    """Refusals as `{"detail": "field: problem; ...", "fields": [...]}`, never echoing the
    body (FastAPI's own 422 repeats the whole request: payloads are personal data)."""

    def answer(error: ApiError) -> JSONResponse:
        fields = [f.model_dump() for f in error.fields]
        return JSONResponse({"detail": error.message, "fields": fields}, error.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = validation_problems(exc.errors())
        message = "; ".join(f"{f}: {p}" for f, p in problems) or "invalid request"
        return answer(ApiError(422, message, fields=problems))

    @app.exception_handler(ApiError)
    async def _refused(_: Request, exc: ApiError) -> JSONResponse:
        return answer(exc)


def codec_app(
    codec: PayloadCodec,
    origins: Collection[str] = DEFAULT_UI_ORIGINS,
    authorize: Authorize | None = None,
    *,
    hosts: Collection[str] | None = None,
) -> FastAPI:
    """A standalone app with only the codec routes (``make run`` serves it with uvicorn).

    ``hosts``: the only ``Host`` values answered (with ``origins`` the only browser
    origins); ``None`` checks neither, for an app mounted behind its own front."""
    app = FastAPI(title="onething codec endpoint", docs_url=None, redoc_url=None)
    _install_error_handlers(app)
    app.include_router(codec_router(codec, authorize))
    add_codec_cors(app, origins)
    if hosts is not None:
        add_host_origin_guard(app, hosts, origins)
    return app
