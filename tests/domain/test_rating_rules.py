"""Ratings (好差评) as rules: levels, reasons, who may rate when, and the figures, counted by
hand for a seeded set."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from domain.application import ApplicationState, ApplicationStatus, ItemRef, ItemStatus
from domain.catalog_loading import load_seed_catalog
from domain.people import Role, Staff
from domain.rating import (
    DEFAULT_FOLLOW_UP_DAYS,
    FollowUpAnswer,
    FollowUpOutcome,
    RatingChannel,
    RatingIn,
    RatingLevel,
    RatingRefused,
    check_answerer,
    check_ratable,
    departments_of,
    follow_up_days,
    rating_figures,
    rating_report,
)
from tests.support.ratings import AS_OF, seeded


def test_levels_bad_good_and_reasons() -> None:
    assert [lv.label for lv in RatingLevel] == [
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
    ]
    assert {lv for lv in RatingLevel if lv.bad} == {
        RatingLevel.DISSATISFIED,
        RatingLevel.VERY_DISSATISFIED,
    }
    assert {lv for lv in RatingLevel if lv.needs_reason} == {
        RatingLevel.BASICALLY_SATISFIED,
        RatingLevel.DISSATISFIED,
        RatingLevel.VERY_DISSATISFIED,
    }
    assert [c.label for c in RatingChannel] == ["窗口评价器", "网上", "短信", "12345热线"]


@pytest.mark.parametrize("level", ["basically_satisfied", "dissatisfied", "very_dissatisfied"])
def test_below_satisfied_without_a_reason_is_refused_naming_reason(level: str) -> None:
    for reason in (None, "   "):
        with pytest.raises(ValidationError) as refused:
            RatingIn.model_validate({"level": level, "reason": reason})
        assert "reason: a rating of" in str(refused.value)
    assert RatingIn(level=RatingLevel(level), reason="等了两个小时").reason == "等了两个小时"


def test_satisfied_needs_no_reason() -> None:
    assert RatingIn(level=RatingLevel.SATISFIED).reason is None
    assert RatingIn(level=RatingLevel.VERY_SATISFIED, channel=RatingChannel.SMS).channel.value == (
        "sms"
    )


def _state(
    status: ApplicationStatus, items: list[ItemStatus], number: str | None
) -> ApplicationState:
    return ApplicationState(
        application_id="A-1",
        status=status,
        target="open-convenience-store",
        name=None,
        channel="window",
        hall="yicheng-center",
        case_number=number,
        assisted=False,
        catalog_version="2026.12.2",
        notice=None,
        outstanding=[],
        supplement_clock=None,
        items=[
            ItemRef(
                item_code=f"item-{i}",
                name=f"事项{i}",
                department=["market", "tobacco"][i % 2],
                workflow_id=f"wf-{i}",
                status=s,
            )
            for i, s in enumerate(items)
        ],
        trips=1,
        trail=[],
    )


def test_only_an_accepted_case_that_ended_or_was_decided_is_ratable() -> None:
    number = "420684-20261201-000001"
    done = _state(ApplicationStatus.COMPLETED, [ItemStatus.CLOSED, ItemStatus.CLOSED], number)
    assert check_ratable(done) == number
    assert departments_of(done) == ["market", "tobacco"]
    # Decided but an inspection after issuance still runs: ratable.
    decided = _state(
        ApplicationStatus.IN_PROGRESS, [ItemStatus.CLOSED, ItemStatus.INSPECTING], number
    )
    assert check_ratable(decided) == number
    running = _state(
        ApplicationStatus.IN_PROGRESS, [ItemStatus.CLOSED, ItemStatus.UNDER_REVIEW], number
    )
    with pytest.raises(RatingRefused) as still:
        check_ratable(running)
    assert still.value.field == "application_id" and "still being handled" in still.value.problem
    refused = _state(ApplicationStatus.REFUSED, [], None)
    with pytest.raises(RatingRefused) as never:
        check_ratable(refused)
    assert "办件编号" in never.value.problem


def test_the_follow_up_limit_is_the_halls_or_fifteen_working_days() -> None:
    assert DEFAULT_FOLLOW_UP_DAYS == 15 and follow_up_days(None) == 15 and follow_up_days(5) == 5
    catalog = load_seed_catalog()
    hall = next(iter(catalog.halls.values()))
    assert hall.rating_follow_up_days is None
    assert "rating_follow_up_days" not in catalog.to_document()["halls"][0]  # digest unchanged
    set5 = hall.model_copy(update={"rating_follow_up_days": 5})
    assert follow_up_days(set5.rating_follow_up_days) == 5


def test_who_answers_a_follow_up() -> None:
    check_answerer(Staff(staff_id="r1", role=Role.REVIEWER, department="market"), "market")
    check_answerer(Staff(staff_id="h1", role=Role.DEPARTMENT_HEAD, department="market"), "market")
    with pytest.raises(ValueError, match=r"answered_by\.department"):
        check_answerer(Staff(staff_id="r2", role=Role.REVIEWER, department="tax"), "market")
    with pytest.raises(ValueError, match=r"answered_by\.role"):
        check_answerer(Staff(staff_id="i1", role=Role.INSPECTOR, department="market"), "market")
    with pytest.raises(ValidationError, match="outcome"):
        FollowUpAnswer(
            outcome=FollowUpOutcome.EXCLUDED,
            text="x",
            answered_by=Staff(staff_id="r1", role=Role.REVIEWER, department="market"),
        )


DEC = (date(2026, 12, 1), date(2026, 12, 31))


def test_figures_of_the_seeded_set_equal_the_hand_count() -> None:
    cases, follow = seeded()
    f = rating_figures(
        cases, follow, as_of=AS_OF, since=DEC[0], until=DEC[1], hall="yicheng-center"
    )
    # Counted: 1..10 (11 excluded, 12 another hall, 13 January).
    assert f.ratings == 10 and f.excluded_by_appeal == 1
    assert [c.count for c in f.levels] == [4, 2, 1, 2, 1]
    assert f.good == 7 and f.good_rate == 0.7
    assert f.bad == 3
    # 8: tobacco answered late -> due, not settled; 9 settled; 10 pending.
    assert (f.bad_settled_in_time, f.bad_due, f.bad_pending) == (1, 2, 1)
    assert f.rectification_rate == 0.5
    assert f.follow_ups == 4 and f.follow_ups_fixed == 2 and f.follow_ups_explained == 1
    assert f.follow_ups_overdue == 1 and f.follow_ups_overdue_open == 0


def test_figures_by_department_and_item() -> None:
    cases, follow = seeded()
    market = rating_figures(
        cases, follow, as_of=AS_OF, until=DEC[1], hall="yicheng-center", department="market"
    )
    # Cases with a market item: 1,2,3,5,6,7,8,9,10 (4 is tobacco only).
    assert market.ratings == 9 and market.good == 6 and market.bad == 3
    # Market's own follow-ups: 8 fixed in time, 9 explained in time, 10 pending.
    assert (market.bad_settled_in_time, market.bad_due, market.bad_pending) == (2, 2, 1)
    assert market.rectification_rate == 1.0
    tobacco = rating_figures(cases, follow, as_of=AS_OF, until=DEC[1], item_code="tobacco")
    assert tobacco.ratings == 4 and tobacco.bad == 1  # 3, 4, 6, 8
    assert tobacco.rectification_rate == 0.0 and tobacco.follow_ups_overdue == 1
    # Every hall, December: 12 counts, overdue and open.
    everywhere = rating_figures(cases, follow, as_of=AS_OF, since=DEC[0], until=DEC[1])
    assert everywhere.ratings == 11 and everywhere.bad == 4
    assert (everywhere.bad_settled_in_time, everywhere.bad_due) == (1, 3)
    assert everywhere.follow_ups_overdue_open == 1 and everywhere.follow_ups_overdue == 2
    report = rating_report(cases, follow, as_of=AS_OF, until=DEC[1], hall="yicheng-center")
    assert report.figures == rating_figures(
        cases, follow, as_of=AS_OF, until=DEC[1], hall="yicheng-center"
    )
    assert set(report.by_department) == {"market", "tobacco"}
    assert report.by_department["market"] == market
    assert report.as_of.utcoffset() == timedelta(hours=8)


def test_no_ratings_no_rates() -> None:
    f = rating_figures([], [], as_of=AS_OF)
    assert f.ratings == 0 and f.good_rate is None and f.rectification_rate is None
