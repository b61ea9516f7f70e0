"""Ratings (好差评) as backend services, the API and the command line use them.

`Ratings.rate` records the case's one rating and, for a 差评, starts one follow-up workflow
(`RatingFollowUpWorkflow`) per department of the case; `answer` is the department's Update;
`appeal` and `decide_appeal` keep the 申诉复核 in the store (upheld: the rating is excluded
and its open follow-ups end); `report` counts the figures.

Whether a case may be rated is read from two places: the store's 办件编号
(`store.case_numbers`: the case was accepted) and the application's own state through its
Query (ended, or every item decided). The workflow is the only source of the latter (the
store keeps no application status); the API reads the state anyway, to check who may read
it, so the rating costs no extra call. Refusals are the typed client's errors
(`starter.client`): `Conflict` / `NotFound` naming the field.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from domain.application import ApplicationState, Submission, application_workflow_id
from domain.catalog import Catalog
from domain.rating import (
    AppealVerdict,
    FollowUpAnswer,
    FollowUpOutcome,
    FollowUpState,
    Rater,
    RatingIn,
    RatingRefused,
    RatingReport,
    check_ratable,
    departments_of,
    follow_up_days,
    follow_up_workflow_id,
    rating_report,
)
from onething.keys import SubjectKeys
from onething.rating_follow_ups import FollowUps
from starter.auth import sha256_hex
from starter.client import Conflict, Invalid, NotFound, _execute_update, _translate
from store import case_numbers
from store import ratings as store
from workflows.rating_follow_up import RatingFollowUpWorkflow

FIELD = "case_number"
OPENING_WAIT_S, OPENING_POLL_S = 5.0, 0.05


class Ratings:
    def __init__(
        self,
        temporal: Client,
        task_queue: str,
        engine: Engine,
        catalog: Catalog,
        keys: SubjectKeys | None = None,
    ) -> None:
        self.temporal = temporal
        self.task_queue = task_queue
        self.engine = engine
        self.catalog = catalog
        self.keys = keys
        self.follow_ups = FollowUps(temporal, task_queue, engine, catalog)

    # -- rating ------------------------------------------------------------------------------

    async def rate(
        self,
        state: ApplicationState,
        given: RatingIn,
        *,
        rater: Rater,
        rater_id_sha256: str,
        recorded_by: str | None = None,
        at: datetime | None = None,
    ) -> store.Rating:
        """The case's one rating; a 差评 starts its follow-ups. Conflict naming the field:
        not accepted, not ended or decided, or rated already."""
        number = await asyncio.to_thread(case_numbers.find, self.engine, state.application_id)
        try:
            if number is None:
                raise RatingRefused(
                    "application_id",
                    "the application was never accepted (no 办件编号): only an accepted case "
                    "is rated",
                )
            case_number = check_ratable(state)
        except RatingRefused as exc:
            raise Conflict(exc.field, exc.problem) from None
        if str(number) != case_number:  # never expected: the store and the workflow disagree
            raise Conflict("application_id", "the case number could not be confirmed; retry")
        hall = self.catalog.halls.get(state.hall)
        days = follow_up_days(hall.rating_follow_up_days if hall else None)
        departments = departments_of(state)
        follow = (
            [(d, follow_up_workflow_id(case_number, d), days) for d in departments]
            if given.level.bad
            else []
        )
        try:
            row = await asyncio.to_thread(
                store.record_rating,
                self.engine,
                case_number=case_number,
                application_id=state.application_id,
                hall=state.hall,
                level=given.level,
                reason=given.reason,
                channel=given.channel,
                rater=rater,
                rater_id_sha256=rater_id_sha256,
                recorded_by=recorded_by,
                rated_at=at or datetime.now(UTC),
                items=[(i.item_code, i.department) for i in state.items],
                follow_ups=follow,
                keys=self.keys,
            )
        except store.RatingExists:
            raise Conflict(
                FIELD, "this case has been rated already (one rating per case)"
            ) from None
        await self.follow_ups.start_open(row)
        return row

    # -- reading -----------------------------------------------------------------------------

    def rating(self, case_number: str) -> store.Rating:
        found = store.get(self.engine, case_number)
        if found is None:
            raise NotFound(FIELD, "no rating of this case")
        return found

    def rating_of(self, application_id: str) -> store.Rating:
        found = store.of_application(self.engine, application_id)
        if found is None:
            raise NotFound("application_id", "this application has not been rated")
        return found

    def departments(self, case_number: str) -> list[str]:
        return sorted({i.department for i in store.items_of(self.engine, case_number)})

    # -- the follow-up -----------------------------------------------------------------------

    def _check_follow_up(self, case_number: str, department: str) -> store.RatingFollowUp:
        self.rating(case_number)
        found = store.follow_up(self.engine, case_number, department)
        if found is None:
            raise NotFound("department", f"no follow-up of this rating by {department!r}")
        return found

    @staticmethod
    async def _until_opened(handle: WorkflowHandle[Any, FollowUpState]) -> None:
        """The inbox shows the task once its activity wrote it, a workflow task before the
        workflow takes answers (its clock then has a due instant): a reviewer who answers in
        that moment waits for it, not for a "retry". After OPENING_WAIT_S the answer goes
        anyway and the workflow's validator says what is wrong."""
        for _ in range(int(OPENING_WAIT_S / OPENING_POLL_S)):
            try:
                if (await handle.query(RatingFollowUpWorkflow.state)).due_at is not None:
                    return
            except RPCError:
                return  # not there or not answering: the update says so in its own words
            await asyncio.sleep(OPENING_POLL_S)

    async def follow_up_state(self, case_number: str, department: str) -> FollowUpState:
        await asyncio.to_thread(self._check_follow_up, case_number, department)
        try:
            return await self.follow_ups.handle(case_number, department).query(
                RatingFollowUpWorkflow.state
            )
        except RPCError as exc:
            raise _translate(exc, FIELD, case_number) from exc

    async def answer(
        self, case_number: str, department: str, answer: FollowUpAnswer
    ) -> FollowUpState:
        """The department answers its follow-up (fixed or explained)."""
        found = await asyncio.to_thread(self._check_follow_up, case_number, department)
        if found.status != "open":  # its workflow has ended: say why, not that it ended
            label = FollowUpOutcome(found.status).label
            raise Conflict(FIELD, f"this follow-up has been answered already ({label})")
        handle = self.follow_ups.handle(case_number, department)
        await self._until_opened(handle)
        return await _execute_update(
            handle,
            RatingFollowUpWorkflow.answer,
            answer,
            FIELD,
            case_number,
        )

    # -- appeals -----------------------------------------------------------------------------

    async def appeal(
        self, case_number: str, department: str, reason: str, *, by: str, at: datetime | None = None
    ) -> store.RatingAppeal:
        """申诉复核 asked by a department of the case."""

        def file() -> store.RatingAppeal:
            if department not in self.departments(self.rating(case_number).case_number):
                raise Conflict("department", f"the case has no item of department {department!r}")
            try:
                return store.appeal(
                    self.engine,
                    case_number=case_number,
                    department=department,
                    reason=reason,
                    by=by,
                    at=at or datetime.now(UTC),
                )
            except store.AppealRefused as exc:
                field, _, problem = str(exc).partition(": ")
                raise Conflict(field, problem) from None

        return await asyncio.to_thread(file)

    async def decide_appeal(
        self,
        case_number: str,
        verdict: AppealVerdict,
        reason: str,
        *,
        by: str,
        at: datetime | None = None,
    ) -> store.RatingAppeal:
        """A supervisor decides; upheld, the rating is excluded and its follow-ups end."""

        def decide() -> store.RatingAppeal:
            self.rating(case_number)
            try:
                return store.decide_appeal(
                    self.engine,
                    case_number=case_number,
                    verdict=verdict,
                    reason=reason,
                    by=by,
                    at=at or datetime.now(UTC),
                )
            except store.AppealRefused as exc:
                field, _, problem = str(exc).partition(": ")
                raise Conflict(field, problem) from None

        decided = await asyncio.to_thread(decide)
        if verdict is AppealVerdict.UPHELD:
            for f in await asyncio.to_thread(store.follow_ups_of, self.engine, case_number):
                if f.status == "open":
                    await self.follow_ups.excluded(case_number, f.department)
        return decided

    # -- figures -----------------------------------------------------------------------------

    def report(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        hall: str | None = None,
        department: str | None = None,
        item_code: str | None = None,
        as_of: datetime | None = None,
    ) -> RatingReport:
        return report(
            self.engine,
            since=since,
            until=until,
            hall=hall,
            department=department,
            item_code=item_code,
            as_of=as_of,
        )


