"""An application: what is submitted, what staff decide, what the applicant gets back.

Pure models; they travel as Temporal payloads (encrypted by the codec) and as the
typed client's inputs and outputs.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from domain.catalog_models import Item
from domain.clock import ClockSnapshot
from domain.excluded_time import ExcludedTimeStart
from domain.form import MAX_FORM_KEYS, form_shape_problems
from domain.people import Agent, Applicant, Role, Staff
from domain.text import JsonSchemaHint, Line, Text, when_made

APPLICATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{2,63}$"


def application_workflow_id(application_id: str) -> str:
    """One workflow per application: a repeated start with the same ID finds the same one."""
    return f"application-{application_id}"


def item_workflow_id(application_id: str, item_code: str) -> str:
    return f"application-{application_id}/item-{item_code}"


_MATERIAL_CODE = r"^[a-z0-9][a-z0-9-]{0,63}$"


def _material_code(value: str) -> str:
    if not re.fullmatch(_MATERIAL_CODE, value):
        raise ValueError("must be a material code (a-z, 0-9 and -, at most 64 characters)")
    return value


# A material code as the catalog writes them; checked when made (see domain.text).
MaterialCode = Annotated[
    str,
    AfterValidator(when_made(_material_code)),
    JsonSchemaHint(pattern=_MATERIAL_CODE, minLength=1, maxLength=64),
]


def _form_shape(form: dict[str, Any]) -> dict[str, Any]:
    """Any form's bounds (domain.form): no form Temporal could not read back is started."""
    if problems := form_shape_problems(form):
        raise ValueError("; ".join(f"{p.field}: {p.problem}" for p in problems))
    return form


FormAnswers = Annotated[
    dict[str, Any],
    AfterValidator(when_made(_form_shape)),
    Field(
        description=(
            "Answers to the one form of the item or bundle, as groups by canonical key "
            '(`enterprise.name` is `{"enterprise": {"name": …}}`); its JSON Schema is '
            "`form_schema` of GET /catalog/bundles/{code}. Unknown keys are refused."
        ),
        json_schema_extra={"maxProperties": MAX_FORM_KEYS},
    ),
]


class Channel(StrEnum):
    """How the application reached the service center."""

    WINDOW = "window"
    ONLINE = "online"
    MAIL = "mail"


class Submission(BaseModel):
    """What the applicant hands in at the general window (or online, or by mail)."""

    model_config = ConfigDict(frozen=True)

    application_id: str = Field(pattern=APPLICATION_ID_PATTERN)
    item_code: str | None = Field(None, min_length=1, max_length=64)
    bundle_code: str | None = Field(None, min_length=1, max_length=64)
    applicant: Applicant
    agent: Agent | None = None
    channel: Channel = Channel.WINDOW
    hall: str = Field("yicheng-center", min_length=1, max_length=64)
    materials: list[MaterialCode] = Field(default_factory=list, max_length=200)
    form: FormAnswers = Field(default_factory=dict)
    commitment_signed: StrictBool = False
    deficiency_pledge_signed: StrictBool = False
    catalog_version: str | None = Field(None, min_length=1, max_length=32)
    accepted_by: Staff | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Submission:
        if (self.item_code is None) == (self.bundle_code is None):
            raise ValueError("give exactly one of item_code or bundle_code")
        if len(set(self.materials)) != len(self.materials):
            raise ValueError("materials lists a material code twice")
        return self

    @property
    def target(self) -> str:
        return self.bundle_code or self.item_code or ""


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    # 补正 (Art. 32(4)): materials incomplete, one notice listing them all; not yet accepted
    AWAITING_CORRECTION = "awaiting_correction"
    LAPSED = "lapsed"  # the correction did not arrive in time: deemed withdrawn (local rule)
    REFUSED = "refused"  # 不予受理: needs no license, or outside the office's powers
    AWAITING_SUPPLEMENT = "awaiting_supplement"  # accepted with deficiency, materials due
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"  # every item issued (and inspected where the rule says)
    REJECTED = "rejected"  # an item was rejected on review
    STOPPED = "stopped"  # deficiency materials not supplemented in time
    WITHDRAWN = "withdrawn"  # by the applicant
    CANCELLED = "cancelled"  # by an operator
    REVOKED = "revoked"  # every license it issued was revoked (nothing of it stands)

    @property
    def closed(self) -> bool:
        return self not in OPEN_STATUSES


