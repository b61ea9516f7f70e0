"""Credit subjects are keyed: the store keeps HMACs under the subject keyring, not the
workflow's unkeyed digest, which enumerating ID numbers reverses; records made under an
old key are still found after a rotation (and rewritten under the new one); existing rows
are migrated, on SQLite and PostgreSQL; `onething keys subjects` rotates and reports."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.credit import CreditActivities
from domain.application import ApprovalPath, Cancellation, ItemStatus
from domain.catalog import Catalog
from domain.credit import CreditEntry, CreditRecordKind, credit_subject
from domain.people import Role
from onething.codec import Keyring
from onething.keys import Purpose, SubjectKeys, open_subject_keys
from starter.demo import demo_applicant
from store import credit, migrate
from store.db import make_engine
from tests.conftest import new_application_id, onething_client
from tests.desk import full_submission, item_in, made_up_applicant, staff
from tests.support.people import candidate_ids


def env_value(keys: SubjectKeys) -> str:
    """`ONETHING_SUBJECT_KEYS` for `keys`, active key first."""
    ring = keys.keyring
    order = [ring.active_key_id] + [k for k in ring.keys if k != ring.active_key_id]
    return ",".join(f"{k}:{base64.b64encode(ring.keys[k]).decode()}" for k in order)


def entry(subject: str, application_id: str, kind: CreditRecordKind) -> CreditEntry:
    return CreditEntry(
        subject=subject,
        kind=kind,
        application_id=application_id,
        item_code=None,
        recorded_at=datetime(2026, 6, 1, tzinfo=UTC),
        detail="容缺材料逾期未补齐",
    )


# --------------------------------------------------------------------------- the store


def test_a_stored_credit_subject_is_not_reversed_by_enumerating_ids(
    store_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The configured keyring (what the worker reads), not one the test hands over.
    monkeypatch.setenv("ONETHING_SUBJECT_KEYS", env_value(SubjectKeys.generate("s1")))
    secret_id = candidate_ids()[437]
    application_id = new_application_id()
    credit.record(
        store_engine,
        entry(credit_subject(secret_id), application_id, CreditRecordKind.BROKEN_PLEDGE),
    )
    [row] = credit.records_of(store_engine, application_id)

    unkeyed = {credit_subject(c): c for c in candidate_ids()}
    unkeyed |= {hashlib.sha256(c.encode()).hexdigest(): c for c in candidate_ids()}
    assert row.subject not in unkeyed, f"the table gives the ID away: {unkeyed[row.subject]}"
    assert row.subject_key_id == "s1"
    # With the key, the same workflow value finds it.
    assert credit.open_records(store_engine, credit_subject(secret_id)) == [
        CreditRecordKind.BROKEN_PLEDGE
    ]


def test_records_under_key_1_are_found_after_rotating_to_key_2(store_engine: Engine) -> None:
    key1 = SubjectKeys.generate("key-1")
    key2 = key1.rotated("key-2")
    subject = credit_subject(made_up_applicant(new_application_id()).id_number)
    first, second = new_application_id(), new_application_id()
    credit.record(store_engine, entry(subject, first, CreditRecordKind.BROKEN_PLEDGE), key1)
    credit.record(store_engine, entry(subject, second, CreditRecordKind.REVOCATION), key2)

    # Without key 1 the old row is out of reach: the ring must keep it until rewritten.
    only_key2 = SubjectKeys.generate("key-2-alone")
    assert credit.open_records(store_engine, subject, only_key2) == []
    [old] = credit.records_of(store_engine, first)
    assert old.subject_key_id == "key-1"

    # The rotated ring finds both and rewrites the old row under the active key.
    assert sorted(credit.open_records(store_engine, subject, key2)) == sorted(
        [CreditRecordKind.BROKEN_PLEDGE, CreditRecordKind.REVOCATION]
    )
    [touched] = credit.records_of(store_engine, first)
    assert touched.subject_key_id == "key-2"
    assert touched.subject == key2.keyed(Purpose.CREDIT_SUBJECT, subject).value
    assert "key-1" not in credit.rows_by_key_id(store_engine)
    # Key 1 may now go: a ring of key 2 alone still finds and repairs both.
    ring2 = SubjectKeys(Keyring(active_key_id="key-2", keys={"key-2": key2.keyring.keys["key-2"]}))
    assert len(credit.open_records(store_engine, subject, ring2)) == 2
    assert credit.repair(store_engine, subject, datetime(2026, 7, 1, tzinfo=UTC), ring2) == 2
    assert credit.open_records(store_engine, subject, ring2) == []


def test_the_same_id_under_two_installations_keys_differs() -> None:
    subject = credit_subject(demo_applicant().id_number)
    a, b = SubjectKeys.generate("a"), SubjectKeys.generate("a")
    assert a.keyed(Purpose.CREDIT_SUBJECT, subject) != b.keyed(Purpose.CREDIT_SUBJECT, subject)
    # Purposes are separated: an applicant reference is never a credit subject.
    assert a.keyed(Purpose.APPLICANT, subject) != a.keyed(Purpose.CREDIT_SUBJECT, subject)
    material = base64.b64encode(a.keyring.keys["a"]).decode()
    assert material not in repr(a) and material not in str(a.keyed(Purpose.APPLICANT, subject))


def test_credit_activities_key_at_the_boundary(store_engine: Engine) -> None:
    keys = SubjectKeys.generate("act-1")
    activities = CreditActivities(store_engine, keys)
    subject = credit_subject(made_up_applicant(new_application_id()).id_number)
    application_id = new_application_id()
    env = ActivityEnvironment()
    env.run(
        activities.record_credit,
        entry(subject, application_id, CreditRecordKind.FALSE_COMMITMENT),
    )
    standing = env.run(activities.credit_standing, subject)
    assert standing.barred and standing.subject == subject  # the workflow's value, unchanged
    [row] = credit.records_of(store_engine, application_id)
    assert row.subject != subject and subject not in row.subject
    assert row.subject == keys.keyed(Purpose.CREDIT_SUBJECT, subject).value


async def test_a_workflow_finds_a_record_made_before_a_rotation(
    ts_env: WorkflowEnvironment,
    store_engine: Engine,
    catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real worker, configured as in production (the environment), after a rotation."""
    key1 = SubjectKeys.generate("wf-1")
    applicant = made_up_applicant(f"rotated{new_application_id()}")
    earlier = new_application_id()
    monkeypatch.setenv("ONETHING_SUBJECT_KEYS", env_value(key1))
    credit.record(
        store_engine,
        entry(credit_subject(applicant.id_number), earlier, CreditRecordKind.BROKEN_PLEDGE),
    )
    monkeypatch.setenv("ONETHING_SUBJECT_KEYS", env_value(key1.rotated("wf-2")))

    committed = full_submission(
        catalog, "food-business-license", new_application_id(), applicant, commitment=True
    )
    async with onething_client(ts_env, store_engine, catalog) as client:
        await client.submit(committed)
        reviewed = await item_in(
            client, committed.application_id, "food-business-license", ItemStatus.UNDER_REVIEW
        )
        await client.cancel(
            committed.application_id,
            Cancellation(operator=staff(Role.OPERATOR, "ops"), reason="test over"),
        )

    # Barred by the record made under key 1: commitment approval not offered.
    assert reviewed.path is ApprovalPath.REVIEW
    [row] = credit.records_of(store_engine, earlier)
    assert row.subject_key_id == "wf-2"  # rewritten under the active key on the look-up


