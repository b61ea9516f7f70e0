"""The SDK's Prometheus metrics: a Temporal runtime that serves them on `bind`.

The worker passes the runtime to its client; every worker built on that client then
reports workflow, activity, task-slot and poller metrics (names start `temporal_`):

    runtime = telemetry_runtime("0.0.0.0:9464")
    client = await Client.connect(address, runtime=runtime, ...)
    # GET http://<host>:9464/metrics

One runtime per process and bind address: the runtime owns the HTTP listener, so create
it once at start-up and keep it for the life of the process.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

__all__ = [
    "ALERT_METRICS",
    "DEFAULT_BIND",
    "METRICS_BIND_ENV",
    "metrics_bind",
    "parse_bind",
    "telemetry_runtime",
]

DEFAULT_BIND = "127.0.0.1:9464"
METRICS_BIND_ENV = "ONETHING_METRICS_BIND"

# The metrics worth an alert (docs/operations.md, Metrics, says why and at what threshold).
ALERT_METRICS: tuple[str, ...] = (
    "temporal_workflow_task_execution_failed",
    "temporal_workflow_failed",
    "temporal_activity_execution_failed",
    "temporal_workflow_task_schedule_to_start_latency",
    "temporal_activity_schedule_to_start_latency",
    "temporal_worker_task_slots_available",
    "temporal_long_request_failure",
    "temporal_request_failure",
    "temporal_sticky_cache_size",
)


def parse_bind(bind: str) -> str:
    """Check a `host:port` bind address and return it; ValueError in one line otherwise."""
    if not re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):\d{1,5}", bind) or not (
        0 < int(bind.rpartition(":")[2]) < 65536
    ):
        raise ValueError(f"metrics bind address {bind!r} must be host:port, e.g. {DEFAULT_BIND}")
    return bind


def metrics_bind(environ: Mapping[str, str] = os.environ, default: str | None = None) -> str | None:
    """The bind address from `ONETHING_METRICS_BIND` (`off` or empty: no metrics), else
    `default`. Raises ValueError with one line when the value is not host:port."""
    value = environ.get(METRICS_BIND_ENV)
    if value is None:
        return default
    value = value.strip()
    if value.lower() in ("", "off", "none", "0"):
        return None
    return parse_bind(value)


def telemetry_runtime(bind: str = DEFAULT_BIND) -> Runtime:
    """A runtime whose metrics are served for Prometheus at http://<bind>/metrics.

    Durations are reported in seconds (Prometheus convention); names carry no unit or
    `_total` suffix, so they match the SDK documentation (temporal_workflow_completed,
    temporal_activity_execution_latency_bucket, ...).
    """
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=parse_bind(bind), durations_as_seconds=True)
        )
    )
