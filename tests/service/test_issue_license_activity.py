"""The `issue_license` activity on the real store (SQLite and PostgreSQL), called directly:
one license, its decision and its certificate as two documents, each once however often
retried and whatever failed before, in few transactions."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities.catalog import current_catalog
from activities.licensing import IssueLicense, LicensingActivities
from domain.license_term import expiry_after
from store import documents, licenses, notifications
from store.deliveries import deliveries_of
from tests.conftest import new_application_id
from tests.support.store import EmailOutlet, transactions

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
ITEM = "food-business-license"  # a license with a term (5 years), of the market regulator


def request(application_id: str) -> IssueLicense:
    return IssueLicense(
        application_id=application_id,
        item_code=ITEM,
        license_kind="food_business_license",
        holder_name="宜城市某某餐饮有限公司",
        issued_at=AT,
    )


def test_a_retry_after_the_license_was_written_finishes_once(store_engine: Engine) -> None:
    item = current_catalog(store_engine).items[ITEM]
    app = new_application_id()
    assert item.validity_years is not None
    # An attempt that failed after the registry wrote the license.
    written = licenses.issue_license(
        store_engine,
        application_id=app,
        item_code=ITEM,
        license_kind="food_business_license",
        holder_name="宜城市某某餐饮有限公司",
        valid_from=AT,
        valid_until=expiry_after(AT, item.validity_years),
    )
    outlet = EmailOutlet()
    activities = LicensingActivities(store_engine, outlet)
    env = ActivityEnvironment()
    first = env.run(activities.issue_license, request(app))
    assert outlet.woken == 1  # two new notices with a channel: one nudge
    again = env.run(activities.issue_license, request(app))
    assert first == again and first.number == written.number
    assert outlet.woken == 1  # nothing new

    [license] = licenses.licenses_of(store_engine, app)
    docs = documents.documents_of(store_engine, app)
    assert [(d.number, d.kind) for d in docs] == [
        (f"{app}-ZY-001", "granted"),
        (f"{app}-ZS-002", "license"),
    ]
    assert {d.issuer for d in docs} == {item.department_name}
    assert all(license.number in d.content for d in docs)
    notices = notifications.notifications_of(store_engine, app)
    assert [n.key.rsplit("/", 1)[-1] for n in notices] == ["granted", "license"]
    assert [n.message for n in notices] == [d.content for d in docs]
    rows = deliveries_of(store_engine, [n.key for n in notices])
    assert [len(rows[n.key]) for n in notices] == [1, 1]


def test_an_issuance_takes_three_transactions(store_engine: Engine) -> None:
    """The catalog, the license, the notices with their documents: one each."""
    current_catalog(store_engine)
    activities = LicensingActivities(store_engine)
    with transactions(store_engine) as begun:
        ActivityEnvironment().run(activities.issue_license, request(new_application_id()))
    assert begun == [3]
