"""One error body for every 4xx (and 5xx) the HTTP API answers.

    {"error": {"code": "not_found", "message": "...", "fields": [{"field": "item_code",
               "problem": "..."}]}}

`field` is a dotted path into the request (`applicant.id_number`, `materials[2]`, or a
path/query parameter name); `problem` says what is wrong. Neither ever carries the
value that was sent: an ID number or a phone number must not come back in an error,
a log line or a proxy's error log. A key the caller made up is named only while it is
short and plain, and every problem is cut at `MAX_PROBLEM` characters.

`JsonBodyRoute` reads a JSON body before FastAPI validates it and refuses, naming the
field, what would otherwise fail later as a 500 or poison a workflow: nesting deeper
than `MAX_JSON_DEPTH` (Temporal's decoder stops at 200) and lone surrogates (`"\\udfff"`
decodes to a string no UTF-8 writer can write).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.service import RPCError, RPCStatusCode

from domain.text import is_code_point_safe, text_problem
from starter.client import ClientError, Conflict, Invalid, NotFound, Unanswered

__all__ = [
    "ApiError",
    "BodyLimit",
    "ErrorBody",
    "ErrorDetail",
    "FieldProblem",
    "JsonBodyRoute",
    "error_responses",
    "field_path",
    "install_error_handlers",
    "json_problems",
    "lift_fields",
    "safe_segment",
    "validation_problems",
]

MAX_JSON_DEPTH = 32  # objects and arrays within each other; our bodies use four
MAX_PROBLEM = 300  # characters of one problem; a message is cut at four times that
MAX_PROBLEMS = 20

log = structlog.stdlib.get_logger("onething.api")


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the offending input, e.g. `materials[2]`.")
    problem: str = Field(description="What is wrong with it (never the value itself).")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `not_found`, `forbidden`.")
    message: str = Field(description="One human-readable sentence.")
    fields: list[FieldProblem] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """Every error answer of the API has this shape."""

    error: ErrorDetail


# Default code for each status; a raise may name a more specific one.
_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
    501: "not_implemented",
    503: "unavailable",
}

_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request (e.g. a codec payload that is not base64).",
    401: "No bearer token, or a token this service does not know.",
    403: "The token's role or scope does not allow this; `message` says why.",
    404: "The application, item, task, bundle, guide or license does not exist.",
    409: "The request does not fit the current state (e.g. a decision on a closed review).",
    422: "Invalid input; `fields` names every offending field and the problem.",
    501: "The Temporal server lacks what this needs (e.g. listing without visibility).",
    503: "Temporal, the store or a worker does not answer, or the workers cannot carry it out.",
}


class ApiError(Exception):
    """Raise anywhere in a route: becomes the one error body with this status."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        fields: Iterable[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = _cut(message, 4 * MAX_PROBLEM)
        self.code = code or _CODES.get(status_code, "error")
        self.fields = [
            FieldProblem(field=_cut(f, 200), problem=_cut(p, MAX_PROBLEM))
            for f, p in list(fields)[:MAX_PROBLEMS]
        ]
        self.headers = dict(headers or {})

    @classmethod
    def field(
        cls, status_code: int, field: str, problem: str, *, code: str | None = None
    ) -> ApiError:
        return cls(status_code, f"{field}: {problem}", code=code, fields=[(field, problem)])

    def body(self) -> ErrorBody:
        return ErrorBody(
            error=ErrorDetail(code=self.code, message=self.message, fields=self.fields)
        )


