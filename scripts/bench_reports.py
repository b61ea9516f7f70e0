"""Benchmark: the KPI report over many cases (a benchmark, not a timed test).

Seeds N cases (default 100,000) with their items into the KPI read model of a fresh
SQLite file and, when reachable, of a fresh schema of the PostgreSQL at DATABASE_URL
(default postgresql+psycopg://postgres@127.0.0.1:5432/test), sums them (the bulk load
goes past `write`, as migration 0017 found the rows already there), then times the KPI
report from the sums (whole selection twice, one department, one hall over a period cut
inside months), the same report counted from the facts (it must be equal), and the reform
report. Prints one line per store, and the JSON of every figure with --json.

    .venv/bin/python scripts/bench_reports.py [--cases 100000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.exc import OperationalError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.bundle import as_bundle
from domain.catalog import Catalog
from domain.catalog_loading import load_seed_catalog
from starter.kpis import kpi_report, reform_report
from store import case_facts as facts
from store import case_sums, migrate
from store.db import make_engine

STATUSES = ["completed"] * 14 + ["in_progress", "withdrawn", "refused", "lapsed", "rejected"]


def seed(engine: Engine, catalog: Catalog, n: int, rng: random.Random) -> None:
    halls = list(catalog.halls)
    targets = list(catalog.bundles) + list(catalog.items)
    start = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    cases: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as conn:
            if cases:
                conn.execute(insert(facts.CaseFact), cases)
            if items:
                conn.execute(insert(facts.ItemFact), items)
        cases.clear()
        items.clear()

    for k in range(n):
        target = rng.choice(targets)
        bundle = as_bundle(catalog, target)
        status = rng.choice(STATUSES)
        received = start + timedelta(minutes=5 * k)
        accepted = status not in ("refused", "lapsed")
        application_id = f"bench-{k:07d}"
        cases.append(
            {
                "application_id": application_id,
                "source_digest": uuid.uuid4().hex,
                "last_event_id": 40,
                "case_number": None,
                "target": target,
                "is_bundle": target in catalog.bundles,
                "hall": rng.choice(halls),
                "channel": rng.choice(["window", "window", "online", "mail"]),
                "assisted": rng.random() < 0.1,
                "catalog_version": catalog.version,
                "status": status,
                "received_at": received,
                "accepted_at": received if accepted else None,
                "ended_at": None if status == "in_progress" else received + timedelta(days=3),
                "corrected": rng.random() < 0.15,
                "correction_rounds": 0,
                "deficiency": rng.random() < 0.1,
                "pledge": rng.choice([None, None, "kept", "broken"]),
                "trips": rng.choice([0, 1, 1, 1, 2]),
                "materials": rng.randint(3, 14),
                "steps": rng.randint(3, 9),
                "escalations_1": int(rng.random() < 0.05),
                "escalations_2": int(rng.random() < 0.01),
            }
        )
        if accepted:
            for code in bundle.item_codes:
                item = catalog.item(code)
                days = rng.randint(0, item.statutory_days + 3)
                decided = status != "in_progress"
                items.append(
                    {
                        "application_id": application_id,
                        "item_code": code,
                        "department": item.department,
                        "path": rng.choice(["review", "review", "commitment"]),
                        "outcome": "approved" if decided else "open",
                        "promised_days": item.promised_days,
                        "statutory_days": item.statutory_days,
                        "extension_days": 0,
                        "started_at": received,
                        "decided_at": received + timedelta(days=days) if decided else None,
                        "licensed_at": received + timedelta(days=days) if decided else None,
                        "decision_days": days if decided else None,
                        "license_days": days if decided else None,
                        "paused_days": 0,
                        "corrections": 0,
                        "excluded": 0,
                        "promised_due_at": received + timedelta(days=item.promised_days + 2),
                        "statutory_due_at": received + timedelta(days=item.statutory_days + 4),
                        "promised_met": (days <= item.promised_days) if decided else None,
                        "statutory_met": (days <= item.statutory_days) if decided else None,
                        "escalations_1": 0,
                        "escalations_2": 0,
                        "inspections_passed": int(rng.random() < 0.2),
                        "inspections_failed": int(rng.random() < 0.02),
                        "false_commitment": False,
                        "revoked": False,
                    }
                )
        if len(cases) >= 5000:
            flush()
    flush()


def timed(label: str, fn: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    result = fn()
    return time.perf_counter() - began, result


def summed(engine: Engine) -> None:
    """The bulk load went past `write`: sum every case (what migration 0017 does for the
    rows already there), then gather the planner's statistics, as a live store has them."""
    with engine.begin() as conn:
        case_sums.rebuild(conn)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def bench(name: str, engine: Engine, catalog: Catalog, n: int) -> dict[str, Any]:
    migrate.upgrade(engine)
    seeded, _ = timed("seed", lambda: seed(engine, catalog, n, random.Random(7)))
    runs: dict[str, float] = {}
    runs["sum all"], _ = timed("sum", lambda: summed(engine))
    assert case_sums.current(engine)
    as_of = datetime(2027, 6, 1, tzinfo=UTC)
    report = None
    for run in ("first", "second"):
        runs[f"kpis {run}"], report = timed("kpis", lambda: kpi_report(engine, as_of=as_of))
    runs["kpis department market"], _ = timed(
        "dept", lambda: kpi_report(engine, department="market", as_of=as_of)
    )
    runs["kpis one hall, 2026-02-14..07-03"], _ = timed(
        "period",
        lambda: kpi_report(
            engine,
            hall=next(iter(catalog.halls)),
            since=date(2026, 2, 14),
            until=date(2026, 7, 3),
            as_of=as_of,
        ),
    )
    runs["kpis from the facts"], direct = timed(
        "facts", lambda: kpi_report(engine, as_of=as_of, source="facts")
    )
    assert direct == report, "the sums and the facts disagree"
    runs["reform"], _ = timed("reform", lambda: reform_report(engine, catalog))
    assert report is not None
    line = ", ".join(f"{k} {v:.2f} s" for k, v in runs.items())
    print(f"{name}: {n} cases ({report.figures.items} items) seeded in {seeded:.1f} s; {line}")
    return {"store": name, "cases": n, "items": report.figures.items, "seconds": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    catalog = load_seed_catalog()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        results.append(bench("sqlite", engine, catalog, args.cases))
        engine.dispose()
    url = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        print(f"postgresql: not reachable ({type(exc).__name__}), skipped")
    else:
        try:
            engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
            results.append(bench("postgresql", engine, catalog, args.cases))
            engine.dispose()
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
