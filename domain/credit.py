"""Credit (信用): records that bar the deficiency and commitment paths until repaired.

国办发〔2019〕35号 and 〔2020〕42号: an applicant who broke a deficiency pledge or made a
false commitment is not offered deficiency acceptance or commitment approval until
the record is repaired (信用修复). The applicant may object (异议) to a record; while the
objection is pending the bar stays; an objection upheld corrects the record (it bars no
more), one rejected leaves it standing.

Whose record: an enterprise's is kept under its unified social credit code (GB 32100-2015,
`domain.uscc`), a person's under the resident ID number; `credit_subject()` is the one
place that picks it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.notices import local_time
from domain.people import Applicant, ResidentId
from domain.uscc import CreditCode


class CreditRecordKind(StrEnum):
    BROKEN_PLEDGE = "broken_pledge"  # deficiency materials not supplemented in time
    FALSE_COMMITMENT = "false_commitment"  # commitment found untrue on inspection
    REVOCATION = "revocation"  # a license revoked after failed inspection

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    CreditRecordKind.BROKEN_PLEDGE: "容缺受理承诺未履行（逾期未补齐材料）",
    CreditRecordKind.FALSE_COMMITMENT: "告知承诺不实",
    CreditRecordKind.REVOCATION: "许可被撤销",
}

BARRING_KINDS = frozenset(CreditRecordKind)
# The trust paths a barring record closes (both, by 国办发〔2019〕35号 and 〔2020〕42号).
TrustPath = Literal["deficiency", "commitment"]
TRUST_PATHS: tuple[TrustPath, ...] = ("deficiency", "commitment")


class RecordStatus(StrEnum):
    ACTIVE = "active"
    OBJECTED = "objected"  # an objection is pending: the bar stays until it is decided
    REPAIRED = "repaired"  # 信用修复
    CORRECTED = "corrected"  # an objection upheld: the record was wrong

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def bars(self) -> bool:
        return self in (RecordStatus.ACTIVE, RecordStatus.OBJECTED)


_STATUS_LABELS = {
    RecordStatus.ACTIVE: "有效",
    RecordStatus.OBJECTED: "异议处理中",
    RecordStatus.REPAIRED: "已信用修复",
    RecordStatus.CORRECTED: "异议成立，已更正",
}
BARRING_STATUSES = frozenset(s for s in RecordStatus if s.bars)


class SubjectKind(StrEnum):
    PERSON = "person"  # 自然人: resident ID number
    ENTERPRISE = "enterprise"  # 法人和其他组织: unified social credit code


class CreditIdentity(BaseModel):
    """Whose credit: a person's ID number or an organisation's credit code, exactly one.
    Both are personal or business data: they travel in request bodies, never in URLs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id_number: ResidentId | None = Field(
        None, description="A person's resident ID number (18 characters, check digit)."
    )
    credit_code: CreditCode | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> CreditIdentity:
        if (self.id_number is None) == (self.credit_code is None):
            raise ValueError("give exactly one of id_number or credit_code")
        return self

    @property
    def kind(self) -> SubjectKind:
        return SubjectKind.PERSON if self.credit_code is None else SubjectKind.ENTERPRISE


_ENTERPRISE_TAG = "uscc:"  # an ID number never holds ':', so the two never meet


def credit_subject(who: Applicant | CreditIdentity | str) -> str:
    """The pre-image of the key credit records are filed under: an applicant with a credit
    code is filed under the code (the enterprise's record), any other under the ID number.

    A plain string is an ID number: what workflows begun before the patch
    `credit-subject-by-code` pass for every applicant (an enterprise's records under its
    representative's ID number); since then an applicant with a code is filed under it,
    and a running application keeps the subject it was looked up under.

    Computed in workflow code (which may read no secret): an unkeyed digest that
    enumerating ID numbers reverses, so it stays inside encrypted payloads; the credit
    activities and the store key it with the subject keyring (`onething.keys`) before
    anything is stored or looked up."""
    if isinstance(who, str):
        key = who
    elif isinstance(who, Applicant):
        key = who.id_number if who.credit_code is None else _ENTERPRISE_TAG + who.credit_code
    elif who.credit_code is not None:
        key = _ENTERPRISE_TAG + who.credit_code
    else:
        assert who.id_number is not None
        key = who.id_number
    return hashlib.sha256(f"onething-credit:{key}".encode()).hexdigest()[:32]


def subject_kind(who: Applicant | CreditIdentity) -> SubjectKind:
    if isinstance(who, Applicant):
        return SubjectKind.PERSON if who.credit_code is None else SubjectKind.ENTERPRISE
    return who.kind


class CreditEntry(BaseModel):
    """One record to write (idempotent by application, item and kind)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    kind: CreditRecordKind
    application_id: str
    item_code: str | None
    recorded_at: datetime
    detail: str


class CreditStanding(BaseModel):
    """What the `credit_standing` activity answers the workflow: the kinds of the records
    that bar (active, or objected and not yet decided)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    open_records: list[CreditRecordKind]

    @property
    def barred(self) -> bool:
        """Neither deficiency acceptance nor commitment approval is offered."""
        return any(kind in BARRING_KINDS for kind in self.open_records)

    def explain(self) -> str:
        if not self.open_records:
            return "信用良好"
        return "未修复的失信记录: " + "、".join(sorted({k.label for k in self.open_records}))


# -- objection (异议) and repair (信用修复) ------------------------------------------------


class CreditAction(StrEnum):
    OBJECTED = "objected"
    OBJECTION_UPHELD = "objection_upheld"
    OBJECTION_REJECTED = "objection_rejected"
    REPAIRED = "repaired"

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self]


