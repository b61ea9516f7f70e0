"""Liveness of Temporal and the store (public)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from starter.api.deps import Backend
from starter.api.schemas import Health
from store import health as store_health


def add_routes(router: APIRouter, backend: Backend) -> None:
    """`/healthz`: 503 with the cause when Temporal or the store is down."""
    client = backend.client
    engine = backend.engine

    @router.get(
        "/healthz",
        tags=["health"],
        response_model=Health,
        summary="Temporal and the store answer (public)",
        responses={503: {"model": Health, "description": "Temporal or the store is down."}},
    )
    async def healthz() -> Any:
        temporal, store = "ok", "ok"
        try:
            await asyncio.wait_for(client.temporal.service_client.check_health(), timeout=5)
        except Exception as exc:
            temporal = f"down ({type(exc).__name__})"

        try:
            await asyncio.wait_for(run_in_threadpool(store_health.ping, engine), timeout=5)
        except Exception as exc:
            store = f"down ({type(exc).__name__})"
        ok = temporal == "ok" and store == "ok"
        body = Health(status="ok" if ok else "degraded", temporal=temporal, store=store)
        return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)
