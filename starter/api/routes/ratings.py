"""Ratings (好差评): rating a case, reading ratings, the follow-up's answer, appeals, the
figures. The service behind them is `starter.ratings.Ratings`.

Who may do what (roles from `starter.auth`):
- rate a case: its applicant (or the agent who applied for them) with their own token, not
  by a window; a window clerk of the case's hall on their behalf, at the window;
- read a rating: whoever may read the application; the list and a rating by case number:
  supervisors, auditors and operators, a department's staff their department's cases, a
  window clerk their hall's;
- answer a 差评's follow-up and appeal a rating: a reviewer or the head of a department of
  the case; decide an appeal: a supervisor;
- the figures (`GET /reports/ratings`): supervisors and auditors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.application import ApplicationState
from domain.notices import SERVICE_CENTER_TIMEZONE, local_time
from domain.people import Role
from domain.rating import (
    CASE_NUMBER_PATTERN,
    DEPARTMENT_ANSWERERS,
    REASON_MAX,
    AppealDecisionIn,
    AppealIn,
    FollowUpAnswer,
    FollowUpOutcome,
    FollowUpState,
    Rater,
    RatingChannel,
    RatingIn,
    RatingLevel,
    RatingReport,
    check_reason,
)
from domain.text import Text
from starter.api.deps import (
    DEPARTMENT_PATTERN,
    ApplicationId,
    AsOf,
    Caller,
    CodeFilter,
    DepartmentFilter,
    FirstDay,
    LastDay,
    Limit,
    Offset,
    check_period,
)
from starter.api.schemas import Page, page_of
from starter.auth import Principal, forbid
from starter.errors import ApiError, error_responses
from starter.ratings import Ratings, SubmitterRefs
from store import ratings as store
from store.db import in_utc

__all__ = ["AppealOut", "RatingOut", "add_routes", "rating_out"]

_BEIJING = ZoneInfo(SERVICE_CENTER_TIMEZONE)
CaseNumber = Annotated[
    str,
    Path(
        pattern=CASE_NUMBER_PATTERN,
        description="The case number (办件编号), e.g. 420684-20261128-000042.",
    ),
]
Department = Annotated[str, Path(pattern=DEPARTMENT_PATTERN, description="A department code.")]
ReadableState = Callable[[Principal, str], Awaitable[ApplicationState]]
StateOf = Callable[[str], Awaitable[ApplicationState]]
REPORT_READERS = frozenset({Role.SUPERVISOR, Role.AUDITOR})


# --------------------------------------------------------------------------- bodies


class RatingBody(BaseModel):
    """A rating. `reason` is required below 满意; a clerk names whose rating it is."""

    model_config = ConfigDict(extra="forbid")

    level: RatingLevel
    reason: Text | None = Field(None, max_length=REASON_MAX)
    channel: RatingChannel | None = Field(
        None, description="window (a clerk's), online, sms or hotline; default by the caller."
    )
    rater: Rater = Field(
        Rater.APPLICANT, description="A clerk at the window: the applicant's or the agent's."
    )

    @model_validator(mode="after")
    def _reason_below_satisfied(self) -> RatingBody:
        check_reason(self.level, self.reason)
        return self


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: FollowUpOutcome = Field(description="fixed (已整改) or explained (已解释说明).")
    text: Text = Field(min_length=1, max_length=REASON_MAX, pattern=r"\S")


# --------------------------------------------------------------------------- answers


class FollowUpOut(BaseModel):
    department: str
    status: str = Field(description="open, fixed, explained, or excluded (appeal upheld).")
    status_text: str
    days: int = Field(description="Working days the department has (the hall's, else 15).")
    due_at: datetime | None = Field(description="ISO 8601, Beijing time with its offset.")
    due_local: str | None
    text: str | None
    answered_by: str | None
    answered_at: datetime | None
    in_time: bool | None


class AppealOut(BaseModel):
    department: str
    reason: str
    appealed_by: str
    appealed_at: datetime
    status: str = Field(description="pending, upheld or dismissed.")
    status_text: str
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None

    @classmethod
    def of(cls, a: store.RatingAppeal) -> AppealOut:
        texts = {"pending": "待复核", "upheld": "申诉成立, 该评价不计入统计"}
        return cls(
            department=a.department,
            reason=a.reason,
            appealed_by=a.appealed_by,
            appealed_at=_local(a.appealed_at),
            status=a.status,
            status_text=texts.get(a.status, "申诉不成立, 评价有效"),
            decided_by=a.decided_by,
            decided_at=_local(a.decided_at) if a.decided_at else None,
            decision_reason=a.decision_reason,
        )


class RatingItemOut(BaseModel):
    item_code: str
    department: str


class RatingOut(BaseModel):
    case_number: str
    application_id: str
    hall: str
    level: RatingLevel
    level_text: str
    bad: bool = Field(description="差评: 不满意 or 非常不满意.")
    reason: str | None
    channel: RatingChannel
    channel_text: str
    rater: Rater = Field(description="applicant or agent (kept keyed, never by name).")
    rater_text: str
    recorded_by: str | None = Field(description="The window clerk who recorded it, if any.")
    rated_at: datetime = Field(description="ISO 8601, Beijing time with its offset.")
    rated_local: str
    excluded: bool = Field(description="Excluded from the figures by an upheld appeal.")
    items: list[RatingItemOut]
    follow_ups: list[FollowUpOut]
    appeal: AppealOut | None


def _local(at: datetime) -> datetime:
    return in_utc(at).astimezone(_BEIJING)


def _follow_up(f: store.RatingFollowUp) -> FollowUpOut:
    due = _local(f.due_at) if f.due_at else None
    status_text = "待回访" if f.status == "open" else FollowUpOutcome(f.status).label
    return FollowUpOut(
        department=f.department,
        status=f.status,
        status_text=status_text,
        days=f.days,
        due_at=due,
        due_local=local_time(due) if due else None,
        text=f.text,
        answered_by=f.answered_by,
        answered_at=_local(f.answered_at) if f.answered_at else None,
        in_time=f.in_time,
    )


def rating_out(desk: Ratings, r: store.Rating) -> RatingOut:
    """The rating with its items, follow-ups and appeal (reads the store)."""
    level, channel, rater = r.level_enum, RatingChannel(r.channel), Rater(r.rater)
    appeal = store.get_appeal(desk.engine, r.case_number)
    return RatingOut(
        case_number=r.case_number,
        application_id=r.application_id,
        hall=r.hall,
        level=level,
        level_text=level.label,
        bad=level.bad,
        reason=r.reason,
        channel=channel,
        channel_text=channel.label,
        rater=rater,
        rater_text=rater.label,
        recorded_by=r.recorded_by,
        rated_at=_local(r.at),
        rated_local=local_time(r.at),
        excluded=r.excluded,
        items=[
            RatingItemOut(item_code=i.item_code, department=i.department)
            for i in store.items_of(desk.engine, r.case_number)
        ],
        follow_ups=[_follow_up(f) for f in store.follow_ups_of(desk.engine, r.case_number)],
        appeal=AppealOut.of(appeal) if appeal else None,
    )


# --------------------------------------------------------------------------- rules


def _no_auditor(principal: Principal) -> None:
    if principal.role is Role.AUDITOR:
        raise forbid(principal, "auditors read but never change anything")


def _department_staff(principal: Principal, departments: list[str], what: str) -> str:
    """A reviewer or the head of a department of the case; their department."""
    _no_auditor(principal)
    if principal.role not in DEPARTMENT_ANSWERERS:
        raise forbid(principal, f"only a reviewer or the head of a department of the case {what}")
    if principal.department not in departments:
        raise forbid(principal, f"the case has no item of department {principal.department!r}")
    assert principal.department is not None
    return principal.department


def _may_read_rating(principal: Principal, r: store.Rating, departments: list[str]) -> None:
    if principal.reads_all:
        return
    if principal.role is Role.WINDOW_CLERK:
        if r.hall != principal.hall:
            raise forbid(principal, f"this case was not accepted at {principal.hall!r}")
        return
    if principal.role in (Role.REVIEWER, Role.INSPECTOR, Role.DEPARTMENT_HEAD):
        if principal.department not in departments:
            raise forbid(principal, f"the case has no item of department {principal.department!r}")
        return
    raise forbid(principal, "an applicant reads their rating under /applications/{id}/rating")


def _scope(
    principal: Principal, hall: str | None, department: str | None
) -> tuple[str | None, str | None]:
    if principal.reads_all:
        return hall, department
    if principal.role is Role.WINDOW_CLERK:
        if hall not in (None, principal.hall):
            raise forbid(principal, f"may list only hall {principal.hall!r}")
        return principal.hall, department
    if principal.role in (Role.REVIEWER, Role.INSPECTOR, Role.DEPARTMENT_HEAD):
        if department not in (None, principal.department):
            raise forbid(principal, f"may list only department {principal.department!r}")
        return hall, principal.department
    raise forbid(principal, "the list of ratings is for staff")


# --------------------------------------------------------------------------- routes


def add_routes(
    router: APIRouter,
    desk: Ratings,
    state_of: StateOf,
    readable_state: ReadableState,
    submitters: SubmitterRefs,
) -> None:
    """Rating a case, reading ratings, the follow-up's answer, appeals, the figures."""

    @router.post(
        "/applications/{application_id}/rating",
        tags=["applications"],
        status_code=201,
        response_model=RatingOut,
        summary="Rate a case (好差评): once, by its applicant or agent, or a clerk at the window",
        description=(
            "Only an accepted case (it has a 办件编号) that has ended or whose items are all "
            "decided. 非常满意 or 满意 need no reason; 基本满意, 不满意 and 非常不满意 do (422 "
            "naming `reason`). A second rating is 409 naming `case_number`. A 差评 (不满意, "
            "非常不满意) opens a follow-up for each department of the case."
        ),
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def rate(application_id: ApplicationId, body: RatingBody, principal: Caller) -> Any:
        _no_auditor(principal)
        refs = None
        channel: RatingChannel
        if principal.role in (Role.APPLICANT, Role.WINDOW_CLERK):
            refs = await submitters.of(application_id)
        if principal.role is Role.APPLICANT:
            if refs is None or not (
                principal.is_applicant_of(refs[0]) or principal.is_applicant_of(refs[1])
            ):
                raise forbid(principal, "an applicant (or agent) rates only their own cases")
            if body.channel is RatingChannel.WINDOW:
                raise ApiError.field(
                    422, "channel", "a rating at the window is recorded by its clerk"
                )
            rater = Rater.APPLICANT if principal.is_applicant_of(refs[0]) else Rater.AGENT
            channel, recorded_by = body.channel or RatingChannel.ONLINE, None
        elif principal.role is Role.WINDOW_CLERK:
            if refs is None:
                raise ApiError.field(404, "application_id", f"{application_id} does not exist")
            if (await state_of(application_id)).hall != principal.hall:
                raise forbid(principal, f"this case was not accepted at {principal.hall!r}")
            channel, rater, recorded_by = RatingChannel.WINDOW, body.rater, principal.name
            if body.channel not in (None, RatingChannel.WINDOW):
                raise ApiError.field(422, "channel", "a window clerk records ratings at the window")
            if rater is Rater.AGENT and refs[1] is None:
                raise ApiError.field(422, "rater", "this application was made without an agent")
        else:
            raise forbid(
                principal,
                "only the case's applicant (or agent), or a window clerk of its hall, rates it",
            )
        state = await state_of(application_id)
        given = RatingIn(level=body.level, reason=body.reason, channel=channel)
        rater_sha = refs[0] if rater is Rater.APPLICANT else refs[1]
        assert rater_sha is not None
        row = await desk.rate(
            state, given, rater=rater, rater_id_sha256=rater_sha, recorded_by=recorded_by
        )
        return await run_in_threadpool(rating_out, desk, row)

    @router.get(
        "/applications/{application_id}/rating",
        tags=["applications"],
        response_model=RatingOut,
        summary="The case's rating, its follow-ups and appeal",
        description="Whoever may read the application.",
        responses=error_responses(401, 403, 404, 422, 503),
    )
    async def get_rating(application_id: ApplicationId, principal: Caller) -> Any:
        await readable_state(principal, application_id)
        return await run_in_threadpool(lambda: rating_out(desk, desk.rating_of(application_id)))

    @router.get(
        "/ratings",
        tags=["staff"],
        response_model=Page[RatingOut],
        summary="Ratings, newest first (staff: by hall, department, 差评 only)",
        responses=error_responses(401, 403, 422),
    )
    async def list_ratings(
        principal: Caller,
        limit: Limit = 50,
        offset: Offset = 0,
        hall: CodeFilter = None,
        department: DepartmentFilter = None,
        bad_only: Annotated[bool, Query(description="Only 差评.")] = False,
    ) -> Any:
        hall, department = _scope(principal, hall, department)

        def read() -> Page[RatingOut]:
            rows, total = store.ratings_page(
                desk.engine,
                hall=hall,
                department=department,
                bad_only=bad_only,
                limit=limit,
                offset=offset,
            )
            return page_of([rating_out(desk, r) for r in rows], total, limit, offset)

        return await run_in_threadpool(read)

    async def rating_for(principal: Principal, case_number: str) -> store.Rating:
        def read() -> store.Rating:
            r = desk.rating(case_number)
            _may_read_rating(principal, r, desk.departments(case_number))
            return r

        return await run_in_threadpool(read)

    @router.get(
        "/ratings/{case_number}",
        tags=["staff"],
        response_model=RatingOut,
        summary="A rating by case number (staff)",
        responses=error_responses(401, 403, 404, 422),
    )
    async def rating_by_number(case_number: CaseNumber, principal: Caller) -> Any:
        r = await rating_for(principal, case_number)
        return await run_in_threadpool(rating_out, desk, r)

    @router.get(
        "/ratings/{case_number}/follow-ups/{department}",
        tags=["staff"],
        response_model=FollowUpState,
        summary="A 差评's follow-up as its workflow runs it: due instant, clock, answer",
        responses=error_responses(401, 403, 404, 422, 503),
    )
    async def follow_up_state(
        case_number: CaseNumber, department: Department, principal: Caller
    ) -> Any:
        await rating_for(principal, case_number)
        return await desk.follow_up_state(case_number, department)

    @router.post(
        "/ratings/{case_number}/follow-ups/{department}/answer",
        tags=["staff"],
        response_model=FollowUpState,
        summary="The department answers a 差评's follow-up: fixed or explained",
        description=(
            "A reviewer or the head of that department. Answered after the due instant it "
            "is still taken and counts late (`in_time: false`). Once."
        ),
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def answer_follow_up(
        case_number: CaseNumber, department: Department, body: AnswerBody, principal: Caller
    ) -> Any:
        departments = await run_in_threadpool(
            lambda: desk.departments(desk.rating(case_number).case_number)
        )
        mine = _department_staff(principal, departments, "answers its follow-up")
        if mine != department:
            raise forbid(principal, f"this follow-up is department {department!r}'s")
        if body.outcome is FollowUpOutcome.EXCLUDED:
            raise ApiError.field(422, "outcome", "a department answers fixed or explained")
        answer = FollowUpAnswer(outcome=body.outcome, text=body.text, answered_by=principal.staff())
        return await desk.answer(case_number, department, answer)

    @router.post(
        "/ratings/{case_number}/appeal",
        tags=["staff"],
        status_code=201,
        response_model=AppealOut,
        summary="A department of the case appeals the rating (申诉复核); once per rating",
        responses=error_responses(401, 403, 404, 409, 422),
    )
    async def appeal(case_number: CaseNumber, body: AppealIn, principal: Caller) -> Any:
        departments = await run_in_threadpool(
            lambda: desk.departments(desk.rating(case_number).case_number)
        )
        mine = _department_staff(principal, departments, "appeals its rating")
        filed = await desk.appeal(case_number, mine, body.reason, by=principal.name)
        return AppealOut.of(filed)

    @router.post(
        "/ratings/{case_number}/appeal/decision",
        tags=["staff"],
        response_model=AppealOut,
        summary="A supervisor decides the appeal: upheld excludes the rating from the figures",
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def decide_appeal(
        case_number: CaseNumber, body: AppealDecisionIn, principal: Caller
    ) -> Any:
        _no_auditor(principal)
        if principal.role is not Role.SUPERVISOR:
            raise forbid(principal, "only a supervisor decides an appeal of a rating")
        decided = await desk.decide_appeal(
            case_number, body.verdict, body.reason, by=principal.name
        )
        return AppealOut.of(decided)

    @router.get(
        "/reports/ratings",
        tags=["reports"],
        response_model=RatingReport,
        summary="Ratings' figures: per level, 好评率, 差评, 差评整改率, overdue, excluded",
        description=(
            "Ratings given from `since` to `until` (Beijing days, both included) at `hall`, "
            "of cases with an item of `department` or `item_code`; and the same per "
            "department. 好评 = 非常满意 + 满意 + 基本满意; 差评整改率 = 差评 fixed or explained "
            "within the limit / 差评 answered or overdue (one still within its limit is "
            "pending). Ratings excluded by an upheld appeal count only as excluded. "
            "Supervisors and auditors."
        ),
        responses=error_responses(401, 403, 422),
    )
    async def report_ratings(
        principal: Caller,
        since: FirstDay = None,
        until: LastDay = None,
        hall: CodeFilter = None,
        department: DepartmentFilter = None,
        item_code: CodeFilter = None,
        as_of: AsOf = None,
    ) -> Any:
        if principal.role not in REPORT_READERS:
            raise forbid(principal, "the ratings' figures are for supervisors and auditors")
        check_period(since, until, as_of)
        return await run_in_threadpool(
            lambda: desk.report(
                since=since,
                until=until,
                hall=hall,
                department=department,
                item_code=item_code,
                as_of=as_of,
            )
        )
