"""What a bundle ("one thing") derives from its items: never typed by hand.

- `dag_stages` / `dag_order`: the order items run in; items of one stage run in parallel.
- `one_form`: every item's fields merged by canonical key, exportable as JSON Schema.
- `one_set_of_materials`: deduplicated, minus what shared data or an earlier member provides.
- `reductions`: what the bundle saves against applying item by item.
- acceptance itself is `domain.acceptance.assess`, which reads the one set of materials.

Pure code: importable inside the Temporal workflow sandbox.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.catalog import Catalog, UnknownCodeError, resolve_producer
from domain.catalog_models import (
    WINDOW_STEPS,
    Bundle,
    BundleMember,
    CatalogError,
    FieldType,
    FormField,
    Item,
    MaterialSource,
)

# The single application form that replaces each item's own form in a bundle.
BUNDLE_FORM_CODE = "one-thing-application-form"
BUNDLE_FORM_NAME = "“一件事”联办申请表"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


def as_bundle(catalog: Catalog, code: str) -> Bundle:
    """The bundle `code`, or a one-member bundle for the item `code` (single-item application)."""
    if code in catalog.bundles:
        return catalog.bundles[code]
    if code in catalog.items:
        item = catalog.items[code]
        return Bundle(
            code=item.code,
            name=item.name,
            subjects=item.subjects,
            members=(BundleMember(item=item.code),),
            promised_days=item.promised_days,
        )
    raise UnknownCodeError("item or bundle", code, catalog.version)


def is_single_item(catalog: Catalog, code: str) -> bool:
    return code not in catalog.bundles and code in catalog.items


# --------------------------------------------------------------------------- DAG


def dag_stages(bundle: Bundle) -> list[list[str]]:
    """Members grouped by stage; items of one stage may run in parallel."""
    return bundle.stages()


def dag_order(bundle: Bundle) -> list[str]:
    return bundle.order()


def _longest_path(bundle: Bundle, weight: dict[str, int]) -> tuple[int, list[str]]:
    best: dict[str, tuple[int, list[str]]] = {}
    deps = {m.item: m.depends_on for m in bundle.members}
    for code in dag_order(bundle):
        before = max((best[d] for d in deps[code]), key=lambda t: t[0], default=(0, []))
        best[code] = (before[0] + weight[code], [*before[1], code])
    return max(best.values(), key=lambda t: t[0], default=(0, []))


def critical_path(catalog: Catalog, bundle: Bundle) -> tuple[int, list[str]]:
    """The chain of dependent members with the most promised days (days, item codes)."""
    return _longest_path(bundle, {c: catalog.item(c).promised_days for c in bundle.item_codes})


# --------------------------------------------------------------------------- one form


class MergedField(_Frozen):
    key: str
    label: str
    type: FieldType
    required: bool
    options: tuple[str, ...] | None = None
    pattern: str | None = None
    max_length: int | None = None
    used_by: tuple[str, ...]


class OneForm(_Frozen):
    bundle: str
    title: str
    fields: tuple[MergedField, ...]
    field_count_one_by_one: int  # fields summed over the items' own forms

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema (2020-12); dotted keys become nested objects."""
        root: dict[str, Any] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.title,
            "type": "object",
            "properties": {},
            "additionalProperties": False,
        }
        for f in self.fields:
            node = root
            parts = f.key.split(".")
            for part in parts[:-1]:
                props = node.setdefault("properties", {})
                if part not in props:
                    props[part] = {
                        "type": "object",
                        "properties": {},
                        "additionalProperties": False,
                    }
                node = props[part]
            leaf: dict[str, Any] = {"title": f.label, "x-used-by": list(f.used_by)}
            if f.type is FieldType.DATE:
                leaf.update(type="string", format="date")
            elif f.type is FieldType.ENUM:
                leaf.update(type="string", enum=list(f.options or ()))
            else:
                leaf["type"] = f.type.value
            if f.pattern:
                leaf["pattern"] = f.pattern
            if f.max_length is not None:
                leaf["maxLength"] = f.max_length
            node.setdefault("properties", {})[parts[-1]] = leaf
            if f.required:
                node.setdefault("required", []).append(parts[-1])
        _require_groups(root)
        return root


def _require_groups(node: dict[str, Any]) -> None:
    """A group is required when any field inside it is."""
    for name, child in node.get("properties", {}).items():
        if child.get("type") == "object" and "properties" in child:
            _require_groups(child)
            if child.get("required"):
                req = node.setdefault("required", [])
                if name not in req:
                    req.append(name)


