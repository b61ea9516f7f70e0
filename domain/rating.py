"""Ratings of a case (政务服务"好差评"): levels, who rates, the 差评 follow-up, appeals, figures.

Sources: 国办发〔2019〕51号 (《关于建立政务服务"好差评"制度提高政务服务水平的意见》) and
GB/T 39734-2020 (政务服务评价工作指南), as DOMAIN.md ("Ratings") gathers them:

- Five levels: 非常满意, 满意, 基本满意, 不满意, 非常不满意. The last two are 差评.
- One rating per case (一次一评, 一事一评), by the case's applicant or its agent, at the
  window, online, by SMS or by the hotline. A second rating of the same case is refused.
- A rating below 满意 without text is refused: 基本满意, 不满意 and 非常不满意 need a reason
  (DOMAIN.md's wording; the issue says "reason required below 满意" too). 满意 and 非常满意
  may carry a remark.
- A 差评 is followed up (回访) by the department(s) of the case: fixed (整改) or explained
  (解释说明) within a set time. The time is a local rule (5 to 15 working days): a hall may
  set it in the catalog (`Hall.rating_follow_up_days`); otherwise 15 working days, this
  center's choice (`DEFAULT_FOLLOW_UP_DAYS`). It runs on the legal clock: overdue escalates
  like any limit.
- An appeal (申诉复核) by a department, decided by a supervisor; upheld, the rating is
  excluded from the figures (a mistaken or malicious rating).

Figures (`rating_figures`), as this center reads the sources:
- 好评 = 非常满意 + 满意 + 基本满意 (every level that is not 差评, the national platform's
  reading); 好评率 = 好评 / ratings counted. Counts per level are given too, so a stricter
  reading (非常满意 + 满意 only) can be derived.
- 差评整改率 = 差评 whose every follow-up was fixed or explained by its due instant / 差评
  whose follow-ups are settled (answered) or overdue. A 差评 whose follow-up is still within
  its limit is pending: counted apart, in neither.
- Ratings excluded by an upheld appeal count in no figure but `excluded_by_appeal`.

Pure: imported inside the workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from domain.application import ApplicationState, ItemStatus
from domain.clock import ClockRecord
from domain.notices import SERVICE_CENTER_TIMEZONE
from domain.people import Role, Staff
from domain.text import Text

_BEIJING = ZoneInfo(SERVICE_CENTER_TIMEZONE)

DEFAULT_FOLLOW_UP_DAYS = 15  # working days; a local choice within the 5 to 15 local rules use
FOLLOW_UP_LIMIT = "rating_follow_up"  # the legal clock's limit name
FOLLOW_UP_TASK = "rating_follow_up"  # the staff task's kind in the inbox
FOLLOW_UP_ROLE = Role.REVIEWER  # the inbox role its task is opened for (the head sees it too)
# Who answers a follow-up and who appeals a rating: the department's reviewers and its head.
DEPARTMENT_ANSWERERS = frozenset({Role.REVIEWER, Role.DEPARTMENT_HEAD})
CASE_NUMBER_PATTERN = r"^\d{6}-\d{8}-\d{6}$"
REASON_MAX = 500


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("instants must carry a time zone")
    return value


Instant = Annotated[datetime, AfterValidator(_aware)]


class RatingLevel(StrEnum):
    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    VERY_DISSATISFIED = "very_dissatisfied"

    @property
    def label(self) -> str:
        return _LEVEL_LABELS[self]

    @property
    def bad(self) -> bool:
        """差评: 不满意 or 非常不满意."""
        return self in BAD_LEVELS

    @property
    def good(self) -> bool:
        """好评: every level that is not 差评 (see the module's note on 好评率)."""
        return not self.bad

    @property
    def needs_reason(self) -> bool:
        """Below 满意: 基本满意, 不满意, 非常不满意."""
        return self in REASON_LEVELS


_LEVEL_LABELS = {
    RatingLevel.VERY_SATISFIED: "非常满意",
    RatingLevel.SATISFIED: "满意",
    RatingLevel.BASICALLY_SATISFIED: "基本满意",
    RatingLevel.DISSATISFIED: "不满意",
    RatingLevel.VERY_DISSATISFIED: "非常不满意",
}
BAD_LEVELS = frozenset({RatingLevel.DISSATISFIED, RatingLevel.VERY_DISSATISFIED})
REASON_LEVELS = BAD_LEVELS | {RatingLevel.BASICALLY_SATISFIED}


class RatingChannel(StrEnum):
    WINDOW = "window"  # the evaluation pad (评价器) at the window
    ONLINE = "online"
    SMS = "sms"
    HOTLINE = "hotline"  # 12345

    @property
    def label(self) -> str:
        return _CHANNEL_LABELS[self]


_CHANNEL_LABELS = {
    RatingChannel.WINDOW: "窗口评价器",
    RatingChannel.ONLINE: "网上",
    RatingChannel.SMS: "短信",
    RatingChannel.HOTLINE: "12345热线",
}


class Rater(StrEnum):
    """Whose rating it is: the case's applicant, or the agent who applied for them."""

    APPLICANT = "applicant"
    AGENT = "agent"

    @property
    def label(self) -> str:
        return "申请人" if self is Rater.APPLICANT else "代办人"


class RatingIn(BaseModel):
    """A rating as given (API body, CLI input)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: RatingLevel
    reason: Text | None = Field(None, max_length=REASON_MAX)
    channel: RatingChannel = RatingChannel.ONLINE

    @model_validator(mode="after")
    def _reason_below_satisfied(self) -> RatingIn:
        check_reason(self.level, self.reason)
        return self


def check_reason(level: RatingLevel, reason: str | None) -> None:
    """A rating below 满意 without text is refused (DOMAIN.md, GB/T 39734-2020)."""
    if level.needs_reason and not (reason and reason.strip()):
        raise ValueError(
            f"reason: a rating of {level.label} ({level.value}) needs a reason "
            "(every level below 满意 does)"
        )


class RatingRefused(ValueError):
    """The case may not be rated (now): `field` names what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


# An item is decided once it has a decision, a license, or has ended.
DECIDED_ITEM_STATUSES = frozenset(
    {
        ItemStatus.APPROVED,
        ItemStatus.ISSUED,
        ItemStatus.INSPECTING,
        ItemStatus.RECTIFYING,
        ItemStatus.CLOSED,
        ItemStatus.REJECTED,
        ItemStatus.REVOKED,
        ItemStatus.STOPPED,
    }
)


def check_ratable(state: ApplicationState) -> str:
    """The case's number when the application may be rated: accepted (it has a 办件编号)
    and ended, or every item of it decided. RatingRefused otherwise."""
    if state.case_number is None:
        raise RatingRefused(
            "application_id",
            "the application was never accepted (no 办件编号): only an accepted case is rated",
        )
    decided = bool(state.items) and all(i.status in DECIDED_ITEM_STATUSES for i in state.items)
    if not (state.status.closed or decided):
        raise RatingRefused(
            "application_id",
            f"the case is still being handled ({state.status.value}); it is rated once it "
            "has ended or been decided",
        )
    return state.case_number


def departments_of(state: ApplicationState) -> list[str]:
    """The departments whose items the case had: who follows up its 差评."""
    return sorted({i.department for i in state.items})


def follow_up_days(hall_days: int | None) -> int:
    """The follow-up's limit: the hall's catalog setting, else the center's default."""
    return hall_days if hall_days is not None else DEFAULT_FOLLOW_UP_DAYS


def follow_up_workflow_id(case_number: str, department: str) -> str:
    """One follow-up per rated case and department: a repeated start finds it."""
    return f"rating-follow-up-{case_number}-{department}"


# --------------------------------------------------------------------------- follow-up


class FollowUpOutcome(StrEnum):
    FIXED = "fixed"  # 已整改
    EXPLAINED = "explained"  # 已解释说明
    EXCLUDED = "excluded"  # the rating was excluded on appeal: nothing left to follow up

    @property
    def label(self) -> str:
        return {"fixed": "已整改", "explained": "已解释说明", "excluded": "经申诉复核不予计入"}[
            self.value
        ]


class FollowUpStart(BaseModel):
    """What a follow-up workflow starts with (no personal data)."""

    model_config = ConfigDict(frozen=True)

    case_number: str = Field(pattern=CASE_NUMBER_PATTERN)
    application_id: str
    department: str
    department_name: str = ""  # as the applicant reads it (the catalog's)
    hall: str
    level: RatingLevel
    days: int = Field(ge=1, le=30)
    rated_at: Instant


class FollowUpAnswer(BaseModel):
    """The department's answer: fixed or explained, with what was done or said."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: FollowUpOutcome
    text: Text = Field(min_length=1, max_length=REASON_MAX, pattern=r"\S")
    answered_by: Staff

    @model_validator(mode="after")
    def _not_excluded(self) -> FollowUpAnswer:
        if self.outcome is FollowUpOutcome.EXCLUDED:
            raise ValueError("outcome: a department answers fixed or explained")
        return self


class FollowUpRecord(BaseModel):
    """The follow-up's answer as the store keeps it (an activity's input)."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str = ""  # its task is closed with it
    case_number: str
    department: str
    outcome: FollowUpOutcome
    text: str | None = None
    answered_by: str
    answered_at: Instant
    in_time: bool | None


