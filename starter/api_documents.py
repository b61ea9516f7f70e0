"""HTTP routes of the documents (文书) an application's applicant received, mounted by
`starter.api.create_app`: the list, and one document as a printable page (HTML) or JSON.

Readable by whoever may read the application's notices, with the same rule: a document is
shown when its notice is (`starter.redaction.notices_for_caller`), so a department's staff
see none of another department's items' documents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from domain.application import ApplicationState
from domain.documents import DOCUMENT_KINDS, DOCUMENT_NUMBER_PATTERN, render_html
from domain.notices import SERVICE_CENTER_TIMEZONE
from starter.api import ApplicationId, Caller
from starter.auth import Principal
from starter.errors import ApiError, error_responses
from starter.redaction import DepartmentOf, notices_for_caller
from store import documents as document_store
from store import notifications as notification_store
from store.documents import Document

__all__ = ["DocumentOut", "DocumentSummaryOut", "add_document_routes"]

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


class DocumentSummaryOut(BaseModel):
    number: str
    title: str = Field(description="The document's title, e.g. 补正材料通知书.")
    issued_at: datetime = Field(description="ISO 8601, Beijing time with its offset.")
    link: str = Field(description="Path of the document (HTML or JSON by Accept).")


class DocumentOut(DocumentSummaryOut):
    application_id: str
    kind: str = Field(description="The notice's kind the document was issued for.")
    issuer: str
    legal_basis: str
    content: str
    recipient: str

    @classmethod
    def of(cls, d: Document) -> DocumentOut:
        return cls(**_summary(d).model_dump(), **_details(d))


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


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept.lower()


def add_document_routes(
    app: FastAPI,
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

    @app.get(
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

    @app.get(
        "/applications/{application_id}/documents/{number}",
        tags=["applications"],
        response_model=DocumentOut,
        summary="One document: a printable page (Accept: text/html) or JSON",
        responses={
            200: {
                "description": "The document.",
                "content": {"text/html": {"schema": {"type": "string"}}},
            },
            **error_responses(401, 403, 404, 422, 503),
        },
    )
    async def get_document(
        application_id: ApplicationId, number: DocumentNumber, principal: Caller, request: Request
    ) -> Any:
        found = [d for d in await shown(principal, application_id) if d.number == number]
        if not found:
            raise ApiError(404, "no such document", fields=[("number", "not found")])
        d = found[0]
        if _wants_html(request):
            kind = DOCUMENT_KINDS.get(d.kind)
            page = render_html(
                title=d.title,
                number=d.number,
                issuer=d.issuer,
                issued_at=d.issued(),
                content=d.content,
                basis=d.legal_basis,
                decision=kind.decision if kind is not None else False,
            )
            return HTMLResponse(page)
        return DocumentOut.of(d)
