"""The KPI read model (onething.case_facts, store.case_facts): recorded scenarios with known
outcomes project to exactly the facts they lived through, and projecting again (the same
histories, a replay, a second refresh) never counts anything twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select
from temporalio.client import WorkflowHistory

from domain.calendar import WorkingCalendar
from onething.case_facts import application_id_of, project
from onething.histories import load_histories
from store import case_facts as store
from store.db import session
from tests.histories.record import recording_converter

HISTORIES = Path(__file__).parent.parent / "histories"
CALENDAR = WorkingCalendar.from_file()


def histories(name: str) -> list[WorkflowHistory]:
    return [h for _, h in load_histories(HISTORIES / name)]


async def facts(name: str) -> tuple[store.CaseFact, dict[str, store.ItemFact]]:
    case, items = await project(histories(name), recording_converter(), CALENDAR)
    return case, {i.item_code: i for i in items}


NURSE = "nurse-practice-registration"
FOOD = "food-business-license"


async def test_corrected_twice_by_mail_then_window_counts_one_extra_trip() -> None:
    case, items = await facts("corrected")
    assert (case.status, case.corrected, case.correction_rounds) == ("completed", True, 2)
    assert case.accepted_at is not None and case.accepted_at > case.received_at
    # The window at submission, the correction by mail (none), then at the window.
    assert case.trips == 2
    assert case.materials == 5  # three handed in, then one by mail and one at the window
    assert items[NURSE].outcome == "approved"
    assert (items[NURSE].promised_met, items[NURSE].statutory_met) == (True, True)


async def test_review_overdue_misses_both_limits_with_its_escalations() -> None:
    case, items = await facts("review_overdue")
    item = items[NURSE]
    assert (item.promised_met, item.statutory_met) == (False, False)
    assert (item.escalations_1, item.escalations_2) == (2, 1)  # review and statutory; review 2
    assert item.decision_days is not None and item.decision_days > item.promised_days
    assert case.trips == 1 and case.steps == 4  # accept, decide, issue, conclude


async def test_deficiency_supplemented_by_mail_keeps_the_pledge() -> None:
    case, items = await facts("deficiency_supplemented")
    assert (case.deficiency, case.pledge, case.trips) == (True, "kept", 1)
    assert items[FOOD].inspections_passed == 1 and not items[FOOD].revoked


async def test_deficiency_lapsed_breaks_the_pledge_and_revokes() -> None:
    case, items = await facts("deficiency_lapsed")
    assert (case.status, case.pledge, case.escalations_1) == ("stopped", "broken", 1)
    [item] = items.values()
    assert (item.path, item.outcome, item.revoked) == ("commitment", "revoked", True)


async def test_commitment_inspection_failed_twice_is_revoked() -> None:
    _, items = await facts("inspection_failed_twice")
    item = items[FOOD]
    assert (item.inspections_passed, item.inspections_failed) == (0, 2)
    assert (item.outcome, item.revoked, item.false_commitment) == ("revoked", True, False)


async def test_false_commitment_is_told_apart() -> None:
    _, items = await facts("enterprise_false_commitment")
    assert items[FOOD].false_commitment and items[FOOD].revoked


async def test_bundle_on_commitment_counts_each_item_and_one_trip() -> None:
    case, items = await facts("commitment_inspected")
    assert (case.is_bundle, case.target, case.trips) == (True, "open-convenience-store", 1)
    assert {c: i.outcome for c, i in items.items()} == {
        "business-license-individual": "approved",
        "food-filing-prepackaged": "approved",  # recorded on the spot, nothing to issue
        "tobacco-retail-license": "approved",
    }
    assert items["tobacco-retail-license"].path == "commitment"
    assert items["tobacco-retail-license"].inspections_passed == 1


async def test_paused_time_is_not_counted_against_the_limit() -> None:
    _, items = await facts("correction_extended")
    item = items[NURSE]
    assert (item.corrections, item.extension_days) == (1, 10)
    assert item.paused_days > 0 and item.decision_days == 0
    _, items = await facts("excluded_time")
    assert items[NURSE].excluded == 1 and items[NURSE].paused_days > 0


async def test_not_accepted_cases_have_no_items_and_no_acceptance() -> None:
    lapsed, items = await facts("lapsed")
    assert (lapsed.status, lapsed.accepted_at, items) == ("lapsed", None, {})
    refused, _ = await facts("refused_by_clerk")
    assert (refused.status, refused.corrected, refused.correction_rounds) == ("refused", True, 1)
    withdrawn, items = await facts("withdrawn")
    assert withdrawn.status == "withdrawn"
    assert items["tobacco-retail-license"].outcome == "stopped"
    assert items["tobacco-retail-license"].promised_met is None  # never decided


def test_application_id_of_workflow_ids() -> None:
    assert application_id_of("application-a-1") == "a-1"
    assert application_id_of("application-a-1/item-food-business-license") == "a-1"
    assert application_id_of("rating-follow-up-x") is None


def _counts(engine: Engine, application_id: str) -> tuple[int, int]:
    with session(engine) as s:
        cases = s.exec(
            select(func.count())
            .select_from(store.CaseFact)
            .where(store.CaseFact.application_id == application_id)
        ).one()
        items = s.exec(
            select(func.count())
            .select_from(store.ItemFact)
            .where(store.ItemFact.application_id == application_id)
        ).one()
    return int(cases), int(items)


@pytest.mark.parametrize("name", ["commitment_inspected", "review_overdue"])
async def test_projecting_again_writes_nothing_twice(store_engine: Engine, name: str) -> None:
    recorded = histories(name)
    case, items = await project(recorded, recording_converter(), CALENDAR)
    application_id = case.application_id
    with session(store_engine) as s:  # a clean slate for this scenario on this store
        s.exec(
            store.ItemFact.__table__.delete().where(store.ItemFact.application_id == application_id)
        )  # type: ignore[attr-defined]
        s.exec(
            store.CaseFact.__table__.delete().where(store.CaseFact.application_id == application_id)
        )  # type: ignore[attr-defined]
    # The history while it ran: the application's first events only (a shorter history).
    running = [WorkflowHistory(recorded[0].workflow_id, recorded[0].events[:15]), *recorded[1:]]
    early, early_items = await project(running, recording_converter(), CALENDAR)
    assert store.write(store_engine, early, early_items)
    assert early.source_digest != case.source_digest
    # The full history replaces the rows; the same again (a replay, a second refresh) and
    # a fresh projection of it write nothing.
    assert store.write(store_engine, case, items)
    again, again_items = await project(recorded, recording_converter(), CALENDAR)
    assert not store.write(store_engine, again, again_items)
    assert _counts(store_engine, application_id) == (1, len(items))
    stored, stored_items = store.cases(store_engine, application_id)
    assert stored is not None and stored.status == case.status
    assert [i.item_code for i in stored_items] == sorted(i.item_code for i in items)
