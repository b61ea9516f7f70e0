"""The registry keeps a license's term: its end, its number, how it came about; renewal
cases of their own. On SQLite and PostgreSQL; migration 0013 keeps older licenses as they
were (validity unknown, first term)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from domain.license_term import expiry_after, last_valid_day
from store import licenses, migrate
from store.db import make_engine
from tests.conftest import postgres_schema

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
UNTIL = datetime(2031, 11, 30, 16, 0, tzinfo=UTC)  # 2031-12-01 00:00 Beijing


def _issue(engine: Engine, valid_until: datetime | None = UNTIL) -> licenses.License:
    return licenses.issue_license(
        engine,
        application_id=f"A-{uuid.uuid4().hex[:8]}",
        item_code="food-business-license",
        license_kind="food_business_license",
        holder_name="宜城某某便利店",
        valid_from=AT,
        valid_until=valid_until,
    )


def _renewal(number: str, term: int = 1, suffix: str = "R") -> licenses.LicenseRenewal:
    return licenses.LicenseRenewal(
        renewal_id=f"{number}-{suffix}{term}",
        license_number=number,
        term=term,
        case_number="420684-20311001-000001",
        hall="yicheng-city",
        channel="online",
        received_at=UNTIL - timedelta(days=60),
        decision_due_at=UNTIL - timedelta(days=30),
    )


def test_a_license_keeps_the_end_of_its_term(store_engine: Engine) -> None:
    issued = _issue(store_engine)
    got = licenses.get(store_engine, issued.number)
    assert got is not None and got.expires() == UNTIL and got.term == 1
    assert got.renewed_as is None and got.status == "issued"
    assert licenses.verify(store_engine, issued.verification_code) == got
    unknown = _issue(store_engine, None)
    assert licenses.get(store_engine, unknown.number).expires() is None  # type: ignore[union-attr]


def test_a_term_end_in_beijing_time_comes_back_the_same_instant(store_engine: Engine) -> None:
    """A term ends at 00:00 Beijing time (`expiry_after`), an aware value not in UTC: the
    store keeps the instant, on SQLite too (which keeps a wall time without its offset)."""
    ends = expiry_after(AT, 5)
    assert ends.utcoffset() == timedelta(hours=8)
    issued = _issue(store_engine, ends)
    got = licenses.get(store_engine, issued.number)
    assert got is not None and got.expires() == ends
    renewed_to = expiry_after(ends, 5)
    licenses.renew(
        store_engine, issued.number, term=1, valid_until=renewed_to, renewed_as="renewed"
    )
    again = licenses.get(store_engine, issued.number)
    assert again is not None and again.expires() == renewed_to
    assert last_valid_day(renewed_to) == date(2036, 11, 30)


def test_renewal_begins_the_next_term_once(store_engine: Engine) -> None:
    number = _issue(store_engine).number
    later = datetime(2036, 11, 30, 16, 0, tzinfo=UTC)
    renewed = licenses.renew(
        store_engine, number, term=1, valid_until=later, renewed_as="deemed_renewed"
    )
    assert renewed is not None and (renewed.term, renewed.renewed_as) == (2, "deemed_renewed")
    # A retry of term 1's renewal changes nothing; nor does term 1's expiry.
    again = licenses.renew(
        store_engine, number, term=1, valid_until=later + timedelta(days=9), renewed_as="renewed"
    )
    assert again is not None and again.term == 2 and again.expires() == later
    assert licenses.expire(store_engine, number, term=1).status == "issued"  # type: ignore[union-attr]
    assert licenses.expire(store_engine, number, term=2).status == "expired"  # type: ignore[union-attr]
    assert (
        licenses.renew(store_engine, number, term=2, valid_until=later, renewed_as="renewed").status
        == "expired"
    )  # type: ignore[union-attr]


def test_a_revoked_license_neither_renews_nor_expires(store_engine: Engine) -> None:
    issued = _issue(store_engine)
    licenses.revoke(
        store_engine,
        application_id=issued.application_id,
        item_code=issued.item_code,
        reason="承诺不实",
        at=AT + timedelta(days=30),
    )
    assert (
        licenses.renew(
            store_engine, issued.number, term=1, valid_until=UNTIL, renewed_as="renewed"
        ).status
        == "revoked"
    )  # type: ignore[union-attr]
    assert licenses.expire(store_engine, issued.number, term=1).status == "revoked"  # type: ignore[union-attr]


def test_one_renewal_case_per_license_and_term(store_engine: Engine) -> None:
    number = _issue(store_engine).number
    first = licenses.open_renewal(store_engine, _renewal(number))
    second = _renewal(number, suffix="X")
    assert licenses.open_renewal(store_engine, second).renewal_id == first.renewal_id
    decided = licenses.decide_renewal(
        store_engine, first.renewal_id, status="refused", at=UNTIL, decided_by="r-1", reason="x"
    )
    assert decided is not None and decided.status == "refused"
    kept = licenses.decide_renewal(store_engine, first.renewal_id, status="approved", at=UNTIL)
    assert kept is not None and (kept.status, kept.reason) == ("refused", "x")
    assert [r.term for r in licenses.renewals_of(store_engine, number)] == [1]


@pytest.fixture(params=["sqlite", "postgresql"])
def at_0012(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        yield engine
        engine.dispose()
        return
    with postgres_schema() as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_migration_0013_keeps_older_licenses_with_unknown_validity(at_0012: Engine) -> None:
    assert migrate.upgrade(at_0012, "0012") == "0012"
    with at_0012.begin() as c:
        c.execute(
            text(
                "INSERT INTO licenses (number, application_id, item_code, license_kind,"
                " holder_name, verification_code, valid_from, status)"
                " VALUES ('YC-OLD', 'A-OLD', 'food-business-license', 'food_business_license',"
                " '宜城', 'VOLD', :at, 'issued')"
            ),
            {"at": AT},
        )
    assert migrate.upgrade(at_0012, "0013") == "0013"
    old = licenses.get(at_0012, "YC-OLD")
    assert old is not None and old.expires() is None and old.term == 1 and old.renewed_as is None
    assert licenses.renewals_of(at_0012, "YC-OLD") == []
    assert migrate.upgrade(at_0012) == migrate.heads()[0]  # and on, to the newest
