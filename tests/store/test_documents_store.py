"""Notices and their documents as the store writes them together (`notifications.record`):
one transaction, numbered in order, each once however often retried, distinct sequences
under concurrent writers — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from domain.documents import DOCUMENT_KINDS
from store import documents, notifications
from store.db import session
from store.deliveries import Channel, deliveries_of
from tests.conftest import new_application_id

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def written(
    application_id: str, name: str, kind: str = "granted", channels: tuple[Channel, ...] = ()
) -> notifications.Written:
    key = f"application-{application_id}/{name}"
    return notifications.Written(
        notifications.Notification(
            key=key,
            application_id=application_id,
            recipient="applicant",
            kind=kind,
            message=f"{name} 的内容",
            created_at=AT,
        ),
        channels,
        documents.Draft(
            notice_key=key,
            application_id=application_id,
            notice_kind=kind,
            kind=DOCUMENT_KINDS[kind],
            issuer="宜城市市场监督管理局",
            issued_at=AT,
            content=f"{name} 的内容",
            recipient="applicant",
        ),
    )


def test_notices_and_documents_once_numbered_in_order(store_engine: Engine) -> None:
    app = new_application_id()
    batch = [written(app, "granted", channels=(Channel.EMAIL,)), written(app, "license", "license")]
    first = notifications.record(store_engine, batch, AT)
    assert [new for new, _ in first] == [True, True]
    numbers = [d.number for _, d in first if d is not None]
    assert numbers == [f"{app}-ZY-001", f"{app}-ZS-002"]
    # Retried: nothing new, the same numbers, no second delivery.
    again = notifications.record(store_engine, batch, AT)
    assert [(new, d.number if d else None) for new, d in again] == [
        (False, numbers[0]),
        (False, numbers[1]),
    ]
    assert [d.number for d in documents.documents_of(store_engine, app)] == numbers
    assert len(notifications.notifications_of(store_engine, app)) == 2
    assert [r.channel for r in deliveries_of(store_engine, [batch[0].notification.key])[
        batch[0].notification.key
    ]] == ["email"]  # fmt: skip
    # The next document of the application follows them.
    assert (
        documents.issue(
            store_engine,
            notice_key=f"application-{app}/later",
            application_id=app,
            notice_kind="rejected",
            kind=DOCUMENT_KINDS["rejected"],
            issuer="宜城市政务服务中心",
            issued_at=AT,
            content="不予许可",
            recipient="applicant",
        ).number
        == f"{app}-BXK-003"
    )


def test_a_notice_recorded_without_its_document_gets_it(store_engine: Engine) -> None:
    """What a notify that failed between the two writes left (before they were one)."""
    app = new_application_id()
    [w] = [written(app, "granted")]
    assert notifications.notify(store_engine, w.notification.model_copy())
    [(new, document)] = notifications.record(store_engine, [w], AT)
    assert not new and document is not None and document.number == f"{app}-ZY-001"
    found = documents.by_notice(store_engine, w.notification.key)
    assert found is not None and found.number == document.number


def test_all_or_none(store_engine: Engine) -> None:
    """A document that cannot be written leaves no notice of the batch behind."""
    app = new_application_id()
    # Another application's row that holds the number this one's second document needs.
    blocker = new_application_id()
    with session(store_engine) as s:
        s.add(
            documents.Document(
                number=f"{app}-ZS-002",
                notice_key=f"application-{blocker}/odd",
                application_id=blocker,
                sequence=1,
                kind="license",
                title="t",
                issuer="i",
                issued_at=AT,
                legal_basis="b",
                content="c",
                recipient="applicant",
            )
        )
    batch = [written(app, "granted", channels=(Channel.SMS,)), written(app, "license", "license")]
    with pytest.raises(documents.DocumentsExhausted):
        notifications.record(store_engine, batch, AT)
    assert notifications.notifications_of(store_engine, app) == []
    assert documents.documents_of(store_engine, app) == []
    assert deliveries_of(store_engine, [batch[0].notification.key]) == {}


def test_concurrent_writers_take_distinct_consecutive_sequences(store_engine: Engine) -> None:
    """Activities of one application on several worker threads (PostgreSQL: they collide
    on a sequence and the loser takes the next)."""
    app = new_application_id()
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def write(n: int) -> None:
        start.wait()
        try:
            for i in range(3):
                pair = [written(app, f"{n}-{i}-a"), written(app, f"{n}-{i}-b", "license")]
                notifications.record(store_engine, pair, AT)
                notifications.record(store_engine, pair, AT)  # a retry changes nothing
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    issued = documents.documents_of(store_engine, app)
    assert [d.sequence for d in issued] == list(range(1, 37))
    assert len({d.notice_key for d in issued}) == 36
    assert len(notifications.notifications_of(store_engine, app)) == 36
    # Each pair in one transaction: its two documents are neighbours, in its order.
    by_key = {d.notice_key: d.sequence for d in issued}
    for n in range(6):
        for i in range(3):
            a, b = (by_key[f"application-{app}/{n}-{i}-{x}"] for x in "ab")
            assert b == a + 1
