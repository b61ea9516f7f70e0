"""The citizen's routes, mounted by `starter.api.create_app`: progress by case number and
asking a hall for help (帮办代办); plain HTML forms that work without JavaScript.

Progress (`GET/POST /progress`): the case number and the last four digits of the phone
given at submission. The answer is the same for an unknown case number and a wrong phone
tail (no oracle of which cases exist), and every address gets a few tries per window
(`RateLimit`). The check is a keyed record written when the API takes the submission
(`CitizenDesk.remember`); an application submitted another way (the CLI, a backend
service) is checked once against its encrypted start input, and the record written then.

Help (`GET/POST /help`): a request for a hall lands in that hall's staff inbox as a task
for its window clerks, due one working day later; a clerk (or a supervisor) reads it
(`GET /help-requests/{id}`: name and phone, to call back) and answers it
(`POST /help-requests/{id}/answer`), which closes the task.

Rating (`POST /progress/rating`): once the case may be rated (`Ratings`' rule: accepted,
ended or decided, not rated yet) the progress page carries the rating form; its post brings
the case number and phone tail again, checked and rate-limited as a look-up (the hidden
fields prove nothing on their own). The rating is the applicant's, online: the phone the
tail matched is the applicant's (`Submission.applicant.phone`), and the rater's reference
is the applicant's ID number's digest read from the application's own start input, as the
API's applicant tokens are matched (`starter.ratings.SubmitterRefs`), never anything
the form says.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from html import escape

import structlog
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from domain.application import ApplicationState, ItemState, ItemStatus, Submission
from domain.calendar import WorkingCalendar
from domain.case_number import parse_case_number
from domain.catalog import Catalog
from domain.clock import DueRequest, compute_due
from domain.documents import DOCUMENT_KINDS
from domain.people import MobilePhone, PersonName, Role
from domain.progress import (
    IssuedDocument,
    result_page,
)
from domain.progress_rating import (
    ShownRating,
    rating_form,
    rating_shown,
)
from domain.rating import check_ratable
from domain.text import Line
from onething.keys import KeyedRef, Purpose, SubjectKeys, configured_subject_keys
from starter.ratings import Ratings, SubmitterRefs
from store import citizen as citizen_store
from store import documents as document_store
from store import ratings as ratings_store
from store import tasks as tasks_store
from store.db import in_utc

__all__ = ["CitizenDesk", "HelpAnswerIn", "HelpRequestIn", "HelpRequestOut", "RateLimit"]

log = structlog.stdlib.get_logger("onething.citizen")

# A local choice: a hall calls back within one working day.
HELP_REPLY_DAYS = 1
HELP_TASK_KIND = "help_request"
MAX_FORM_BYTES = 4096
# A rating's reason: 500 characters, each up to 9 bytes as a browser percent-encodes it.
MAX_RATING_FORM_BYTES = 8192
PhoneOf = Callable[[str], Awaitable[str]]
StateOf = Callable[[str], Awaitable[ApplicationState]]
ItemStateOf = Callable[[str, str], Awaitable[ItemState]]


class RateLimit:
    """At most `attempts` per key in any `window_s` seconds (a sliding window), for at
    most `keys` keys at once (the oldest forgotten first), in this process."""

    def __init__(
        self,
        attempts: int = 10,
        window_s: float = 600.0,
        *,
        keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts, self.window_s, self.keys, self._clock = attempts, window_s, keys, clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str) -> float | None:
        """None when the attempt may go ahead (and counts); else seconds until it may."""
        now = self._clock()
        times = self._seen.pop(key, None) or deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        wait = None
        if len(times) >= self.attempts:
            wait = times[0] + self.window_s - now
        else:
            times.append(now)
        self._seen[key] = times
        while len(self._seen) > self.keys:
            self._seen.popitem(last=False)
        return wait


def alert(message: str) -> str:
    return f'<p class="error" role="alert">{escape(message)}</p>'


def _tail_pre_image(application_id: str, tail: str) -> str:
    return f"{application_id}\x00{tail}"


class CitizenDesk:
    """The progress check and the help requests over the store; `phone_of` reads an
    application's phone from its start input (for applications the API did not take)."""

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        state_of: StateOf,
        phone_of: PhoneOf | None = None,
        *,
        subject_keys: SubjectKeys | None = None,
        item_state_of: ItemStateOf | None = None,
        limit: RateLimit | None = None,
        help_limit: RateLimit | None = None,
        calendar: WorkingCalendar | None = None,
        ratings: Ratings | None = None,
        submitters: SubmitterRefs | None = None,
    ) -> None:
        self.engine, self.catalog, self.state_of, self.phone_of = (
            engine,
            catalog,
            state_of,
            phone_of,
        )
        self.item_state_of = item_state_of
        self._keys = subject_keys
        self.limit = limit or RateLimit()
        self.help_limit = help_limit or RateLimit()
        self._calendar = calendar
        # Without a ratings service (and who submitted), the page offers no rating form.
        self.ratings, self.submitters = ratings, submitters

    @property
    def keys(self) -> SubjectKeys:
        if self._keys is None:
            self._keys = configured_subject_keys()
        return self._keys

    @property
    def calendar(self) -> WorkingCalendar:
        if self._calendar is None:
            self._calendar = WorkingCalendar.from_file()
        return self._calendar

    # -- the progress check ------------------------------------------------------------

    def _remember(self, application_id: str, tail: str) -> None:
        ref = self.keys.keyed(Purpose.PROGRESS_CHECK, _tail_pre_image(application_id, tail))
        citizen_store.remember_contact(
            self.engine, application_id, ref.key_id, ref.value, datetime.now(UTC)
        )

    async def remember(self, submission: Submission) -> None:
        """Keep the check of a submission the API took; a failure is logged, never the
        submission's (the look-up falls back to the start input)."""
        try:
            tail = submission.applicant.phone[-4:]
            await run_in_threadpool(self._remember, submission.application_id, tail)
        except Exception as exc:
            log.error("progress check not kept", error_type=type(exc).__name__)

    async def matching(self, case_number: str, tail: str) -> str | None:
        """The application with this case number whose phone ends in `tail`, else None."""
        number = parse_case_number(case_number)
        application_id = await run_in_threadpool(citizen_store.application_of, self.engine, number)
        if application_id is None:
            return None
        found = await run_in_threadpool(citizen_store.contact_of, self.engine, application_id)
        pre_image = _tail_pre_image(application_id, tail)
        if found is not None:
            ref = KeyedRef(found.key_id, found.check_value)  # False if its key left the ring
            ok = self.keys.matches(ref, Purpose.PROGRESS_CHECK, pre_image)
            return application_id if ok else None
        if self.phone_of is None:
            return None
        try:
            phone = await self.phone_of(application_id)
        except Exception:
            return None  # unreadable: the same answer as any mismatch
        await run_in_threadpool(self._remember, application_id, phone[-4:])
        return application_id if phone[-4:] == tail else None

    async def detailed(self, state: ApplicationState, wait_s: float) -> ApplicationState:
        """The state with each running item's own status (a correction asked for, an
        inspection, ...), read from the item's workflow; as it was where that fails."""
        if self.item_state_of is None:
            return state
        items = []
        for ref in state.items:
            if ref.status is ItemStatus.IN_PROGRESS:
                try:
                    item = await asyncio.wait_for(
                        self.item_state_of(state.application_id, ref.item_code), wait_s
                    )
                except Exception:
                    items.append(ref)
                    continue
                reason = ref.reason
                if item.status is ItemStatus.CORRECTION_REQUESTED and item.trail:
                    reason = item.trail[-1].detail or reason
                ref = ref.model_copy(update={"status": item.status, "reason": reason})
            items.append(ref)
        return state.model_copy(update={"items": items})

    def documents(self, application_id: str) -> list[IssuedDocument]:
        return [
            IssuedDocument(
                number=d.number,
                title=d.title,
                issuer=d.issuer,
                issued_at=d.issued(),
                content=d.content,
                legal_basis=d.legal_basis,
                decision=bool((kind := DOCUMENT_KINDS.get(d.kind)) and kind.decision),
            )
            for d in document_store.documents_of(self.engine, application_id)
            if d.recipient == "applicant"
        ]

    # -- rating the case -----------------------------------------------------------------

    def shown_rating(self, application_id: str) -> ShownRating | None:
        """The case's rating as the citizen reads it back, None if not rated. A 差评's
        follow-up day: the latest department's due instant, or (its workflow has not
        written it yet, a moment after the rating) the same working days counted here."""
        row = ratings_store.of_application(self.engine, application_id)
        if row is None:
            return None
        due: datetime | None = None
        if row.level_enum.bad:
            dues = []
            for f in ratings_store.follow_ups_of(self.engine, row.case_number):
                at = (
                    f.due_at
                    or compute_due(
                        DueRequest(start=in_utc(f.opened_at), days=f.days), self.calendar
                    ).due_at
                )
                dues.append(in_utc(at))
            due = max(dues, default=None)
        return ShownRating(
            level=row.level_enum, reason=row.reason, rated_at=row.at, follow_up_by=due
        )

    async def rating_part(
        self, state: ApplicationState, application_id: str, number: str, tail: str
    ) -> str:
        """The rating given, else the form when the case may be rated, else nothing."""
        shown = await run_in_threadpool(self.shown_rating, application_id)
        if shown is not None:
            return rating_shown(shown)
        if self.ratings is None:
            return ""
        try:
            check_ratable(state)
        except ValueError:
            return ""
        return rating_form(number, tail)

    # -- help requests -------------------------------------------------------------------

    def record_help(self, request: HelpRequestIn, at: datetime) -> citizen_store.HelpRequest:
        due = compute_due(DueRequest(start=at, days=HELP_REPLY_DAYS), self.calendar).due_at
        request_id = f"help-{uuid.uuid4().hex[:16]}"
        row = citizen_store.add_help_request(
            self.engine,
            citizen_store.HelpRequest(
                request_id=request_id,
                hall=request.hall,
                item_code=request.item,
                name=request.name,
                phone=request.phone,
                preferred_time=request.preferred_time,
                note=request.note,
                created_at=at,
                due_at=due,
            ),
        )
        tasks_store.open_task(
            self.engine,
            tasks_store.StaffTask(
                task_id=request_id,
                application_id=request_id,
                workflow_id="",
                item_code=request.item,
                kind=HELP_TASK_KIND,
                department=None,
                role=Role.WINDOW_CLERK.value,
                hall=request.hall,
                due_at=due,
                created_at=at,
            ),
        )
        return row


