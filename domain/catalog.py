"""Service catalog: items, bundles ("one things") and halls, and their validation.

Pure code: importable inside the Temporal workflow sandbox. The only I/O is
`load_seed_catalog`, which reads the JSON shipped in `domain/data/`.

A catalog document (JSON) lists items, bundles and halls as *lists* so that
duplicate codes can be seen and reported; `validate_catalog` turns it into a
`Catalog`, whose lookups are dicts keyed by code.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from importlib import resources
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Steps every item has on its own that a bundle performs once for all its
# items: acceptance at the window (受理) and conclusion/delivery (办结).
WINDOW_STEPS = 2


_M = TypeVar("_M", bound=BaseModel)


class CatalogError(ValueError):
    """A catalog (or a lookup in one) is wrong; `problems` lists every problem found."""

    def __init__(self, problems: Iterable[str], *, title: str = "catalog refused") -> None:
        self.problems: list[str] = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{title}: {len(self.problems)} problem(s)\n{lines}")


class UnknownCodeError(CatalogError, KeyError):
    """Lookup of an item, bundle or hall code the catalog does not have."""

    def __init__(self, kind: str, code: str, version: str) -> None:
        self.kind = kind
        self.code = code
        super().__init__(
            [f"unknown {kind} code {code!r} in catalog version {version!r}"],
            title="lookup failed",
        )

    def __str__(self) -> str:  # KeyError would repr() the message otherwise
        return self.problems[0]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- enums


class MaterialSource(StrEnum):
    APPLICANT = "applicant"
    SHARED_DATA = "shared_data"  # fetched from shared government data, never asked for
    BUNDLE_ITEM = "bundle_item"  # the result of an earlier item (e.g. the business license)


class InspectionTiming(StrEnum):
    NONE = "none"
    BEFORE_ISSUANCE = "before_issuance"
    AFTER_ISSUANCE = "after_issuance"


class ItemKind(StrEnum):
    LICENSE = "license"  # 行政许可
    FILING = "filing"  # 备案
    CONFIRMATION = "confirmation"  # 行政确认 (registrations)
    PUBLIC_SERVICE = "public_service"  # 公共服务


class Window(StrEnum):
    """Where an item is accepted when applied for on its own."""

    GENERAL = "general"  # 综合窗口, 无差别受理
    POLICE = "police"  # 公安专区
    TAX = "tax"  # 税务专区
    MARRIAGE = "marriage"  # 婚姻登记专区
    DEPARTMENT = "department"  # still at the department's own window (not yet moved)


# Special zones keep their own window by design; everything else should be general.
SPECIAL_ZONES: frozenset[Window] = frozenset({Window.POLICE, Window.TAX, Window.MARRIAGE})


class Subject(StrEnum):
    NATURAL_PERSON = "natural_person"  # 自然人
    LEGAL_PERSON = "legal_person"  # 法人 (and individual businesses)


class HallLevel(StrEnum):
    CITY = "city"
    TOWN = "town"


class DeficiencyConsequence(StrEnum):
    """What happens when deficient materials are not supplemented in time."""

    STOP = "stop"  # terminate the application (Xi'an rule)
    REVOKE = "revoke"  # revoke what was issued on trust


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    ENUM = "enum"


# --------------------------------------------------------------------------- models


class MaterialRequirement(_Frozen):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    core: bool  # core materials must be present; deferrable ones may be supplemented
    source: MaterialSource = MaterialSource.APPLICANT
    produced_by: str | None = None  # item code, when source is bundle_item
    is_form: bool = False  # the item's own application form; a bundle replaces it by one form
    condition: str = ""  # needed only when this holds (e.g. applying through an agent)
    originals: int = Field(default=0, ge=0)
    copies: int = Field(default=1, ge=0)
    note: str = ""

    @property
    def deferrable(self) -> bool:
        """Non-core, asked of the applicant and always needed (not conditional)."""
        return not self.core and self.source is MaterialSource.APPLICANT and not self.condition

    @property
    def asked_for(self) -> bool:
        """Whether an applicant applying for this item alone has to bring it."""
        return self.source is not MaterialSource.SHARED_DATA


class FormField(_Frozen):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")  # canonical, dotted
    label: str
    type: FieldType = FieldType.STRING
    required: bool = True
    options: tuple[str, ...] | None = None  # for enum
    pattern: str | None = None
    max_length: int | None = None
    from_license: str | None = None  # filled from this license kind once a member issues it

    def definition(self) -> tuple[object, ...]:
        """What must agree between items that share the key (`required` may differ)."""
        return (
            self.label,
            self.type,
            self.options,
            self.pattern,
            self.max_length,
            self.from_license,
        )


class InspectionRule(_Frozen):
    timing: InspectionTiming = InspectionTiming.NONE
    within_days: int | None = Field(default=None, ge=1)  # working days from the decision
    rectification_days: int | None = Field(default=None, ge=1)
    method: str = ""  # 现场核查, 书面核查, ...


class Item(_Frozen):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    basic_code: str  # 基本编码
    implementation_code: str  # 实施编码
    name: str
    department: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    department_name: str
    kind: ItemKind
    window: Window
    subjects: tuple[Subject, ...] = (Subject.LEGAL_PERSON,)
    hall_levels: tuple[HallLevel, ...] = (HallLevel.CITY,)
    statutory_days: int = Field(ge=0)  # working days; 0 = handled on the spot
    promised_days: int = Field(ge=0)
    trips: int = Field(ge=0)
    steps: int = Field(ge=1)
    fee_yuan: float = Field(default=0, ge=0)
    fee_basis: str = ""
    materials: tuple[MaterialRequirement, ...] = ()
    form_fields: tuple[FormField, ...] = ()
    produces: str | None = None  # license kind, e.g. "business_license"
    admits_deficiency: bool = False
    supplement_days: int | None = Field(default=None, ge=1)
    deficiency_consequence: DeficiencyConsequence = DeficiencyConsequence.STOP
    issues_before_supplement: bool = False  # 承诺审批: issue first, collect materials after
    admits_commitment: bool = False
    inspection: InspectionRule = InspectionRule()
    legal_basis: str = ""
    source_note: str = ""  # where the figures come from

    def material(self, code: str) -> MaterialRequirement:
        for m in self.materials:
            if m.code == code:
                return m
        raise KeyError(f"item {self.code!r} has no material {code!r}")

    @property
    def core_materials(self) -> tuple[MaterialRequirement, ...]:
        return tuple(m for m in self.materials if m.core and m.asked_for)

    @property
    def deferrable_materials(self) -> tuple[MaterialRequirement, ...]:
        """Materials that may be supplemented later, if the item admits deficiency."""
        return tuple(m for m in self.materials if self.admits_deficiency and m.deferrable)

    @property
    def asked_materials(self) -> tuple[MaterialRequirement, ...]:
        """What the applicant brings when applying for this item alone."""
        return tuple(m for m in self.materials if m.asked_for)

    @property
    def has_form(self) -> bool:
        return bool(self.form_fields) or any(m.is_form for m in self.materials)


class BundleMember(_Frozen):
    item: str
    depends_on: tuple[str, ...] = ()


class Bundle(_Frozen):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    description: str = ""
    subjects: tuple[Subject, ...] = (Subject.LEGAL_PERSON,)
    members: tuple[BundleMember, ...]
    promised_days: int = Field(ge=0)
    source_note: str = ""

    @property
    def item_codes(self) -> tuple[str, ...]:
        return tuple(m.item for m in self.members)

    def member(self, item_code: str) -> BundleMember:
        for m in self.members:
            if m.item == item_code:
                return m
        raise KeyError(f"bundle {self.code!r} has no member {item_code!r}")

    def stages(self) -> list[list[str]]:
        """Members grouped by stage: a stage depends only on earlier ones (Kahn layering).

        Member order is kept within a stage, so the result is deterministic.
        """
        remaining = {m.item: set(m.depends_on) for m in self.members}
        done: set[str] = set()
        stages: list[list[str]] = []
        while remaining:
            ready = [
                m.item for m in self.members if m.item in remaining and remaining[m.item] <= done
            ]
            if not ready:
                raise CatalogError(
                    [f"bundle {self.code!r}: dependency cycle among {sorted(remaining)}"]
                )
            stages.append(ready)
            done.update(ready)
            for code in ready:
                del remaining[code]
        return stages

    def order(self) -> list[str]:
        """Member codes in DAG order."""
        return [code for stage in self.stages() for code in stage]

    def ancestors(self, item_code: str) -> frozenset[str]:
        """Every member `item_code` depends on, directly or not (assumes a DAG)."""
        deps = {m.item: m.depends_on for m in self.members}
        seen: set[str] = set()
        todo = list(deps.get(item_code, ()))
        while todo:
            code = todo.pop()
            if code not in seen:
                seen.add(code)
                todo.extend(deps.get(code, ()))
        return frozenset(seen)


class Zone(_Frozen):
    """A window or a special zone inside a hall."""

    code: str
    name: str
    window: Window
    serves: tuple[Subject, ...] = (Subject.NATURAL_PERSON, Subject.LEGAL_PERSON)


class Hall(_Frozen):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    level: HallLevel
    address: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    hours: str = ""
    phone: str = ""  # the hall's public service line
    zones: tuple[Zone, ...]

    def accepts(self, item: Item) -> bool:
        if self.level not in item.hall_levels:
            return False
        return any(
            z.window is item.window and set(z.serves) & set(item.subjects) for z in self.zones
        )

    def accepts_bundle(self, bundle: Bundle, items: Iterable[Item]) -> bool:
        """A bundle is handled at a general window that serves its subjects, in a hall
        of a level where every member item may be handled."""
        if any(self.level not in i.hall_levels for i in items):
            return False
        return any(
            z.window is Window.GENERAL and set(z.serves) & set(bundle.subjects) for z in self.zones
        )


class Catalog(_Frozen):
    version: str
    title: str = ""
    items: dict[str, Item]
    bundles: dict[str, Bundle] = {}
    halls: dict[str, Hall] = {}
    notes: tuple[str, ...] = ()

    def item(self, code: str) -> Item:
        try:
            return self.items[code]
        except KeyError:
            raise UnknownCodeError("item", code, self.version) from None

    def bundle(self, code: str) -> Bundle:
        try:
            return self.bundles[code]
        except KeyError:
            raise UnknownCodeError("bundle", code, self.version) from None

    def hall(self, code: str) -> Hall:
        try:
            return self.halls[code]
        except KeyError:
            raise UnknownCodeError("hall", code, self.version) from None

    def bundles_with(self, item_code: str) -> list[Bundle]:
        """The bundles an item is part of (catalog order)."""
        return [b for b in self.bundles.values() if item_code in b.item_codes]

    def bundle_items(self, code: str) -> list[Item]:
        """The bundle's items in DAG order: every item after the ones it depends on."""
        return [self.item(c) for c in self.bundle(code).order()]

    def producer_in_bundle(self, bundle_code: str, item_code: str, material_code: str) -> str:
        """The member of the bundle that produces `material_code` for `item_code`.

        The material names one producing item; inside a bundle any earlier member
        producing the same license kind stands in for it (a company's business
        license serves where an individual business's is named).
        """
        bundle = self.bundle(bundle_code)
        material = self.item(item_code).material(material_code)
        found = resolve_producer(self.items, bundle, item_code, material)
        if found is None:
            raise CatalogError(
                [f"bundle {bundle_code!r}: no earlier member produces {material_code!r}"],
                title="lookup failed",
            )
        return found

    def to_document(self) -> dict[str, Any]:
        """The catalog as a JSON-ready document (lists), the input of `validate_catalog`."""
        return {
            "version": self.version,
            "title": self.title,
            "notes": list(self.notes),
            "items": [i.model_dump(mode="json") for i in self.items.values()],
            "bundles": [b.model_dump(mode="json") for b in self.bundles.values()],
            "halls": [h.model_dump(mode="json") for h in self.halls.values()],
        }


