"""The KPI sums (store.case_sums) against the facts they sum, on SQLite and PostgreSQL.

Seeded random cases (pinned seeds) are written one at a time, some replaced as their
histories grow, as the projector writes them. For many selections (halls, departments,
items, bundles and their mixes, periods cut inside months and across them), the report
counted from the sums equals the report counted from the facts, as it does for the recorded
scenarios. The sums kept case by case
equal the sums built again from scratch. A change behind `write` makes them stale until the
next write, and migration 0017 builds them for the rows already there.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select

from domain.calendar import WorkingCalendar
from onething.case_facts import project
from onething.histories import load_histories
from starter.kpis import kpi_report
from store import case_facts as facts
from store import case_sums as sums
from store import migrate
from store.db import make_engine, session
from tests.conftest import postgres_schema
from tests.histories.record import recording_converter

HALLS = ("center", "east", "west")
# Two items of one department in a bundle (counted once per department), and an item whose
# department differs between cases (a catalog change).
BUNDLES = {
    "b-shop": ("lic-biz", "lic-food", "filing-sign"),
    "b-firm": ("lic-biz", "seal", "tax-invoice"),
}
SINGLES = ("lic-food", "nurse", "tax-invoice")
DEPARTMENTS = {
    "lic-biz": "market",
    "lic-food": "market",
    "filing-sign": "urban",
    "seal": "police",
    "tax-invoice": "tax",
    "nurse": "health",
}
STATUSES = ("completed", "completed", "in_progress", "refused", "lapsed", "withdrawn")
AS_OF = datetime(2026, 3, 20, 1, tzinfo=UTC)
FIRST = datetime(2026, 1, 28, 15, 0, tzinfo=UTC)  # 23:00 Beijing, January's last days


@dataclass(frozen=True)
class Seeded:
    cases: list[tuple[facts.CaseFact, list[facts.ItemFact]]]


def random_case(rng: random.Random, k: int) -> tuple[facts.CaseFact, list[facts.ItemFact]]:
    target = rng.choice([*BUNDLES, *SINGLES])
    codes = BUNDLES.get(target, (target,))
    status = rng.choice(STATUSES)
    # Around the turns of January/February and February/March, Beijing time.
    received = FIRST + timedelta(hours=rng.randint(0, 24 * 45), minutes=rng.randint(0, 59))
    accepted = status not in ("refused", "lapsed")
    case = facts.CaseFact(
        application_id=f"rnd-{k:04d}",
        source_digest=f"{rng.getrandbits(64):016x}",
        last_event_id=rng.randint(5, 90),
        target=target,
        is_bundle=target in BUNDLES,
        hall=rng.choice(HALLS),
        channel=rng.choice(("window", "online", "mail")),
        status=status,
        received_at=received,
        accepted_at=received if accepted else None,
        corrected=rng.random() < 0.3,
        pledge=rng.choice((None, None, "kept", "broken", "open")),
        trips=rng.randint(0, 3),
        materials=rng.randint(0, 9),
        steps=rng.randint(1, 12),
        escalations_1=rng.randint(0, 1),
        escalations_2=int(rng.random() < 0.1),
    )
    items = []
    for code in codes if accepted else ():
        decided = status == "completed" or rng.random() < 0.3
        days = rng.randint(0, 25) if decided else None
        department = DEPARTMENTS[code]
        if code == "tax-invoice" and rng.random() < 0.3:
            department = "finance"
        items.append(
            facts.ItemFact(
                application_id=case.application_id,
                item_code=code,
                department=department,
                path=rng.choice(("review", "commitment", None)),
                outcome=rng.choice(("approved", "rejected")) if decided else "open",
                promised_days=rng.choice((1, 5, 10)),
                statutory_days=rng.choice((10, 20)),
                decision_days=days,
                promised_due_at=received + timedelta(days=rng.randint(-5, 40)),
                promised_met=None if days is None else rng.random() < 0.8,
                statutory_met=None if days is None else rng.random() < 0.9,
                escalations_1=int(rng.random() < 0.1),
                escalations_2=int(rng.random() < 0.05),
                inspections_passed=rng.randint(0, 1),
                inspections_failed=int(rng.random() < 0.1),
                false_commitment=rng.random() < 0.05,
                revoked=rng.random() < 0.05,
            )
        )
    return case, items


def grown(
    rng: random.Random, case: facts.CaseFact, items: list[facts.ItemFact]
) -> tuple[facts.CaseFact, list[facts.ItemFact]]:
    """The same case read again from a longer history: new digest, other figures, an item
    decided or gone (its rows replaced)."""
    again = facts.CaseFact(
        **{
            **case.model_dump(),
            "source_digest": f"{rng.getrandbits(64):016x}",
            "status": "completed",
            "trips": case.trips + 1,
            "escalations_2": case.escalations_2 + 1,
        }
    )
    later = [
        facts.ItemFact(
            **{**i.model_dump(), "decision_days": rng.randint(0, 30), "outcome": "approved"}
        )
        for i in items[: max(0, len(items) - rng.randint(0, 1))]
    ]
    return again, later


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty store of each kind, of this test alone."""
    if request.param == "sqlite":
        built = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        migrate.upgrade(built)
        yield built
        built.dispose()
    else:
        with postgres_schema() as url:
            built = make_engine(url)
            migrate.upgrade(built)
            yield built
            built.dispose()


