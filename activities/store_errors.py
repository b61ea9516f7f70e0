"""Store failures as short activity errors.

A database error carries its SQL statement and parameters: they may hold personal data and
overflow the failure size limit (history then shows only "Failure exceeds size limit").
The activity fails with the error's kind instead, and Temporal retries it with backoff.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy.exc import SQLAlchemyError
from temporalio.exceptions import ApplicationError

F = TypeVar("F", bound=Callable[..., Any])


def _short(exc: SQLAlchemyError) -> ApplicationError:
    cause = getattr(exc, "orig", None) or exc
    return ApplicationError(f"store unavailable: {type(cause).__name__}", type="StoreUnavailable")


def store_errors(fn: F) -> F:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except SQLAlchemyError as exc:
                raise _short(exc) from None

        return cast(F, run_async)

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SQLAlchemyError as exc:
            raise _short(exc) from None

    return cast(F, run)
