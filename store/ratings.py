"""Ratings of cases (好差评), their 差评 follow-ups (回访) and appeals (申诉复核).

One rating per case: the case number (办件编号) is the key, the application ID unique too,
so a second rating collides in the database whatever raced it. Who rated is kept keyed
(`rater_ref`: HMAC of the rater's ID number's SHA-256 under the subject keyring, the same
reference an applicant's token carries, `onething.keys`), never a name or an ID number.

A 差评's follow-ups (one per department of the case) are written with the rating, in one
transaction; their workflow sets the due instant when it opens the department's task and
records the answer. An appeal upheld excludes the rating from the figures.
Instants are kept in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select

from domain.rating import (
    AppealVerdict,
    FollowUpFact,
    FollowUpOutcome,
    FollowUpRecord,
    RatedCase,
    Rater,
    RatingChannel,
    RatingLevel,
)
from onething.keys import KeyedRef, Purpose, SubjectKeys, configured_subject_keys
from store.db import in_utc, session


class Rating(SQLModel, table=True):
    __tablename__ = "ratings"

    case_number: str = Field(primary_key=True, max_length=32)
    application_id: str = Field(max_length=64, unique=True)
    hall: str = Field(max_length=64, index=True)
    level: str = Field(max_length=32)
    reason: str | None = Field(default=None, max_length=500)
    channel: str = Field(max_length=16)
    rater: str = Field(max_length=16)  # applicant or agent
    rater_key_id: str = Field(max_length=64)
    rater_ref: str = Field(max_length=64)  # HMAC hex: whose rating, without saying who
    recorded_by: str | None = Field(default=None, max_length=64)  # the clerk, at the window
    rated_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    excluded: bool = False  # an appeal was upheld: counted in no figure

    @property
    def at(self) -> datetime:
        return in_utc(self.rated_at)

    @property
    def level_enum(self) -> RatingLevel:
        return RatingLevel(self.level)


class RatingItem(SQLModel, table=True):
    """The items (and their departments) of a rated case, for the figures by item."""

    __tablename__ = "rating_items"

    case_number: str = Field(primary_key=True, max_length=32)
    item_code: str = Field(primary_key=True, max_length=64)
    department: str = Field(max_length=64, index=True)


class RatingFollowUp(SQLModel, table=True):
    """A 差评's follow-up by one department: open until fixed or explained."""

    __tablename__ = "rating_follow_ups"

    case_number: str = Field(primary_key=True, max_length=32)
    department: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(max_length=200)
    days: int
    opened_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    due_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    status: str = Field(default="open", max_length=16, index=True)  # open or an outcome
    text: str | None = Field(default=None, max_length=500)
    answered_by: str | None = Field(default=None, max_length=64)
    answered_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    in_time: bool | None = None

    def fact(self) -> FollowUpFact:
        return FollowUpFact(
            case_number=self.case_number,
            department=self.department,
            due_at=in_utc(self.due_at) if self.due_at else None,
            answered_at=in_utc(self.answered_at) if self.answered_at else None,
            outcome=FollowUpOutcome(self.status) if self.status != "open" else None,
        )


class RatingAppeal(SQLModel, table=True):
    """申诉复核: a department appeals a rating, a supervisor decides. One per rating."""

    __tablename__ = "rating_appeals"

    case_number: str = Field(primary_key=True, max_length=32)
    department: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    appealed_by: str = Field(max_length=64)
    appealed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(default="pending", max_length=16, index=True)  # or a verdict
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    decision_reason: str | None = Field(default=None, max_length=500)


class RatingExists(ValueError):
    """The case has been rated already (one rating per case)."""

    def __init__(self) -> None:
        super().__init__("case_number: this case has been rated already (one rating per case)")


class AppealRefused(ValueError):
    """`field: problem` — no such rating, appealed already, decided already, …"""