def report(
    engine: Engine,
    *,
    since: date | None = None,
    until: date | None = None,
    hall: str | None = None,
    department: str | None = None,
    item_code: str | None = None,
    as_of: datetime | None = None,
) -> RatingReport:
    """The ratings' figures from the store (`domain.rating.rating_figures` counts them)."""
    if since is not None and until is not None and until < since:
        raise Invalid([("until", "is before since")])
    cases, follow = store.facts(engine, since=since, until=until, hall=hall)
    return rating_report(
        cases,
        follow,
        as_of=as_of or datetime.now(UTC),
        since=since,
        until=until,
        hall=hall,
        department=department,
        item_code=item_code,
    )


class SubmitterRefs:
    """SHA-256 of the applicant's and the agent's ID numbers, read once from the
    application's start input (they never change); bounded."""

    def __init__(self, client: Client, size: int = 10_000) -> None:
        self._client = client
        self._size = size
        self._cache: OrderedDict[str, tuple[str, str | None]] = OrderedDict()

    async def of(self, application_id: str) -> tuple[str, str | None] | None:
        if application_id in self._cache:
            self._cache.move_to_end(application_id)
            return self._cache[application_id]
        handle = self._client.get_workflow_handle(application_workflow_id(application_id))
        found: tuple[str, str | None] | None = None
        try:
            async for event in handle.fetch_history_events(page_size=1):
                payloads = event.workflow_execution_started_event_attributes.input.payloads
                [sub] = await self._client.data_converter.decode(payloads, [Submission])
                agent = sub.agent.id_number if sub.agent else None
                found = (sha256_hex(sub.applicant.id_number), sha256_hex(agent) if agent else None)
                break
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return None
        if found is not None:
            self._cache[application_id] = found
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return found