def seed(engine: Engine, seed_value: int, n: int = 120) -> Seeded:
    rng = random.Random(seed_value)
    written = []
    for k in range(n):
        case, items = random_case(rng, k)
        assert facts.write(engine, case, items)
        written.append((case, items))
    for k in rng.sample(range(n), n // 4):  # histories that grew since
        case, items = grown(rng, *written[k])
        assert facts.write(engine, case, items)
        written[k] = (case, items)
    return Seeded(written)


SELECTIONS: list[dict[str, Any]] = [
    {},
    {"hall": "east"},
    {"department": "market"},
    {"department": "tax"},
    {"department": "finance"},
    {"item_code": "lic-food"},
    {"item_code": "tax-invoice", "department": "finance"},
    {"item_code": "lic-biz", "department": "police"},  # nothing
    {"bundle": "b-shop"},
    {"bundle": "b-firm", "department": "market", "hall": "center"},
    {"since": date(2026, 2, 1)},
    {"until": date(2026, 2, 28)},
    {"since": date(2026, 2, 1), "until": date(2026, 2, 28)},  # one whole month
    {"since": date(2026, 1, 29), "until": date(2026, 3, 2)},  # edges on both sides
    {"since": date(2026, 2, 10), "until": date(2026, 2, 17)},  # inside a month
    {"since": date(2026, 2, 1), "until": date(2026, 2, 1)},  # one day, the 1st
    {"since": date(2026, 1, 31), "until": date(2026, 3, 1), "item_code": "nurse"},
    {"since": date(2026, 3, 1), "department": "market", "hall": "west"},
    {"since": date(2027, 1, 1)},  # nothing
]


def assert_sums_equal_facts(
    engine: Engine, as_of: datetime = AS_OF, selections: list[dict[str, Any]] = SELECTIONS
) -> None:
    for selection in selections:
        summed = kpi_report(engine, as_of=as_of, source="sums", **selection)
        counted = kpi_report(engine, as_of=as_of, source="facts", **selection)
        assert summed == counted, selection


@pytest.mark.parametrize("seed_value", [1, 2])
def test_the_sums_give_the_figures_the_facts_give(engine: Engine, seed_value: int) -> None:
    seeded = seed(engine, seed_value)
    assert sums.current(engine)
    assert_sums_equal_facts(engine)
    assert_sums_equal_facts(engine, AS_OF + timedelta(days=30), SELECTIONS[:3])
    whole = kpi_report(engine, as_of=AS_OF)
    assert whole.figures.cases == len(seeded.cases)
    assert whole.figures.items == sum(len(items) for _, items in seeded.cases)
    assert whole.figures.overdue_now > 0  # the live count is exercised


async def test_the_recorded_scenarios_give_the_same_figures_either_way(engine: Engine) -> None:
    histories = Path(__file__).parent.parent / "histories"
    calendar = WorkingCalendar.from_file()
    for folder in sorted(p for p in histories.iterdir() if (p / "manifest.json").exists()):
        recorded = [h for _, h in load_histories(folder)]
        assert facts.write(engine, *await project(recorded, recording_converter(), calendar))
    assert sums.current(engine)
    for as_of in (datetime(2026, 12, 10, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC)):
        for selection in [
            {},
            {"department": "health"},
            {"item_code": "nurse-practice-registration"},
            {"bundle": "open-convenience-store"},
            {"since": date(2027, 1, 1)},
            {"hall": "yicheng-center", "until": date(2026, 12, 15)},
        ]:
            summed = kpi_report(engine, as_of=as_of, source="sums", **selection)
            assert summed == kpi_report(engine, as_of=as_of, source="facts", **selection)


def rows(engine: Engine) -> tuple[list[Any], list[Any]]:
    with engine.connect() as conn:
        summed = conn.execute(select(sums.CaseSum.__table__)).all()  # type: ignore[attr-defined]
        days = conn.execute(select(sums.DaySum.__table__)).all()  # type: ignore[attr-defined]
    return sorted(map(tuple, summed)), sorted(map(tuple, days))


def test_sums_kept_case_by_case_equal_the_sums_built_again(engine: Engine) -> None:
    seed(engine, 4, n=60)
    kept = rows(engine)
    with engine.begin() as conn:
        sums.rebuild(conn)
    assert rows(engine) == kept  # no count off, no empty row left behind
    assert all(r[7] > 0 for r in kept[0]) and all(r[8] > 0 for r in kept[1])


def test_a_change_behind_write_makes_them_stale_until_the_next_write(engine: Engine) -> None:
    seeded = seed(engine, 5, n=40)
    with session(engine) as s:  # as a test or an operator empties a case by hand
        gone = seeded.cases[0][0].application_id
        s.exec(delete(facts.ItemFact).where(facts.ItemFact.application_id == gone))  # type: ignore[call-overload]
        s.exec(delete(facts.CaseFact).where(facts.CaseFact.application_id == gone))  # type: ignore[call-overload]
    assert not sums.current(engine)
    assert kpi_report(engine, as_of=AS_OF).figures.cases == 39  # counted from the facts
    case, items = random_case(random.Random(6), 99)
    assert facts.write(engine, case, items)  # sums everything again
    assert sums.current(engine)
    assert kpi_report(engine, as_of=AS_OF, source="sums").figures.cases == 40
    assert_sums_equal_facts(engine)


def test_migration_0017_sums_the_rows_already_there(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0016")
    rng = random.Random(7)
    cases = [random_case(rng, k) for k in range(30)]
    with engine.begin() as conn:  # as 0016's refresh wrote them
        conn.execute(insert(facts.CaseFact), [c.model_dump() for c, _ in cases])
        conn.execute(insert(facts.ItemFact), [i.model_dump() for _, items in cases for i in items])
    migrate.upgrade(engine)
    assert sums.current(engine)
    assert kpi_report(engine, as_of=AS_OF, source="sums").figures.cases == 30
    assert_sums_equal_facts(engine)
    engine.dispose()