def record_rating(
    engine: Engine,
    *,
    case_number: str,
    application_id: str,
    hall: str,
    level: RatingLevel,
    reason: str | None,
    channel: RatingChannel,
    rater: Rater,
    rater_id_sha256: str,
    recorded_by: str | None,
    rated_at: datetime,
    items: list[tuple[str, str]],
    follow_ups: list[tuple[str, str, int]],
    keys: SubjectKeys | None = None,
) -> Rating:
    """Record the case's one rating, its items and (a 差评) its follow-ups
    `(department, workflow_id, days)`, all at once; RatingExists if it was rated before."""
    ref = (keys or configured_subject_keys()).keyed(Purpose.APPLICANT, rater_id_sha256)
    row = Rating(
        case_number=case_number,
        application_id=application_id,
        hall=hall,
        level=level.value,
        reason=reason,
        channel=channel.value,
        rater=rater.value,
        rater_key_id=ref.key_id,
        rater_ref=ref.value,
        recorded_by=recorded_by,
        rated_at=rated_at,
    )
    try:
        with session(engine) as s:
            if (
                s.get(Rating, case_number) is not None
                or s.exec(
                    select(Rating).where(col(Rating.application_id) == application_id)
                ).first()
            ):
                raise RatingExists()
            s.add(row)
            s.flush()  # the key's collision first, before the rows that depend on it
            for code, department in items:
                s.add(RatingItem(case_number=case_number, item_code=code, department=department))
            for department, workflow_id, days in follow_ups:
                s.add(
                    RatingFollowUp(
                        case_number=case_number,
                        department=department,
                        workflow_id=workflow_id,
                        days=days,
                        opened_at=rated_at,
                    )
                )
    except IntegrityError:
        raise RatingExists() from None  # rated at the same moment by another request
    return row


def get(engine: Engine, case_number: str) -> Rating | None:
    with session(engine) as s:
        return s.get(Rating, case_number)


def of_application(engine: Engine, application_id: str) -> Rating | None:
    with session(engine) as s:
        return s.exec(select(Rating).where(col(Rating.application_id) == application_id)).first()


def rated_by(rating: Rating, id_sha256: str, keys: SubjectKeys | None = None) -> bool:
    """Whether the person whose ID number has this SHA-256 gave the rating."""
    ref = KeyedRef(rating.rater_key_id, rating.rater_ref)
    return (keys or configured_subject_keys()).matches(ref, Purpose.APPLICANT, id_sha256)


def items_of(engine: Engine, case_number: str) -> list[RatingItem]:
    with session(engine) as s:
        query = select(RatingItem).where(col(RatingItem.case_number) == case_number)
        return list(s.exec(query.order_by(col(RatingItem.item_code))))


def follow_ups_of(engine: Engine, case_number: str) -> list[RatingFollowUp]:
    with session(engine) as s:
        query = select(RatingFollowUp).where(col(RatingFollowUp.case_number) == case_number)
        return list(s.exec(query.order_by(col(RatingFollowUp.department))))


def open_follow_ups(engine: Engine) -> list[tuple[Rating, RatingFollowUp]]:
    """Every follow-up still open, with its rating (for the reconciliation at start)."""
    with session(engine) as s:
        query = (
            select(Rating, RatingFollowUp)
            .where(col(RatingFollowUp.case_number) == col(Rating.case_number))
            .where(col(RatingFollowUp.status) == "open")
            .order_by(col(RatingFollowUp.case_number), col(RatingFollowUp.department))
        )
        return [(r, f) for r, f in s.exec(query)]


def follow_up(engine: Engine, case_number: str, department: str) -> RatingFollowUp | None:
    with session(engine) as s:
        return s.get(RatingFollowUp, (case_number, department))


def set_follow_up_due(engine: Engine, case_number: str, department: str, due_at: datetime) -> None:
    """The due instant the follow-up's clock computed (when its task opened, or moved)."""
    with session(engine) as s:
        row = s.get(RatingFollowUp, (case_number, department))
        if row is not None:
            row.due_at = due_at
            s.add(row)


def record_answer(engine: Engine, answer: FollowUpRecord) -> RatingFollowUp | None:
    """The follow-up's end: its answer (or its exclusion), once; a retry changes nothing."""
    with session(engine) as s:
        row = s.get(RatingFollowUp, (answer.case_number, answer.department))
        if row is None or row.status != "open":
            return row
        row.status = answer.outcome.value
        row.text = answer.text
        row.answered_by = answer.answered_by
        row.answered_at = answer.answered_at
        row.in_time = answer.in_time
        s.add(row)
        return row


def appeal(
    engine: Engine, *, case_number: str, department: str, reason: str, by: str, at: datetime
) -> RatingAppeal:
    with session(engine) as s:
        if s.get(Rating, case_number) is None:
            raise AppealRefused("case_number: no rating of this case")
        if s.get(RatingAppeal, case_number) is not None:
            raise AppealRefused("case_number: this rating has been appealed already")
        row = RatingAppeal(
            case_number=case_number,
            department=department,
            reason=reason,
            appealed_by=by,
            appealed_at=at,
        )
        s.add(row)
    return row