OPEN_STATUSES = frozenset(
    {
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.AWAITING_CORRECTION,
        ApplicationStatus.AWAITING_SUPPLEMENT,
        ApplicationStatus.IN_PROGRESS,
    }
)


class ApprovalPath(StrEnum):
    REVIEW = "review"  # a department reviewer decides
    COMMITMENT = "commitment"  # 告知承诺: approved on the applicant's commitment, inspected after

    @property
    def label(self) -> str:
        return "告知承诺" if self is ApprovalPath.COMMITMENT else "审查"


ON_THE_SPOT_LABEL = "当场办结"  # a filing recorded on the spot: no approval path (path None)


class ItemStatus(StrEnum):
    WAITING = "waiting"  # for an earlier item of the bundle
    IN_PROGRESS = "in_progress"  # running as its own workflow (its Query has the details)
    UNDER_REVIEW = "under_review"
    CORRECTION_REQUESTED = "correction_requested"  # clock paused until the applicant corrects
    APPROVED = "approved"  # waiting for deficient materials before issuance
    ISSUED = "issued"
    INSPECTING = "inspecting"
    RECTIFYING = "rectifying"
    CLOSED = "closed"  # issued, and inspected where the rule asks
    REJECTED = "rejected"
    REVOKED = "revoked"
    STOPPED = "stopped"  # withdrawn, cancelled, or stopped before issuance

    @property
    def has_license(self) -> bool:
        return self in {self.ISSUED, self.INSPECTING, self.RECTIFYING, self.CLOSED}


