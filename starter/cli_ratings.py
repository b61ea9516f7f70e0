"""`onething rating` and `onething report ratings`: ratings (好差评) from the command line.

`rate` records a rating a window clerk takes at the window (the applicant's, or the
agent's with `--agent`); `show` reads one by case number; `answer` is the department's
answer to a 差评's follow-up; `appeal` and `decide-appeal` the 申诉复核. `report ratings`
prints the figures (as `GET /reports/ratings`). The staff IDs given are recorded as who
acted. Refusals are one line naming the field. Mounted by `starter/cli.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from sqlalchemy import Engine
from temporalio.client import Client

import domain.staff_words as words
from domain.catalog import Catalog
from domain.notices import local_time
from domain.people import Role
from domain.rating import (
    AppealVerdict,
    FollowUpAnswer,
    FollowUpOutcome,
    FollowUpState,
    Rater,
    RatingChannel,
    RatingIn,
    RatingLevel,
    RatingReport,
)
from onething.settings import Settings
from starter.cli_common import (
    JsonOpt,
    emit,
    fail,
    staff,
    store,
    validated,
    with_temporal,
)
from starter.ratings import Ratings
from starter.ratings import report as figures

if TYPE_CHECKING:
    from starter.api.routes.ratings import AppealOut, RatingOut

T = TypeVar("T")
M = TypeVar("M")

rating_app = typer.Typer(
    name="rating",
    help="Ratings (好差评): rate a case at the window, the 差评's follow-up, appeals.",
    no_args_is_help=True,
)

CaseArg = Annotated[str, typer.Argument(help="The case number (办件编号).")]


def _with_ratings(action: Callable[[Ratings], Awaitable[T]]) -> T:
    """Connect as the other commands do (store and Temporal); refusals are one line."""
    from activities.catalog import current_catalog

    async def over(temporal: Client, settings: Settings, engine: Engine) -> T:
        return await action(Ratings(temporal, settings.task_queue, engine, current_catalog(engine)))

    return with_temporal(over)


def _rating_view(ratings: Ratings, case_number: str) -> RatingOut:
    from starter.api.routes.ratings import rating_out

    return rating_out(ratings, ratings.rating(case_number))


def _show(
    found: tuple[M, Catalog], in_words: Callable[[M, Catalog], dict[str, object]], as_json: bool
) -> None:
    """The answer: its fields and codes with --json, else in words (Chinese, Beijing time)."""
    value, catalog = found
    emit(value if as_json else in_words(value, catalog), as_json)


def _rating_words(r: RatingOut, catalog: Catalog) -> dict[str, object]:
    hall = words.hall_words(catalog, r.hall)
    rows: dict[str, object] = {
        "办件编号": r.case_number,
        "申请": r.application_id,
        "大厅": hall,
        "评价": r.level_text + (" (经申诉复核, 不计入统计)" if r.excluded else ""),
        "理由": r.reason or "",
        "评价人": f"{r.rater_text} · {r.channel_text}",
        "记录人": r.recorded_by or "",
        "评价时间 (北京时间)": r.rated_local,
        "事项": ", ".join(words.item_words(catalog, i.item_code) for i in r.items),
    }
    for f in r.follow_ups:
        said = [f.status_text, f"期限 {f.due_local}" if f.due_local else "", f.text or ""]
        rows[f"整改 ({words.department_words(catalog, f.department)})"] = " · ".join(
            part for part in said if part
        )
    if r.appeal is not None:
        rows["申诉复核"] = _appeal_line(r.appeal, catalog)
    return rows


def _appeal_words(a: AppealOut, catalog: Catalog) -> dict[str, object]:
    rows: dict[str, object] = {
        "申诉部门": words.department_words(catalog, a.department),
        "申诉理由": a.reason,
        "申诉人": a.appealed_by,
        "申诉时间 (北京时间)": local_time(a.appealed_at),
        "状态": a.status_text,
    }
    if a.decided_at is not None:
        decided = [a.decided_by or "", local_time(a.decided_at), a.decision_reason or ""]
        rows["复核"] = " · ".join(part for part in decided if part)
    return rows


def _appeal_line(a: AppealOut, catalog: Catalog) -> str:
    return " · ".join(str(v) for v in _appeal_words(a, catalog).values())


def _follow_up_words(f: FollowUpState, catalog: Catalog) -> dict[str, object]:
    rows: dict[str, object] = {
        "办件编号": f.case_number,
        "部门": words.department_words(catalog, f.department),
        "答复": f.outcome.label if f.outcome is not None else "待答复",
        "答复人": f.answered_by or "",
    }
    if f.answered_at is not None:
        rows["答复时间 (北京时间)"] = local_time(f.answered_at)
    if f.in_time is not None:
        rows["是否按期"] = "按期" if f.in_time else "逾期"
    if f.due_at is not None:
        rows["期限 (北京时间)"] = local_time(f.due_at)
    return rows


@rating_app.command("rate")
def rate(
    application_id: Annotated[str, typer.Argument(help="The application's ID.")],
    level: Annotated[RatingLevel, typer.Argument(help="very_satisfied … very_dissatisfied")],
    clerk: Annotated[str, typer.Option(help="The window clerk's staff ID (recorded).")],
    reason: Annotated[str | None, typer.Option(help="Required below 满意.")] = None,
    agent: Annotated[bool, typer.Option("--agent", help="The agent's rating.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """A rating given at the window, recorded by its clerk (of the case's hall)."""
    from starter.client import OnethingClient
    from starter.ratings import SubmitterRefs

    who = staff(clerk, Role.WINDOW_CLERK)
    given = validated(lambda: RatingIn(level=level, reason=reason, channel=RatingChannel.WINDOW))

    async def go(ratings: Ratings) -> tuple[RatingOut, Catalog]:
        client = OnethingClient(ratings.temporal, ratings.task_queue, ratings.catalog)
        state = await client.state(application_id)
        refs = await SubmitterRefs(ratings.temporal).of(application_id)
        if refs is None:
            raise fail("application_id: its history is gone; it can no longer be rated")
        sha = refs[1] if agent else refs[0]
        if sha is None:
            raise fail("agent: this application was made without an agent")
        row = await ratings.rate(
            state,
            given,
            rater=Rater.AGENT if agent else Rater.APPLICANT,
            rater_id_sha256=sha,
            recorded_by=who.staff_id,
        )
        return await asyncio.to_thread(_rating_view, ratings, row.case_number), ratings.catalog

    _show(_with_ratings(go), _rating_words, as_json)


@rating_app.command("show")
def show(case_number: CaseArg, as_json: JsonOpt = False) -> None:
    """A rating, its follow-ups and appeal, by case number (read from the store)."""

    async def go(ratings: Ratings) -> tuple[RatingOut, Catalog]:
        return await asyncio.to_thread(_rating_view, ratings, case_number), ratings.catalog

    _show(_with_ratings(go), _rating_words, as_json)


@rating_app.command("answer")
def answer(
    case_number: CaseArg,
    department: Annotated[str, typer.Argument(help="The department answering.")],
    outcome: Annotated[FollowUpOutcome, typer.Argument(help="fixed or explained")],
    text: Annotated[str, typer.Option(help="What was fixed, or the explanation.")],
    by: Annotated[str, typer.Option(help="Staff ID of a reviewer or the department's head.")],
    head: Annotated[bool, typer.Option("--head", help="`by` is the department's head.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The department answers a 差评's follow-up (late answers are taken, counted late)."""
    role = Role.DEPARTMENT_HEAD if head else Role.REVIEWER
    given = validated(
        lambda: FollowUpAnswer(outcome=outcome, text=text, answered_by=staff(by, role, department))
    )

    async def go(ratings: Ratings) -> tuple[FollowUpState, Catalog]:
        return await ratings.answer(case_number, department, given), ratings.catalog

    _show(_with_ratings(go), _follow_up_words, as_json)


@rating_app.command("appeal")
def appeal(
    case_number: CaseArg,
    department: Annotated[str, typer.Option(help="The appealing department (of the case).")],
    by: Annotated[str, typer.Option(help="Staff ID of a reviewer or the department's head.")],
    reason: Annotated[str, typer.Option(help="Why the rating is mistaken or malicious.")],
    as_json: JsonOpt = False,
) -> None:
    """申诉复核: a department of the case appeals the rating (once)."""
    from domain.rating import AppealIn
    from starter.api.routes.ratings import AppealOut

    staff(by, Role.REVIEWER, department)
    given = validated(lambda: AppealIn(reason=reason))

    async def go(ratings: Ratings) -> tuple[AppealOut, Catalog]:
        appealed = await ratings.appeal(case_number, department, given.reason, by=by)
        return AppealOut.of(appealed), ratings.catalog

    _show(_with_ratings(go), _appeal_words, as_json)


@rating_app.command("decide-appeal")
def decide_appeal(
    case_number: CaseArg,
    verdict: Annotated[AppealVerdict, typer.Argument(help="upheld (excluded) or dismissed")],
    supervisor: Annotated[str, typer.Option(help="The supervisor's staff ID.")],
    reason: Annotated[str, typer.Option(help="The decision's reason.")],
    as_json: JsonOpt = False,
) -> None:
    """A supervisor decides the appeal; upheld, the rating counts in no figure."""
    from domain.rating import AppealDecisionIn
    from starter.api.routes.ratings import AppealOut

    staff(supervisor, Role.SUPERVISOR)
    given = validated(lambda: AppealDecisionIn(verdict=verdict, reason=reason))

    async def go(ratings: Ratings) -> tuple[AppealOut, Catalog]:
        decided = await ratings.decide_appeal(
            case_number, given.verdict, given.reason, by=supervisor
        )
        return AppealOut.of(decided), ratings.catalog

    _show(_with_ratings(go), _appeal_words, as_json)


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def report_text(report: RatingReport) -> str:
    """The figures as a service center's head reads them (Chinese, Beijing time)."""
    from domain.notices import local_time

    f = report.figures
    scope = [
        f"{report.since or '…'} 至 {report.until or '…'}",
        f"大厅 {report.hall}" if report.hall else "全部大厅",
    ]
    if report.department:
        scope.append(f"部门 {report.department}")
    if report.item_code:
        scope.append(f"事项 {report.item_code}")
    lines = [
        f"好差评统计 ({', '.join(scope)}; 截至 {local_time(report.as_of)} 北京时间)",
        "",
        "| 评价等级 | 件数 |",
        "|---|---:|",
        *(f"| {c.label} | {c.count} |" for c in f.levels),
        "",
        f"评价 {f.ratings} 件, 好评 {f.good} 件, 好评率 {_percent(f.good_rate)}",
        f"差评 {f.bad} 件: 按时整改或解释 {f.bad_settled_in_time} 件, 应办结 {f.bad_due} 件, "
        f"尚在回访时限内 {f.bad_pending} 件; 差评整改率 {_percent(f.rectification_rate)}",
        f"回访 {f.follow_ups} 项: 已整改 {f.follow_ups_fixed}, 已解释说明 "
        f"{f.follow_ups_explained}, 逾期 {f.follow_ups_overdue} (其中仍未答复 "
        f"{f.follow_ups_overdue_open})",
        f"经申诉复核不予计入 {f.excluded_by_appeal} 件",
    ]
    if report.by_department and not report.department:
        lines += [
            "",
            "| 部门 | 评价 | 好评率 | 差评 | 差评整改率 | 逾期回访 |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, d in report.by_department.items():
            lines.append(
                f"| {name} | {d.ratings} | {_percent(d.good_rate)} | {d.bad} | "
                f"{_percent(d.rectification_rate)} | {d.follow_ups_overdue} |"
            )
    return "\n".join(lines)


def report_ratings(
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First Beijing day.")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last Beijing day.")
    ] = None,
    hall: Annotated[str | None, typer.Option(help="A hall's code.")] = None,
    department: Annotated[str | None, typer.Option(help="A department's code.")] = None,
    item: Annotated[str | None, typer.Option(help="An item's code.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="ISO 8601 with offset: when overdue is judged (default now)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ratings' figures: per level, 好评率, 差评, 差评整改率, overdue, excluded by appeal."""
    from starter.cli_reports import report_period

    first, last, at = report_period(since, until, as_of)
    with store() as engine:
        report = figures(
            engine,
            since=first,
            until=last,
            hall=hall,
            department=department,
            item_code=item,
            as_of=at,
        )
    if as_json:
        emit(report, True)
    else:
        typer.echo(report_text(report))


def register(app: typer.Typer) -> None:
    """Mount `rating` on the main app and `ratings` under `report`."""
    from starter.cli_catalog import report_app

    app.add_typer(rating_app, name="rating")
    report_app.command("ratings")(report_ratings)
