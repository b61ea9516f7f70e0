"""What a newer catalog version changes, for the operator who loads it. Pure code."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from domain.catalog import Catalog


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EntryChange(_Frozen):
    code: str
    fields: tuple[str, ...]  # top-level fields whose value differs


class SectionDiff(_Frozen):
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[EntryChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


class CatalogDiff(_Frozen):
    """What a newer catalog version changes, for the operator who loads it."""

    old_version: str
    new_version: str
    items: SectionDiff
    bundles: SectionDiff
    halls: SectionDiff

    @property
    def empty(self) -> bool:
        return self.items.empty and self.bundles.empty and self.halls.empty

    def summary(self) -> str:
        parts = []
        for name, sec in (("items", self.items), ("bundles", self.bundles), ("halls", self.halls)):
            if sec.added:
                parts.append(f"{name} added: {', '.join(sec.added)}")
            if sec.removed:
                parts.append(f"{name} removed: {', '.join(sec.removed)}")
            for ch in sec.changed:
                parts.append(f"{name[:-1]} {ch.code} changed: {', '.join(ch.fields)}")
        head = f"{self.old_version} → {self.new_version}"
        return head + (": no changes" if not parts else "\n" + "\n".join(parts))


def _section_diff(old: Mapping[str, BaseModel], new: Mapping[str, BaseModel]) -> SectionDiff:
    changed = []
    for code in old.keys() & new.keys():
        a, b = old[code].model_dump(mode="json"), new[code].model_dump(mode="json")
        # Fields left out while unset (newer ones) count as changed when only one side has them.
        fields = tuple(k for k in {**a, **b} if a.get(k) != b.get(k))
        if fields:
            changed.append(EntryChange(code=code, fields=fields))
    return SectionDiff(
        added=tuple(c for c in new if c not in old),
        removed=tuple(c for c in old if c not in new),
        changed=tuple(sorted(changed, key=lambda c: c.code)),
    )


def diff_catalogs(old: Catalog, new: Catalog) -> CatalogDiff:
    return CatalogDiff(
        old_version=old.version,
        new_version=new.version,
        items=_section_diff(old.items, new.items),
        bundles=_section_diff(old.bundles, new.bundles),
        halls=_section_diff(old.halls, new.halls),
    )
