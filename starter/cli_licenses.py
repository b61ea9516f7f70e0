"""`onething license`: a license's validity and term, renewal (延续) applied for at the
window and decided by the item's department.

`show` reads the registry (like the public verification); `term`, `renew` and
`decide-renewal` talk to the license's term workflow. Mounted by `starter/cli.py`; its
helpers are imported when a command runs (that module imports this one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

import domain.staff_words as words
from domain.application import Channel
from domain.catalog import Catalog
from domain.license_term import (
    LicenseTermState,
    RenewalApplication,
    RenewalDecision,
    RenewalVerdict,
)
from domain.people import Role
from starter.cli_common import (
    JsonOpt,
    console,
    emit,
    fail,
    settings_or_exit,
    staff,
    store,
    validated,
    with_client,
)
from starter.client import OnethingClient
from starter.license_terms import LicenseTerms

license_app = typer.Typer(
    name="license",
    help="A license's validity and term; renewal (延续) applied for and decided.",
    no_args_is_help=True,
)

NumberArg = Annotated[str, typer.Argument(help="The license's number (编号).")]


def _with_terms(
    action: Callable[[LicenseTerms], Awaitable[LicenseTermState]], as_json: bool
) -> None:
    """Connect as the other commands do and show the term it answers with (in words; the
    codes and ISO instants with --json); a refusal is one line naming the field."""

    async def act(client: OnethingClient) -> tuple[LicenseTermState, Catalog]:
        return await action(LicenseTerms(client.temporal, client.catalog)), client.catalog

    state, catalog = with_client(act)
    emit(state if as_json else words.term_rows(state, catalog), as_json)


@license_app.command("show")
def show(number: NumberArg, as_json: JsonOpt = False) -> None:
    """The license as the registry holds it: status, valid until, term, renewal window."""
    from activities.catalog import current_catalog
    from domain.calendar import WorkingCalendar
    from starter.api.license_page import UNSURE, VERDICTS, verification_rows
    from starter.api.routes.licenses import verification_of
    from store import licenses

    with store() as engine:
        found = licenses.get(engine, number)
        if found is None:
            raise fail("license_number: no license has this number")
        calendar = WorkingCalendar.from_file(settings_or_exit().calendar_overrides)
        seen = verification_of(found, current_catalog(engine), calendar)
    if as_json:
        emit(seen, as_json=True)
        return
    verdict, _ = VERDICTS.get(seen.status, UNSURE)
    console.print(verdict, highlight=False)
    emit(dict(verification_rows(seen)), as_json=False)


@license_app.command("term")
def term(number: NumberArg, as_json: JsonOpt = False) -> None:
    """The term workflow's state: phase, expiry, window, the renewal case."""
    _with_terms(lambda terms: terms.state(number), as_json)


@license_app.command("renew")
def renew(
    number: NumberArg,
    hall: Annotated[str, typer.Option(help="The hall it is applied at.")],
    clerk: Annotated[
        str | None, typer.Option(help="The window clerk's staff ID (at the window).")
    ] = None,
    channel: Annotated[Channel, typer.Option(help="window, online or mail")] = Channel.WINDOW,
    as_json: JsonOpt = False,
) -> None:
    """The holder applies for renewal within the window; a clerk receives it at the window."""
    received_by = staff(clerk, Role.WINDOW_CLERK) if clerk else None
    application = validated(
        lambda: RenewalApplication(hall=hall, channel=channel, received_by=received_by)
    )
    _with_terms(lambda terms: terms.apply(number, application), as_json)


@license_app.command("decide-renewal")
def decide_renewal(
    number: NumberArg,
    verdict: Annotated[RenewalVerdict, typer.Argument(help="approve or refuse")],
    reviewer: Annotated[str, typer.Option(help="Reviewer's staff ID.")],
    department: Annotated[str, typer.Option(help="Reviewer's department (the item's).")],
    reason: Annotated[str | None, typer.Option(help="Required to refuse.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A reviewer of the item's department approves or refuses the renewal."""
    decision = validated(
        lambda: RenewalDecision(
            reviewer=staff(reviewer, Role.REVIEWER, department), verdict=verdict, reason=reason
        )
    )
    _with_terms(lambda terms: terms.decide(number, decision), as_json)
