"""The versioned catalog store, on a real SQLite file and on real PostgreSQL."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import select

from domain.catalog import UnknownCodeError
from domain.catalog_loading import (
    NEXT_FILE,
    load_seed_catalog,
    load_shipped_catalog,
    seed_catalog_text,
    shipped_catalog_text,
)
from domain.catalog_models import CatalogError
from store.catalog import (
    CatalogItemRow,
    create_catalog_tables,
    digest_of,
    get_catalog,
    get_item,
    get_latest_catalog,
    latest_version,
    list_versions,
    load_catalog,
)
from store.db import make_engine, session
from tests.support.catalog_docs import mini_doc

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    create_catalog_tables(engine)
    yield engine
    engine.dispose()


def _postgres() -> Iterator[Engine]:
    # a schema of its own per test: parallel runs never see each other's tables
    schema = f"t_catalog_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        create_catalog_tables(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        yield from _sqlite(tmp_path)
    else:
        yield from _postgres()


# The digest 2026.11.1 was stored under before procedure revision 2026-12 added catalog
# fields: loading that document again must still be the same version, not "other content".
DIGEST_2026_11_1 = "5d71af9d6d4480da1bc3df56b061fe8c854d65057a041d0cfa2efbb342ae052a"


def test_versions_side_by_side_and_an_old_document_keeps_its_digest(engine: Engine) -> None:
    old = load_shipped_catalog("catalog.json")
    assert old.version == "2026.11.1" and digest_of(old) == DIGEST_2026_11_1
    assert load_catalog(engine, shipped_catalog_text("catalog.json")).created
    assert not load_catalog(engine, shipped_catalog_text("catalog.json")).created
    new = load_catalog(engine, shipped_catalog_text(NEXT_FILE))
    assert new.created and latest_version(engine) == "2026.12.1"
    assert get_catalog(engine, "2026.11.1") == old  # running applications keep their rules
    got = get_catalog(engine, "2026.12.1")
    assert got == load_shipped_catalog(NEXT_FILE) and got.correction_days == 20
    tobacco = get_item(engine, "2026.12.1", "tobacco-retail-license")
    assert tobacco.admits_commitment and tobacco.inspection.on_commitment is not None
    assert get_item(engine, "2026.12.1", "business-license-individual").extension_days == 3


def test_load_and_get_the_seed(engine: Engine) -> None:
    seed = load_seed_catalog()
    res = load_catalog(engine, seed_catalog_text(), loaded_at=datetime(2026, 11, 27, tzinfo=UTC))
    assert res.created and res.version == seed.version and res.seq == 1
    assert res.digest == digest_of(seed)
    got = get_catalog(engine, seed.version)
    assert got == seed
    assert get_item(engine, seed.version, "food-business-license") == seed.item(
        "food-business-license"
    )
    assert latest_version(engine) == seed.version
    with session(engine) as s:
        rows = s.exec(select(CatalogItemRow).where(CatalogItemRow.department == "market")).all()
    assert {r.code for r in rows} == {c for c, i in seed.items.items() if i.department == "market"}


def test_loading_the_same_version_again_is_a_no_op(engine: Engine) -> None:
    first = load_catalog(engine, mini_doc())
    again = load_catalog(engine, mini_doc())
    assert first.created and not again.created
    assert again.seq == first.seq and again.digest == first.digest
    assert len(list_versions(engine)) == 1


def test_a_new_version_never_changes_an_older_one(engine: Engine) -> None:
    v1 = mini_doc()
    load_catalog(engine, v1)
    pinned = get_catalog(engine, "t1")

    v2 = copy.deepcopy(v1)
    v2["version"] = "t2"
    v2["items"][1]["promised_days"] = 4
    v2["items"][1]["supplement_days"] = 3
    v2["items"].append(copy.deepcopy(v1["items"][2]) | {"code": "d"})
    load_catalog(engine, v2)

    assert latest_version(engine) == "t2"
    assert [v.version for v in list_versions(engine)] == ["t1", "t2"]
    old = get_catalog(engine, "t1")
    assert old == pinned
    assert old.item("b").promised_days == 5 and "d" not in old.items
    assert get_item(engine, "t1", "b").promised_days == 5
    new = get_catalog(engine, "t2")
    assert new.item("b").promised_days == 4 and "d" in new.items
    latest = get_latest_catalog(engine)
    assert latest is not None and latest.version == "t2"


def test_changing_a_loaded_version_is_refused(engine: Engine) -> None:
    load_catalog(engine, mini_doc())
    changed = mini_doc()
    changed["items"][0]["name"] = "改名了"
    with pytest.raises(CatalogError, match="'t1' is already loaded with other content"):
        load_catalog(engine, changed)
    assert get_catalog(engine, "t1").item("a").name == "事项a"


def test_a_bad_catalog_is_refused_as_a_whole(engine: Engine) -> None:
    bad = mini_doc()
    bad["items"][1]["supplement_days"] = 9
    bad["bundles"][0]["members"].append({"item": "ghost"})
    with pytest.raises(CatalogError) as info:
        load_catalog(engine, bad)
    assert len(info.value.problems) == 2
    assert list_versions(engine) == []  # nothing of it was stored
    with session(engine) as s:
        assert s.exec(select(CatalogItemRow)).all() == []


def test_unknown_version_and_item(engine: Engine) -> None:
    with pytest.raises(CatalogError, match="unknown catalog version 'nope'"):
        get_catalog(engine, "nope")
    assert latest_version(engine) is None and get_latest_catalog(engine) is None
    load_catalog(engine, mini_doc())
    with pytest.raises(UnknownCodeError, match="unknown item code 'zz'"):
        get_item(engine, "t1", "zz")
    with pytest.raises(CatalogError, match="unknown catalog version 'nope'"):
        get_item(engine, "nope", "a")


def test_concurrent_loads_of_different_versions(engine: Engine) -> None:
    errors: list[BaseException] = []

    def load(version: str) -> None:
        doc = mini_doc()
        doc["version"] = version
        try:
            load_catalog(engine, doc)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(f"c{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    infos = list_versions(engine)
    assert sorted(v.version for v in infos) == ["c0", "c1", "c2", "c3"]
    assert sorted(v.seq for v in infos) == [1, 2, 3, 4]
