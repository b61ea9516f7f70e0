"""What one license issuance costs the worker: the `issue_license` activity called directly
(no Temporal server), on a fresh SQLite store in a temporary folder.

Prints CPU and wall milliseconds per call and the store transactions each call opens
(ORM sessions begun, commits on the connection).

    .venv/bin/python scripts/bench_issue_license.py                  # 300 applications
    .venv/bin/python scripts/bench_issue_license.py -n 1000
    .venv/bin/python scripts/bench_issue_license.py --database-url postgresql+psycopg://...
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from store_bench import Counter, main  # beside this script
from temporalio.testing import ActivityEnvironment

from activities.catalog import current_catalog
from activities.licensing import IssueLicense, LicensingActivities
from store.db import init_db, make_engine


def run(n: int, url: str) -> None:
    engine = make_engine(url)
    init_db(engine)
    catalog = current_catalog(engine)  # loads the seed catalog into the store
    items = [item for item in catalog.items.values() if item.produces is not None]
    prefix = f"B{uuid.uuid4().hex[:6]}"
    at = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    requests = [
        IssueLicense(
            application_id=f"{prefix}{i:05d}",
            item_code=items[i % len(items)].code,
            license_kind=items[i % len(items)].produces or "",
            holder_name="王演示",
            issued_at=at + timedelta(minutes=i),
        )
        for i in range(n)
    ]
    activities = LicensingActivities(engine)
    env = ActivityEnvironment()
    env.run(activities.issue_license, requests[0])  # warm: catalog parsed, pool connected

    with Counter(engine) as counts:
        cpu, wall = time.process_time(), time.perf_counter()
        for request in requests[1:]:
            env.run(activities.issue_license, request)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall

    calls = n - 1
    print(f"{calls} issuances on {engine.url.get_backend_name()} ({len(items)} items in turn)")
    print(f"  CPU   {cpu * 1000 / calls:7.2f} ms a call")
    print(f"  wall  {wall * 1000 / calls:7.2f} ms a call")
    print(f"  store sessions {counts.sessions / calls:5.1f} a call")
    print(f"  commits        {counts.commits / calls:5.1f} a call")
    retried = requests[1:101]
    cpu, wall = time.process_time(), time.perf_counter()
    for request in retried:
        env.run(activities.issue_license, request)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"  a retry of a finished issuance: CPU {cpu * 1000 / len(retried):.2f} ms")
    engine.dispose()


if __name__ == "__main__":
    main(__doc__ or "", run)