def _kind_of(catalog_items: Mapping[str, Item], code: str | None) -> str | None:
    item = catalog_items.get(code) if code else None
    return item.produces if item else None


def resolve_producer(
    items: Mapping[str, Item], bundle: Bundle, item_code: str, material: MaterialRequirement
) -> str | None:
    """The earlier member of `bundle` that produces `material` for `item_code`, if any."""
    ancestors = bundle.ancestors(item_code)
    if material.produced_by in ancestors:
        return material.produced_by
    kind = _kind_of(items, material.produced_by)
    if kind is None:
        return None
    for code in bundle.item_codes:  # member order: deterministic choice
        if code in ancestors and _kind_of(items, code) == kind:
            return code
    return None


# --------------------------------------------------------------------------- validation


def _pydantic_problems(prefix: str, err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        out.append(f"{prefix}{'.' + loc if loc else ''}: {e['msg']}")
    return out


def _label(raw: object, index: int) -> str:
    code = raw.get("code") if isinstance(raw, Mapping) else None
    return f"[{index}] {code!r}" if code else f"[{index}]"


def _find_cycle(bundle: Bundle) -> list[str] | None:
    deps = {m.item: [d for d in m.depends_on] for m in bundle.members}
    state: dict[str, int] = {}  # 1 = on stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in deps.get(node, []):
            if nxt not in deps:
                continue  # reported as an unknown dependency
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for m in bundle.members:
        if m.item not in state:
            found = visit(m.item)
            if found:
                return found
    return None


def _check_item(item: Item, items: Mapping[str, Item]) -> list[str]:
    p: list[str] = []
    where = f"item {item.code!r}"
    if item.promised_days > item.statutory_days:
        p.append(
            f"{where}: promised_days {item.promised_days} exceeds statutory_days "
            f"{item.statutory_days}"
        )
    if item.admits_deficiency:
        if item.supplement_days is None:
            p.append(f"{where}: admits deficiency but has no supplement_days")
        elif item.supplement_days > item.promised_days:
            p.append(
                f"{where}: supplement_days {item.supplement_days} exceeds promised_days "
                f"{item.promised_days} (deficiency days may not exceed the promised limit)"
            )
        if not any(m.deferrable for m in item.materials):
            p.append(f"{where}: admits deficiency but every material it asks for is core")
    elif item.supplement_days is not None:
        p.append(f"{where}: supplement_days set but the item does not admit deficiency")
    if item.steps < WINDOW_STEPS:
        p.append(f"{where}: steps {item.steps} below {WINDOW_STEPS} (acceptance and conclusion)")
    rule = item.inspection
    if rule.timing is InspectionTiming.NONE:
        if rule.within_days is not None or rule.rectification_days is not None:
            p.append(f"{where}: inspection timing 'none' but inspection days are set")
    else:
        if rule.within_days is None:
            p.append(f"{where}: inspection {rule.timing.value} needs within_days")
        if rule.rectification_days is None:
            p.append(f"{where}: inspection {rule.timing.value} needs rectification_days")
    if rule.timing is InspectionTiming.AFTER_ISSUANCE and not item.admits_commitment:
        p.append(f"{where}: inspection after issuance requires an item that admits commitment")
    if item.issues_before_supplement and not item.admits_deficiency:
        p.append(f"{where}: issues_before_supplement set but the item does not admit deficiency")
    if (
        item.deficiency_consequence is DeficiencyConsequence.REVOKE
        and not item.issues_before_supplement
    ):
        p.append(
            f"{where}: deficiency consequence 'revoke' needs issues_before_supplement "
            "(nothing is issued on trust otherwise)"
        )
    seen: set[str] = set()
    for m in item.materials:
        if m.code in seen:
            p.append(f"{where}: duplicate material code {m.code!r}")
        seen.add(m.code)
        if m.source is MaterialSource.BUNDLE_ITEM:
            if not m.produced_by:
                p.append(f"{where}: material {m.code!r} is bundle_item but names no produced_by")
            elif m.produced_by not in items:
                p.append(f"{where}: material {m.code!r} produced_by unknown item {m.produced_by!r}")
            elif items[m.produced_by].produces is None:
                p.append(
                    f"{where}: material {m.code!r} produced_by {m.produced_by!r}, "
                    "which produces nothing"
                )
            elif m.produced_by == item.code:
                p.append(f"{where}: material {m.code!r} is produced by the item itself")
        elif m.produced_by is not None:
            p.append(f"{where}: material {m.code!r} names produced_by but source is {m.source}")
    if sum(m.is_form for m in item.materials) > 1:
        p.append(f"{where}: more than one application form material")
    keys: set[str] = set()
    for f in item.form_fields:
        if f.key in keys:
            p.append(f"{where}: duplicate form field {f.key!r}")
        keys.add(f.key)
        if f.type is FieldType.ENUM and not f.options:
            p.append(f"{where}: enum form field {f.key!r} has no options")
        if f.type is not FieldType.ENUM and f.options:
            p.append(f"{where}: form field {f.key!r} has options but type {f.type}")
    return p


def _check_fields(items: Iterable[Item]) -> list[str]:
    """A canonical key means one thing across the whole catalog."""
    p: list[str] = []
    first: dict[str, tuple[str, FormField]] = {}
    leaves: dict[str, str] = {}
    for item in items:
        for f in item.form_fields:
            if f.key in first:
                owner, other = first[f.key]
                if other.definition() != f.definition():
                    p.append(
                        f"form field {f.key!r}: conflicting definitions in items {owner!r} "
                        f"({_describe(other)}) and {item.code!r} ({_describe(f)})"
                    )
            else:
                first[f.key] = (item.code, f)
                leaves[f.key] = item.code
    for key, owner in leaves.items():
        parts = key.split(".")
        for i in range(1, len(parts)):
            prefix = ".".join(parts[:i])
            if prefix in leaves:
                p.append(
                    f"form field {prefix!r} (item {leaves[prefix]!r}) is a value but "
                    f"{key!r} (item {owner!r}) uses it as a group"
                )
    return p


def _check_material_names(items: Iterable[Item]) -> list[str]:
    """A material code is stable: one name across the catalog."""
    p: list[str] = []
    first: dict[str, tuple[str, str]] = {}
    for item in items:
        for m in item.materials:
            if m.code in first and first[m.code][1] != m.name:
                owner, name = first[m.code]
                p.append(
                    f"material {m.code!r}: named {name!r} in {owner!r} but {m.name!r} "
                    f"in {item.code!r}"
                )
            first.setdefault(m.code, (item.code, m.name))
    return p


def _describe(f: FormField) -> str:
    extra = f", options={list(f.options)}" if f.options else ""
    extra += f", pattern={f.pattern!r}" if f.pattern else ""
    extra += f", max_length={f.max_length}" if f.max_length is not None else ""
    return f"label={f.label!r}, type={f.type.value}{extra}"


def _check_bundle(
    bundle: Bundle, items: Mapping[str, Item], broken: frozenset[str] = frozenset()
) -> list[str]:
    p: list[str] = []
    where = f"bundle {bundle.code!r}"
    if not bundle.members:
        p.append(f"{where}: has no members")
        return p
    members = [m.item for m in bundle.members]
    seen: set[str] = set()
    for code in members:
        if code in seen:
            p.append(f"{where}: duplicate member {code!r}")
        seen.add(code)
        if code not in items and code not in broken:
            p.append(f"{where}: unknown item {code!r}")
    for m in bundle.members:
        for dep in m.depends_on:
            if dep not in seen:
                p.append(f"{where}: member {m.item!r} depends on {dep!r}, which is not a member")
    if len(seen) != len(members):
        return p  # producer checks need one entry per member
    cycle = _find_cycle(bundle)
    if cycle:
        p.append(f"{where}: dependency cycle {' -> '.join(cycle)}")
        return p  # producer checks need a DAG
    for m in bundle.members:
        item = items.get(m.item)
        if item is None:
            continue
        for mat in item.materials:
            named = mat.produced_by
            if mat.source is not MaterialSource.BUNDLE_ITEM or named is None or named not in items:
                continue
            if resolve_producer(items, bundle, item.code, mat) is None:
                kind = items[named].produces
                in_bundle = named in seen or any(
                    items[c].produces == kind for c in seen if c in items
                )
                if in_bundle:
                    p.append(
                        f"{where}: material {mat.code!r} of {item.code!r} is produced by "
                        f"{mat.produced_by!r}, but {item.code!r} does not depend on it"
                    )
                else:
                    p.append(
                        f"{where}: material {mat.code!r} of {item.code!r} is produced by "
                        f"{mat.produced_by!r}, an item outside the bundle"
                    )
    p.extend(_check_listed_as_applicants(bundle, items))
    known = [items[c] for c in seen if c in items]
    one_by_one = sum(i.promised_days for i in known)
    if len(known) == len(seen) and bundle.promised_days > one_by_one:
        p.append(
            f"{where}: promised_days {bundle.promised_days} exceeds the {one_by_one} days of "
            "applying for its items one by one"
        )
    return p


def _check_listed_as_applicants(bundle: Bundle, items: Mapping[str, Item]) -> list[str]:
    """A member may list as the applicant's a material another member issues (its own
    guide assumes the license already exists); then it must run after that member."""
    made: dict[str, list[str]] = {}
    for code in bundle.item_codes:
        item = items.get(code)
        for m in item.materials if item else ():
            if m.source is MaterialSource.BUNDLE_ITEM:
                producer = resolve_producer(items, bundle, code, m)
                if producer is not None and producer not in made.setdefault(m.code, []):
                    made[m.code].append(producer)
    p: list[str] = []
    for code in bundle.item_codes:
        item = items.get(code)
        for m in item.materials if item else ():
            producers = made.get(m.code, [])
            if m.source is not MaterialSource.APPLICANT or not producers or code in producers:
                continue
            if not set(producers) & bundle.ancestors(code):
                p.append(
                    f"bundle {bundle.code!r}: {code!r} asks the applicant for {m.code!r}, which "
                    f"member {producers[0]!r} issues; {code!r} must depend on {producers[0]!r}"
                )
    return p


def _check_hall(hall: Hall) -> list[str]:
    p: list[str] = []
    codes: set[str] = set()
    for z in hall.zones:
        if z.code in codes:
            p.append(f"hall {hall.code!r}: duplicate zone code {z.code!r}")
        codes.add(z.code)
    if not hall.zones:
        p.append(f"hall {hall.code!r}: has no zones")
    return p


def validate_catalog(data: Mapping[str, Any] | Catalog) -> Catalog:
    """Validate a catalog document as a whole; raise `CatalogError` listing every problem."""
    if isinstance(data, Catalog):
        data = data.to_document()
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise CatalogError([f"catalog document must be an object, got {type(data).__name__}"])
    unknown = set(data) - {"version", "title", "notes", "items", "bundles", "halls", "$schema"}
    for key in sorted(unknown):
        problems.append(f"unknown top-level key {key!r}")
    version = data.get("version")
    if not isinstance(version, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", version):
        problems.append(f"version must be a non-empty code like '2026.11.1', got {version!r}")
        version = ""

    def parse(kind: str, model: type[_M], key: str) -> dict[str, _M]:
        out: dict[str, _M] = {}
        raw_list = data.get(key, [])
        if not isinstance(raw_list, list):
            problems.append(f"{key} must be a list")
            return out
        for i, raw in enumerate(raw_list):
            try:
                obj = model.model_validate(raw)
            except ValidationError as err:
                problems.extend(_pydantic_problems(f"{kind} {_label(raw, i)}", err))
                if isinstance(raw, Mapping) and isinstance(raw.get("code"), str):
                    broken.add(raw["code"])  # reported already: not "unknown" elsewhere
                continue
            code = str(getattr(obj, "code"))  # noqa: B009 - generic over models
            if code in out:
                problems.append(f"duplicate {kind} code {code!r}")
                continue
            out[code] = obj
        return out

    broken: set[str] = set()
    items = parse("item", Item, "items")
    bundles = parse("bundle", Bundle, "bundles")
    halls = parse("hall", Hall, "halls")
    if not items and not problems:
        problems.append("catalog has no items")
    for item in items.values():
        problems.extend(_check_item(item, items))
    problems.extend(_check_fields(items.values()))
    problems.extend(_check_material_names(items.values()))
    for bundle in bundles.values():
        problems.extend(_check_bundle(bundle, items, frozenset(broken)))
    for hall in halls.values():
        problems.extend(_check_hall(hall))
    if problems:
        raise CatalogError(problems)
    return Catalog(
        version=str(version),
        title=str(data.get("title", "")),
        notes=tuple(data.get("notes", ())),
        items=items,
        bundles=bundles,
        halls=halls,
    )


class CatalogDocument(_Frozen):
    """The shape of a catalog JSON document (what `validate_catalog` reads)."""

    version: str
    title: str = ""
    notes: tuple[str, ...] = ()
    items: tuple[Item, ...]
    bundles: tuple[Bundle, ...] = ()
    halls: tuple[Hall, ...] = ()


def catalog_document_schema() -> dict[str, Any]:
    """JSON Schema of a catalog document, for editors and review tools."""
    schema = CatalogDocument.model_json_schema()
    schema["properties"]["$schema"] = {"type": "string"}
    return schema


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
        fields = tuple(k for k in a if a[k] != b.get(k))
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


def parse_catalog_json(text: str | bytes) -> Catalog:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise CatalogError([f"not JSON: {err}"]) from None
    return validate_catalog(data)


@functools.cache
def load_seed_catalog() -> Catalog:
    """The catalog shipped in `domain/data/catalog.json` (validated once, then cached)."""
    text = resources.files("domain.data").joinpath("catalog.json").read_text(encoding="utf-8")
    return parse_catalog_json(text)


def seed_catalog_text() -> str:
    return resources.files("domain.data").joinpath("catalog.json").read_text(encoding="utf-8")