def one_form(catalog: Catalog, bundle: Bundle) -> OneForm:
    merged: dict[str, tuple[FormField, list[str], bool]] = {}
    total = 0
    produced = {catalog.item(c).produces for c in bundle.item_codes}
    for code in dag_order(bundle):
        for f in catalog.item(code).form_fields:
            total += 1
            if f.from_license is not None and f.from_license in produced:
                continue  # filled from a license an earlier member issues
            if f.key in merged:
                first, users, required = merged[f.key]
                if first.definition() != f.definition():
                    raise CatalogError(
                        [
                            f"form field {f.key!r}: conflicting definitions in {users[0]!r} and "
                            f"{code!r}"
                        ]
                    )
                users.append(code)
                merged[f.key] = (first, users, required or f.required)
            else:
                merged[f.key] = (f, [code], f.required)
    fields = tuple(
        MergedField(
            key=f.key,
            label=f.label,
            type=f.type,
            required=req,
            options=f.options,
            pattern=f.pattern,
            max_length=f.max_length,
            used_by=tuple(users),
        )
        for f, users, req in merged.values()
    )
    return OneForm(
        bundle=bundle.code, title=bundle.name, fields=fields, field_count_one_by_one=total
    )


# --------------------------------------------------------------------------- one set of materials


class BundleMaterial(_Frozen):
    code: str
    name: str
    core: bool  # deferrable only if every item needing it admits deficiency and defers it
    originals: int
    copies: int
    needed_by: tuple[str, ...]
    supplement_days: int | None = None  # for deferrable: the strictest item's limit
    condition: str = ""  # needed only when this holds; "" = always
    note: str = ""


class ProvidedMaterial(_Frozen):
    code: str
    name: str
    source: MaterialSource
    produced_by: str | None  # the member that produces it (bundle_item)
    needed_by: tuple[str, ...]


class MaterialSet(_Frozen):
    bundle: str
    to_bring: tuple[BundleMaterial, ...]
    provided: tuple[ProvidedMaterial, ...]  # not asked for: shared data or produced in the bundle
    one_by_one: int  # materials asked for when applying item by item

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(m.code for m in self.to_bring)

    def material(self, code: str) -> BundleMaterial:
        for m in self.to_bring:
            if m.code == code:
                return m
        raise KeyError(f"bundle {self.bundle!r} asks for no material {code!r}")


def one_set_of_materials(catalog: Catalog, bundle: Bundle) -> MaterialSet:
    """The bundle's one set of materials: what the applicant brings, once each.

    Not asked for: shared government data, and any material an earlier member (one the
    item depends on, directly or not) produces, even where the item's own guide says
    the applicant brings it. Each item's own application form gives way to one form.
    """
    single = len(bundle.members) == 1
    order = dag_order(bundle)
    # which members produce which material codes (resolved by license kind)
    made_by: dict[str, list[str]] = {}
    if not single:
        for code in order:
            for m in catalog.item(code).materials:
                if m.source is MaterialSource.BUNDLE_ITEM:
                    producer = resolve_producer(catalog.items, bundle, code, m)
                    if producer is None:
                        raise CatalogError(
                            [
                                f"bundle {bundle.code!r}: material {m.code!r} of {code!r} is "
                                "produced by an item outside the bundle"
                            ]
                        )
                    if producer not in made_by.setdefault(m.code, []):
                        made_by[m.code].append(producer)
    bring: dict[str, dict[str, Any]] = {}
    provided: dict[str, dict[str, Any]] = {}
    one_by_one = 0
    form_users: list[str] = []
    for code in order:
        item = catalog.item(code)
        ancestors = bundle.ancestors(code)
        one_by_one += len(item.asked_materials)
        for m in item.materials:
            if m.is_form and not single:
                form_users.append(code)
                continue
            producer = next((p for p in made_by.get(m.code, []) if p in ancestors), None)
            if m.source is MaterialSource.SHARED_DATA or producer is not None:
                entry = provided.setdefault(
                    m.code,
                    {"name": m.name, "source": m.source, "produced_by": None, "needed_by": []},
                )
                if producer is not None and entry["produced_by"] is None:
                    entry["source"] = MaterialSource.BUNDLE_ITEM
                    entry["produced_by"] = producer
                entry["needed_by"].append(code)
                continue
            deferrable = m.deferrable and item.admits_deficiency
            entry = bring.setdefault(
                m.code,
                {
                    "name": m.name,
                    "core": False,
                    "originals": 0,
                    "copies": 0,
                    "needed_by": [],
                    "supplement_days": None,
                    "note": m.note,
                    "conditions": [],
                },
            )
            entry["conditions"].append(m.condition)
            entry["core"] = entry["core"] or not deferrable
            entry["originals"] = max(entry["originals"], m.originals)
            entry["copies"] = max(entry["copies"], m.copies)
            entry["needed_by"].append(code)
            if deferrable and item.supplement_days is not None:
                days = entry["supplement_days"]
                entry["supplement_days"] = (
                    item.supplement_days if days is None else min(days, item.supplement_days)
                )
    to_bring: list[BundleMaterial] = []
    if form_users:
        to_bring.append(
            BundleMaterial(
                code=BUNDLE_FORM_CODE,
                name=BUNDLE_FORM_NAME,
                core=True,
                originals=1,
                copies=0,
                needed_by=tuple(form_users),
                note="replaces each item's own application form",
            )
        )
    for code, e in bring.items():
        to_bring.append(
            BundleMaterial(
                code=code,
                name=e["name"],
                core=e["core"],
                originals=e["originals"],
                copies=e["copies"],
                needed_by=tuple(e["needed_by"]),
                supplement_days=None if e["core"] else e["supplement_days"],
                # conditional only if every item needing it names the same condition
                condition=e["conditions"][0] if len(set(e["conditions"])) == 1 else "",
                note=e["note"],
            )
        )
    return MaterialSet(
        bundle=bundle.code,
        to_bring=tuple(to_bring),
        provided=tuple(
            ProvidedMaterial(
                code=c,
                name=e["name"],
                source=e["source"],
                produced_by=e["produced_by"],
                needed_by=tuple(e["needed_by"]),
            )
            for c, e in provided.items()
        ),
        one_by_one=one_by_one,
    )


