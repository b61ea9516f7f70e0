"""Workflows that run on their own, recorded beside the applications: a license's term
(`LicenseTermWorkflow`, years long, so the likeliest of all to be replayed against changed
code) and a 差评's follow-up (`RatingFollowUpWorkflow`).

Each scenario drives the production worker through the desks the tests use, returns the
workflow IDs it made, and says how each exported run ends (`ends`, in the manifest's
order). `record.py` writes them under tests/histories/<kind>/<name>/ (the dev server's
under devserver/<kind>/<name>/) with `expected-runs.json`; tests/audit/test_replay_standalone.py
replays them and checks that each still ends as it says.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from domain.application import Channel, InspectionResult
from domain.catalog import Catalog
from domain.license_term import (
    RenewalApplication,
    RenewalDecision,
    RenewalVerdict,
    TermPhase,
    term_workflow_id,
)
from domain.people import Role
from domain.rating import AppealVerdict, FollowUpOutcome, follow_up_workflow_id
from store import licenses, supervision
from tests.desk import eventually, inspect, staff
from tests.support import license_terms, ratings
from tests.support.lifecycle import submission

EXPECTED_RUNS = "expected-runs.json"
LICENSE_TERMS = "license-terms"
RATING_FOLLOW_UPS = "rating-follow-ups"
KINDS = (LICENSE_TERMS, RATING_FOLLOW_UPS)

HOUR = timedelta(hours=1)
NURSE = "nurse-practice-registration"  # Art. 50's default window, in calendar days
FOOD = "food-business-license"  # five years, its window counted in working days

# How a run ends, read from its last event.
COMPLETED, CONTINUED_AS_NEW, RUNNING = "completed", "continued_as_new", "running"
_ENDINGS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: CONTINUED_AS_NEW,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "failed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "timed_out",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "canceled",
}


def run_ending(history: WorkflowHistory) -> str:
    """How the run ended (`running` while it has not)."""
    last = history.events[-1].event_type if history.events else None
    return _ENDINGS.get(last, RUNNING) if last is not None else RUNNING


@dataclass(frozen=True)
class Place:
    """Where a scenario runs: a Temporal server, an empty store, the seed catalog."""

    env: WorkflowEnvironment
    engine: Engine
    catalog: Catalog


StandaloneRun = Callable[[Place], Awaitable[list[str]]]


@dataclass(frozen=True)
class Standalone:
    kind: str
    name: str
    run: StandaloneRun
    ends: tuple[str, ...]
    # Why the scenario needs time to pass (it runs on the time-skipping server only).
    needs_time: str | None = None

    @property
    def path(self) -> str:
        """Its name on the recorder's command line and its folder: <kind>/<name>."""
        return f"{self.kind}/{self.name}"


# -- a license's term


async def _open_window(desk: license_terms.Desk, number: str) -> None:
    state = await desk.term(number, lambda s: s.phase is not TermPhase.PLANNING)
    assert state.window is not None
    await desk.skip_to(state.window.opens_at + HOUR)
    await desk.term(number, lambda s: s.phase is TermPhase.WINDOW_OPEN)


async def _expire(desk: license_terms.Desk, number: str) -> None:
    state = await desk.term(number, lambda s: s.phase is not TermPhase.PLANNING)
    assert state.expires_at is not None
    await desk.skip_to(state.expires_at + HOUR)


async def _ended(place: Place, number: str) -> list[str]:
    """Wait until the license's term workflow has ended; its ID, the recording's one."""
    await place.env.client.get_workflow_handle(term_workflow_id(number)).result()
    return [term_workflow_id(number)]


async def term_valid(place: Place) -> list[str]:
    """Issued on review: the term is planned and waits for its renewal window."""
    async with license_terms.desk_over(place.env, place.engine, place.catalog) as desk:
        issued = await desk.issue(NURSE, applicant_seed="term-valid")
        await desk.term(issued.number, lambda s: s.phase is TermPhase.VALID)
    return [term_workflow_id(issued.number)]


async def term_renewed(place: Place) -> list[str]:
    """Reminded when the window opens, applied for, approved: the next term continues as new."""
    async with license_terms.desk_over(place.env, place.engine, place.catalog) as desk:
        issued = await desk.issue(FOOD, commitment=True, applicant_seed="term-renewed")
        await _open_window(desk, issued.number)
        await desk.terms.apply(issued.number, RenewalApplication(hall="yicheng-city"))
        reviewer = staff(Role.REVIEWER, "market")
        verdict = RenewalDecision(reviewer=reviewer, verdict=RenewalVerdict.APPROVE)
        await desk.terms.decide(issued.number, verdict)
        await desk.term(issued.number, lambda s: s.term == 2 and s.phase is TermPhase.VALID)
    return [term_workflow_id(issued.number)]


async def term_deemed_renewed(place: Place) -> list[str]:
    """Applied for at the window, undecided at expiry: deemed renewed (Art. 50)."""
    async with license_terms.desk_over(place.env, place.engine, place.catalog) as desk:
        issued = await desk.issue(NURSE, applicant_seed="term-deemed")
        await _open_window(desk, issued.number)
        clerk = staff(Role.WINDOW_CLERK, "x")
        application = RenewalApplication(
            hall="yicheng-city", channel=Channel.WINDOW, received_by=clerk
        )
        await desk.terms.apply(issued.number, application)
        await _expire(desk, issued.number)
        await desk.term(issued.number, lambda s: s.term == 2)
    return [term_workflow_id(issued.number)]


