"""The recorded histories of workflows that run on their own (a license's term, a 差评's
follow-up; tests/histories/standalone.py) replay against today's code, end as recorded, and
a change to either workflow is caught by them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow

from audit.replay import replay
from audit.trail import decision_trail
from domain.catalog import Catalog
from domain.license_term import LicenseTermState, TermStart
from domain.rating import FollowUpStart, FollowUpState
from domain.staff_words import action_words
from onething.histories import MANIFEST, load_histories
from tests.histories.record import (
    DEV_SERVER_DIR,
    HERE,
    fresh_store,
    record_standalone,
    recording_converter,
    replay_today,
    standalone_dirs,
    temporal,
)
from tests.histories.standalone import (
    EXPECTED_RUNS,
    KINDS,
    LICENSE_TERMS,
    RATING_FOLLOW_UPS,
    STANDALONE,
    Place,
    Standalone,
    run_ending,
)
from worker import WORKFLOWS, workflow_runner
from workflows.license_term import LicenseTermWorkflow
from workflows.rating_follow_up import RatingFollowUpWorkflow

RECORDED = standalone_dirs()
IDS = [str(p.relative_to(HERE)) for p in RECORDED]


def test_every_standalone_scenario_is_recorded_on_both_servers_unless_it_needs_time() -> None:
    today = {str(p.relative_to(HERE)) for p in RECORDED if p.parent.parent == HERE}
    on_dev = {
        str(p.relative_to(DEV_SERVER_DIR)) for p in RECORDED if p.parent.parent == DEV_SERVER_DIR
    }
    assert today == {s.path for s in STANDALONE}, "run `python -m tests.histories.record`"
    wanted = {s.path for s in STANDALONE if s.needs_time is None}
    assert on_dev == wanted, "run `python -m tests.histories.record --server dev`"
    assert {LICENSE_TERMS, RATING_FOLLOW_UPS} <= {s.kind for s in STANDALONE if s.needs_time}


@pytest.mark.parametrize("directory", RECORDED, ids=IDS)
async def test_recorded_standalone_history_replays_cleanly(directory: Path) -> None:
    reports = await replay_today(directory)
    assert reports, f"no histories in {directory}"
    diverged = [r.line() for r in reports if not r.clean]
    assert not diverged, "\n".join(diverged)


@pytest.mark.parametrize("directory", RECORDED, ids=IDS)
def test_each_recorded_run_ends_as_its_scenario_says(directory: Path) -> None:
    [scenario] = [s for s in STANDALONE if s.path == f"{directory.parent.name}/{directory.name}"]
    ends = [run_ending(history) for _, history in load_histories(directory)]
    recorded = json.loads((directory / EXPECTED_RUNS).read_text("utf-8"))
    # Files load in name order: a first run, then `.run2`, as the manifest lists them.
    assert ends == recorded == list(scenario.ends)


# What the trail of each license-term recording reads, in order (`audit.term_trail`).
TERM_TRAILS = {
    "valid": ["term"],
    "revoked": ["term", "revocation"],
    "renewed": ["term", "reminder", "renewal_applied", "renewal", "renewal", "status", "term"],
    "deemed_renewed": ["term", "reminder", "renewal_applied", "deemed_renewed", "status", "term"],
    "refused": ["term", "reminder", "renewal_applied", "renewal", "expired"],
    "not_applied": ["term", "reminder", "expired"],
}


@pytest.mark.parametrize("directory", RECORDED, ids=str)
async def test_every_row_of_a_standalone_trail_reads_in_words(directory: Path) -> None:
    # What the auditor's table (`onething audit trail`) says of each row: no English left.
    trail = await decision_trail(directory, data_converter=recording_converter())
    unsaid = {row.action for row in trail.rows if action_words(row.action).isascii()}
    assert trail.rows and not unsaid, unsaid


@pytest.mark.parametrize(
    "directory", [d for d in RECORDED if d.parent.name == LICENSE_TERMS], ids=str
)
async def test_a_license_terms_trail_says_who_renewed_it_and_how_it_ended(
    directory: Path,
) -> None:
    trail = await decision_trail(directory, data_converter=recording_converter())
    assert trail.kinds() == TERM_TRAILS[directory.name]
    [first, *_] = trail.rows
    assert first.action == "term 1: valid through " + first.action.rsplit(" ", 1)[-1]
    assert first.rule and first.rule.count("/") == 1 and trail.application_id
    by_kind = {r.kind: r for r in trail.rows}
    if directory.name == "renewed":
        decided = trail.rows[3]
        assert (decided.action, decided.actor, decided.role) == (
            "renewal approved",
            "reviewer-market",
            "reviewer",
        )
        assert trail.rows[4].action.startswith("renewed: term 2 valid through")
    if directory.name == "refused":
        refused = by_kind["renewal"]
        assert refused.action == "renewal refused" and refused.reason == "未完成规定的继续教育学分"
    if directory.name == "deemed_renewed":
        applied = by_kind["renewal_applied"]
        assert (applied.actor, applied.role) == ("window_clerk-x", "window_clerk")
        assert applied.detail and applied.detail.startswith("办件编号 ")
        assert "第五十条" in (by_kind["deemed_renewed"].reason or "")


# A 差评's follow-up: the department's answer (its own words), the escalation of an overdue
# one, an appeal upheld; never read as Art. 45 excluded time.
FOLLOW_UP_TRAILS = {
    "fixed": ["follow_up"],
    "appeal_upheld": ["appeal"],
    "late": ["escalation", "follow_up"],
}


@pytest.mark.parametrize(
    "directory", [d for d in RECORDED if d.parent.name == RATING_FOLLOW_UPS], ids=str
)
async def test_a_follow_ups_trail_says_who_answered_and_how(directory: Path) -> None:
    trail = await decision_trail(directory, data_converter=recording_converter())
    assert trail.kinds() == FOLLOW_UP_TRAILS[directory.name]
    for row in trail.rows:
        if row.kind == "follow_up":
            assert row.role == "reviewer" and row.actor.startswith("reviewer-")
            assert row.action.startswith("answer: ") and row.reason
        if row.kind == "appeal":
            assert row.action == "rating excluded: the department's appeal upheld"


# -- a change to either workflow is caught ---------------------------------------------------


@workflow.defn(name="LicenseTermWorkflow", sandboxed=False)
class ChangedLicenseTermWorkflow(LicenseTermWorkflow):
    """Today's term workflow with a timer before anything else."""

    @workflow.run
    async def run(self, start: TermStart) -> LicenseTermState:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(start)


