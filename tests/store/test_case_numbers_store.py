"""办件编号 as allocated by the store: consecutive per region and day, distinct under
concurrent allocation, and the same for the same application however often it is asked
— on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime

from sqlalchemy import Engine

from domain.case_number import CaseNumber
from store import case_numbers

AT = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def region() -> str:
    """A region of this test alone (the store is shared by the session)."""
    return f"{random.randrange(10**6):06d}"


def allocate(
    engine: Engine, application_id: str, region_code: str, at: datetime = AT
) -> CaseNumber:
    return case_numbers.allocate(
        engine,
        application_id=application_id,
        hall="yicheng-center",
        region_code=region_code,
        accepted_at=at,
    )


def test_concurrent_allocations_are_distinct_and_consecutive(store_engine: Engine) -> None:
    code = region()
    got: list[CaseNumber] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def take(n: int) -> None:
        start.wait()
        try:
            for i in range(5):
                got.append(allocate(store_engine, f"app-{code}-{n}-{i}", code))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(n.sequence for n in got) == list(range(1, 41))
    assert {str(n)[:15] for n in got} == {f"{code}-20261128"}


def test_the_same_application_keeps_its_number(store_engine: Engine) -> None:
    code = region()
    first = allocate(store_engine, f"twice-{uuid.uuid4().hex}", code)
    again_id = f"twice-{uuid.uuid4().hex}"
    second = allocate(store_engine, again_id, code)
    # Retried, even with another instant: the number given first.
    assert allocate(store_engine, again_id, code, datetime(2026, 12, 1, tzinfo=UTC)) == second
    assert (first.sequence, second.sequence) == (1, 2)
    assert case_numbers.find(store_engine, again_id) == second


def test_sequences_start_again_each_beijing_day(store_engine: Engine) -> None:
    code = region()
    late = allocate(
        store_engine, uuid.uuid4().hex, code, datetime(2026, 11, 28, 15, 59, tzinfo=UTC)
    )
    next_day = allocate(
        store_engine, uuid.uuid4().hex, code, datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
    )
    other_region = allocate(store_engine, uuid.uuid4().hex, region())
    assert str(late) == f"{code}-20261128-000001"
    assert str(next_day) == f"{code}-20261129-000001"
    assert other_region.sequence == 1
