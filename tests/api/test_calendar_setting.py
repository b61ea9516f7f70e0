"""One legal clock: the API as `onething api` builds it counts working days on the calendar
the workers count on, `ONETHING_CALENDAR_OVERRIDES` included (a year announced after the
calendar package's release), not on the project's default file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.calendar import WorkingCalendar, provisional_year
from domain.catalog import Catalog
from domain.license_term import expiry_after, last_valid_day, renewal_window
from onething.settings import Settings
from starter.api.server import build_api
from store import licenses
from tests.support.api import registry

FOOD = "food-business-license"  # 5 years; renewal closes 15 *working* days before expiry
ISSUED = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)


def an_announced_year(path: Path, year: int, days_off: list[date]) -> Path:
    """The year as the fixed rules give it, with `days_off` more (a notice may add bridge
    days), as an override file."""
    off = sorted({*provisional_year(year)[0], *days_off})
    path.write_text(
        json.dumps(
            {
                "years": {
                    str(year): {
                        "source": "a State Council notice (made up for the test)",
                        "holidays": {d.isoformat(): "放假" for d in off},
                        "workdays": {},
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    return path


async def renewal_closes_on(
    settings: Settings, env: WorkflowEnvironment, engine: Engine, catalog: Catalog, code: str
) -> date:
    app = build_api(settings, env.client, engine, catalog=catalog, tokens=registry())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as h:
        r = await h.get(f"/licenses/{code}")
    assert r.status_code == 200, r.text
    return date.fromisoformat(r.json()["renewal_window"]["closes_on"])


async def test_license_renewal_windows_count_on_the_configured_calendar(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog, tmp_path: Path
) -> None:
    rule = catalog.items[FOOD].renewal_rule
    assert rule is not None
    until = expiry_after(ISSUED, 5)
    issued = licenses.issue_license(
        store_engine,
        application_id=f"cal-{tmp_path.name}"[-40:],
        item_code=FOOD,
        license_kind="food_business_license",
        holder_name="测试便利店",
        valid_from=ISSUED,
        valid_until=until,
    )
    default = renewal_window(until, rule, WorkingCalendar.from_file())
    # The year of expiry announced with the five working days before the window's close off.
    days_off, day = [], default.closes_on
    while len(days_off) < 5:
        if WorkingCalendar.from_file().is_working_day(day):
            days_off.append(day)
        day -= timedelta(days=1)
    year = last_valid_day(until).year
    assert all(d.year == year for d in days_off)
    overrides = an_announced_year(tmp_path / "overrides.json", year, days_off)
    announced = renewal_window(until, rule, WorkingCalendar.from_file(overrides))
    assert announced.closes_on < default.closes_on  # the file moves the window

    configured = Settings(data_dir=tmp_path, calendar_overrides=overrides)
    code = issued.verification_code
    got = await renewal_closes_on(configured, ts_env, store_engine, catalog, code)
    assert got == announced.closes_on
    plain = Settings(data_dir=tmp_path)
    assert await renewal_closes_on(plain, ts_env, store_engine, catalog, code) == default.closes_on
