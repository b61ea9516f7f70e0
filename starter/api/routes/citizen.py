"""The citizen's pages and routes: progress by case number (`GET/POST /progress`), the
rating from the progress page (`POST /progress/rating`), asking a hall for help
(`GET/POST /help`), and the hall's reading and answering of a help request
(`GET /help-requests/{id}`, `POST …/answer`). Plain HTML forms that work without
JavaScript; what they check, record and read is `routes.citizen_desk.CitizenDesk`'s.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from html import escape
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from domain.application import ApplicationState
from domain.catalog import Catalog
from domain.guide_page import HELP_PATH, HOTLINE, page
from domain.notices import local_time
from domain.people import Role
from domain.progress import (
    NOT_FOUND,
    TOO_MANY,
    FormError,
    check_form,
    form_page,
)
from domain.progress_rating import (
    LEVEL_FIELD,
    NOT_RATABLE,
    RATED_ALREADY,
    RATING_PATH,
    REASON_FIELD,
    rating_form,
    rating_shown,
    reason_missing,
)
from domain.rating import Rater, RatingChannel, RatingIn, RatingLevel, check_ratable
from starter.api.deps import Caller
from starter.api.routes.citizen_desk import (
    MAX_FORM_BYTES,
    MAX_RATING_FORM_BYTES,
    CitizenDesk,
    HelpAnswerIn,
    HelpRequestIn,
    HelpRequestOut,
    MatchedCase,
    alert,
    log,
)
from starter.auth import Principal, forbid
from starter.client import Conflict
from starter.errors import ApiError, error_responses
from store import citizen as citizen_store
from store import ratings as ratings_store
from store import tasks as tasks_store
from store.db import in_utc

__all__ = ["add_routes"]

# --------------------------------------------------------------------------- pages

_FIELD_NAMES = {
    "name": "姓名",
    "phone": "手机号",
    "hall": "大厅",
    "item": "事项",
    "preferred_time": "方便的时间",
    "note": "需要帮什么",
}
_TIMES = ("工作日上午", "工作日下午", "任何时间")


def help_form(catalog: Catalog, *, item: str | None, hall: str | None, error: str = "") -> str:
    halls = "".join(
        f'<option value="{escape(h.code)}"{" selected" if h.code == hall else ""}>'
        f"{escape(h.name)}</option>"
        for h in catalog.halls.values()
    )
    times = "".join(f"<option>{t}</option>" for t in _TIMES)
    item_name = ""
    if item and item in catalog.bundles:
        item_name = catalog.bundles[item].name
    elif item and item in catalog.items:
        item_name = catalog.items[item].name
    chosen = (
        f'<p>事项: <strong>{escape(item_name)}</strong></p><input type="hidden" name="item" '
        f'value="{escape(item or "")}">'
        if item_name
        else ""
    )
    note = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"{note}<p>工作人员可以帮您准备材料、填写申请表, 或代您办理。留下联系方式, "
        f"工作人员一个工作日内给您回电。</p>"
        f'<form method="post" action="{HELP_PATH}">{chosen}'
        '<label for="name">姓名</label><input id="name" name="name" required maxlength="64"'
        ' autocomplete="name">'
        '<label for="phone">手机号</label><input id="phone" name="phone" required maxlength="11"'
        ' inputmode="numeric" autocomplete="tel">'
        f'<label for="hall">到哪个大厅办</label><select id="hall" name="hall">{halls}</select>'
        f'<label for="preferred_time">方便接电话的时间</label>'
        f'<select id="preferred_time" name="preferred_time">{times}</select>'
        '<label for="note">需要帮什么 (可不填)</label>'
        '<input id="note" name="note" maxlength="200">'
        '<button type="submit">提交</button></form>'
        f"<p class='soft'>也可拨打 <a href='tel:{HOTLINE}'>{HOTLINE}</a> 咨询。</p>"
    )
    return page("申请帮办代办", body, subtitle="工作人员帮您办")


def help_done(catalog: Catalog, row: citizen_store.HelpRequest) -> str:
    hall = catalog.halls[row.hall]
    due = in_utc(row.due_at)
    body = (
        f'<p class="ok" role="status"><strong>已收到您的帮办代办申请。</strong></p>'
        f'<dl class="facts"><dt>申请编号</dt><dd>{escape(row.request_id)}</dd>'
        f"<dt>大厅</dt><dd>{escape(hall.name)}</dd>"
        f"<dt>回电</dt><dd>{local_time(due)} (北京时间) 前</dd></dl>"
        f"<p>{escape(hall.name)}的工作人员会打电话给您, 请留意来电。"
        f"地址: {escape(hall.address)}</p>"
    )
    return page("申请已提交", body)


# --------------------------------------------------------------------------- routes


async def _form(request: Request, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    raw = await request.body()
    if len(raw) > max_bytes:
        raise ApiError(413, "the form is too long")
    try:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(422, "the form is not readable") from None
    return {k: v[0] for k, v in fields.items()}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    # What a citizen reads after the check is theirs alone: never cached on the way.
    merged = {"Cache-Control": "no-store", **(headers or {})}
    return HTMLResponse(text, status_code=status, headers=merged)


HelpRequestId = Annotated[str, Path(pattern=r"^help-[0-9a-f]{16}$")]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A browser (Accept: text/html) gets the form again with the problem; any other
    caller the API's error body."""
    out = error_responses(*statuses, explicit=True)
    for code in statuses:
        out[code]["content"]["text/html"] = {"schema": {"type": "string"}}
    return out


