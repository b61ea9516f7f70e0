"""The versioned catalog in the relational store.

A catalog version, once loaded, never changes: loading the same version again with the
same content is a no-op; with different content it is refused. An application pins the
version it was accepted under and reads that version with `get_catalog`, whatever was
loaded after it.

Besides the whole document (the source of truth for `get_catalog`), items, bundles and
halls get a row each, so operators can query the catalog with SQL.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Engine, Text, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from domain.catalog import Catalog, UnknownCodeError
from domain.catalog_loading import parse_catalog_json, validate_catalog
from domain.catalog_models import CatalogError, Item
from store.db import session


class CatalogVersion(SQLModel, table=True):
    __tablename__ = "catalog_versions"

    version: str = Field(primary_key=True, max_length=64)
    seq: int = Field(unique=True, index=True)  # load order: the latest is the current one
    digest: str = Field(max_length=64)  # sha256 of the canonical document
    title: str = Field(default="", max_length=200)
    loaded_at: datetime
    item_count: int
    bundle_count: int
    hall_count: int
    document: str = Field(sa_column=Column(Text, nullable=False))


class CatalogItemRow(SQLModel, table=True):
    __tablename__ = "catalog_items"

    version: str = Field(primary_key=True, max_length=64, foreign_key="catalog_versions.version")
    code: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    department: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=32)
    window: str = Field(max_length=32)
    promised_days: int
    statutory_days: int
    admits_deficiency: bool
    admits_commitment: bool
    data: str = Field(sa_column=Column(Text, nullable=False))


class CatalogBundleRow(SQLModel, table=True):
    __tablename__ = "catalog_bundles"

    version: str = Field(primary_key=True, max_length=64, foreign_key="catalog_versions.version")
    code: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    promised_days: int
    members: str = Field(max_length=2000)  # item codes, comma separated, DAG order
    data: str = Field(sa_column=Column(Text, nullable=False))


class CatalogHallRow(SQLModel, table=True):
    __tablename__ = "catalog_halls"

    version: str = Field(primary_key=True, max_length=64, foreign_key="catalog_versions.version")
    code: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    level: str = Field(max_length=16)
    latitude: float
    longitude: float
    data: str = Field(sa_column=Column(Text, nullable=False))


TABLES = [
    CatalogVersion.__table__,  # type: ignore[attr-defined]
    CatalogItemRow.__table__,  # type: ignore[attr-defined]
    CatalogBundleRow.__table__,  # type: ignore[attr-defined]
    CatalogHallRow.__table__,  # type: ignore[attr-defined]
]


def create_catalog_tables(engine: Engine) -> None:
    """Create the catalog tables only (init_db creates them with all the others)."""
    SQLModel.metadata.create_all(engine, tables=TABLES)


class LoadResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    digest: str
    created: bool  # False: this exact version was already loaded
    seq: int


class VersionInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    seq: int
    digest: str
    title: str
    loaded_at: datetime
    item_count: int
    bundle_count: int
    hall_count: int


def canonical_document(catalog: Catalog) -> str:
    return json.dumps(catalog.to_document(), ensure_ascii=False, sort_keys=True)


def digest_of(catalog: Catalog) -> str:
    return hashlib.sha256(canonical_document(catalog).encode("utf-8")).hexdigest()


def _as_catalog(source: Catalog | Mapping[str, Any] | str | bytes) -> Catalog:
    if isinstance(source, str | bytes):
        return parse_catalog_json(source)
    return validate_catalog(source)  # a Catalog is re-validated as a document too


def load_catalog(
    engine: Engine,
    source: Catalog | Mapping[str, Any] | str | bytes,
    *,
    loaded_at: datetime | None = None,
) -> LoadResult:
    """Validate and store a catalog version; refuse it as a whole if anything is wrong.

    Raises `CatalogError` listing every problem, or when the version is already loaded
    with other content (versions are immutable: load the change under a new version).
    """
    catalog = _as_catalog(source)
    document = canonical_document(catalog)
    digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
    for _attempt in range(10):  # loaders may race for the next seq
        existing = _version_row(engine, catalog.version)
        if existing is not None:
            if existing.digest != digest:
                raise CatalogError(
                    [
                        f"version {catalog.version!r} is already loaded with other content "
                        f"(digest {existing.digest[:12]}, new {digest[:12]}); catalog versions "
                        "never change: load the new catalog under a new version"
                    ]
                )
            return LoadResult(
                version=catalog.version, digest=digest, created=False, seq=existing.seq
            )
        try:
            seq = _insert(engine, catalog, document, digest, loaded_at or datetime.now(UTC))
        except IntegrityError:
            continue
        return LoadResult(version=catalog.version, digest=digest, created=True, seq=seq)
    raise CatalogError([f"could not load version {catalog.version!r}: concurrent loads"])


def _insert(
    engine: Engine, catalog: Catalog, document: str, digest: str, loaded_at: datetime
) -> int:
    with session(engine) as s:
        seq = (s.exec(select(func.max(CatalogVersion.seq))).one() or 0) + 1
        s.add(
            CatalogVersion(
                version=catalog.version,
                seq=seq,
                digest=digest,
                title=catalog.title,
                loaded_at=loaded_at,
                item_count=len(catalog.items),
                bundle_count=len(catalog.bundles),
                hall_count=len(catalog.halls),
                document=document,
            )
        )
        s.flush()  # the version row first: the others reference it
        for it in catalog.items.values():
            s.add(
                CatalogItemRow(
                    version=catalog.version,
                    code=it.code,
                    name=it.name,
                    department=it.department,
                    kind=it.kind.value,
                    window=it.window.value,
                    promised_days=it.promised_days,
                    statutory_days=it.statutory_days,
                    admits_deficiency=it.admits_deficiency,
                    admits_commitment=it.admits_commitment,
                    data=it.model_dump_json(),
                )
            )
        for b in catalog.bundles.values():
            s.add(
                CatalogBundleRow(
                    version=catalog.version,
                    code=b.code,
                    name=b.name,
                    promised_days=b.promised_days,
                    members=",".join(b.order()),
                    data=b.model_dump_json(),
                )
            )
        for h in catalog.halls.values():
            s.add(
                CatalogHallRow(
                    version=catalog.version,
                    code=h.code,
                    name=h.name,
                    level=h.level.value,
                    latitude=h.latitude,
                    longitude=h.longitude,
                    data=h.model_dump_json(),
                )
            )
    return seq


def _version_row(engine: Engine, version: str) -> CatalogVersion | None:
    with session(engine) as s:
        return s.get(CatalogVersion, version)


# Versions never change, so a parsed catalog can be kept; the digest guards against a
# database that was dropped and refilled under the same URL.
_cache: dict[tuple[str, str, str], Catalog] = {}
_cache_lock = threading.Lock()


def get_catalog(engine: Engine, version: str) -> Catalog:
    """The catalog exactly as `version` was loaded. Raises `CatalogError` if unknown."""
    with session(engine) as s:
        return get_catalog_in(s, version)


def get_catalog_in(s: Session, version: str) -> Catalog:
    """`get_catalog` inside the caller's transaction (a write that needs the catalog opens
    no second one)."""
    digest = s.exec(select(CatalogVersion.digest).where(CatalogVersion.version == version)).first()
    if digest is None:
        raise CatalogError([f"unknown catalog version {version!r}"], title="lookup failed")
    return _parsed(s, version, digest)


def _parsed(s: Session, version: str, digest: str) -> Catalog:
    """The version's document parsed once per process (keyed by its digest too: a store
    rebuilt with another document under the same version is read afresh), read in `s`."""
    key = (s.get_bind().engine.url.render_as_string(hide_password=True), version, digest)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    row = s.get(CatalogVersion, version)
    assert row is not None
    catalog = parse_catalog_json(row.document)
    with _cache_lock:
        _cache[key] = catalog
    return catalog


def latest_version(engine: Engine) -> str | None:
    """The most recently loaded version: the one new applications pin."""
    with session(engine) as s:
        return s.exec(
            select(CatalogVersion.version).order_by(CatalogVersion.seq.desc()).limit(1)  # type: ignore[attr-defined]
        ).first()


def get_latest_catalog(engine: Engine) -> Catalog | None:
    """The newest version, in one query (activities ask it for the item they act on)."""
    with session(engine) as s:
        newest = s.exec(
            select(CatalogVersion.version, CatalogVersion.digest)
            .order_by(CatalogVersion.seq.desc())  # type: ignore[attr-defined]
            .limit(1)
        ).first()
        return _parsed(s, *newest) if newest is not None else None


def list_versions(engine: Engine) -> list[VersionInfo]:
    with session(engine) as s:
        rows = s.exec(select(CatalogVersion).order_by(CatalogVersion.seq)).all()  # type: ignore[arg-type]
        return [
            VersionInfo(
                version=r.version,
                seq=r.seq,
                digest=r.digest,
                title=r.title,
                loaded_at=r.loaded_at,
                item_count=r.item_count,
                bundle_count=r.bundle_count,
                hall_count=r.hall_count,
            )
            for r in rows
        ]


def get_item(engine: Engine, version: str, code: str) -> Item:
    """One item of a pinned version, read from its row (no whole-catalog parse)."""
    with session(engine) as s:
        row = s.get(CatalogItemRow, (version, code))
        if row is None:
            if s.get(CatalogVersion, version) is None:
                raise CatalogError([f"unknown catalog version {version!r}"], title="lookup failed")
            raise UnknownCodeError("item", code, version)
        return Item.model_validate_json(row.data)