def get_appeal(engine: Engine, case_number: str) -> RatingAppeal | None:
    with session(engine) as s:
        return s.get(RatingAppeal, case_number)


def decide_appeal(
    engine: Engine,
    *,
    case_number: str,
    verdict: AppealVerdict,
    reason: str,
    by: str,
    at: datetime,
) -> RatingAppeal:
    """A supervisor's decision; upheld, the rating is excluded from the figures."""
    with session(engine) as s:
        row = s.get(RatingAppeal, case_number, with_for_update=True)
        if row is None:
            raise AppealRefused("case_number: this rating has not been appealed")
        if row.status != "pending":
            raise AppealRefused(f"case_number: the appeal was decided already ({row.status})")
        row.status = verdict.value
        row.decided_by, row.decided_at, row.decision_reason = by, at, reason
        s.add(row)
        if verdict is AppealVerdict.UPHELD:
            rating = s.get(Rating, case_number)
            assert rating is not None
            rating.excluded = True
            s.add(rating)
    return row


def _day_start(day: date) -> datetime:
    """00:00 Beijing time of `day`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=8)


def facts(
    engine: Engine,
    *,
    since: date | None = None,
    until: date | None = None,
    hall: str | None = None,
) -> tuple[list[RatedCase], list[FollowUpFact]]:
    """The ratings given in [since, until] (Beijing days) at `hall`, with their items, and
    their follow-ups: what `domain.rating.rating_figures` counts."""
    conditions: list[Any] = []
    if since is not None:
        conditions.append(col(Rating.rated_at) >= _day_start(since))
    if until is not None:
        conditions.append(col(Rating.rated_at) < _day_start(until + timedelta(days=1)))
    if hall is not None:
        conditions.append(col(Rating.hall) == hall)
    with session(engine) as s:
        rows = list(s.exec(select(Rating).where(*conditions)))
        numbers = [r.case_number for r in rows]
        items: dict[str, list[tuple[str, str]]] = {}
        follow: list[FollowUpFact] = []
        for chunk in (numbers[i : i + 500] for i in range(0, len(numbers), 500)):
            for it in s.exec(select(RatingItem).where(col(RatingItem.case_number).in_(chunk))):
                items.setdefault(it.case_number, []).append((it.item_code, it.department))
            query = select(RatingFollowUp).where(col(RatingFollowUp.case_number).in_(chunk))
            follow += [f.fact() for f in s.exec(query)]
    cases = [
        RatedCase(
            case_number=r.case_number,
            hall=r.hall,
            level=r.level_enum,
            rated_at=r.at,
            items=tuple(sorted(items.get(r.case_number, []))),
            excluded=r.excluded,
        )
        for r in rows
    ]
    return cases, follow


def ratings_page(
    engine: Engine,
    *,
    hall: str | None = None,
    department: str | None = None,
    bad_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Rating], int]:
    """Ratings, newest first, of a hall, of cases with an item of a department, or 差评."""
    conditions: list[Any] = []
    if hall is not None:
        conditions.append(col(Rating.hall) == hall)
    if department is not None:
        of_department = select(RatingItem.case_number).where(
            col(RatingItem.department) == department
        )
        conditions.append(col(Rating.case_number).in_(of_department))
    if bad_only:
        conditions.append(col(Rating.level).in_([lv.value for lv in RatingLevel if lv.bad]))
    with session(engine) as s:
        total = s.exec(select(func.count()).select_from(Rating).where(*conditions)).one()
        rows = s.exec(
            select(Rating)
            .where(*conditions)
            .order_by(col(Rating.rated_at).desc(), col(Rating.case_number))
            .offset(offset)
            .limit(limit)
        ).all()
    return list(rows), int(total)


__all__ = [
    "AppealRefused",
    "Rating",
    "RatingAppeal",
    "RatingExists",
    "RatingFollowUp",
    "RatingItem",
    "appeal",
    "decide_appeal",
    "facts",
    "follow_up",
    "follow_ups_of",
    "get",
    "get_appeal",
    "items_of",
    "of_application",
    "rated_by",
    "ratings_page",
    "record_answer",
    "record_rating",
    "set_follow_up_due",
]