def error_responses(*statuses: int, explicit: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the given error statuses, all with `ErrorBody`.

    `explicit`: for routes whose success is not JSON (text, images), name the JSON media
    type of the error body outright (FastAPI would file it under the route's type)."""
    if explicit:
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        return {
            code: {
                "description": _DESCRIPTIONS.get(code, "Error."),
                "content": {"application/json": {"schema": ref}},
            }
            for code in statuses
        }
    return {
        code: {"model": ErrorBody, "description": _DESCRIPTIONS.get(code, "Error.")}
        for code in statuses
    }


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_segment(key: str) -> str:
    """A key as an error may name it: short, plain keys as they are, others described."""
    if not is_code_point_safe(key) or text_problem(key, multiline=False):
        return "<a key that is not readable text>"
    if len(key) > 64:
        return f"<a key of {len(key)} characters>"
    return key


def field_path(loc: Sequence[int | str]) -> str:
    """`("body", "materials", 2)` → `materials[2]`; `("query", "limit")` → `limit`."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where = parts.pop(0)
        if not parts:
            return str(where)
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            p = safe_segment(str(p))
            out += f".{p}" if out else p
    return out or "body"


_PATH = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*|\[\d+\])*")


def lift_fields(field: str, message: str) -> list[tuple[str, str]]:
    """A validator's "path: problem; path: problem" as problems of those paths, when each
    path is `field` itself or inside it (or `field` is the whole body); else as it is."""
    parts = [p.partition(": ") for p in message.split("; ")]
    inside = all(
        sep
        and _PATH.fullmatch(head)
        and (field == "body" or head == field or head.startswith((f"{field}.", f"{field}[")))
        for head, sep, _ in parts
    )
    if not inside:
        return [(field, message)]
    return [(head, rest) for head, _, rest in parts]


def validation_problems(errors: Sequence[Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for e in errors:
        field = field_path(e.get("loc", ()))
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if e.get("type") == "json_invalid":
            field, msg = "body", "is not valid JSON"
        problems += lift_fields(field, msg)
    return problems


# -- what a JSON body may hold, before any model sees it ----------------------------------


def _path(parts: Sequence[int | str]) -> str:
    return field_path(parts) if parts else "body"


def json_problems(value: Any) -> list[tuple[str, str]]:
    """Nesting past `MAX_JSON_DEPTH` (named by its top-level field) and lone surrogates in
    strings and keys, in document order. Iterative: no depth can exhaust the stack."""
    problems: list[tuple[str, str]] = []
    stack: list[tuple[tuple[int | str, ...], Any, int]] = [((), value, 0)]
    while stack and len(problems) < MAX_PROBLEMS:
        parts, item, depth = stack.pop()
        if isinstance(item, str):
            if not is_code_point_safe(item):
                problems.append((_path(parts), _SURROGATE))
            continue
        if not isinstance(item, dict | list):
            continue
        if depth + 1 > MAX_JSON_DEPTH:
            problems.append((_path(parts[:1]), f"nests deeper than {MAX_JSON_DEPTH} levels"))
            continue
        children: list[tuple[tuple[int | str, ...], Any, int]] = []
        if isinstance(item, dict):
            for key, child in item.items():
                if not is_code_point_safe(key):
                    problems.append((_path(parts), f"has a key that {_SURROGATE}"))
                    continue
                children.append(((*parts, key), child, depth + 1))
        else:
            children = [((*parts, i), child, depth + 1) for i, child in enumerate(item)]
        stack.extend(reversed(children))
    return problems


_SURROGATE = "contains a lone surrogate (U+D800–U+DFFF), which is not text"
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}:]')


def _deep_field(body: bytes) -> str:
    """The top-level field of a body too deep for the JSON reader (found without it)."""
    depth, key, last = 0, None, None
    for token in _TOKENS.finditer(body):
        text = token.group()
        if text in (b"{", b"["):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                break
        elif text in (b"}", b"]"):
            depth -= 1
        elif text == b":" and depth == 1:
            key = last
        elif text.startswith(b'"'):
            last = text
    try:
        name = json.loads(key) if key is not None else None
    except ValueError:
        name = None
    return safe_segment(name) if isinstance(name, str) else "body"


def _declares_json(content_type: str | None) -> bool:
    if not content_type:
        return True  # FastAPI reads a body without a type as JSON
    main = content_type.split(";", 1)[0].strip().lower()
    return main == "application/json" or (
        main.startswith("application/") and main.endswith("+json")
    )


async def check_json_body(request: Request) -> None:
    """Refuse (422, naming the field) a JSON body too deep or holding a lone surrogate; a
    body that is not JSON at all is left to FastAPI's own answer."""
    if not _declares_json(request.headers.get("content-type")):
        return
    try:
        body = await request.body()
    except BodyTooLarge:
        raise ApiError.field(413, "body", "is too large") from None
    if not body:
        return
    try:
        value = json.loads(body)
    except RecursionError:
        field = _deep_field(body)
        raise ApiError.field(422, field, f"nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        return
    if problems := json_problems(value):
        message = "; ".join(f"{f}: {p}" for f, p in problems)
        raise ApiError(422, message, fields=problems)
    request._json = value  # Starlette keeps the parsed body here: FastAPI reads it back


class JsonBodyRoute(APIRoute):
    """A route whose JSON body passes `check_json_body` before FastAPI validates it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            await check_json_body(request)
            return await handler(request)

        return checked


class BodyTooLarge(Exception):
    """Raised while reading a request body past the limit (see `BodyLimit`)."""


class BodyLimit:
    """Refuse request bodies over `max_bytes` with the one error body (413): by the
    declared Content-Length at once, or while reading a body sent without one."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _json(self.too_large())(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLarge
            return message

        await self.app(scope, counted, send)

    def too_large(self) -> ApiError:
        return ApiError.field(413, "body", f"is over {self.max_bytes} bytes")


def _json(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error.body().model_dump(mode="json"),
        status_code=error.status_code,
        headers=error.headers or None,
    )


def from_client_error(exc: ClientError) -> ApiError:
    """The typed client's refusals, as HTTP: NotFound 404, Conflict 409, a worker that did
    not carry the request out 503, else 422."""
    cause = exc.__cause__
    if isinstance(cause, RPCError) and cause.status in (
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
    ):
        return ApiError(503, "Temporal does not answer; try again shortly", code="unavailable")
    if isinstance(exc, Unanswered):
        return ApiError.field(503, exc.field, exc.problem)
    if isinstance(exc, Invalid):
        message = "; ".join(f"{f}: {p}" for f, p in exc.problems)
        return ApiError(422, message, fields=exc.problems)
    if isinstance(exc, NotFound):
        return ApiError.field(404, exc.field, exc.problem)
    if isinstance(exc, Conflict):
        return ApiError.field(409, exc.field, exc.problem)
    return ApiError.field(422, exc.field, exc.problem)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app can answer goes through `ErrorBody`."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _json(exc)

    @app.exception_handler(ClientError)
    async def _client_error(_: Request, exc: ClientError) -> JSONResponse:
        return _json(from_client_error(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = validation_problems(exc.errors())
        message = "; ".join(f"{f}: {p}" for f, p in problems) or "invalid request"
        return _json(ApiError(422, message, fields=problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, BodyTooLarge):
            return _json(ApiError.field(413, "body", "is too large"))
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI's answer to a body that is not UTF-8: for the caller, invalid JSON.
            return _json(ApiError.field(422, "body", "is not valid JSON (UTF-8 expected)"))
        detail = exc.detail
        message = detail if isinstance(detail, str) else _CODES.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first route on the path; name every method it has.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return _json(ApiError(exc.status_code, message, headers=headers or None))

    @app.exception_handler(RPCError)
    async def _rpc(request: Request, exc: RPCError) -> JSONResponse:
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            return _json(ApiError(503, "Temporal does not answer; try again shortly"))
        log.error("temporal refused a call", path=request.url.path, status=exc.status.name)
        return _json(ApiError(500, "internal error"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The type only: an exception's text may carry request values.
        log.error("unhandled error", path=request.url.path, error_type=type(exc).__name__)
        return _json(ApiError(status.HTTP_500_INTERNAL_SERVER_ERROR, "internal error"))
