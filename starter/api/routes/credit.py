"""HTTP routes of credit (信用), mounted by `starter.api.create_app`: an applicant's credit
standing read by staff (or by the applicant), an objection (异议) to a record, its
decision, and credit repair (信用修复).

The ID number or credit code travels in the request body only, never in a URL (the access
log names the route template, not its values) and is never repeated in an answer. Who
acts comes from the token, never from the body; the rules are `starter.auth.may_read_credit`,
`may_object_to_credit` and `may_decide_credit`. The subject is `domain.credit.credit_subject`,
the same digest the workflow's `credit_standing` look-up uses, so what is repaired here is
what the next application is judged by.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from domain.catalog import Catalog
from domain.credit import (
    CreditAction,
    CreditActionRefused,
    CreditIdentity,
    CreditRecordFacts,
    CreditRecordView,
    CreditStandingReport,
    ObjectionVerdict,
    credit_subject,
    record_view,
    standing_report,
)
from domain.text import Text
from starter import auth
from starter.api.deps import Caller
from starter.auth import Principal, sha256_hex
from starter.errors import ApiError, error_responses
from store import credit as credit_store
from store.credit import RecordNotFound

__all__ = ["ObjectionDecisionIn", "ObjectionIn", "RepairIn", "add_routes"]

RecordId = Annotated[
    int, Path(ge=1, le=2**31 - 1, description="A credit record's id (from a standing).")
]
_EXAMPLE_ID = "420684199001010013"  # made up, with its check digit


class ObjectionIn(CreditIdentity):
    """Whose record it is (it must be theirs) and why it is wrong."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "examples": [{"id_number": _EXAMPLE_ID, "reason": "材料已于期限内邮寄送达, 附回执"}]
        },
    )

    reason: Text = Field(min_length=1, max_length=400, pattern=r"\S")


class ObjectionDecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"verdict": "upheld", "reason": "邮寄回执证明按期送达"}]},
    )

    verdict: ObjectionVerdict = Field(
        description="upheld: the record was wrong and bars no more; rejected: it stands."
    )
    reason: Text = Field(min_length=1, max_length=400, pattern=r"\S")


class RepairIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"basis": "已补齐材料并提交信用修复承诺书, 公示期满"}]},
    )

    basis: Text = Field(
        min_length=1, max_length=400, pattern=r"\S", description="Why the record is repaired."
    )


def _id_sha256(identity: CreditIdentity) -> str | None:
    return sha256_hex(identity.id_number) if identity.id_number is not None else None


def add_routes(router: APIRouter, engine: Engine, catalog: Catalog) -> None:
    """`POST /credit/standing/lookup`, `POST /credit/records/{id}/objection`,
    `…/objection/decision` and `…/repair`."""

    def item_name(code: str) -> str | None:
        item = catalog.items.get(code)
        return item.name if item is not None else None

    def view(facts: CreditRecordFacts) -> CreditRecordView:
        return record_view(facts, item_name)

    async def act(
        principal: Principal,
        record_id: int,
        action: CreditAction,
        reason: str,
        subject: str | None = None,
    ) -> CreditRecordView:
        def run() -> CreditRecordFacts:
            return credit_store.act_on(
                engine,
                record_id,
                action,
                by=principal.name,
                role=principal.role.value,
                reason=reason,
                at=datetime.now(UTC),
                subject=subject,
            )

        try:
            return view(await run_in_threadpool(run))
        except RecordNotFound as exc:
            raise ApiError.field(404, "record_id", str(exc)) from None
        except CreditActionRefused as exc:
            raise ApiError.field(409, "record_id", str(exc)) from None

    @router.post(
        "/credit/standing/lookup",
        tags=["credit"],
        response_model=CreditStandingReport,
        summary="An applicant's credit standing: records, and whether the trust paths are barred",
        description=(
            "The ID number (a person) or the unified social credit code (an organisation) "
            "goes in the body, so it never stands in a URL or a log. Window clerks, "
            "reviewers, inspectors, heads of department, supervisors and auditors read any "
            "standing; an applicant only the one under their own ID number. Answers every "
            "record (kind, date, application, item, status: active, objected, repaired, "
            "corrected), whether deficiency acceptance (容缺受理) and commitment approval "
            "(告知承诺) are barred and by which records, and why, in Chinese. Applications "
            "of today file an enterprise's records under its representative's ID number."
        ),
        responses=error_responses(401, 403, 422, 503),
        openapi_extra={
            "requestBody": {
                "content": {"application/json": {"example": {"id_number": _EXAMPLE_ID}}}
            }
        },
    )
    async def credit_standing(body: CreditIdentity, principal: Caller) -> Any:
        auth.may_read_credit(principal, id_sha256=_id_sha256(body))
        records = await run_in_threadpool(
            lambda: credit_store.records_of_subject(engine, credit_subject(body))
        )
        return standing_report(body.kind, records, item_name)

    @router.post(
        "/credit/records/{record_id}/objection",
        tags=["credit"],
        response_model=CreditRecordView,
        summary="The applicant objects (异议) to a record: it shows objected, the bar stays",
        description=(
            "The applicant (their own record) or a window clerk on their behalf; the body "
            "names whose record it is, and a record not under that ID number or code is 404 "
            "as an unknown one. The bar stays until a supervisor decides. 409 when an "
            "objection is pending, one was rejected before, or the record no longer bars."
        ),
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def object_to_credit_record(
        record_id: RecordId, body: ObjectionIn, principal: Caller
    ) -> Any:
        auth.may_object_to_credit(principal, id_sha256=_id_sha256(body))
        return await act(
            principal, record_id, CreditAction.OBJECTED, body.reason, credit_subject(body)
        )

    @router.post(
        "/credit/records/{record_id}/objection/decision",
        tags=["credit"],
        response_model=CreditRecordView,
        summary="A supervisor decides the objection: upheld corrects the record, rejected keeps it",
        description=(
            "Upheld: the record was wrong; it shows corrected and bars no more. Rejected: it "
            "is active again and bars. 409 when no objection is pending."
        ),
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def decide_credit_objection(
        record_id: RecordId, body: ObjectionDecisionIn, principal: Caller
    ) -> Any:
        auth.may_decide_credit(principal)
        upheld = body.verdict is ObjectionVerdict.UPHELD
        action = CreditAction.OBJECTION_UPHELD if upheld else CreditAction.OBJECTION_REJECTED
        return await act(principal, record_id, action, body.reason)

    @router.post(
        "/credit/records/{record_id}/repair",
        tags=["credit"],
        response_model=CreditRecordView,
        summary="A supervisor repairs the record (信用修复): it bars no more",
        description=(
            "With the basis of the repair. When no other record bars, the applicant's next "
            "application is offered deficiency acceptance and commitment approval again. "
            "409 while an objection is pending (decide it first) or when the record no "
            "longer bars."
        ),
        responses=error_responses(401, 403, 404, 409, 422, 503),
    )
    async def repair_credit_record(record_id: RecordId, body: RepairIn, principal: Caller) -> Any:
        auth.may_decide_credit(principal)
        return await act(principal, record_id, CreditAction.REPAIRED, body.basis)
