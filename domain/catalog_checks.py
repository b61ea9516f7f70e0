"""The rules a catalog document must keep, item by item and bundle by bundle.

`domain.catalog_loading.validate_catalog` runs them all and reports every problem at once; each
function returns the problems it found, worded for the person who edits the catalog.
Pure code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from domain.catalog import resolve_producer
from domain.catalog_models import (
    APPROVAL_PATHS,
    REVIEW_PATH,
    WINDOW_STEPS,
    Bundle,
    DayUnit,
    DeficiencyConsequence,
    FieldType,
    FormField,
    Hall,
    InspectionTiming,
    Item,
    MaterialSource,
)


def find_cycle(bundle: Bundle) -> list[str] | None:
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


# A working week: 5 working days in 7 calendar days (holidays make it longer still).
_CALENDAR_PER_WORKING = 7 / 5


def check_validity(item: Item, where: str) -> list[str]:
    """A validity needs a license to carry it; a renewal window must open before it closes
    and fit in the validity (else every term would begin inside its own window)."""
    p: list[str] = []
    if item.validity_years is not None and item.produces is None:
        p.append(f"{where}: validity_years set but the item produces no license")
    if item.renewal is not None and item.validity_years is None:
        p.append(f"{where}: renewal set but the item has no validity_years")
    rule = item.renewal
    if rule is None:
        return p
    if rule.closes_days_before >= rule.opens_days_before:
        p.append(
            f"{where}: renewal.closes_days_before {rule.closes_days_before} must be fewer than "
            f"renewal.opens_days_before {rule.opens_days_before} (the window would close "
            "before it opens)"
        )
    if item.validity_years is not None:
        factor = _CALENDAR_PER_WORKING if rule.unit is DayUnit.WORKING else 1
        if rule.opens_days_before * factor >= item.validity_years * 365:
            p.append(
                f"{where}: renewal.opens_days_before {rule.opens_days_before} ({rule.unit} "
                f"days) reaches back beyond the validity of {item.validity_years} year(s)"
            )
    return p


def check_item(item: Item, items: Mapping[str, Item]) -> list[str]:
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
    p.extend(check_inspection(item, where))
    p.extend(check_validity(item, where))
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


def check_inspection(item: Item, where: str) -> list[str]:
    p: list[str] = []
    rule = item.inspection
    if not rule.any_check:
        if rule.within_days is not None or rule.rectification_days is not None:
            p.append(f"{where}: no inspection on any path but inspection days are set")
    else:
        paths = ", ".join(f"{path} {rule.for_path(path).value}" for path in APPROVAL_PATHS)
        if rule.within_days is None:
            p.append(f"{where}: inspection ({paths}) needs within_days")
        if rule.rectification_days is None:
            p.append(f"{where}: inspection ({paths}) needs rectification_days")
    if rule.on_review is InspectionTiming.AFTER_ISSUANCE:
        p.append(
            f"{where}: inspection.on_review may only be 'none' or 'before_issuance' (without a "
            "commitment the check comes before the decision)"
        )
    if rule.on_commitment is not None and not item.admits_commitment:
        p.append(f"{where}: inspection.on_commitment set but the item does not admit commitment")
    after = rule.timing is InspectionTiming.AFTER_ISSUANCE or (
        rule.on_commitment is InspectionTiming.AFTER_ISSUANCE
    )
    if after and not item.admits_commitment:
        p.append(f"{where}: inspection after issuance requires an item that admits commitment")
    if rule.review_within_days is not None and rule.for_path(REVIEW_PATH) is InspectionTiming.NONE:
        p.append(f"{where}: inspection.review_within_days set but there is no check on review")
    # The review, then the check before the decision: both within the statutory limit.
    # Only where the rule is stated per path: older catalogs derive it (and may not fit).
    review_days = rule.within_days_for(REVIEW_PATH) if rule.on_review is not None else None
    if review_days is not None and item.promised_days + review_days > item.statutory_days:
        p.append(
            f"{where}: the review ({item.promised_days} working days) and the check before the "
            f"decision ({review_days}) take {item.promised_days + review_days}, more than the "
            f"statutory {item.statutory_days}"
        )
    return p


def check_fields(items: Iterable[Item]) -> list[str]:
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
                        f"({describe(other)}) and {item.code!r} ({describe(f)})"
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


def check_material_names(items: Iterable[Item]) -> list[str]:
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


def describe(f: FormField) -> str:
    extra = f", options={list(f.options)}" if f.options else ""
    extra += f", pattern={f.pattern!r}" if f.pattern else ""
    extra += f", max_length={f.max_length}" if f.max_length is not None else ""
    return f"label={f.label!r}, type={f.type.value}{extra}"


def check_bundle(
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
    cycle = find_cycle(bundle)
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
    p.extend(check_listed_as_applicants(bundle, items))
    known = [items[c] for c in seen if c in items]
    one_by_one = sum(i.promised_days for i in known)
    if len(known) == len(seen) and bundle.promised_days > one_by_one:
        p.append(
            f"{where}: promised_days {bundle.promised_days} exceeds the {one_by_one} days of "
            "applying for its items one by one"
        )
    return p


def check_listed_as_applicants(bundle: Bundle, items: Mapping[str, Item]) -> list[str]:
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


def check_hall(hall: Hall) -> list[str]:
    p: list[str] = []
    codes: set[str] = set()
    for z in hall.zones:
        if z.code in codes:
            p.append(f"hall {hall.code!r}: duplicate zone code {z.code!r}")
        codes.add(z.code)
    if not hall.zones:
        p.append(f"hall {hall.code!r}: has no zones")
    return p