class MatchedCase:
    """A case the look-up matched, with its state (or the 503 page when unreadable)."""

    def __init__(
        self,
        desk: CitizenDesk,
        application_id: str,
        number: str,
        tail: str,
        state: ApplicationState | HTMLResponse,
    ) -> None:
        self.desk, self.application_id, self.number, self.tail = desk, application_id, number, tail
        self.state = state

    async def page(self, rating: str) -> str:
        """The progress page with `rating` (the form, the rating, or nothing)."""
        assert isinstance(self.state, ApplicationState)
        documents = await run_in_threadpool(self.desk.documents, self.application_id)
        hall = self.desk.catalog.halls.get(self.state.hall)
        name = hall.name if hall else self.state.hall
        return result_page(self.state, self.number, documents, hall_name=name, rating=rating)


# --------------------------------------------------------------------------- models


class HelpRequestIn(BaseModel):
    """A 帮办代办 request as the form sends it."""

    name: PersonName
    phone: MobilePhone
    hall: str = Field(min_length=1, max_length=64)
    item: str | None = Field(None, max_length=64)
    preferred_time: Line = Field("", max_length=64)
    note: Line = Field("", max_length=200)


class HelpRequestOut(BaseModel):
    request_id: str
    hall: str
    item_code: str | None
    name: str
    phone: str
    preferred_time: str
    note: str
    created_at: datetime = Field(description="ISO 8601 with offset.")
    due_at: datetime = Field(description="Answer by: one working day later.")
    answered_at: datetime | None
    answered_by: str | None
    answer: str | None

    @classmethod
    def of(cls, row: citizen_store.HelpRequest) -> HelpRequestOut:
        return cls(
            request_id=row.request_id,
            hall=row.hall,
            item_code=row.item_code,
            name=row.name,
            phone=row.phone,
            preferred_time=row.preferred_time,
            note=row.note,
            created_at=in_utc(row.created_at),
            due_at=in_utc(row.due_at),
            answered_at=in_utc(row.answered_at),
            answered_by=row.answered_by,
            answer=row.answer,
        )


class HelpAnswerIn(BaseModel):
    answer: Line = Field(
        min_length=1, max_length=500, description="What was agreed, e.g. 已电话联系…"
    )
