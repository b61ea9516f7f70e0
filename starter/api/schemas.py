"""Wire schemas of the HTTP API: request bodies, responses and pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from domain.application import (
    ApplicationStatus,
    Channel,
    InspectionResult,
    ItemStatus,
    MaterialCode,
    PlainReason,
    RefusalGround,
    ReviewVerdict,
    Submission,
)
from domain.bundle import BundleReductions, MaterialSet
from domain.catalog_models import Bundle, ItemKind, Window
from domain.people import Role
from domain.text import Line, Text
from store import deliveries as delivery_store
from store import notifications as notification_store

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last.")


def page_of(rows: Sequence[T], total: int, limit: int, offset: int) -> Page[T]:
    following = offset + limit
    return Page[T](
        items=list(rows),
        total=total,
        limit=limit,
        offset=offset,
        next_offset=following if following < total else None,
    )


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null last.")


class ApplicationSummary(BaseModel):
    """One application in a list, from its search attributes (never personal data)."""

    application_id: str
    status: str | None
    bundle_code: str | None
    item_codes: list[str]
    departments: list[str]
    hall: str | None
    channel: str | None
    escalated: bool | None
    started_at: datetime | None
    closed_at: datetime | None


class SubmissionIn(Submission):
    """A submission as the API takes it: the pledges are JSON booleans, never 0/1 or "yes"
    (a signature is not something to guess from a number); a field it does not know is
    refused by name, not dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commitment_signed: StrictBool = False
    deficiency_pledge_signed: StrictBool = False


class SubmitReceiptOut(BaseModel):
    application_id: str
    workflow_id: str
    created: bool = Field(description="False: this application ID was submitted before.")
    href: str = Field(description="Where to read the application.")


def _reason_unless(field: str, verdict: str, ok: str) -> dict[str, Any]:
    """JSON Schema: `field` must hold text unless `verdict` is `ok` (as the validators say)."""
    return {
        "if": {"properties": {verdict: {"not": {"const": ok}}}, "required": [verdict]},
        "then": {
            "required": [field],
            "properties": {field: {"type": "string", "pattern": r"\S"}},
        },
    }


class DecisionIn(BaseModel):
    """A reviewer's decision; the reviewer is the caller's token."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            **_reason_unless("reason", "verdict", "approve"),
            "examples": [{"verdict": "approve"}, {"verdict": "reject", "reason": "证明材料不符"}],
        },
    )

    verdict: ReviewVerdict
    reason: Text | None = Field(None, max_length=500, description="Required unless approving.")

    @model_validator(mode="after")
    def _reason(self) -> DecisionIn:
        if self.verdict is not ReviewVerdict.APPROVE and not (self.reason and self.reason.strip()):
            raise ValueError(f"reason: {self.verdict.value} must give the reason")
        return self


class InspectionIn(BaseModel):
    """An on-site inspection's result; the inspector is the caller's token."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            **_reason_unless("findings", "result", "passed"),
            "examples": [{"result": "passed"}, {"result": "failed", "findings": "后厨未设隔油池"}],
        },
    )

    result: InspectionResult
    findings: Text | None = Field(None, max_length=500, description="Required unless passed.")

    @model_validator(mode="after")
    def _findings(self) -> InspectionIn:
        if self.result is not InspectionResult.PASSED and not (
            self.findings and self.findings.strip()
        ):
            raise ValueError(f"findings: a {self.result.value} inspection must state the findings")
        return self


ANSWER_CHANNEL_DOC = (
    "How it arrived. Applicants: online (default) or mail; window clerks: window (default) or mail."
)


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Text = Field(min_length=1, max_length=500, pattern=r"\S")
    channel: Channel | None = Field(None, description=ANSWER_CHANNEL_DOC)


class SupplementIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"materials": ["nurse-health-exam"]}]}
    )

    materials: list[MaterialCode] = Field(min_length=1, max_length=50)
    channel: Channel | None = Field(None, description=ANSWER_CHANNEL_DOC)


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: StrictInt = Field(ge=1, le=30, description="Working days to add to the running limit.")
    reason: Text = Field(min_length=1, max_length=500, pattern=r"\S")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=500, pattern=r"\S")


class TerminationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "输入无法读取, 已通知重新提交"}]}
    )

    reason: PlainReason = Field(
        description="One line, kept in plain text in history: name no person, no ID number."
    )


class TerminationOut(BaseModel):
    application_id: str
    status: Literal["terminated"]
    by: str


