"""Logging with structlog: readable on a terminal, JSON when asked.

Temporal's workflow and activity loggers are stdlib LoggerAdapters that put the
workflow and activity info into the record's extras; `_temporal_context` lifts
workflow ID, run ID and activity type into every event, so workflow code keeps
logging through the replay-safe `workflow.logger` and still gets structured output.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from onething.settings import LogFormat

# Keys of the SDK's workflow/activity info worth a log line, and the name each gets.
_TEMPORAL_KEYS = {
    "workflow_id": "workflow_id",
    "run_id": "run_id",
    "workflow_run_id": "run_id",
    "workflow_type": "workflow_type",
    "activity_type": "activity_type",
    "attempt": "attempt",
}


def _temporal_context(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Flatten the SDK's `temporal_workflow` / `temporal_activity` extras into the event."""
    for extra in ("temporal_workflow", "temporal_activity"):
        info = event.pop(extra, None)
        if isinstance(info, dict):
            for key, name in _TEMPORAL_KEYS.items():
                if key in info:
                    event.setdefault(name, info[key])
    return event


def configure_logging(fmt: LogFormat = LogFormat.AUTO, level: str = "INFO") -> None:
    as_json = fmt is LogFormat.JSON or (fmt is LogFormat.AUTO and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(), _temporal_context],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The SDK otherwise appends a dict of workflow info to every message text.
    from temporalio import activity, workflow

    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
