"""Excluded time (行政许可法 Art. 45): the kinds, their Chinese labels, and the two acts that
start and end a pause."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.excluded_time import (
    EXCLUDED_TIME_DECIDERS,
    ExcludedTimeEnd,
    ExcludedTimeKind,
    ExcludedTimeStart,
)
from domain.people import Role, Staff

REVIEWER = Staff(staff_id="rev-01", role=Role.REVIEWER, department="market")


def test_kinds_are_those_of_article_45_with_chinese_labels() -> None:
    assert {k.value: k.label for k in ExcludedTimeKind} == {
        "hearing": "听证",
        "bidding": "招标",
        "auction": "拍卖",
        "testing": "检验",
        "inspection": "检测",
        "quarantine": "检疫",
        "appraisal": "鉴定",
        "expert_review": "专家评审",
    }


def test_a_start_states_what_and_how_long() -> None:
    start = ExcludedTimeStart(
        kind=ExcludedTimeKind.EXPERT_REVIEW,
        expected_days=15,
        reason="需组织专家对工艺流程进行评审",
        decided_by=REVIEWER,
    )
    assert start.kind.label == "专家评审" and start.expected_days == 15
    # what travels in history parses back unchanged
    assert ExcludedTimeStart.model_validate_json(start.model_dump_json()) == start


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expected_days": 0}, "expected_days"),
        ({"expected_days": 251}, "expected_days"),
        ({"reason": "  "}, "reason"),
        ({"reason": "长" * 501}, "reason"),
        ({"kind": "correction"}, "kind"),
    ],
)
def test_a_bad_start_is_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    data: dict[str, object] = {
        "kind": "testing",
        "expected_days": 5,
        "reason": "送检",
        "decided_by": REVIEWER,
        **change,
    }
    with pytest.raises(ValidationError) as info:
        ExcludedTimeStart.model_validate(data)
    assert [e["loc"][0] for e in info.value.errors()] == [field]
    assert "长" * 50 not in str(info.value)  # long input is not echoed back whole


def test_the_applicants_correction_is_not_excluded_time() -> None:
    # 补正 is waiting for complete materials: the limit has not started (Art. 32), no pause.
    assert "correction" not in {k.value for k in ExcludedTimeKind}
    assert "补正" not in {k.label for k in ExcludedTimeKind}


def test_an_end_states_the_result() -> None:
    end = ExcludedTimeEnd(result="检验合格", decided_by=REVIEWER)
    assert end.result == "检验合格"
    with pytest.raises(ValidationError) as info:
        ExcludedTimeEnd(result="", decided_by=REVIEWER)
    assert info.value.errors()[0]["loc"] == ("result",)


def test_who_may_decide_a_pause() -> None:
    assert Role.REVIEWER in EXCLUDED_TIME_DECIDERS
    assert Role.DEPARTMENT_HEAD in EXCLUDED_TIME_DECIDERS
    assert Role.APPLICANT not in EXCLUDED_TIME_DECIDERS
    assert Role.WINDOW_CLERK not in EXCLUDED_TIME_DECIDERS
