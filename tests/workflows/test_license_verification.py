"""A revoked license says so wherever it is read: the registry, and the public verification
answer with the ground of the revocation (a category, no case details) and its time."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine, text
from temporalio.testing import ActivityEnvironment

from activities.licensing import LicensingActivities, RevokeLicense
from domain.application import RevocationGround
from store import licenses, migrate
from store.db import make_engine
from tests.support.api import api, api_env, served_api

USES_FIXTURES = (api, api_env, served_api)  # pytest finds the API fixtures by name here

AT = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


async def test_verification_tells_the_ground_and_time_of_a_revocation(
    api: httpx.AsyncClient,
    store_engine: Engine,
) -> None:
    issued = licenses.issue_license(
        store_engine,
        application_id="verify-revoked",
        item_code="food-business-license",
        license_kind="food_business_license",
        holder_name="宜城便民超市",
        valid_from=AT,
    )
    before = (await api.get(f"/licenses/{issued.verification_code}")).json()
    ActivityEnvironment().run(
        LicensingActivities(store_engine).revoke_license,
        RevokeLicense(
            application_id="verify-revoked",
            item_code="food-business-license",
            reason="承诺不实: 无冷藏设备 (检查记录第3号)",
            revoked_at=AT,
            ground=RevocationGround.FALSE_COMMITMENT,
        ),
    )
    after = (await api.get(f"/licenses/{issued.verification_code}")).json()

    assert before["valid"] is True and before["revocation_ground"] is None
    assert after["status"] == "revoked" and after["valid"] is False
    assert after["revocation_ground"] == "false_commitment"
    assert after["revocation_ground_label"] == "承诺不实"
    assert datetime.fromisoformat(after["revoked_at"]) == AT
    assert "冷藏" not in str(after)  # the findings stay in the case


def test_migration_reads_the_ground_of_earlier_revocations(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0004")
        with engine.begin() as c:
            for number, reason in [("L1", "整改后复查仍不合格: 仍未整改"), ("L2", "其他")]:
                c.execute(
                    text(
                        "INSERT INTO licenses (number, application_id, item_code, license_kind,"
                        " holder_name, verification_code, valid_from, status, revoked_at,"
                        " revoked_reason) VALUES (:n, :n, 'x', 'k', 'h', :n, :at, 'revoked',"
                        " :at, :r)"
                    ),
                    {"n": number, "at": AT, "r": reason},
                )
        migrate.upgrade(engine)
        grounds = {n: licenses.verify(engine, n).revocation_ground for n in ("L1", "L2")}  # type: ignore[union-attr]
    finally:
        engine.dispose()

    assert grounds == {"L1": "failed_reinspection", "L2": None}
