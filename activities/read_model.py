"""The KPI read model's scheduled refresh, as an activity (`ReadModelRefreshWorkflow` runs it).

The projector itself (`onething.case_facts.refresh`) sits above the activities: it reads
histories through a Temporal client. The worker hands it in (`ReadModelActivities(refresh)`),
so this module only says what a run takes and what it answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, Field
from temporalio import activity

__all__ = [
    "VISIBILITY_LAG",
    "ReadModelActivities",
    "ReadModelRun",
    "Refresh",
    "RefreshResult",
    "ScheduledRefresh",
]

# A workflow closed just before the last run began may still have been listed as running,
# its history read before it closed: the next run lists the closed ones from this far back.
VISIBILITY_LAG = timedelta(minutes=1)


class RefreshResult(BaseModel):
    read: int = 0  # applications whose histories were read
    written: int = 0  # of them, those whose rows changed
    unchanged: int = 0
    failed: dict[str, str] = Field(default_factory=dict)  # application ID -> why


class ReadModelRun(BaseModel):
    since: AwareDatetime | None = None  # when the last successful run began; None: all


class ScheduledRefresh(BaseModel):
    started_at: AwareDatetime  # the next run's `since`
    listed_since: AwareDatetime | None  # the closed applications listed from then on
    result: RefreshResult


class Refresh(Protocol):
    """`onething.case_facts.refresh` with its client, store and calendar given."""

    def __call__(
        self, *, since: datetime | None, beat: Callable[[], None] | None
    ) -> Awaitable[RefreshResult]: ...


class ReadModelActivities:
    def __init__(self, refresh: Refresh) -> None:
        self._refresh = refresh

    @activity.defn(name="read_model.refresh")
    async def refresh_read_model(self, run: ReadModelRun) -> ScheduledRefresh:
        """Project the applications running, or closed since the last run (every one on the
        first run); an unchanged history writes nothing. Heartbeats after each one."""
        started_at = datetime.now(UTC)
        since = None if run.since is None else run.since - VISIBILITY_LAG
        result = await self._refresh(since=since, beat=activity.heartbeat)
        return ScheduledRefresh(started_at=started_at, listed_since=since, result=result)
