"""The FastAPI side: the bearer token of a request and the caller it names, or a 401."""

from __future__ import annotations

from fastapi import Request

from starter.auth.principal import Principal
from starter.auth.tokens import TokenRegistry
from starter.errors import ApiError


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


UNAUTHORIZED_HEADERS = {"WWW-Authenticate": "Bearer"}


async def authenticate(registry: TokenRegistry, request: Request) -> Principal:
    """The caller's `Principal`, or a 401 (no bearer token, or one the registry lacks)."""
    token = _bearer_token(request)
    if token is None:
        raise ApiError(
            401,
            "this operation needs 'Authorization: Bearer <token>'",
            headers=UNAUTHORIZED_HEADERS,
        )
    principal = registry.authenticate(token)
    if principal is None:
        raise ApiError(401, "unknown token", headers=UNAUTHORIZED_HEADERS)
    return principal