class RefusalIn(ReasonIn):
    ground: RefusalGround
    competent_office: Line | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="The office the applicant should turn to; required for outside_powers.",
    )

    @model_validator(mode="after")
    def _office_named(self) -> RefusalIn:
        if self.ground is RefusalGround.OUTSIDE_POWERS and self.competent_office is None:
            raise ValueError("competent_office: name the office the applicant should turn to")
        return self


class DeliveryOut(BaseModel):
    """One channel's delivery of a notice; `reason` names no person, address or number."""

    channel: Literal["email", "sms"]
    status: Literal["pending", "sent", "failed"]
    attempts: int = Field(description="Attempts made so far.")
    last_attempt_at: datetime | None
    reason: str | None = Field(description="The last failed attempt's cause, short.")


class NoticeOut(BaseModel):
    recipient: str = Field(description='"applicant", or a role and department.')
    kind: str
    message: str
    created_at: datetime
    delivery: Literal["outbox_only", "pending", "sent", "failed"] = Field(
        description=(
            "outbox_only: no channel applies (delivery not configured, or no mailbox for the "
            "department); pending while a channel is being tried; failed when one gave up; "
            "sent when every channel delivered."
        )
    )
    deliveries: list[DeliveryOut] = Field(description="Each channel's delivery.")

    @classmethod
    def of(
        cls, notice: notification_store.Notification, rows: list[delivery_store.NoticeDelivery]
    ) -> NoticeOut:
        return cls(
            recipient=notice.recipient,
            kind=notice.kind,
            message=notice.message,
            created_at=notice.created_at,
            delivery=delivery_store.summary(rows),
            deliveries=[DeliveryOut.model_validate(r, from_attributes=True) for r in rows],
        )


class ResolutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Text = Field(min_length=1, max_length=400, pattern=r"\S")


class SupervisionCaseOut(BaseModel):
    """A limit that passed and went to supervision; `subject` names no person."""

    id: int
    workflow_id: str
    limit_name: str
    stage: int
    level: str
    department: str
    subject: str
    due_at: datetime
    boundary_at: datetime
    escalated_at: datetime
    total_days: int
    provisional: bool
    status: str
    closed_at: datetime | None
    resolution: str | None


class ItemActionOut(BaseModel):
    application_id: str
    item_code: str
    action: str
    by: str
    status: ItemStatus = Field(description="The item's status as the action was recorded.")


class SupplementOut(BaseModel):
    application_id: str
    outstanding: list[str] = Field(description="Material codes still awaited.")


class ApplicationActionOut(BaseModel):
    application_id: str
    status: ApplicationStatus
    by: str


class Pending(BaseModel):
    application_id: str
    status: ApplicationStatus
    done: Literal[False] = False


class TakeTaskIn(BaseModel):
    """Task IDs hold slashes (application/item/step), so the ID travels in the body."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(min_length=1, max_length=200)


class ReassignTaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(min_length=1, max_length=200)
    to: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._\-]+$",
        description="Staff ID of the new taker: of the task's role and department (or hall).",
    )


class TaskOut(BaseModel):
    task_id: str
    application_id: str
    item_code: str | None
    kind: str
    department: str | None
    role: str
    hall: str | None
    status: str
    due_at: datetime | None
    created_at: datetime
    closed_at: datetime | None
    outcome: str | None
    closed_by: str | None
    taken_by: str | None = None
    taken_at: datetime | None = None
    handed_over_by: str | None = Field(None, description="Who last released or reassigned it.")
    handed_over_at: datetime | None = None
    handed_over_from: str | None = Field(None, description="Its taker before that handover.")

    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        # SQLite hands back naive values; everything the store keeps is UTC.
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class ItemSummary(BaseModel):
    code: str
    name: str
    department: str
    department_name: str
    kind: ItemKind
    window: Window
    statutory_days: int
    promised_days: int
    produces: str | None
    admits_deficiency: bool
    admits_commitment: bool


class BundleSummary(BaseModel):
    code: str
    name: str
    items: list[str]
    promised_days: int


class BundleDetail(BaseModel):
    bundle: Bundle
    catalog_version: str
    stages: list[list[str]]
    form_schema: dict[str, Any] = Field(description="The one form, as JSON Schema 2020-12.")
    materials: MaterialSet
    reductions: BundleReductions


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    temporal: str
    store: str


class Me(BaseModel):
    name: str
    role: Role
    hall: str | None
    department: str | None
