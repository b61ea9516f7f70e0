"""The decision trail as staff read it (`onething status`): each action in Chinese."""

from __future__ import annotations

import pytest

from domain.application import ApplicationStatus, ExtensionReceipt, ItemStatus
from domain.people import Role
from domain.staff_words import (
    APPLICATION_STATUS,
    ITEM_STATUS,
    ROLE,
    action_words,
    actor_words,
    answer_words,
    detail_words,
)


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("accepted", "受理"),
        ("review approve", "审查决定: 准予许可"),
        ("review warning", "审查时限预警"),  # a limit's warning, not a verdict
        ("inspection false_commitment", "现场核查: 承诺不实"),
        ("inspection warning", "现场核查时限预警"),
        ("statutory extended by 5 working days", "法定办理时限延长5个工作日"),
        ("joint limit extended by 3 working days", "联合办理时限延长3个工作日"),
        ("supplement received by mail", "收到容缺补齐材料 (邮寄)"),
        ("escalated stage 2", "超期督办 (第2阶段)"),
        ("correction deadline moved later", "补正期限顺延"),
    ],
)
def test_a_trail_action_reads_in_chinese(action: str, words: str) -> None:
    assert action_words(action) == words


def test_an_action_it_does_not_know_is_shown_as_it_is() -> None:
    assert action_words("something new") == "something new"


def test_an_escalation_says_its_limit_and_level() -> None:
    detail = "review overdue → supervision_office"
    assert detail_words(detail) == "审查时限已超期, 效能督办"
    assert detail_words("到期 2026-12-28 17:30") == "到期 2026-12-28 17:30"
    assert detail_words(None) == ""


def test_every_status_and_role_has_words() -> None:
    assert set(APPLICATION_STATUS) == set(ApplicationStatus)
    assert set(ITEM_STATUS) == set(ItemStatus)
    assert set(Role) <= set(ROLE)
    for said in (*APPLICATION_STATUS.values(), *ITEM_STATUS.values(), *ROLE.values()):
        assert not said.isascii()


def test_the_system_and_a_channel_are_said_in_words_a_staff_id_as_it_is() -> None:
    assert [actor_words(a) for a in ("system", "mail", "clerk-001")] == [
        "系统",
        "邮寄",
        "clerk-001",
    ]


def test_the_answer_to_a_staff_command_is_said_in_words() -> None:
    assert answer_words(ItemStatus.INSPECTING) == "现场核查中"
    assert answer_words(ApplicationStatus.WITHDRAWN) == "申请人已撤回"
    assert answer_words(ExtensionReceipt(limit="review", days=5)) == "审查时限延长5个工作日"
    assert answer_words({"task_id": "x"}) is None  # anything else: shown as it is