class OpenFollowUp(BaseModel):
    """Open the follow-up's task with its clock's first schedule (one activity for both)."""

    model_config = ConfigDict(frozen=True)

    start: FollowUpStart
    workflow_id: str
    clock: ClockRecord


class FollowUpDue(BaseModel):
    model_config = ConfigDict(frozen=True)

    case_number: str
    department: str
    workflow_id: str
    due_at: Instant


class FollowUpState(BaseModel):
    """What the follow-up workflow answers to a Query and to its update."""

    case_number: str
    department: str
    due_at: datetime | None
    clock_state: str | None
    escalation_stage: int
    outcome: FollowUpOutcome | None
    answered_by: str | None
    answered_at: datetime | None
    in_time: bool | None


def check_answerer(staff: Staff, department: str, field: str = "answered_by") -> None:
    if staff.role not in DEPARTMENT_ANSWERERS:
        raise ValueError(
            f"{field}.role: a reviewer or the head of the department answers, not a "
            f"{staff.role.value}"
        )
    if staff.department != department:
        raise ValueError(f"{field}.department: this follow-up is department {department!r}'s")


# --------------------------------------------------------------------------- appeals


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Text = Field(min_length=1, max_length=REASON_MAX, pattern=r"\S")


class AppealVerdict(StrEnum):
    UPHELD = "upheld"  # the rating is excluded from the figures
    DISMISSED = "dismissed"  # the rating stands

    @property
    def label(self) -> str:
        return (
            "申诉成立, 该评价不计入统计" if self is AppealVerdict.UPHELD else "申诉不成立, 评价有效"
        )


class AppealDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    verdict: AppealVerdict
    reason: Text = Field(min_length=1, max_length=REASON_MAX, pattern=r"\S")


# --------------------------------------------------------------------------- figures


class RatedCase(BaseModel):
    """One rating as the figures need it."""

    model_config = ConfigDict(frozen=True)

    case_number: str
    hall: str
    level: RatingLevel
    rated_at: Instant
    items: tuple[tuple[str, str], ...]  # (item code, department)
    excluded: bool = False


class FollowUpFact(BaseModel):
    model_config = ConfigDict(frozen=True)

    case_number: str
    department: str
    due_at: Instant | None
    answered_at: Instant | None = None
    outcome: FollowUpOutcome | None = None

    def overdue(self, as_of: datetime) -> bool:
        """Answered after its due instant, or still open past it."""
        if self.due_at is None:
            return False
        return (self.answered_at or as_of) > self.due_at

    def settled_in_time(self) -> bool:
        return (
            self.answered_at is not None
            and self.due_at is not None
            and self.answered_at <= self.due_at
            and self.outcome in (FollowUpOutcome.FIXED, FollowUpOutcome.EXPLAINED)
        )


class LevelCount(BaseModel):
    level: RatingLevel
    label: str
    count: int


class RatingFigures(BaseModel):
    """Ratings of a period, hall, department or item; rates are None when nothing counts."""

    ratings: int = Field(description="Ratings counted (excluded by appeal: not counted).")
    levels: list[LevelCount]
    good: int = Field(description="好评: 非常满意 + 满意 + 基本满意.")
    good_rate: float | None = Field(description="好评率: good / ratings.")
    bad: int = Field(description="差评: 不满意 + 非常不满意.")
    bad_settled_in_time: int = Field(description="差评 fixed or explained within the limit.")
    bad_due: int = Field(description="差评 whose follow-ups are answered or overdue.")
    bad_pending: int = Field(description="差评 whose follow-up is still within its limit.")
    rectification_rate: float | None = Field(
        description="差评整改率: bad_settled_in_time / bad_due."
    )
    follow_ups: int
    follow_ups_fixed: int
    follow_ups_explained: int
    follow_ups_overdue: int = Field(description="Answered late, or open past the due instant.")
    follow_ups_overdue_open: int
    excluded_by_appeal: int


