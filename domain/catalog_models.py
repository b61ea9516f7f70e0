"""The entries of a service catalog: items, their materials, form fields and rules,
bundles ("one things") and halls, and the errors a catalog reports.

Pure code: importable inside the Temporal workflow sandbox. These models travel in workflow
payloads: their field names and types are part of every recorded history.
`domain.catalog.Catalog` holds them by code; `domain.catalog_loading` reads them from a
catalog document.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.case_number import REGION_CODE_PATTERN

# Steps every item has on its own that a bundle performs once for all its
# items: acceptance at the window (受理) and conclusion/delivery (办结).
WINDOW_STEPS = 2

# Art. 42 行政许可法: one extension of a decision limit, by at most 10 working days.
EXTENSION_DAYS = 10
# 宜城市: the region of every hall in the seed catalog.
DEFAULT_REGION_CODE = "420684"


class CatalogError(ValueError):
    """A catalog (or a lookup in one) is wrong; `problems` lists every problem found."""

    def __init__(self, problems: Iterable[str], *, title: str = "catalog refused") -> None:
        self.problems: list[str] = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{title}: {len(self.problems)} problem(s)\n{lines}")


class Frozen(BaseModel):
    """A catalog's entries never change once loaded, and a document's unknown key is an error."""

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


class DayUnit(StrEnum):
    """How a period before a license's expiry is counted."""

    WORKING = "working"  # working days (行政许可法 Art. 82)
    CALENDAR = "calendar"  # calendar days (日)


# --------------------------------------------------------------------------- models


class MaterialRequirement(Frozen):
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


class FormField(Frozen):
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


# The approval paths an item may go by (`domain.application.ApprovalPath` values).
REVIEW_PATH = "review"
COMMITMENT_PATH = "commitment"
APPROVAL_PATHS: tuple[str, ...] = (REVIEW_PATH, COMMITMENT_PATH)


def _unset(value: object) -> bool:
    return value is None


class InspectionRule(Frozen):
    """When an item's on-site check happens, per approval path.

    Without a commitment a check a rule requires comes before the decision; after
    issuance only on the commitment path (行政许可法; 国办发〔2020〕42号). Catalogs
    before procedure revision 2026-12 state only `timing`, which applied on both paths;
    the per-path fields derive from it when unset (see `for_path`). The new fields are
    left out of the document while unset, so an old version's canonical form is unchanged.
    """

    timing: InspectionTiming = InspectionTiming.NONE  # legacy: both paths, before the revision
    on_review: InspectionTiming | None = Field(default=None, exclude_if=_unset)
    on_commitment: InspectionTiming | None = Field(default=None, exclude_if=_unset)
    # The check's limit in working days: after the decision on commitment, within the
    # review on review (unless `review_within_days` says otherwise).
    within_days: int | None = Field(default=None, ge=1)
    review_within_days: int | None = Field(default=None, ge=1, exclude_if=_unset)
    rectification_days: int | None = Field(default=None, ge=1)
    method: str = ""  # 现场核查, 书面核查, ...

    def for_path(self, path: str) -> InspectionTiming:
        """The check on `path` ("review" or "commitment")."""
        if path == REVIEW_PATH:
            if self.on_review is not None:
                return self.on_review
            none = self.timing is InspectionTiming.NONE
            return InspectionTiming.NONE if none else InspectionTiming.BEFORE_ISSUANCE
        if path == COMMITMENT_PATH:
            return self.timing if self.on_commitment is None else self.on_commitment
        raise ValueError(f"path: must be one of {', '.join(APPROVAL_PATHS)}, got {path[:20]!r}")

    def within_days_for(self, path: str) -> int | None:
        """The check's limit on `path` in working days; None when `path` has no check."""
        if self.for_path(path) is InspectionTiming.NONE:
            return None
        if path == REVIEW_PATH and self.review_within_days is not None:
            return self.review_within_days
        return self.within_days

    @property
    def any_check(self) -> bool:
        return any(self.for_path(p) is not InspectionTiming.NONE for p in APPROVAL_PATHS)