# --------------------------------------------------------------------------- reductions


class Measure(StrEnum):
    MATERIALS = "materials"
    FORMS = "forms"
    STEPS = "steps"
    TRIPS = "trips"
    DAYS = "days"


class Reduction(_Frozen):
    measure: Measure
    one_by_one: int
    bundle: int
    saved: int
    percent: float  # of one_by_one, one decimal; 0.0 when nothing to save


def _reduction(measure: Measure, before: int, after: int) -> Reduction:
    saved = before - after
    pct = round(100.0 * saved / before, 1) if before else 0.0
    return Reduction(measure=measure, one_by_one=before, bundle=after, saved=saved, percent=pct)


class BundleReductions(_Frozen):
    bundle: str
    name: str
    items: int
    rows: tuple[Reduction, ...]
    critical_path: tuple[str, ...]
    critical_path_days: int

    def row(self, measure: Measure | str) -> Reduction:
        m = Measure(measure)
        return next(r for r in self.rows if r.measure is m)


def bundle_steps(catalog: Catalog, bundle: Bundle) -> int:
    """Steps of the bundle's process: acceptance and conclusion once, then each chain of
    dependent items' own steps; parallel members do not lengthen the process."""
    weight = {c: catalog.item(c).steps - WINDOW_STEPS for c in bundle.item_codes}
    return WINDOW_STEPS + _longest_path(bundle, weight)[0]


def reductions(catalog: Catalog, bundle: Bundle) -> BundleReductions:
    items: list[Item] = [catalog.item(c) for c in bundle.item_codes]
    mats = one_set_of_materials(catalog, bundle)
    forms_before = sum(1 for i in items if i.has_form)
    days, path = critical_path(catalog, bundle)
    rows = (
        _reduction(Measure.MATERIALS, mats.one_by_one, len(mats.to_bring)),
        _reduction(Measure.FORMS, forms_before, min(forms_before, 1)),
        _reduction(Measure.STEPS, sum(i.steps for i in items), bundle_steps(catalog, bundle)),
        _reduction(Measure.TRIPS, sum(i.trips for i in items), max(i.trips for i in items)),
        _reduction(Measure.DAYS, sum(i.promised_days for i in items), bundle.promised_days),
    )
    return BundleReductions(
        bundle=bundle.code,
        name=bundle.name,
        items=len(items),
        rows=rows,
        critical_path=tuple(path),
        critical_path_days=days,
    )


class ReductionSummary(_Frozen):
    bundles: tuple[BundleReductions, ...]
    totals: tuple[Reduction, ...]  # summed over all bundles
    mean_percent: dict[Measure, float]  # average of the bundles' percentages


def reductions_report(catalog: Catalog) -> ReductionSummary:
    per = tuple(reductions(catalog, b) for b in catalog.bundles.values())
    totals = tuple(
        _reduction(
            m,
            sum(r.row(m).one_by_one for r in per),
            sum(r.row(m).bundle for r in per),
        )
        for m in Measure
    )
    mean = {
        m: (round(sum(r.row(m).percent for r in per) / len(per), 1) if per else 0.0)
        for m in Measure
    }
    return ReductionSummary(bundles=per, totals=totals, mean_percent=mean)
