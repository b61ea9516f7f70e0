"""`onething rating …` and `onething report ratings`: a clerk records a rating at the window,
the department answers the follow-up, an appeal is filed and decided; the report of a seeded
store equals the figures counted by hand (tests/domain/test_rating_rules.py's set)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from domain.rating import Rater, RatingChannel
from onething.keys import SubjectKeys
from starter.demo import DEMO_ITEM
from store import migrate, ratings
from store.db import make_engine
from tests.conftest import (
    cli,
    cli_reaches,
    new_application_id,
    onething_client,
    run_cli,
)
from tests.desk import complete_demo, eventually
from tests.support.ratings import AS_OF, seeded


async def test_rating_from_the_command_line(
    fresh_ts_env: WorkflowEnvironment,
    store_engine: Engine,
    catalog: Catalog,
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server of its own: the follow-up's workflow ID carries the case number, unique within
    # one store only, and the other store's run uses the same numbers.
    async with onething_client(fresh_ts_env, store_engine, catalog) as client:
        cli_reaches(monkeypatch, fresh_ts_env, store_engine, client.task_queue)
        app_id = new_application_id()
        await complete_demo(client, catalog, app_id)

        refused = await cli("rating", "rate", app_id, "dissatisfied", "--clerk", "clerk-yc", code=2)
        assert "reason:" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
        rated = await cli(
            "rating",
            "rate",
            app_id,
            "dissatisfied",
            "--clerk",
            "clerk-yc",
            "--reason",
            "窗口排队太久",
            "--json",
        )
        view = json.loads(rated.stdout)
        case = view["case_number"]
        assert view["channel"] == "window" and view["recorded_by"] == "clerk-yc"
        assert [f["department"] for f in view["follow_ups"]] == ["health"]
        again = await cli("rating", "rate", app_id, "satisfied", "--clerk", "clerk-yc", code=2)
        assert "case_number:" in again.stderr
        agent = await cli("rating", "rate", app_id, "satisfied", "--clerk", "c", "--agent", code=2)
        assert "agent:" in agent.stderr or "case_number:" in agent.stderr

        async def task_open() -> ratings.RatingFollowUp | None:
            return ratings.follow_up(store_engine, case, "health")

        await eventually(task_open, lambda f: f is not None and f.due_at is not None, "opened")
        answered = await cli(
            "rating",
            "answer",
            case,
            "health",
            "explained",
            "--text",
            "已说明高峰时段",
            "--by",
            "reviewer-health",
        )
        # What staff read is in words: the outcome, the department by its name.
        health = catalog.items[DEMO_ITEM].department_name
        assert "已解释说明" in answered.stdout and health in answered.stdout, answered.stdout
        assert "explained" not in answered.stdout and "outcome" not in answered.stdout
        appealed = await cli(
            "rating",
            "appeal",
            case,
            "--department",
            "health",
            "--by",
            "head-health",
            "--reason",
            "排队系节假日高峰",
        )
        for said in ("待复核", health, "排队系节假日高峰", "申诉时间 (北京时间)"):
            assert said in appealed.stdout, appealed.stdout
        assert "pending" not in appealed.stdout
        decided = await cli(
            "rating",
            "decide-appeal",
            case,
            "dismissed",
            "--supervisor",
            "sup",
            "--reason",
            "评价属实",
            "--json",
        )
        assert json.loads(decided.stdout)["status"] == "dismissed"
        shown = await cli("rating", "show", case, "--json")
        kept = json.loads(shown.stdout)
        assert kept["appeal"]["status"] == "dismissed" and not kept["excluded"]
        assert kept["follow_ups"][0]["status"] == "explained"
        in_words = (await cli("rating", "show", case)).stdout
        for said in ("申诉不成立, 评价有效", "已解释说明", "评价时间 (北京时间)", health):
            assert said in in_words, in_words
        assert not {"dismissed", "explained", "window", "applicant"} & set(in_words.split())


def test_report_ratings_of_a_seeded_store_equals_the_hand_count(
    tmp_path: Path, cli_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    cases, follow = seeded()
    facts = {(f.case_number, f.department): f for f in follow}
    keys = SubjectKeys.generate("k")
    for c in cases:
        mine = [f for (n, _), f in facts.items() if n == c.case_number]
        ratings.record_rating(
            engine,
            case_number=c.case_number,
            application_id=f"A{c.case_number[-6:]}",
            hall=c.hall,
            level=c.level,
            reason="理由" if c.level.needs_reason else None,
            channel=RatingChannel.ONLINE,
            rater=Rater.APPLICANT,
            rater_id_sha256="0" * 64,
            recorded_by=None,
            rated_at=c.rated_at,
            items=list(c.items),
            follow_ups=[(f.department, f"wf-{c.case_number}-{f.department}", 15) for f in mine],
            keys=keys,
        )
        for f in mine:
            if f.due_at is not None:
                ratings.set_follow_up_due(engine, c.case_number, f.department, f.due_at)
            if f.answered_at is not None and f.outcome is not None:
                from domain.rating import FollowUpRecord

                ratings.record_answer(
                    engine,
                    FollowUpRecord(
                        case_number=c.case_number,
                        department=f.department,
                        outcome=f.outcome,
                        text="答复",
                        answered_by="r",
                        answered_at=f.answered_at,
                        in_time=f.answered_at <= f.due_at if f.due_at else None,
                    ),
                )
        if c.excluded:
            ratings.appeal(
                engine,
                case_number=c.case_number,
                department="market",
                reason="r",
                by="h",
                at=c.rated_at,
            )
            from domain.rating import AppealVerdict

            ratings.decide_appeal(
                engine,
                case_number=c.case_number,
                verdict=AppealVerdict.UPHELD,
                reason="r",
                by="s",
                at=c.rated_at,
            )
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    # As of 30 days after the ratings: the hand count of tests/domain/test_rating_rules.py.
    window = ["--since", "2026-12-01", "--until", "2026-12-31", "--hall", "yicheng-center"]
    result = run_cli("report", "ratings", *window, "--as-of", AS_OF.isoformat(), "--json")
    f = json.loads(result.stdout)["figures"]
    assert f["ratings"] == 10 and f["excluded_by_appeal"] == 1
    assert [c["count"] for c in f["levels"]] == [4, 2, 1, 2, 1]
    assert f["good"] == 7 and f["good_rate"] == 0.7 and f["bad"] == 3
    assert f["follow_ups_fixed"] == 2 and f["follow_ups_explained"] == 1
    assert (f["bad_settled_in_time"], f["bad_due"], f["bad_pending"]) == (1, 2, 1)
    assert f["rectification_rate"] == 0.5 and f["follow_ups_overdue"] == 1
    text = run_cli(
        "report",
        "ratings",
        "--since",
        "2026-12-01",
        "--until",
        "2026-12-31",
        "--hall",
        "yicheng-center",
    ).stdout
    assert "好评率 70.0%" in text and "非常不满意 | 1" in text and "北京时间" in text
    assert "| market |" in text
    bad = run_cli("report", "ratings", "--since", "2026-12-02", "--until", "2026-12-01", code=2)
    assert "until:" in bad.stderr
    naive = run_cli("report", "ratings", "--as-of", "2026-12-01T10:00", code=2)
    assert "as_of:" in naive.stderr
