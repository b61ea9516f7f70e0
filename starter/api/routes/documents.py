"""HTTP routes of the documents (文书) an application's applicant received, mounted by
`starter.api.create_app`: the list, and one document as JSON, a printable page (HTML) or a
PDF, chosen by the Accept header or, for a plain link, by `?format=json|html|pdf`.

Readable by whoever may read the application's notices, with the same rule: a document is
shown when its notice is (`starter.redaction.notices_for_caller`), so a department's staff
see none of another department's items' documents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from domain.application import ApplicationState
from domain.documents import (
    DOCUMENT_KINDS,
    DOCUMENT_NUMBER_PATTERN,
    DocumentPage,
    document_page,
    page_html,
)
from domain.notices import SERVICE_CENTER_TIMEZONE
from starter.api.deps import ApplicationId, Caller
from starter.auth import Principal
from starter.document_pdf import page_pdf
from starter.errors import ApiError, error_responses
from starter.redaction import DepartmentOf, notices_for_caller
from store import case_numbers as case_number_store
from store import documents as document_store
from store import notifications as notification_store
from store.documents import Document

__all__ = ["DocumentOut", "DocumentSummaryOut", "add_routes"]

_BEIJING = ZoneInfo(SERVICE_CENTER_TIMEZONE)

DocumentNumber = Annotated[
    str,
    Path(
        pattern=DOCUMENT_NUMBER_PATTERN,
        max_length=80,
        description="<application ID>-<kind code>-<sequence>, e.g. demo-0001-BZ-001.",
    ),
]
ReadableState = Callable[[Principal, str], Awaitable[ApplicationState]]
Format = Literal["json", "html", "pdf"]
_MEDIA_TYPES: dict[Format, str] = {
    "json": "application/json",  # first: the default, and the winner of a tie
    "html": "text/html",
    "pdf": "application/pdf",
}
DocumentFormat = Annotated[
    Format | None,
    Query(
        description=(
            "json, html or pdf: overrides the Accept header, for links a browser follows "
            "(`...?format=pdf`)."
        )
    ),
]


class DocumentSummaryOut(BaseModel):
    number: str
    title: str = Field(description="The document's title, e.g. 补正材料通知书.")
    issued_at: datetime = Field(description="ISO 8601, Beijing time with its offset.")
    link: str = Field(description="Path of the document (HTML or JSON by Accept).")


class DocumentOut(DocumentSummaryOut):
    application_id: str
    case_number: str | None = Field(
        None, description="办件编号, on the documents issued once the case was accepted."
    )
    kind: str = Field(description="The notice's kind the document was issued for.")
    issuer: str
    legal_basis: str
    content: str
    recipient: str

    @classmethod
    def of(cls, d: Document, case_number: str | None) -> DocumentOut:
        return cls(**_summary(d).model_dump(), **_details(d), case_number=case_number)


def _link(d: Document) -> str:
    return f"/applications/{d.application_id}/documents/{d.number}"


def _summary(d: Document) -> DocumentSummaryOut:
    at = d.issued().astimezone(_BEIJING)
    return DocumentSummaryOut(number=d.number, title=d.title, issued_at=at, link=_link(d))


def _details(d: Document) -> dict[str, Any]:
    return {
        "application_id": d.application_id,
        "kind": d.kind,
        "issuer": d.issuer,
        "legal_basis": d.legal_basis,
        "content": d.content,
        "recipient": d.recipient,
    }


def _accepted(accept: str, media_type: str) -> tuple[float, int]:
    """How much `accept` wants `media_type`: the q of its most specific matching range, and
    that range's specificity (2 exact, 1 `type/*`, 0 `*/*`); (0, -1) if none matches."""
    kind = media_type.split("/")[0]
    best = (0.0, -1)
    for part in accept.lower().split(","):
        name, *params = (p.strip() for p in part.split(";"))
        rank = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(name, -1)
        if rank < best[1] or rank < 0:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best = (q, rank)
    return best