# Art. 50 行政许可法: renewal is applied for 30 days before expiry unless a rule says otherwise.
RENEWAL_CLOSES_DAYS = 30
# When the window opens is not in Art. 50: a local choice (the holder is reminded then).
RENEWAL_OPENS_DAYS = 60
# Art. 42: a decision within 20 working days, the limit of a renewal unless a rule says less.
RENEWAL_DECISION_DAYS = 20


class RenewalRule(Frozen):
    """When a license's renewal (延续) may be applied for, counted back from its last valid
    day, and the limit of the decision. Applications outside the window are not renewals."""

    opens_days_before: int = Field(default=RENEWAL_OPENS_DAYS, ge=1, le=730)
    closes_days_before: int = Field(default=RENEWAL_CLOSES_DAYS, ge=0, le=730)
    unit: DayUnit = DayUnit.CALENDAR
    decision_days: int = Field(default=RENEWAL_DECISION_DAYS, ge=1, le=60)  # working days
    basis: str = ""  # the rule the figures come from


# What an item that states a validity but no renewal rule gets: Art. 50 and Art. 42.
DEFAULT_RENEWAL = RenewalRule(basis="《中华人民共和国行政许可法》第五十条")


class Item(Frozen):
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
    # Art. 42: one extension of the decision limit, at most this many working days
    # (10 by the law; tighter where a sector rule says so, e.g. market-entity registration 3).
    extension_days: int = Field(
        default=EXTENSION_DAYS, ge=1, le=EXTENSION_DAYS, exclude_if=lambda v: v == EXTENSION_DAYS
    )
    # How long the license it produces is valid, in years, and its renewal window (catalog
    # 2026.12.2); unset in earlier versions, whose documents stay as they were.
    validity_years: int | None = Field(default=None, ge=1, le=30, exclude_if=_unset)
    renewal: RenewalRule | None = Field(default=None, exclude_if=_unset)
    legal_basis: str = ""
    source_note: str = ""  # where the figures come from

    @property
    def renewal_rule(self) -> RenewalRule | None:
        """The renewal window of a license with a validity: its own, or Art. 50's."""
        if self.validity_years is None:
            return None
        return self.renewal or DEFAULT_RENEWAL

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
    def recorded_on_the_spot(self) -> bool:
        """A filing (备案) with no limit: recorded at the window once the materials are
        complete, without a review (e.g. selling only pre-packaged food, 2023 food rules)."""
        return self.kind is ItemKind.FILING and self.statutory_days == 0

    @property
    def has_form(self) -> bool:
        return bool(self.form_fields) or any(m.is_form for m in self.materials)


class BundleMember(Frozen):
    item: str
    depends_on: tuple[str, ...] = ()


class Bundle(Frozen):
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


class Zone(Frozen):
    """A window or a special zone inside a hall."""

    code: str
    name: str
    window: Window
    serves: tuple[Subject, ...] = (Subject.NATURAL_PERSON, Subject.LEGAL_PERSON)


class Hall(Frozen):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    level: HallLevel
    address: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    hours: str = ""
    phone: str = ""  # the hall's public service line
    # 行政区划代码 (GB/T 2260) of the hall's region, the head of its case numbers; catalogs
    # written before it had none: the seed's halls are all Yicheng's.
    region_code: str = Field(DEFAULT_REGION_CODE, pattern=REGION_CODE_PATTERN)
    zones: tuple[Zone, ...]
    # Working days a department has to follow up a 差评 of a case accepted here (回访, fix or
    # explain; local rules say 5 to 15); None: domain.rating's default. Unset keeps the
    # catalog's document and digest.
    rating_follow_up_days: int | None = Field(None, ge=1, le=30, exclude_if=lambda v: v is None)

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
