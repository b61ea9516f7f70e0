"""`onething calendar ...`: working days on the command line.

    onething calendar workdays 2026-09-28 10     -> 2026-10-16
    onething calendar check 2027                 -> provisional: fixed rules only

Mounted by starter/cli.py: `app.add_typer(calendar_app, name="calendar")`. Every input error
is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from domain.calendar import (
    CalendarError,
    WorkingCalendar,
    YearSource,
    load_overrides,
)
from starter.cli_common import JsonOpt, fail

MAX_DAYS = 10_000  # about 40 years of working days: beyond that the input is a typo

calendar_app = typer.Typer(
    name="calendar",
    help="Working days (weekends, statutory holidays, make-up workdays 调休).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

OverridesOpt = Annotated[
    Path | None,
    typer.Option(
        "--overrides",
        envvar="ONETHING_CALENDAR_OVERRIDES",
        help="Override file for years announced after the chinesecalendar release "
        "(default: the project's domain/data/calendar_overrides.json).",
    ),
]


def _calendar(path: Path | None) -> WorkingCalendar:
    try:
        return WorkingCalendar(load_overrides(path))
    except CalendarError as exc:
        raise fail(str(exc)) from None


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{name} must be a date like 2026-09-28, got {text!r}") from None


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise fail(f"N must be a whole number of working days, got {text!r}") from None
    if value < 0:
        raise fail(f"N must not be negative, got {value}")
    if value > MAX_DAYS:
        raise fail(f"N must be at most {MAX_DAYS}, got {value}")
    return value


def _year(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise fail(f"YEAR must be a year like 2027, got {text!r}") from None
    if not 1900 <= value <= 9998:
        raise fail(f"YEAR must be between 1900 and 9998, got {value}")
    return value


@calendar_app.command(context_settings={"ignore_unknown_options": True})
def workdays(
    start: Annotated[str, typer.Argument(metavar="FROM", help="Start date, YYYY-MM-DD.")],
    days: Annotated[str, typer.Argument(metavar="N", help="Working days to add (0 = same day).")],
    overrides: OverridesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The N-th working day after FROM, not counting FROM; FROM on a day off counts as the next
    working day (0 gives that day)."""
    first, count = _date(start, "FROM"), _count(days)
    calendar = _calendar(overrides)
    try:
        result = calendar.workdays(first, count)
    except OverflowError:
        raise fail("the result lies beyond the year 9999") from None
    if as_json:
        payload = result.model_dump(mode="json") | {"provisional": result.provisional}
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    line = f"{result.due.isoformat()}  ({count} working days after {first.isoformat()})"
    received = calendar.next_working_day(first)
    if received != first:
        line += f"  {first.isoformat()} is a day off: counted as received on {received.isoformat()}"
    if result.provisional:
        years = ", ".join(str(y) for y in result.provisional_years)
        line += f"  PROVISIONAL: {years} not announced yet, weekends and statutory holidays only"
    typer.echo(line)


@calendar_app.command()
def check(
    year: Annotated[str, typer.Argument(metavar="YEAR", help="The year, e.g. 2027.")],
    overrides: OverridesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Whether YEAR is published (package or override file) or provisional, and its days off."""
    report = _calendar(overrides).check_year(_year(year))
    if as_json:
        typer.echo(report.model_dump_json())
        return
    labels = {
        YearSource.PUBLISHED: "published (chinesecalendar)",
        YearSource.OVERRIDE: "published (override file)",
        YearSource.PROVISIONAL: "PROVISIONAL",
    }
    typer.echo(f"{report.year}: {labels[report.source]}")
    if report.note:
        typer.echo(f"  note: {report.note}")
    typer.echo(f"  working days: {report.working_days}")
    typer.echo("  weekday holidays: " + (", ".join(d.isoformat() for d in report.holidays) or "-"))
    typer.echo(
        "  make-up workdays: " + (", ".join(d.isoformat() for d in report.makeup_workdays) or "-")
    )