def _format(request: Request, asked: Format | None) -> Format:
    """`?format=` if given, else the Accept header's preferred form (q, then the more
    specific range, then JSON, HTML, PDF); JSON when it names none of them."""
    if asked is not None:
        return asked
    accept = request.headers.get("accept", "")
    scores = {f: _accepted(accept, m) for f, m in _MEDIA_TYPES.items()}
    best = max(scores, key=lambda f: scores[f])  # max keeps the first of equals
    return best if scores[best][0] > 0 else "json"


def _case_number(engine: Engine, d: Document) -> str | None:
    """The case number a document carries: the application's, once it was accepted (a
    correction notice comes before the case has one)."""
    found = case_number_store.accepted(engine, d.application_id)
    if found is None:
        return None
    number, accepted_at = found
    return str(number) if d.issued() >= accepted_at else None


def _page(d: Document, case_number: str | None) -> DocumentPage:
    kind = DOCUMENT_KINDS.get(d.kind)
    return document_page(
        title=d.title,
        number=d.number,
        issuer=d.issuer,
        issued_at=d.issued(),
        content=d.content,
        basis=d.legal_basis,
        decision=kind.decision if kind is not None else False,
        case_number=case_number,
        license=d.kind == "license",
    )


def add_routes(
    router: APIRouter,
    engine: Engine,
    readable_state: ReadableState,
    department_of: Callable[[ApplicationState], DepartmentOf],
) -> None:
    """`GET /applications/{id}/documents` and `GET /applications/{id}/documents/{number}`."""

    async def shown(principal: Principal, application_id: str) -> list[Document]:
        state = await readable_state(principal, application_id)

        def read() -> list[Document]:
            rows = notification_store.notifications_of(engine, application_id)
            visible = notices_for_caller(principal, application_id, rows, department_of(state))
            keys = {n.key for n in visible}
            docs = document_store.documents_of(engine, application_id)
            return [d for d in docs if d.notice_key in keys]

        return await run_in_threadpool(read)

    @router.get(
        "/applications/{application_id}/documents",
        tags=["applications"],
        response_model=list[DocumentSummaryOut],
        summary="Documents (文书) issued to the applicant, in the order issued",
        description=(
            "Whoever may read the application's notices; a department's staff none of "
            "another department's items."
        ),
        responses=error_responses(401, 403, 404, 422, 503),
    )
    async def list_documents(application_id: ApplicationId, principal: Caller) -> Any:
        return [_summary(d) for d in await shown(principal, application_id)]

    @router.get(
        "/applications/{application_id}/documents/{number}",
        tags=["applications"],
        response_model=DocumentOut,
        summary="One document: JSON, a printable page (HTML) or a PDF",
        description=(
            "The form by `Accept` (`application/json`, the default; `text/html`; "
            "`application/pdf`), or by `?format=json|html|pdf`, which wins over Accept so a "
            "plain link can fetch the PDF. HTML and PDF say the same: title, number, 办件编号 "
            "once accepted, the text, the rights on a decision, the legal basis, issuer and "
            "date in Beijing time. A PDF comes as A4 with `Content-Disposition: inline; "
            'filename="<number>.pdf"`. Readable by whoever may read its notice.'
        ),
        responses={
            200: {
                "description": "The document.",
                "content": {
                    "text/html": {"schema": {"type": "string"}},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                },
            },
            **error_responses(401, 403, 404, 422, 503),
        },
    )
    async def get_document(
        application_id: ApplicationId,
        number: DocumentNumber,
        principal: Caller,
        request: Request,
        response: Response,
        format: DocumentFormat = None,
    ) -> Any:
        found = [d for d in await shown(principal, application_id) if d.number == number]
        if not found:
            raise ApiError(404, "no such document", fields=[("number", "not found")])
        d = found[0]
        case_number = await run_in_threadpool(_case_number, engine, d)
        form = _format(request, format)
        vary = {"Vary": "Accept"}
        if form == "html":
            return HTMLResponse(page_html(_page(d, case_number)), headers=vary)
        if form == "pdf":
            pdf = await run_in_threadpool(page_pdf, _page(d, case_number))
            disposition = f'inline; filename="{d.number}.pdf"'  # the number is ASCII
            return Response(
                pdf,
                media_type="application/pdf",
                headers={**vary, "Content-Disposition": disposition},
            )
        response.headers["Vary"] = "Accept"
        return DocumentOut.of(d, case_number)
