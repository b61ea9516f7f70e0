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
from typing import Annotated, TypeVar

import typer
from sqlalchemy import Engine
from temporalio.client import Client

from domain.people import Role
from domain.rating import (
    AppealVerdict,
    FollowUpAnswer,
    FollowUpOutcome,
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

T = TypeVar("T")

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


def _rating_view(ratings: Ratings, case_number: str) -> dict[str, object]:
    from starter.api.routes.ratings import rating_out

    return rating_out(ratings, ratings.rating(case_number)).model_dump(mode="json")


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

    async def go(ratings: Ratings) -> dict[str, object]:
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
        return await asyncio.to_thread(_rating_view, ratings, row.case_number)

    emit(_with_ratings(go), as_json)


@rating_app.command("show")
def show(case_number: CaseArg, as_json: JsonOpt = False) -> None:
    """A rating, its follow-ups and appeal, by case number (read from the store)."""

    async def go(ratings: Ratings) -> dict[str, object]:
        return await asyncio.to_thread(_rating_view, ratings, case_number)

    emit(_with_ratings(go), as_json)


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
    emit(_with_ratings(lambda r: r.answer(case_number, department, given)), as_json)


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

    async def go(ratings: Ratings) -> AppealOut:
        return AppealOut.of(await ratings.appeal(case_number, department, given.reason, by=by))

    emit(_with_ratings(go), as_json)


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

    async def go(ratings: Ratings) -> AppealOut:
        decided = await ratings.decide_appeal(
            case_number, given.verdict, given.reason, by=supervisor
        )
        return AppealOut.of(decided)

    emit(_with_ratings(go), as_json)


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
