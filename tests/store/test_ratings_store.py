"""The ratings store on SQLite and PostgreSQL: one rating per case, the rater kept keyed,
follow-ups written with a 差评 and answered once, appeals decided once, the figures' facts."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from domain.rating import (
    AppealVerdict,
    FollowUpOutcome,
    FollowUpRecord,
    Rater,
    RatingChannel,
    RatingLevel,
    rating_figures,
)
from onething.keys import SubjectKeys
from store import ratings

KEYS = SubjectKeys.generate("k1")
ID = "420684199001011234"
ID_SHA = hashlib.sha256(ID.encode()).hexdigest()
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def number() -> str:
    return f"420684-20261201-{uuid.uuid4().int % 1_000_000:06d}"


def rate(
    engine: Engine,
    level: RatingLevel,
    *,
    case: str | None = None,
    app: str | None = None,
    at: datetime = T0,
    follow: list[tuple[str, str, int]] | None = None,
) -> ratings.Rating:
    case = case or number()
    return ratings.record_rating(
        engine,
        case_number=case,
        application_id=app or f"A-{uuid.uuid4().hex[:10]}",
        hall=f"hall-{case}",
        level=level,
        reason="窗口等候两小时" if level.needs_reason else None,
        channel=RatingChannel.WINDOW,
        rater=Rater.APPLICANT,
        rater_id_sha256=ID_SHA,
        recorded_by="clerk-1",
        rated_at=at,
        items=[("biz", "market"), ("tobacco", "tobacco")],
        follow_ups=follow if follow is not None else [],
        keys=KEYS,
    )


def test_one_rating_per_case_and_per_application(store_engine: Engine) -> None:
    first = rate(store_engine, RatingLevel.SATISFIED)
    with pytest.raises(ratings.RatingExists, match="case_number"):
        rate(store_engine, RatingLevel.VERY_SATISFIED, case=first.case_number)
    with pytest.raises(ratings.RatingExists):
        rate(store_engine, RatingLevel.VERY_SATISFIED, app=first.application_id)
    kept = ratings.get(store_engine, first.case_number)
    assert kept is not None and kept.level == "satisfied" and kept.at == T0
    assert ratings.of_application(store_engine, first.application_id) == kept
    assert [
        (i.item_code, i.department) for i in ratings.items_of(store_engine, first.case_number)
    ] == [
        ("biz", "market"),
        ("tobacco", "tobacco"),
    ]


def test_the_rater_is_kept_keyed_never_in_clear(store_engine: Engine) -> None:
    row = rate(store_engine, RatingLevel.SATISFIED)
    assert ratings.rated_by(row, ID_SHA, KEYS)
    assert not ratings.rated_by(row, hashlib.sha256(b"420684199001015678").hexdigest(), KEYS)
    assert not ratings.rated_by(row, ID_SHA, SubjectKeys.generate("k1"))  # another key
    with store_engine.connect() as c:
        values = c.execute(
            text("SELECT * FROM ratings WHERE case_number = :n"), {"n": row.case_number}
        ).one()
    flat = " ".join(str(v) for v in values)
    assert ID not in flat and ID_SHA not in flat and row.rater_ref in flat


def test_a_bad_rating_opens_its_follow_ups_answered_once(store_engine: Engine) -> None:
    row = rate(
        store_engine,
        RatingLevel.DISSATISFIED,
        follow=[("market", "wf-m", 15), ("tobacco", "wf-t", 15)],
    )
    opened = ratings.follow_ups_of(store_engine, row.case_number)
    assert [(f.department, f.status, f.due_at) for f in opened] == [
        ("market", "open", None),
        ("tobacco", "open", None),
    ]
    due = T0 + timedelta(days=21)
    ratings.set_follow_up_due(store_engine, row.case_number, "market", due)
    answer = FollowUpRecord(
        case_number=row.case_number,
        department="market",
        outcome=FollowUpOutcome.FIXED,
        text="已增开窗口",
        answered_by="reviewer-market",
        answered_at=T0 + timedelta(days=3),
        in_time=True,
    )
    ratings.record_answer(store_engine, answer)
    again = ratings.record_answer(
        store_engine, answer.model_copy(update={"outcome": FollowUpOutcome.EXPLAINED})
    )
    assert again is not None and again.status == "fixed" and again.text == "已增开窗口"
    market = ratings.follow_up(store_engine, row.case_number, "market")
    assert market is not None
    fact = market.fact()
    assert fact.due_at == due and fact.settled_in_time() and fact.outcome is FollowUpOutcome.FIXED


def test_an_appeal_is_decided_once_and_upheld_excludes(store_engine: Engine) -> None:
    row = rate(store_engine, RatingLevel.VERY_DISSATISFIED, follow=[("market", "wf", 15)])
    with pytest.raises(ratings.AppealRefused, match="not been appealed"):
        ratings.decide_appeal(
            store_engine,
            case_number=row.case_number,
            verdict=AppealVerdict.UPHELD,
            reason="x",
            by="sup",
            at=T0,
        )
    ratings.appeal(
        store_engine,
        case_number=row.case_number,
        department="market",
        reason="评价内容与办件无关, 系恶意评价",
        by="head-market",
        at=T0 + timedelta(hours=1),
    )
    with pytest.raises(ratings.AppealRefused, match="appealed already"):
        ratings.appeal(
            store_engine,
            case_number=row.case_number,
            department="tobacco",
            reason="again",
            by="head-tobacco",
            at=T0,
        )
    with pytest.raises(ratings.AppealRefused, match="no rating"):
        ratings.appeal(
            store_engine, case_number=number(), department="m", reason="r", by="b", at=T0
        )
    decided = ratings.decide_appeal(
        store_engine,
        case_number=row.case_number,
        verdict=AppealVerdict.UPHELD,
        reason="经核实属恶意评价",
        by="supervisor",
        at=T0 + timedelta(days=2),
    )
    assert decided.status == "upheld" and decided.decided_by == "supervisor"
    with pytest.raises(ratings.AppealRefused, match="decided already"):
        ratings.decide_appeal(
            store_engine,
            case_number=row.case_number,
            verdict=AppealVerdict.DISMISSED,
            reason="x",
            by="sup",
            at=T0,
        )
    kept = ratings.get(store_engine, row.case_number)
    assert kept is not None and kept.excluded


def test_facts_by_beijing_day_and_hall(store_engine: Engine) -> None:
    # 23:30 Beijing on 2030-01-01 is 15:30 UTC; 00:30 Beijing on 01-02 is 16:30 UTC on 01-01.
    late = rate(store_engine, RatingLevel.SATISFIED, at=datetime(2030, 1, 1, 15, 30, tzinfo=UTC))
    early = rate(
        store_engine,
        RatingLevel.DISSATISFIED,
        at=datetime(2030, 1, 1, 16, 30, tzinfo=UTC),
        follow=[("market", "wf", 15)],
    )
    cases, follow = ratings.facts(store_engine, since=date(2030, 1, 1), until=date(2030, 1, 1))
    assert [c.case_number for c in cases] == [late.case_number]
    assert cases[0].items == (("biz", "market"), ("tobacco", "tobacco"))
    cases, follow = ratings.facts(store_engine, since=date(2030, 1, 2), hall=early.hall)
    assert [c.case_number for c in cases] == [early.case_number]
    assert [(f.department, f.answered_at) for f in follow] == [("market", None)]
    f = rating_figures(cases, follow, as_of=datetime(2030, 1, 3, tzinfo=UTC))
    assert f.bad == 1 and f.bad_pending == 1  # no due instant yet: pending


def test_ratings_page_filters(store_engine: Engine) -> None:
    row = rate(store_engine, RatingLevel.DISSATISFIED, follow=[("market", "wf", 15)])
    rows, total = ratings.ratings_page(
        store_engine, hall=row.hall, department="tobacco", bad_only=True
    )
    assert total == 1 and rows[0].case_number == row.case_number
    rows, total = ratings.ratings_page(store_engine, hall=row.hall, department="tax")
    assert total == 0 and rows == []