_ACTION_LABELS = {
    CreditAction.OBJECTED: "提出异议",
    CreditAction.OBJECTION_UPHELD: "异议成立，记录更正",
    CreditAction.OBJECTION_REJECTED: "异议不成立，记录维持",
    CreditAction.REPAIRED: "信用修复",
}


class ObjectionVerdict(StrEnum):
    UPHELD = "upheld"  # the record was wrong: corrected, it bars no more
    REJECTED = "rejected"  # the record stands


class CreditActionRefused(ValueError):
    """What the record's state does not allow (the API answers 409)."""


def after(
    status: RecordStatus, action: CreditAction, *, rejected_before: bool = False
) -> RecordStatus:
    """The record's status after `action`, or CreditActionRefused saying why not.

    One objection per record: once rejected, the way on is credit repair. A record under
    objection is decided before it is repaired, so the objection is answered either way."""
    if status is RecordStatus.REPAIRED:
        raise CreditActionRefused("the record is repaired already")
    if status is RecordStatus.CORRECTED:
        raise CreditActionRefused("the record was corrected on objection already")
    if action is CreditAction.OBJECTED:
        if status is RecordStatus.OBJECTED:
            raise CreditActionRefused("an objection to this record is pending")
        if rejected_before:
            raise CreditActionRefused(
                "an objection to this record was rejected already; credit repair is the way on"
            )
        return RecordStatus.OBJECTED
    if action in (CreditAction.OBJECTION_UPHELD, CreditAction.OBJECTION_REJECTED):
        if status is not RecordStatus.OBJECTED:
            raise CreditActionRefused("there is no pending objection to this record")
        upheld = action is CreditAction.OBJECTION_UPHELD
        return RecordStatus.CORRECTED if upheld else RecordStatus.ACTIVE
    if status is RecordStatus.OBJECTED:
        raise CreditActionRefused("an objection to this record is pending: decide it first")
    return RecordStatus.REPAIRED


# -- what staff and the applicant read ------------------------------------------------------


class CreditEventView(BaseModel):
    """One objection, decision or repair: who, when, why."""

    model_config = ConfigDict(frozen=True)

    action: CreditAction
    action_text: str
    by: str = Field(description="Staff ID, or the applicant's token name.")
    role: str
    at: datetime
    at_local: str = Field(description="北京时间")
    reason: str


class CreditRecordView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    kind: CreditRecordKind
    kind_text: str
    recorded_at: datetime
    recorded_at_local: str = Field(description="北京时间")
    application_id: str
    item_code: str | None
    item_name: str | None
    detail: str
    status: RecordStatus
    status_text: str
    bars: bool = Field(description="Whether it bars the deficiency and commitment paths now.")
    events: list[CreditEventView]


class CreditStandingReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_kind: SubjectKind
    barred: bool
    deficiency_barred: bool
    commitment_barred: bool
    barred_paths: list[TrustPath]
    barred_by: list[int] = Field(description="The records that bar, by id.")
    explanation: str = Field(description="The standing and why, in Chinese.")
    records: list[CreditRecordView]


class CreditEventFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: CreditAction
    by: str
    role: str
    at: datetime
    reason: str


class CreditRecordFacts(BaseModel):
    """A record as the store keeps it (without its subject)."""

    model_config = ConfigDict(frozen=True)

    id: int
    kind: CreditRecordKind
    application_id: str
    item_code: str | None
    recorded_at: datetime
    detail: str
    status: RecordStatus
    events: list[CreditEventFacts] = []


def record_view(
    facts: CreditRecordFacts, item_name: Callable[[str], str | None] = lambda _: None
) -> CreditRecordView:
    return CreditRecordView(
        id=facts.id,
        kind=facts.kind,
        kind_text=facts.kind.label,
        recorded_at=facts.recorded_at,
        recorded_at_local=local_time(facts.recorded_at),
        application_id=facts.application_id,
        item_code=facts.item_code,
        item_name=item_name(facts.item_code) if facts.item_code else None,
        detail=facts.detail,
        status=facts.status,
        status_text=facts.status.label,
        bars=facts.status.bars and facts.kind in BARRING_KINDS,
        events=[
            CreditEventView(
                action=e.action,
                action_text=e.action.label,
                by=e.by,
                role=e.role,
                at=e.at,
                at_local=local_time(e.at),
                reason=e.reason,
            )
            for e in facts.events
        ],
    )


def standing_report(
    kind: SubjectKind,
    records: Iterable[CreditRecordFacts],
    item_name: Callable[[str], str | None] = lambda _: None,
) -> CreditStandingReport:
    """The standing the `credit_standing` activity gives the workflow, with every record
    and the reason, for staff and the applicant."""
    views = sorted((record_view(r, item_name) for r in records), key=lambda v: v.recorded_at)
    barring = [v for v in views if v.bars]
    barred = bool(barring)
    return CreditStandingReport(
        subject_kind=kind,
        barred=barred,
        deficiency_barred=barred,
        commitment_barred=barred,
        barred_paths=list(TRUST_PATHS) if barred else [],
        barred_by=[v.id for v in barring],
        explanation=_explanation(barring, views),
        records=views,
    )


def _explanation(barring: list[CreditRecordView], views: list[CreditRecordView]) -> str:
    if not barring:
        lifted = "（原有失信记录已修复或已更正）" if views else ""
        return f"信用良好{lifted}：可以适用容缺受理和告知承诺。"
    lines = []
    for v in barring:
        pending = "，异议处理中" if v.status is RecordStatus.OBJECTED else ""
        lines.append(f"{v.recorded_at_local} {v.kind_text}（申请 {v.application_id}{pending}）")
    return (
        "不适用容缺受理和告知承诺：有未修复的失信记录——"
        + "；".join(lines)
        + "。对记录有异议的可以提出异议（处理期间限制不解除），或申请信用修复。"
    )