async def term_refused(place: Place) -> list[str]:
    """Renewal refused with its reason: the license expires at its expiry."""
    async with license_terms.desk_over(place.env, place.engine, place.catalog) as desk:
        issued = await desk.issue(NURSE, applicant_seed="term-refused")
        await _open_window(desk, issued.number)
        await desk.terms.apply(issued.number, RenewalApplication(hall="yicheng-city"))
        refusal = RenewalDecision(
            reviewer=staff(Role.REVIEWER, "health"),
            verdict=RenewalVerdict.REFUSE,
            reason="未完成规定的继续教育学分",
        )
        await desk.terms.decide(issued.number, refusal)
        await _expire(desk, issued.number)
        return await _ended(place, issued.number)


async def term_not_applied(place: Place) -> list[str]:
    """Reminded, never applied for: it expires at its expiry."""
    async with license_terms.desk_over(place.env, place.engine, place.catalog) as desk:
        issued = await desk.issue(NURSE, applicant_seed="term-not-applied")
        await _expire(desk, issued.number)
        return await _ended(place, issued.number)


async def term_revoked(place: Place) -> list[str]:
    """A false commitment found on site: the license is revoked and its term ends then."""
    async with license_terms.desk_over(place.env, place.engine, place.catalog) as desk:
        sub = submission(place.catalog, FOOD, commitment=True, applicant_seed="term-revoked")
        await desk.client.submit(sub)
        await inspect(
            desk.client,
            place.catalog,
            sub.application_id,
            FOOD,
            InspectionResult.FALSE_COMMITMENT,
            findings="现场无冷藏设施, 与承诺不符",
        )

        async def revoked() -> list[licenses.License]:
            found = licenses.licenses_of(place.engine, sub.application_id)
            return [lic for lic in found if lic.status == "revoked"]

        [license] = await eventually(revoked, bool, "the license is revoked")
        return await _ended(place, license.number)


# -- a 差评's follow-up


async def follow_up_fixed(place: Place) -> list[str]:
    """The department's reviewer answers in time: fixed."""
    async with ratings.desk_over(place.env, place.engine, place.catalog) as desk:
        row = await desk.bad_rating(["market"])
        await desk.opened(row.case_number, "market")
        text = "已回访申请人, 补正告知改为一次性清单"
        await desk.answer(row.case_number, "market", FollowUpOutcome.FIXED, text)
    return [follow_up_workflow_id(row.case_number, "market")]


async def follow_up_late(place: Place) -> list[str]:
    """Unanswered past its limit: escalated to supervision; the answer then counts late."""
    async with ratings.desk_over(place.env, place.engine, place.catalog) as desk:
        row = await desk.bad_rating(["health"])
        task = await desk.opened(row.case_number, "health")
        assert task.due_at is not None
        due = task.due_at if task.due_at.tzinfo else task.due_at.replace(tzinfo=UTC)
        await desk.skip_to(due + 2 * HOUR)
        workflow_id = follow_up_workflow_id(row.case_number, "health")

        async def cases() -> list[supervision.SupervisionCase]:
            return supervision.cases_of(place.engine, workflow_id)

        await eventually(cases, bool, "escalated to supervision")
        await desk.answer(row.case_number, "health", FollowUpOutcome.EXPLAINED, "已电话说明")
    return [workflow_id]


async def follow_up_appeal_upheld(place: Place) -> list[str]:
    """The department appeals the rating and supervision upholds it: the follow-up ends."""
    async with ratings.desk_over(place.env, place.engine, place.catalog) as desk:
        row = await desk.bad_rating(["market"])
        await desk.opened(row.case_number, "market")
        await desk.ratings.appeal(row.case_number, "market", "评价对象错误", by="head-market")
        verdict, reason = AppealVerdict.UPHELD, "经核实评价对象错误"
        await desk.ratings.decide_appeal(row.case_number, verdict, reason, by="supervisor")
        await desk.handle(row.case_number, "market").result()
    return [follow_up_workflow_id(row.case_number, "market")]


YEARS = "years pass to the renewal window and the expiry"
STANDALONE: tuple[Standalone, ...] = (
    Standalone(LICENSE_TERMS, "valid", term_valid, (RUNNING,)),
    Standalone(LICENSE_TERMS, "revoked", term_revoked, (COMPLETED,)),
    Standalone(
        LICENSE_TERMS, "renewed", term_renewed, (CONTINUED_AS_NEW, RUNNING), needs_time=YEARS
    ),
    Standalone(
        LICENSE_TERMS,
        "deemed_renewed",
        term_deemed_renewed,
        (CONTINUED_AS_NEW, RUNNING),
        needs_time=YEARS,
    ),
    Standalone(LICENSE_TERMS, "refused", term_refused, (COMPLETED,), needs_time=YEARS),
    Standalone(LICENSE_TERMS, "not_applied", term_not_applied, (COMPLETED,), needs_time=YEARS),
    Standalone(RATING_FOLLOW_UPS, "fixed", follow_up_fixed, (COMPLETED,)),
    Standalone(RATING_FOLLOW_UPS, "appeal_upheld", follow_up_appeal_upheld, (COMPLETED,)),
    Standalone(
        RATING_FOLLOW_UPS,
        "late",
        follow_up_late,
        (COMPLETED,),
        needs_time="the follow-up's 15 working days must pass",
    ),
)