class MissingMaterial(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    item_codes: list[str]
    core: bool


class MissingMaterialsNotice(BaseModel):
    """一次性告知: one notice listing every missing material at once.

    With incomplete materials (补正材料通知书) it says what to bring and by when, the case
    staying open; with deficiency acceptance (容缺受理通知书) what to supplement, how, and by
    when. (Histories from before the revision refused with it.)
    """

    model_config = ConfigDict(frozen=True)

    application_id: str
    missing: list[MissingMaterial]
    issued_at: datetime
    supplement_by: datetime | None = None
    consequence: str | None = None  # what happens if not supplemented in time

    def summary(self) -> str:
        return "缺少材料: " + "、".join(m.name for m in self.missing)


OptionalReason = Annotated[Text | None, Field(max_length=500)]


def _has_text(value: str | None) -> bool:
    return bool(value and value.strip())


class ReviewVerdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CORRECTION = "request_correction"  # the clock pauses until the applicant corrects


class ReviewDecision(BaseModel):
    """A department reviewer's decision on one item."""

    model_config = ConfigDict(frozen=True)

    reviewer: Staff
    verdict: ReviewVerdict
    reason: OptionalReason = None

    @model_validator(mode="after")
    def _reason_required(self) -> ReviewDecision:
        if self.verdict is not ReviewVerdict.APPROVE and not _has_text(self.reason):
            raise ValueError(f"reason: {self.verdict.value} must give the reason")
        return self


class Correction(BaseModel):
    """The applicant's answer to a correction request (补正)."""

    model_config = ConfigDict(frozen=True)

    channel: Channel
    note: Text = Field(min_length=1, max_length=500)
    received_by: Staff | None = None


class Supplement(BaseModel):
    """Deficient materials arriving after acceptance (补齐材料), by window, mail or online."""

    model_config = ConfigDict(frozen=True)

    materials: list[MaterialCode] = Field(min_length=1, max_length=50)
    channel: Channel
    received_by: Staff | None = None


class InspectionResult(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # rectification ordered; a second failure revokes
    FALSE_COMMITMENT = "false_commitment"  # the commitment was untrue: revoke at once


class InspectionReport(BaseModel):
    """An inspector's on-site inspection (现场核查)."""

    model_config = ConfigDict(frozen=True)

    inspector: Staff
    result: InspectionResult
    findings: OptionalReason = None

    @model_validator(mode="after")
    def _findings_required(self) -> InspectionReport:
        if self.result is not InspectionResult.PASSED and not _has_text(self.findings):
            raise ValueError(f"findings: a {self.result.value} inspection must state the findings")
        return self


class LimitExtension(BaseModel):
    """An authorized extension of a limit (e.g. Art. 42: ten more working days)."""

    model_config = ConfigDict(frozen=True)

    decided_by: Staff
    days: StrictInt = Field(ge=1, le=30)  # `true` and "5" are not a number of days
    reason: Text = Field(min_length=1, max_length=500)


class ExtensionReceipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    limit: str
    days: int


class StopOrder(BaseModel):
    """The application tells an item to stop (withdrawn, cancelled, deficiency lapsed)."""

    model_config = ConfigDict(frozen=True)

    reason: str
    actor: str
    role: str
    revoke: bool = False  # revoke a license issued on trust


class Withdrawal(BaseModel):
    """The applicant withdraws the application (撤回申请)."""

    model_config = ConfigDict(frozen=True)

    reason: Text = Field(min_length=1, max_length=500)
    # A window clerk withdrawing for the applicant; None when the applicant acts.
    received_by: Staff | None = None


class RefusalGround(StrEnum):
    """The only grounds to refuse to accept (不予受理, Art. 32(1)(2)); incomplete materials are
    never one (补正 instead)."""

    NOT_LICENSABLE = "not_licensable"
    OUTSIDE_POWERS = "outside_powers"

    @property
    def label(self) -> str:
        if self is RefusalGround.NOT_LICENSABLE:
            return "申请事项依法不需要取得行政许可"
        return "申请事项依法不属于本行政机关职权范围"


class Refusal(BaseModel):
    """A window clerk refuses to accept the application (不予受理), before it is accepted."""

    model_config = ConfigDict(frozen=True)

    ground: RefusalGround
    reason: Text = Field(min_length=1, max_length=500)
    competent_office: Line | None = Field(None, min_length=1, max_length=100)
    refused_by: Staff

    @model_validator(mode="after")
    def _competent_office_named(self) -> Refusal:
        if self.ground is RefusalGround.OUTSIDE_POWERS and not _has_text(self.competent_office):
            raise ValueError("competent_office: name the office the applicant should turn to")
        return self


class Cancellation(BaseModel):
    """An operator cancels the application (e.g. submitted in error)."""

    model_config = ConfigDict(frozen=True)

    operator: Staff
    reason: Text = Field(min_length=1, max_length=500)


def _no_numbers_of_people(reason: str) -> str:
    if re.search(r"\d{11}", reason):
        raise ValueError("is kept in plain text in history: leave out ID and phone numbers")
    return reason


# A terminate reason: Temporal keeps it unencrypted, so one line and no ID or phone number.
PlainReason = Annotated[
    Line,
    AfterValidator(when_made(_no_numbers_of_people)),
    Field(min_length=1, max_length=300, pattern=r"\S"),
]


class Termination(BaseModel):
    """An operator ends a workflow that cannot run (its input cannot be read back, it
    answers no query): Temporal terminates it, no workflow code runs, its items end with
    it. The reason goes into history in plain text, beside the operator's staff ID."""

    model_config = ConfigDict(frozen=True)

    operator: Staff
    reason: PlainReason

    @model_validator(mode="after")
    def _by_an_operator(self) -> Termination:
        if self.operator.role is not Role.OPERATOR:
            raise ValueError("operator.role: only an operator terminates an application")
        return self

    def history_reason(self) -> str:
        """The terminate reason Temporal records: who, and why."""
        return f"操作员 {self.operator.staff_id} 终止: {self.reason}"


class TrailEntry(BaseModel):
    """One line of the decision trail: who decided what, when, under which rule."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    action: str
    actor: str
    role: str
    item_code: str | None = None
    rule: str | None = None  # catalog version and item code the decision stands on
    detail: str | None = None
    # The person the actor acted for: a clerk withdrawing at the window for the applicant.
    on_behalf_of: str | None = None


class RevocationGround(StrEnum):
    """Why a license was revoked, as a verifier may be told (the details stay in the case)."""

    FALSE_COMMITMENT = "false_commitment"  # 承诺不实
    FAILED_REINSPECTION = "failed_reinspection"  # 整改后复查仍不合格
    BROKEN_PLEDGE = "broken_pledge"  # 容缺材料逾期未补齐

    @property
    def label(self) -> str:
        return _GROUND_LABELS[self]


_GROUND_LABELS = {
    RevocationGround.FALSE_COMMITMENT: "承诺不实",
    RevocationGround.FAILED_REINSPECTION: "整改后复查仍不合格",
    RevocationGround.BROKEN_PLEDGE: "容缺材料逾期未补齐",
}


class LicenseRecord(BaseModel):
    """An issued electronic license, as the registry holds it (no personal data here)."""

    model_config = ConfigDict(frozen=True)

    number: str
    item_code: str
    license_kind: str
    verification_code: str
    valid_from: datetime
    status: str = "issued"
    revoked_at: datetime | None = None
    revocation_ground: RevocationGround | None = None

    def revoked(self, at: datetime, ground: RevocationGround) -> LicenseRecord:
        """The same license as the registry holds it once revoked."""
        return self.model_copy(
            update={"status": "revoked", "revoked_at": at, "revocation_ground": ground}
        )


# The application's signal that an item's license is issued, by the name activities send it.
ITEM_ISSUED_SIGNAL = "item_issued"


class ItemIssued(BaseModel):
    """An item tells its application that its license is issued (later items may start)."""

    model_config = ConfigDict(frozen=True)

    item_code: str
    license: LicenseRecord
    path: ApprovalPath


class ItemOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    item_code: str
    status: ItemStatus
    path: ApprovalPath | None = None
    license: LicenseRecord | None = None
    reason: str | None = None


class ApplicationOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    application_id: str
    status: ApplicationStatus
    catalog_version: str | None = None
    case_number: str | None = None  # 办件编号, given at acceptance; none if never accepted
    notice: MissingMaterialsNotice | None = None
    items: list[ItemOutcome] = Field(default_factory=list)
    reason: str | None = None

    def license(self, item_code: str) -> LicenseRecord | None:
        return next((i.license for i in self.items if i.item_code == item_code), None)


# -- what the workflows carry and show (their inputs and Query answers) ----------------------


class ItemCase(BaseModel):
    """What the item workflow needs; the item is as the application's pinned catalog says."""

    model_config = ConfigDict(frozen=True)

    application_id: str
    application_workflow_id: str
    item: Item
    catalog_version: str
    hall: str
    holder_name: str
    credit_subject: str
    path: ApprovalPath
    hold_until_supplemented: bool = False  # deficiency outstanding, rule: issue after materials
    has_dependents: bool = False  # later items of the bundle wait for this license
    licenses_from_bundle: list[LicenseRecord] = Field(default_factory=list)
    # The application's answer to its patch "central-activities-local"; items started
    # before that change have no such field and keep their remote activities.
    central_activities_local: bool = False
    # The application's answer to its patch "procedure-revision-2026-12" (workflows.common).
    revised: bool = False
    # The application's answer to its patch "fewer-events-2026-12" (workflows.common).
    fewer_events: bool = False
    # Under "items-at-departments-2026-12": the item runs on its department's queue and this
    # is the workflows' queue (the clock's and the recorded activities run there). None: the
    # item runs on the workflows' queue itself.
    central_queue: str | None = None
    # The application's answer to its patch "lighter-histories-2026-12" (workflows.common).
    lighter: bool = False

    @property
    def at_department(self) -> bool:
        """Under "items-at-departments-2026-12" (which also anchors the item's clocks'
        provisional refreshes at their start, `LegalClock(anchored_refresh=...)`)."""
        return self.central_queue is not None


class StaffTaskRef(BaseModel):
    task_id: str
    kind: str
    role: Role
    department: str


class ItemState(BaseModel):
    item_code: str
    status: ItemStatus
    path: ApprovalPath | None
    open_task: StaffTaskRef | None
    clock: ClockSnapshot | None
    license: LicenseRecord | None
    trips: int
    trail: list[TrailEntry]
    # Procedure revision 2026-12: the statutory limit counted beside the step's (until the
    # decision), and the excluded time (Art. 45) running now.
    statutory_clock: ClockSnapshot | None = None
    excluded_time: ExcludedTimeStart | None = None


class ItemRef(BaseModel):
    item_code: str
    name: str
    department: str
    workflow_id: str
    status: ItemStatus
    path: ApprovalPath | None = None
    license: LicenseRecord | None = None
    reason: str | None = None


class ApplicationState(BaseModel):
    """What anyone allowed to see the application may read; no personal data."""

    application_id: str
    status: ApplicationStatus
    target: str
    name: str | None
    channel: str
    hall: str
    case_number: str | None = None  # 办件编号, given at acceptance (procedure revision 2026-12)
    assisted: bool  # 帮办代办: an agent applied for the applicant
    catalog_version: str | None
    notice: MissingMaterialsNotice | None
    # Materials still awaited: for the correction (补正) before acceptance, or the deficient
    # ones to be supplemented (容缺) after it.
    outstanding: list[MissingMaterial]
    supplement_clock: ClockSnapshot | None
    correction_clock: ClockSnapshot | None = None
    joint_clock: ClockSnapshot | None = None  # a bundle's joint limit (Art. 42 (2))
    items: list[ItemRef]
    trips: int  # in-person trips the applicant made
    trail: list[TrailEntry]
