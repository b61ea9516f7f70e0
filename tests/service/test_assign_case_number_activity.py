"""The `assign_case_number` activity on the real store (SQLite and PostgreSQL), called
directly: the number and its receipt (受理通知书, a notice and its document) written in one
transaction, each once however often retried and whatever failed before, and distinct
numbers for applications accepted at once."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event
from temporalio.testing import ActivityEnvironment

from activities.case_numbers import CaseNumberActivities, NumberCase
from activities.catalog import current_catalog
from domain.documents import SERVICE_CENTER
from store import case_numbers, documents, notifications
from store.deliveries import Channel, deliveries_of
from tests.conftest import new_application_id
from tests.support.store import EmailOutlet, transactions

AT = datetime(2026, 11, 27, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
BUNDLE = "open-convenience-store"


def region() -> str:
    """A region of this test alone (the store is shared by the session)."""
    return f"{random.randrange(10**6):06d}"


def request(application_id: str, region_code: str, version: str) -> NumberCase:
    return NumberCase(
        application_id=application_id,
        hall="yicheng-center",
        region_code=region_code,
        accepted_at=AT,
        target=BUNDLE,
        catalog_version=version,
    )


def receipt_of(engine: Engine, application_id: str) -> tuple[str, str]:
    """The one receipt notice and its one document: their texts (which must be one)."""
    [notice] = notifications.notifications_of(engine, application_id)
    [document] = documents.documents_of(engine, application_id)
    assert notice.key == f"application-{application_id}/accepted"
    assert (document.notice_key, document.kind) == (notice.key, "accepted")
    return notice.message, document.content


def test_the_number_and_its_receipt_in_one_transaction(store_engine: Engine) -> None:
    catalog = current_catalog(store_engine)
    app, code = new_application_id(), region()
    outlet = EmailOutlet()
    activities = CaseNumberActivities(store_engine, outlet)
    env = ActivityEnvironment()
    with transactions(store_engine) as begun:
        number = env.run(activities.assign_case_number, request(app, code, catalog.version))
    assert begun == [1]
    assert number == f"{code}-20261127-000001"
    assert outlet.woken == 1
    message, content = receipt_of(store_engine, app)
    assert message == content and number in message
    assert catalog.bundles[BUNDLE].name in message  # what was accepted, from its catalog
    [document] = documents.documents_of(store_engine, app)
    assert (document.number, document.issuer) == (f"{app}-SL-001", SERVICE_CENTER)
    [[delivery]] = deliveries_of(store_engine, [f"application-{app}/accepted"]).values()
    assert delivery.channel == Channel.EMAIL.value

    # Retried (the worker lost the answer): the same number, nothing written twice.
    with transactions(store_engine) as begun:
        again = env.run(activities.assign_case_number, request(app, code, catalog.version))
    assert (again, begun) == (number, [1])
    assert outlet.woken == 1
    assert receipt_of(store_engine, app) == (message, content)
    assert (
        len(
            deliveries_of(store_engine, [f"application-{app}/accepted"])[
                f"application-{app}/accepted"
            ]
        )
        == 1
    )


def test_a_number_given_without_its_receipt_gets_it_once(store_engine: Engine) -> None:
    """An attempt that numbered the application and failed before the receipt (as earlier
    versions could, in two transactions): the retry keeps the number and writes the rest."""
    catalog = current_catalog(store_engine)
    app, code = new_application_id(), region()
    given = case_numbers.allocate(
        store_engine, application_id=app, hall="yicheng-center", region_code=code, accepted_at=AT
    )
    assert notifications.notifications_of(store_engine, app) == []
    env = ActivityEnvironment()
    activities = CaseNumberActivities(store_engine)
    number = env.run(activities.assign_case_number, request(app, code, catalog.version))
    assert number == str(given)
    env.run(activities.assign_case_number, request(app, code, catalog.version))
    message, _ = receipt_of(store_engine, app)
    assert number in message


def test_a_failed_receipt_leaves_no_number(store_engine: Engine) -> None:
    """All or nothing: the store fails while writing the receipt's document, so the number
    is not kept either; the retry numbers the application and writes everything once."""
    catalog = current_catalog(store_engine)
    app, code = new_application_id(), region()

    def fail_on_the_document(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("INSERT INTO documents"):
            raise RuntimeError("the store went away")

    env = ActivityEnvironment()
    activities = CaseNumberActivities(store_engine)
    event.listen(store_engine, "before_cursor_execute", fail_on_the_document)
    try:
        with pytest.raises(RuntimeError, match="went away"):
            env.run(activities.assign_case_number, request(app, code, catalog.version))
    finally:
        event.remove(store_engine, "before_cursor_execute", fail_on_the_document)
    assert case_numbers.find(store_engine, app) is None
    assert notifications.notifications_of(store_engine, app) == []

    number = env.run(activities.assign_case_number, request(app, code, catalog.version))
    assert number == f"{code}-20261127-000001"  # the sequence was not used up either
    message, _ = receipt_of(store_engine, app)
    assert number in message


def test_an_unknown_catalog_version_still_gives_a_dated_receipt(store_engine: Engine) -> None:
    app, code = new_application_id(), region()
    number = ActivityEnvironment().run(
        CaseNumberActivities(store_engine).assign_case_number, request(app, code, "no-such")
    )
    message, _ = receipt_of(store_engine, app)
    assert number in message and "您的申请" in message


def test_applications_accepted_at_once_get_distinct_numbers(store_engine: Engine) -> None:
    """Threads of one worker (one connection on SQLite, a pool on PostgreSQL) numbering
    applications of one region and day at once: consecutive numbers, a receipt each."""
    catalog = current_catalog(store_engine)
    code = region()
    activities = CaseNumberActivities(store_engine)
    apps = [[new_application_id() for _ in range(4)] for _ in range(6)]
    got: dict[str, str] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(apps))

    def number(mine: list[str]) -> None:
        env = ActivityEnvironment()
        start.wait()
        try:
            for app in mine:
                got[app] = env.run(
                    activities.assign_case_number, request(app, code, catalog.version)
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=number, args=(mine,)) for mine in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(int(n.rsplit("-", 1)[1]) for n in got.values()) == list(range(1, 25))
    for app, given in got.items():
        message, _ = receipt_of(store_engine, app)
        assert given in message