def _refuse(
    request: Request,
    text: str,
    status: int,
    field: str | None,
    problem: str,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    if "text/html" in request.headers.get("accept", "").lower():
        return _html(text, status, headers)
    if field is None:
        raise ApiError(status, problem)
    raise ApiError.field(status, field, problem)


def add_routes(router: APIRouter, desk: CitizenDesk, timeout: float = 10.0) -> None:
    """Mount the progress look-up and the help request routes (`timeout`: seconds to wait
    for the application's state)."""
    catalog = desk.catalog
    html_only: dict[int | str, dict[str, Any]] = {
        200: {"content": {"text/html": {"schema": {"type": "string"}}}}
    }

    @router.get(
        "/progress",
        tags=["citizens"],
        response_class=HTMLResponse,
        summary="The progress look-up form (public, for a phone)",
        responses=html_only,
    )
    async def progress_form() -> HTMLResponse:
        return _html(form_page())

    @router.post(
        "/progress",
        tags=["citizens"],
        response_class=HTMLResponse,
        summary="Progress by case number and the last four phone digits (public)",
        description=(
            "A form post (case_number, phone_tail). An unknown case number and a wrong phone "
            "tail get the same 404 page; each client address gets a few tries per ten "
            "minutes (429 with Retry-After)."
        ),
        responses={**html_only, **_errors(404, 422, 429)},
    )
    async def progress(request: Request) -> HTMLResponse:
        found = await checked(request)
        if isinstance(found, HTMLResponse):
            return found
        case, _ = found
        if isinstance(case.state, HTMLResponse):
            return case.state
        rating = await desk.rating_part(case.state, case.application_id, case.number, case.tail)
        return _html(await case.page(rating))

    async def checked(
        request: Request, max_bytes: int = MAX_FORM_BYTES
    ) -> tuple[MatchedCase, dict[str, str]] | HTMLResponse:
        """The look-up's check, for the look-up and the rating alike: the rate limit per
        address, the form, the case number with its phone tail (one answer for unknown
        and wrong), then the application's state (a 503 page when unreadable)."""
        wait = desk.limit.allow(_client(request))
        if wait is not None:
            minutes = max(1, int(wait // 60) + 1)
            text = form_page(TOO_MANY.format(minutes=minutes), error=True)
            retry = {"Retry-After": str(int(wait) + 1)}
            return _refuse(request, text, 429, None, "too many look-ups: try later", retry)
        fields = await _form(request, max_bytes)
        try:
            number, tail = check_form(fields.get("case_number", ""), fields.get("phone_tail", ""))
        except FormError as exc:
            text = form_page(f"{exc.field}: {exc.problem}", error=True)
            field = "case_number" if exc.field == "办件编号" else "phone_tail"
            return _refuse(request, text, 422, field, "is not well formed")
        application_id = await desk.matching(number, tail)
        if application_id is None:
            problem = "no case has this number and phone tail"
            return _refuse(request, form_page(NOT_FOUND), 404, "case_number", problem)
        state: ApplicationState | HTMLResponse
        try:
            state = await asyncio.wait_for(desk.state_of(application_id), timeout)
            state = await desk.detailed(state, timeout)
        except Exception as exc:
            log.warning("progress not readable", error_type=type(exc).__name__)
            state = _html(form_page("暂时查不到办理状态, 请稍后再试。", error=True), 503)
        return MatchedCase(desk, application_id, number, tail, state), fields

    @router.post(
        RATING_PATH,
        tags=["citizens"],
        response_class=HTMLResponse,
        status_code=201,
        summary="Rate the case from the progress page (public): once, online, as its applicant",
        description=(
            "A form post (case_number, phone_tail, level, reason), checked and rate-limited "
            "as the look-up is (404 the same page for an unknown case and a wrong tail). "
            "The level is one of very_satisfied, satisfied, basically_satisfied, dissatisfied, "
            "very_dissatisfied; the reason is required below 满意 (422 naming `reason`). A "
            "case not yet ended or decided, or rated already, is 409. Recorded with channel "
            "online, as the applicant's rating."
        ),
        responses={201: html_only[200], **_errors(404, 409, 422, 429, 503)},
    )
    async def rate_from_progress_page(request: Request) -> HTMLResponse:
        found = await checked(request, MAX_RATING_FORM_BYTES)
        if isinstance(found, HTMLResponse):
            return found
        case, fields = found
        if isinstance(case.state, HTMLResponse):
            return case.state
        state = case.state
        raw_level, reason = fields.get("level", ""), fields.get("reason", "").strip()
        level = RatingLevel(raw_level) if raw_level in set(RatingLevel) else None

        async def again(message: str, status: int, field: str, problem: str) -> HTMLResponse:
            form = rating_form(case.number, case.tail, error=message, level=level, reason=reason)
            return _refuse(request, await case.page(form), status, field, problem)

        async def rated_already() -> HTMLResponse:
            shown = await run_in_threadpool(desk.shown_rating, case.application_id)
            part = rating_shown(shown, error=RATED_ALREADY) if shown else ""
            problem = "this case has been rated already (one rating per case)"
            return _refuse(request, await case.page(part), 409, "case_number", problem)

        if await run_in_threadpool(ratings_store.of_application, desk.engine, case.application_id):
            return await rated_already()
        if desk.ratings is None or desk.submitters is None:
            return _html(form_page("暂时无法评价, 请稍后再试。", error=True), 503)
        try:
            check_ratable(state)
        except ValueError:
            problem = "the case is rated once it has ended or been decided"
            return _refuse(
                request, await case.page(alert(NOT_RATABLE)), 409, "case_number", problem
            )
        if level is None:
            return await again(f"{LEVEL_FIELD}: 请选择一项。", 422, "level", "choose one level")
        if level.needs_reason and not reason:
            problem = f"a rating of {level.value} needs a reason (every level below 满意 does)"
            return await again(reason_missing(level), 422, "reason", problem)
        try:
            given = RatingIn(level=level, reason=reason or None, channel=RatingChannel.ONLINE)
        except ValidationError:
            message = f"{REASON_FIELD}: 请不要超过500字, 也不要使用特殊字符。"
            return await again(message, 422, "reason", "is too long or not plain text")
        refs = await desk.submitters.of(case.application_id)
        if refs is None:  # its history is gone: whose rating it is cannot be told
            return _html(form_page("暂时无法评价, 请稍后再试。", error=True), 503)
        try:
            row = await desk.ratings.rate(
                state, given, rater=Rater.APPLICANT, rater_id_sha256=refs[0]
            )
        except Conflict as exc:
            if exc.field == "case_number":
                return await rated_already()
            text = await case.page(alert(NOT_RATABLE))
            return _refuse(request, text, 409, exc.field, exc.problem)
        log.info("rating recorded online", case_number=row.case_number, level=row.level)
        shown = await run_in_threadpool(desk.shown_rating, case.application_id)
        assert shown is not None
        return _html(await case.page(rating_shown(shown, thanks=True)), 201)

    @router.get(
        "/help",
        tags=["citizens"],
        response_class=HTMLResponse,
        summary="The 帮办代办 request form (public); `item` and `hall` preselect",
        responses=html_only,
    )
    async def help_page(request: Request) -> HTMLResponse:
        # Read, not declared: whatever a link carries, the form shows (unknown: not chosen).
        item = request.query_params.get("item")
        hall = request.query_params.get("hall")
        return _html(help_form(catalog, item=item, hall=hall))

    @router.post(
        "/help",
        tags=["citizens"],
        response_class=HTMLResponse,
        status_code=201,
        summary="Ask a hall for help (帮办代办): a task in its inbox, due in a working day",
        responses={201: html_only[200], **_errors(422, 429)},
    )
    async def ask_for_help(request: Request) -> HTMLResponse:
        fields = await _form(request)
        item = fields.get("item") or None
        hall = fields.get("hall") or None

        def again(message: str, status: int, field: str | None, problem: str) -> HTMLResponse:
            text = help_form(catalog, item=item, hall=hall, error=message)
            return _refuse(request, text, status, field, problem)

        wait = desk.help_limit.allow(_client(request))
        if wait is not None:
            message = TOO_MANY.format(minutes=max(1, int(wait // 60) + 1))
            return again(message, 429, None, "too many requests: try later")
        try:
            wanted = HelpRequestIn.model_validate(fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "form"
            message = f"{_FIELD_NAMES.get(field, field)}: 请检查填写"
            return again(message, 422, field, first["msg"].removeprefix("Value error, "))
        if wanted.hall not in catalog.halls:
            return again("大厅: 请从列表中选择", 422, "hall", "is no hall of the catalog")
        if wanted.item is not None and (
            wanted.item not in catalog.items and wanted.item not in catalog.bundles
        ):
            wanted = wanted.model_copy(update={"item": None})
        row = await run_in_threadpool(desk.record_help, wanted, datetime.now(UTC))
        log.info("help request recorded", request_id=row.request_id, hall=row.hall)
        return _html(help_done(catalog, row), 201)

    # -- staff: read and answer ----------------------------------------------------------

    def may_handle(principal: Principal, hall: str) -> None:
        if principal.role is Role.SUPERVISOR:
            return
        if principal.role is Role.WINDOW_CLERK and principal.hall == hall:
            return
        raise forbid(principal, f"help requests of hall {hall!r} are its window clerks'")

    def found(request_id: str) -> citizen_store.HelpRequest:
        row = citizen_store.get_help_request(desk.engine, request_id)
        if row is None:
            raise ApiError.field(404, "request_id", "no such help request")
        return row

    @router.get(
        "/help-requests/{request_id}",
        tags=["staff"],
        response_model=HelpRequestOut,
        summary="A 帮办代办 request, with the name and phone to call back (the hall's clerks)",
        responses=error_responses(401, 403, 404, 422),
    )
    async def read_help_request(request_id: HelpRequestId, principal: Caller) -> Any:
        row = await run_in_threadpool(found, request_id)
        may_handle(principal, row.hall)
        return HelpRequestOut.of(row)

    @router.post(
        "/help-requests/{request_id}/answer",
        tags=["staff"],
        response_model=HelpRequestOut,
        summary="Answer a 帮办代办 request: the answer is kept and its inbox task closed",
        responses=error_responses(401, 403, 404, 409, 422),
    )
    async def answer_help_request(
        request_id: HelpRequestId,
        body: HelpAnswerIn,
        principal: Caller,
    ) -> Any:
        def answer() -> citizen_store.HelpRequest:
            row = found(request_id)
            may_handle(principal, row.hall)
            if row.answered_at is not None:
                raise ApiError.field(409, "request_id", "is answered already")
            at = datetime.now(UTC)
            done = citizen_store.answer_help_request(
                desk.engine, request_id, answer=body.answer, by=principal.name, at=at
            )
            assert done is not None
            if done.answered_by != principal.name:
                raise ApiError.field(409, "request_id", "is answered already")
            tasks_store.close_task(
                desk.engine, request_id, outcome="answered", closed_by=principal.name, closed_at=at
            )
            return done

        return HelpRequestOut.of(await run_in_threadpool(answer))