# --------------------------------------------------------------------------- migration


def test_migration_keys_existing_rows_so_old_and_new_records_meet(
    empty_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert migrate.upgrade(empty_engine, "0003") == "0003"
    people = [candidate_ids()[n] for n in (1, 2)]
    with empty_engine.begin() as c:
        for n, id_number in enumerate(people):
            c.execute(
                sa.text(
                    "INSERT INTO credit_records (subject, kind, application_id, item_code,"
                    " recorded_at, detail) VALUES (:s, 'broken_pledge', :a, '', :t, '逾期')"
                ),
                {"s": credit_subject(id_number), "a": f"OLD-{n}", "t": datetime(2026, 1, 5)},
            )

    keys = SubjectKeys.generate("migrated")
    assert migrate.upgrade(empty_engine, subject_keys=keys) == migrate.heads()[0]

    unkeyed = {credit_subject(c) for c in candidate_ids()}
    for n, id_number in enumerate(people):
        [row] = credit.records_of(empty_engine, f"OLD-{n}")
        assert row.subject not in unkeyed and row.subject_key_id == "migrated"
        # What the workflow computes today finds the migrated row, and a new record of the
        # same person lands under the same subject.
        assert credit.open_records(empty_engine, credit_subject(id_number), keys) == [
            CreditRecordKind.BROKEN_PLEDGE
        ]
        new = credit.record(
            empty_engine,
            entry(credit_subject(id_number), f"NEW-{n}", CreditRecordKind.REVOCATION),
            keys,
        )
        assert new.subject == row.subject

    # Down again would leave subjects the old code cannot find: refused, saying why.
    from alembic import command

    with empty_engine.connect() as connection:
        with pytest.raises(RuntimeError, match="keyed subjects"):
            command.downgrade(migrate.alembic_config(connection), "0003")
        connection.rollback()


def test_migration_reads_the_configured_keyring_when_none_is_handed_over(
    empty_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = SubjectKeys.generate("from-env")
    monkeypatch.setenv("ONETHING_SUBJECT_KEYS", env_value(keys))
    migrate.upgrade(empty_engine, "0003")
    with empty_engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO credit_records (subject, kind, application_id, item_code,"
                " recorded_at, detail) VALUES (:s, 'revocation', 'OLD', '', :t, '撤销')"
            ),
            {"s": credit_subject(demo_applicant().id_number), "t": datetime(2026, 1, 5)},
        )
    migrate.upgrade(empty_engine)  # as `onething db upgrade` and every start-up call it
    assert credit.open_records(empty_engine, credit_subject(demo_applicant().id_number)) == [
        CreditRecordKind.REVOCATION
    ]


def test_rotate_and_show_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from starter.cli_keys import subjects_app

    monkeypatch.setenv("ONETHING_DATA_DIR", str(tmp_path))
    for variable in ("ONETHING_SUBJECT_KEYS", "ONETHING_SUBJECT_KEYS_FILE", "DATABASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    runner = CliRunner()
    before = open_subject_keys(tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path / 'onething.db'}")
    migrate.upgrade(engine)
    subject = credit_subject(demo_applicant().id_number)
    credit.record(engine, entry(subject, "A-OLD", CreditRecordKind.BROKEN_PLEDGE), before)

    rotated = runner.invoke(subjects_app, ["rotate"])
    assert rotated.exit_code == 0, rotated.output
    after = open_subject_keys(tmp_path)
    assert after.active_key_id != before.active_key_id
    assert set(before.keyring.key_ids) < set(after.keyring.key_ids)

    shown = json.loads(runner.invoke(subjects_app, ["show", "--json"]).output)
    assert shown["active"] == after.active_key_id
    assert shown["credit_records_by_key"] == {before.active_key_id: 1, after.active_key_id: 0}
    material = base64.b64encode(after.keyring.keys[after.active_key_id]).decode()
    assert material not in rotated.output + json.dumps(shown)

    assert credit.open_records(engine, subject, after) == [CreditRecordKind.BROKEN_PLEDGE]
    shown = json.loads(runner.invoke(subjects_app, ["show", "--json"]).output)
    assert shown["credit_records_by_key"] == {before.active_key_id: 0, after.active_key_id: 1}
    engine.dispose()

    monkeypatch.setenv("ONETHING_SUBJECT_KEYS", env_value(after))
    refused = runner.invoke(subjects_app, ["rotate"])
    assert refused.exit_code == 2 and "ONETHING_SUBJECT_KEYS holds the keys" in refused.output


def test_a_bad_subject_keyring_stops_the_worker_with_one_line(
    store_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onething.settings import SettingsError

    monkeypatch.setenv("ONETHING_SUBJECT_KEYS", "k1:c2VjcmV0LWJ1dC1zaG9ydA==")
    with pytest.raises(SettingsError) as stopped:
        CreditActivities(store_engine)
    message = str(stopped.value)
    assert message.startswith("invalid setting ONETHING_SUBJECT_KEYS:") and "\n" not in message
    assert "c2VjcmV0" not in message and "32" in message
