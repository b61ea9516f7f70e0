"""Supervision cases: one per (workflow, limit, stage), on SQLite and on PostgreSQL
(the shared `store_engine` fixture runs each test on both)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import SQLModel
from temporalio.testing import ActivityEnvironment

from activities.supervision import SupervisionActivities
from domain.clock import EscalationLevel, EscalationRequest
from store import supervision as sv

T0 = datetime(2026, 10, 16, 9, 30, tzinfo=UTC)


def request(workflow_id: str, stage: int = 1) -> EscalationRequest:
    return EscalationRequest(
        workflow_id=workflow_id,
        limit="promised",
        stage=stage,
        level=EscalationLevel.DEPARTMENT_SUPERVISOR
        if stage == 1
        else EscalationLevel.SUPERVISION_OFFICE,
        department="market-regulation",
        subject="APP-1/ITEM-1",
        due_at=T0,
        boundary_at=T0 + timedelta(days=7 * (stage - 1)),
        escalated_at=T0 + timedelta(days=7 * (stage - 1), seconds=1),
        total_days=10,
    )


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    """The shared store (SQLite and PostgreSQL); our table, whatever its migrations say."""
    SQLModel.metadata.create_all(store_engine, tables=[sv.SupervisionCase.__table__])  # type: ignore[attr-defined]
    return store_engine


def test_open_case_is_idempotent(engine: Engine) -> None:
    wf = f"wf-{uuid.uuid4().hex[:8]}"
    case, created = sv.open_case(engine, request(wf))
    again, created_again = sv.open_case(engine, request(wf))
    assert created and not created_again and again.id == case.id
    assert case.escalated_at == T0 + timedelta(seconds=1)  # UTC, also from SQLite
    second, created2 = sv.open_case(engine, request(wf, stage=2))
    assert created2 and second.id != case.id
    cases = sv.cases_of(engine, wf)
    assert [(c.stage, c.level) for c in cases] == [
        (1, "department_supervisor"),
        (2, "supervision_office"),
    ]


def test_concurrent_opens_make_one_case(engine: Engine) -> None:
    wf = f"wf-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: sv.open_case(engine, request(wf)), range(8)))
    assert len({case.id for case, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_close_case_and_open_list(engine: Engine) -> None:
    wf = f"wf-{uuid.uuid4().hex[:8]}"
    case, _ = sv.open_case(engine, request(wf))
    assert case.id is not None
    assert any(c.id == case.id for c in sv.open_cases(engine, "market-regulation"))
    closed = sv.close_case(engine, case.id, "decision issued", T0 + timedelta(days=1))
    assert closed.status == "closed" and closed.resolution == "decision issued"
    again = sv.close_case(engine, case.id, "other", T0 + timedelta(days=2))
    assert again.resolution == "decision issued"
    assert all(c.id != case.id for c in sv.open_cases(engine))
    with pytest.raises(LookupError):
        sv.close_case(engine, 10**9, "x", T0)


async def test_activity_returns_the_same_case_on_retry(engine: Engine) -> None:
    acts = SupervisionActivities(engine)
    wf = f"wf-{uuid.uuid4().hex[:8]}"
    env = ActivityEnvironment()
    first = await env.run(acts.open_case, request(wf))
    second = await env.run(acts.open_case, request(wf))
    assert first.created and not second.created and first.case_id == second.case_id