def beijing_day(instant: datetime) -> date:
    return instant.astimezone(_BEIJING).date()


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def rating_figures(
    ratings: Iterable[RatedCase],
    follow_ups: Iterable[FollowUpFact],
    *,
    as_of: datetime,
    since: date | None = None,
    until: date | None = None,
    hall: str | None = None,
    department: str | None = None,
    item_code: str | None = None,
) -> RatingFigures:
    """The figures of the ratings given in [since, until] (Beijing days, both included) at
    `hall`, of cases with an item of `department` or `item_code`. With a department or an
    item, a 差评's follow-ups are that department's (the item's department's) only."""
    chosen: list[RatedCase] = []
    for r in ratings:
        day = beijing_day(r.rated_at)
        if (since and day < since) or (until and day > until) or (hall and r.hall != hall):
            continue
        if department and all(d != department for _, d in r.items):
            continue
        if item_code and all(c != item_code for c, _ in r.items):
            continue
        chosen.append(r)
    of_item = {d for r in chosen for c, d in r.items if c == item_code} if item_code else None
    by_case: dict[str, list[FollowUpFact]] = {}
    for f in follow_ups:
        if department and f.department != department:
            continue
        if of_item is not None and f.department not in of_item:
            continue
        by_case.setdefault(f.case_number, []).append(f)

    counted = [r for r in chosen if not r.excluded]
    levels = {level: 0 for level in RatingLevel}
    for r in counted:
        levels[r.level] += 1
    bad = [r for r in counted if r.level.bad]
    settled = due = pending = 0
    facts: list[FollowUpFact] = []
    for r in bad:
        mine = by_case.get(r.case_number, [])
        facts += mine
        if mine and all(f.settled_in_time() for f in mine):
            settled += 1
            due += 1
        elif any(f.overdue(as_of) for f in mine):
            due += 1
        else:
            pending += 1
    good = sum(1 for r in counted if r.level.good)
    return RatingFigures(
        ratings=len(counted),
        levels=[LevelCount(level=lv, label=lv.label, count=n) for lv, n in levels.items()],
        good=good,
        good_rate=_rate(good, len(counted)),
        bad=len(bad),
        bad_settled_in_time=settled,
        bad_due=due,
        bad_pending=pending,
        rectification_rate=_rate(settled, due),
        follow_ups=len(facts),
        follow_ups_fixed=sum(1 for f in facts if f.outcome is FollowUpOutcome.FIXED),
        follow_ups_explained=sum(1 for f in facts if f.outcome is FollowUpOutcome.EXPLAINED),
        follow_ups_overdue=sum(1 for f in facts if f.overdue(as_of)),
        follow_ups_overdue_open=sum(1 for f in facts if f.answered_at is None and f.overdue(as_of)),
        excluded_by_appeal=sum(1 for r in chosen if r.excluded),
    )


class RatingReport(BaseModel):
    """`GET /reports/ratings`: the figures asked for, and the same per department."""

    as_of: datetime = Field(description="ISO 8601 with offset (Beijing time).")
    since: date | None
    until: date | None
    hall: str | None
    department: str | None
    item_code: str | None
    follow_up_days_default: int = DEFAULT_FOLLOW_UP_DAYS
    figures: RatingFigures
    by_department: dict[str, RatingFigures]


def rating_report(
    ratings: Sequence[RatedCase],
    follow_ups: Sequence[FollowUpFact],
    *,
    as_of: datetime,
    since: date | None = None,
    until: date | None = None,
    hall: str | None = None,
    department: str | None = None,
    item_code: str | None = None,
) -> RatingReport:
    def figures(dept: str | None) -> RatingFigures:
        return rating_figures(
            ratings,
            follow_ups,
            as_of=as_of,
            since=since,
            until=until,
            hall=hall,
            department=dept,
            item_code=item_code,
        )

    departments = sorted({d for r in ratings for _, d in r.items})
    if department:
        departments = [department]
    return RatingReport(
        as_of=as_of.astimezone(_BEIJING),
        since=since,
        until=until,
        hall=hall,
        department=department,
        item_code=item_code,
        figures=figures(department),
        by_department={
            d: f for d in departments if (f := figures(d)).ratings or f.excluded_by_appeal
        },
    )