@workflow.defn(name="RatingFollowUpWorkflow", sandboxed=False)
class ChangedRatingFollowUpWorkflow(RatingFollowUpWorkflow):
    """Today's follow-up workflow with a timer before anything else."""

    @workflow.run
    async def run(self, start: FollowUpStart) -> FollowUpState:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(start)


KIND_TYPES = {LICENSE_TERMS: "LicenseTermWorkflow", RATING_FOLLOW_UPS: "RatingFollowUpWorkflow"}
CHANGED = {
    LICENSE_TERMS: (LicenseTermWorkflow, ChangedLicenseTermWorkflow),
    RATING_FOLLOW_UPS: (RatingFollowUpWorkflow, ChangedRatingFollowUpWorkflow),
}


@pytest.mark.parametrize("kind", KINDS)
async def test_a_changed_workflow_diverges_from_every_recording_of_its_kind(kind: str) -> None:
    today, changed = CHANGED[kind]
    workflows = [w for w in WORKFLOWS if w is not today] + [changed]
    recordings = [d for d in RECORDED if d.parent.name == kind]
    assert recordings
    reports = await replay(
        recordings, recording_converter(), workflows=workflows, workflow_runner=workflow_runner()
    )
    assert reports and all(r.workflow_type == today.__name__ for r in reports)
    clean = [r.line() for r in reports if r.clean or "Nondeterminism" not in (r.divergence or "")]
    assert not clean, "\n".join(clean)


# -- live: each scenario runs on today's code and records what it says -----------------------


@pytest.mark.parametrize("scenario", STANDALONE, ids=[s.path for s in STANDALONE])
async def test_scenario_runs_live_and_is_recorded_as_it_says(
    scenario: Standalone, catalog: Catalog, tmp_path: Path
) -> None:
    engine = fresh_store(tmp_path)
    try:
        async with temporal("time-skipping", tmp_path) as env:
            place = Place(env, engine, catalog)
            target = await record_standalone(place, scenario, tmp_path / "out")
    finally:
        engine.dispose()
    assert target == tmp_path / "out" / scenario.kind / scenario.name
    manifest = json.loads((target / MANIFEST).read_text("utf-8"))
    assert {h["workflow_type"] for h in manifest["histories"]} == {KIND_TYPES[scenario.kind]}
    reports = await replay_today(target)
    assert len(reports) == len(scenario.ends) and all(r.clean for r in reports)
