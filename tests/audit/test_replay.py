"""Audit: recorded histories replay against today's code; export, replay and trail work live.

A failure of `test_recorded_history_replays_cleanly` means a workflow change would break
applications that are running now. Put the change behind `workflow.patched` (or, if no
such application can exist, re-record: `python -m tests.histories.record`, and
`python -m tests.histories.record --server dev`; to keep today's recordings replayed as an
era first: `python -m tests.histories.record --era NAME`).

The scenarios are recorded on both servers: the time-skipping test server (every scenario)
and the dev server (tests/histories/devserver/, what production writes: e.g. an unset
Datetime attribute as a typed null, which the test server does not write). Scenarios with
`needs_time` (lapsed, deficiency_lapsed, review_overdue: a limit must pass) are
time-skipping only; on the dev server they would take weeks of real time. Every scenario
also runs live against today's code here (`test_scenario_runs_live_...`), so a workflow
change that the scenarios no longer describe shows before anything is re-recorded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine
from temporalio import workflow
from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from audit.export import export_histories
from audit.kinds import Kind
from audit.replay import replay
from audit.rows import DecisionTrail
from audit.trail import decision_trail
from domain.application import ItemCase, ItemOutcome, Withdrawal
from domain.catalog import Catalog
from domain.people import Agent, resident_id_check_digit
from domain.staff_words import action_words
from onething.costs import local_activity_data
from onething.devserver import executable
from onething.histories import MANIFEST, load_histories
from onething.history_payloads import typed_search_attributes
from starter.cli_audit import app as audit_app
from starter.demo import DEMO_ITEM, demo_applicant, demo_submission
from store import licenses
from tests.conftest import CODEC, onething_client
from tests.histories.record import (
    BEFORE_LOCAL_ACTIVITIES,
    BEFORE_PROCEDURE_REVISION,
    DEV_SERVER_DIR,
    EXPECTED,
    HERE,
    KEYRING,
    fresh_store,
    keep_as_era,
    kept,
    recording_converter,
    replay_today,
    scenario_dirs,
    todays,
)
from tests.histories.scenarios import (
    ACCEPTED,
    CLERK,
    SCENARIOS,
    Expect,
    Run,
    Scenario,
    approved,
    at_window,
    awaiting_correction,
    incomplete,
    observed,
    per_workflow,
    wait_for_review,
)
from tests.histories.standalone import LICENSE_TERMS
from worker import WORKFLOWS, workflow_runner
from workflows import search_attributes as sa
from workflows.item import ItemWorkflow

RECORDED = scenario_dirs()


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = fresh_store(tmp_path_factory.mktemp("audit-store"))
    yield engine
    engine.dispose()


def test_every_scenario_has_a_recording() -> None:
    recorded = {p.name for p in RECORDED if p.parent == HERE}
    missing = [s.name for s in SCENARIOS if s.name not in recorded]
    assert not missing, f"not recorded yet: {missing}; run `python -m tests.histories.record`"


def typed_null_datetimes(directory: Path) -> int:
    """Upserts in the histories under `directory` that unset a Datetime attribute the way
    the dev server writes it: a binary/null payload still typed Datetime."""
    null, datetime_type = (base64.b64encode(v).decode() for v in (b"binary/null", b"Datetime"))
    found = 0
    for path, _ in load_histories(directory):
        for event in json.loads(path.read_text("utf-8"))["events"]:
            upsert = event.get("upsertWorkflowSearchAttributesEventAttributes", {})
            for value in upsert.get("searchAttributes", {}).get("indexedFields", {}).values():
                meta = value.get("metadata", {})
                found += meta.get("encoding") == null and meta.get("type") == datetime_type
    return found


def test_every_scenario_that_needs_no_time_has_a_dev_server_recording() -> None:
    """What production writes is replayed and trailed too; only scenarios whose story needs
    a limit to pass (weeks of real time on the dev server) are time-skipping only."""
    recorded = {p.name for p in RECORDED if p.parent == DEV_SERVER_DIR}
    wanted = {s.name for s in SCENARIOS if s.needs_time is None}
    assert recorded == wanted, "run `python -m tests.histories.record --server dev`"
    assert {s.name for s in SCENARIOS if s.needs_time} == {
        "lapsed",
        "deficiency_lapsed",
        "review_overdue",
    }
    # The dev server's typed nulls (the time-skipping server writes none) stay covered.
    assert typed_null_datetimes(DEV_SERVER_DIR / "approved")
    assert not typed_null_datetimes(HERE / "approved")


@pytest.mark.parametrize("directory", RECORDED, ids=[str(p.relative_to(HERE)) for p in RECORDED])
async def test_recorded_history_replays_cleanly(directory: Path) -> None:
    reports = await replay_today(directory)
    assert reports, f"no histories in {directory}"
    diverged = [r.line() for r in reports if not r.clean]
    assert not diverged, "\n".join(diverged)


@pytest.mark.parametrize("directory", RECORDED, ids=[str(p.relative_to(HERE)) for p in RECORDED])
async def test_recorded_trail_matches_what_the_scenario_did(directory: Path) -> None:
    expected = [
        Expect.model_validate(e) for e in json.loads((directory / EXPECTED).read_text("utf-8"))
    ]
    trail = await decision_trail(directory, data_converter=recording_converter())
    assert per_workflow(observed(trail)) == per_workflow(expected)
    assert trail.application_id == f"rec-{directory.name}"
    for row in trail.rows:
        assert row.rule and row.rule.count("/") == 1, f"rule is 'catalog version/item': {row}"
    # What the auditor's table (`onething audit trail`) says of each row is in words.
    unsaid = {row.action for row in trail.rows if action_words(row.action).isascii()}
    assert not unsaid, unsaid


@pytest.mark.parametrize("server", [HERE, DEV_SERVER_DIR], ids=["time-skipping", "dev"])
async def test_a_license_the_department_reports_is_no_signal_in_the_trail(server: Path) -> None:
    """Tobacco's department tells the application of its license by a client signal (no
    workflow sends it, so nothing marks it as the application's own): the trail reads the
    license from `issue_license` and shows no signal row for the report."""
    trail = await decision_trail(
        server / "commitment_inspected", data_converter=recording_converter()
    )
    assert [r.action for r in trail.rows if r.kind == Kind.SIGNAL] == []
    licensed = [r.item_code for r in trail.rows if r.kind == Kind.LICENSE]
    assert "tobacco-retail-license" in licensed


# -- a change that breaks running applications is caught ------------------------------------


@workflow.defn(name="ItemWorkflow", sandboxed=False)
class ChangedItemWorkflow(ItemWorkflow):
    """Today's ItemWorkflow with one extra activity call before anything else."""

    @workflow.run
    async def run(self, case: ItemCase) -> ItemOutcome:
        await workflow.execute_activity(
            "notify_applicant", case.application_id, start_to_close_timeout=timedelta(seconds=5)
        )
        return await super().run(case)


def first_item_step(directory: Path) -> str:
    """How a divergence names the item's first recorded step: its local activity, or its
    activity."""
    [(_, item)] = [(p, h) for p, h in load_histories(directory) if "__item-" in p.name]
    for event in item.events:
        local = local_activity_data(event)
        if local is not None:
            return f"local activity {local.get('activity_type')}"
        if event.HasField("activity_task_scheduled_event_attributes"):
            return str(event.activity_task_scheduled_event_attributes.activity_type.name)
    raise AssertionError(f"the item of {directory} records no step")


@pytest.mark.parametrize(
    ("recording", "named"),
    [
        (HERE / "approved", None),  # today's: the item's first step, as recorded
        # Before the revision: the first step was opening the review's staff task.
        (kept(BEFORE_PROCEDURE_REVISION, "approved"), "local activity open_staff_task"),
        (HERE / BEFORE_LOCAL_ACTIVITIES / "approved", "notify_applicant"),  # the step put first
    ],
    ids=["today", BEFORE_PROCEDURE_REVISION, BEFORE_LOCAL_ACTIVITIES],
)
async def test_changed_workflow_is_flagged_with_its_divergence(
    recording: Path, named: str | None
) -> None:
    named = named or first_item_step(recording)
    workflows = [w for w in WORKFLOWS if w is not ItemWorkflow] + [ChangedItemWorkflow]
    reports = await replay(
        recording, recording_converter(), workflows=workflows, workflow_runner=workflow_runner()
    )

    by_type = {r.workflow_type: r for r in reports}
    assert by_type["ApplicationWorkflow"].clean
    changed = by_type["ItemWorkflow"]
    assert not changed.clean and changed.divergence is not None
    assert "Nondeterminism" in changed.divergence
    assert named in changed.divergence, changed.divergence
    assert "DIVERGES" in changed.line()


# -- live: export -> replay -> clean, and the trail of what just happened --------------------


async def test_export_replay_and_trail_of_a_live_application(
    ts_env: WorkflowEnvironment, sqlite_store: Engine, catalog: Catalog, tmp_path: Path
) -> None:
    application_id = f"A{uuid.uuid4().hex[:10]}"
    out = tmp_path / "export"
    async with onething_client(ts_env, sqlite_store, catalog) as client:
        expected = await approved(Run(client, catalog, application_id, ts_env))
        exported = await export_histories(ts_env.client, application_id, out)
        live_trail = await decision_trail(application_id, client=ts_env.client)

    assert [e.workflow_type for e in exported] == ["ApplicationWorkflow", "ItemWorkflow"]
    assert exported[1].parent_workflow_id == exported[0].workflow_id
    manifest = json.loads((out / MANIFEST).read_text("utf-8"))
    assert [h["workflow_id"] for h in manifest["histories"]] == [e.workflow_id for e in exported]
    # The same format the CLI and Web UI download write: {"events": [...]}.
    for e in exported:
        doc = json.loads(e.path.read_text("utf-8"))
        assert list(doc) == ["events"]
        assert doc["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
        # Personal data never stands in plain text in an exported history.
        text = e.path.read_text("utf-8")
        person = demo_applicant()
        for secret in (person.name, person.id_number, person.phone):
            assert secret not in text

    reports = await replay_today(out, ts_env.client.data_converter)
    assert [r.clean for r in reports] == [True, True], [r.line() for r in reports]
    assert [h.workflow_id for _, h in load_histories(out)] == sorted(
        e.workflow_id for e in exported
    )

    # The Temporal CLI's own download of the same workflow: same format, replays too.
    cli = await asyncio.create_subprocess_exec(
        str(executable("temporal")),
        "workflow",
        "show",
        "--address",
        ts_env.client.service_client.config.target_host,
        "--namespace",
        ts_env.client.namespace,
        "--workflow-id",
        exported[0].workflow_id,
        "--output",
        "json",
        stdout=asyncio.subprocess.PIPE,
    )
    downloaded, _ = await cli.communicate()
    assert cli.returncode == 0
    cli_doc = json.loads(downloaded)
    ours = json.loads(exported[0].path.read_text("utf-8"))
    assert [e["eventType"] for e in cli_doc["events"]] == [e["eventType"] for e in ours["events"]]
    (tmp_path / "from-cli").mkdir()
    (tmp_path / "from-cli" / "application.json").write_bytes(downloaded)
    [from_cli] = await replay_today(tmp_path / "from-cli", ts_env.client.data_converter)
    assert from_cli.clean, from_cli.line()

    file_trail = await decision_trail(out, data_converter=ts_env.client.data_converter)
    assert observed(live_trail) == expected
    assert file_trail == live_trail
    [decision] = [r for r in live_trail.rows if r.kind == "decision"]
    assert decision.action == "review approve"
    assert decision.rule == f"{live_trail.rows[0].rule.split('/')[0]}/{decision.item_code}"  # type: ignore[union-attr]


def test_unset_and_unreadable_search_attributes_hide_no_other() -> None:
    """An upsert as the dev server records it: an unset Datetime is a null still typed
    Datetime (it sets nothing); a value the SDK cannot read is left out, the rest read."""
    typed = typed_search_attributes(
        SearchAttributes(
            indexed_fields={
                sa.DUE_AT.name: Payload(metadata={"encoding": b"binary/null", "type": b"Datetime"}),
                sa.CLOCK_STATE.name: Payload(
                    metadata={"encoding": b"json/plain", "type": b"Keyword"}, data=b'"stopped"'
                ),
                sa.ESCALATED.name: Payload(
                    metadata={"encoding": b"binary/unknown", "type": b"Bool"}
                ),
                sa.APPLICATION_STATUS.name: Payload(
                    metadata={"encoding": b"json/plain", "type": b"Keyword"}, data=b'"completed"'
                ),
            }
        )
    )
    assert dict((p.key.name, p.value) for p in typed) == {
        sa.CLOCK_STATE.name: "stopped",
        sa.APPLICATION_STATUS.name: "completed",
    }


# -- live on the dev server: the auditor's tools on what production writes -----------------


@pytest.mark.devserver
async def test_audit_cli_on_dev_server_applications_closed_and_running(
    dev_env: WorkflowEnvironment,
    sqlite_store: Engine,
    catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`onething audit export/replay/trail` against the dev server: an application that
    completed (its due instant unset as it closed: a typed null in history) and one still
    waiting for its review (its due instant set)."""
    closed, running = (f"D{uuid.uuid4().hex[:10]}" for _ in range(2))
    async with onething_client(dev_env, sqlite_store, catalog) as client:
        expected = await approved(Run(client, catalog, closed, dev_env))
        await client.submit(at_window(demo_submission(catalog, running)))
        await wait_for_review(client, running, DEMO_ITEM)

    keys = tmp_path / "keys.json"
    keys.write_text(CODEC.keyring.to_json(), "utf-8")
    monkeypatch.setenv("ONETHING_CODEC_KEYS_FILE", str(keys))
    monkeypatch.delenv("ONETHING_CODEC_KEYS", raising=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", dev_env.client.namespace)
    runner = CliRunner()

    async def audit(*args: str) -> str:
        # The CLI runs its own event loop: off this one's thread.
        result = await asyncio.to_thread(runner.invoke, audit_app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    for application_id, trail_expected in ((closed, expected), (running, [ACCEPTED])):
        live = DecisionTrail.model_validate_json(await audit("trail", application_id, "--json"))
        assert observed(live) == trail_expected
        out = tmp_path / application_id
        exported = await audit("export", application_id, "--out", str(out))
        assert "2 histories written" in exported
        assert "2 of 2 histories replay cleanly" in await audit("replay", str(out))
        offline = await audit("trail", str(out), "--json")
        assert DecisionTrail.model_validate_json(offline) == live

    assert typed_null_datetimes(tmp_path / closed), "the case this test is for"
    assert not typed_null_datetimes(tmp_path / running)

    # The license the closed one was granted lives on in its term workflow: the same tools.
    [issued] = licenses.licenses_of(sqlite_store, closed)
    term = DecisionTrail.model_validate_json(
        await audit("trail", issued.number, "--license", "--json")
    )
    assert term.kinds() == ["term"] and term.application_id == closed
    # Any workflow started on its own, by its ID (a follow-up's alike).
    by_id = await audit("trail", f"license-term-{issued.number}", "--workflow", "--json")
    assert DecisionTrail.model_validate_json(by_id) == term
    out = tmp_path / issued.number
    assert "1 histories written" in await audit(
        "export", issued.number, "--license", "--out", str(out)
    )
    assert "1 of 1 histories replay cleanly" in await audit("replay", str(out))
    assert DecisionTrail.model_validate_json(await audit("trail", str(out), "--json")) == term


# -- the command line -----------------------------------------------------------------------


def test_cli_replays_trails_and_fails_on_divergence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONETHING_CODEC_KEYS_FILE", str(KEYRING))
    monkeypatch.delenv("ONETHING_CODEC_KEYS", raising=False)
    runner = CliRunner()

    # Mounted the way the main CLI mounts it: `onething audit ...`.
    onething = typer.Typer()
    onething.add_typer(audit_app, name="audit")
    ok = runner.invoke(onething, ["audit", "replay", str(HERE / "approved")])
    assert ok.exit_code == 0, ok.output
    assert "2 of 2 histories replay cleanly" in ok.output

    trail = runner.invoke(audit_app, ["trail", str(HERE / "rejected"), "--json"])
    assert trail.exit_code == 0, trail.output
    rows = json.loads(trail.output)["rows"]
    assert [r["kind"] for r in rows if r["kind"] == "decision"] == ["decision"]

    monkeypatch.setenv("COLUMNS", "200")  # the table is meant for a wide terminal
    table = runner.invoke(audit_app, ["trail", str(HERE / "refused")])
    assert table.exit_code == 0 and "不予受理" in table.output and "clerk-001" in table.output
    assert "北京时间" in table.output
    # In words: the item by its name, the role; not their codes.
    assert "护士执业注册" in table.output and "窗口受理人员" in table.output, table.output
    assert "nurse-practice-registration" not in table.output and "window_clerk" not in table.output

    # A history whose recorded (local) activity is not what the code runs: exit 1, named.
    for file in (HERE / "approved").iterdir():
        doc = json.loads(file.read_text("utf-8"))
        if file.name.endswith("registration.json"):
            marker = next(
                e["markerRecordedEventAttributes"]
                for e in doc["events"]
                if e.get("markerRecordedEventAttributes", {}).get("markerName")
                == "core_local_activity"
            )
            [payload] = marker["details"]["data"]["payloads"]
            data = json.loads(base64.b64decode(payload["data"]))
            data["activity_type"] = "open_case_file"
            payload["data"] = base64.b64encode(json.dumps(data).encode()).decode()
        (tmp_path / file.name).write_text(json.dumps(doc), "utf-8")
    bad = runner.invoke(audit_app, ["replay", str(tmp_path)])
    assert bad.exit_code == 1, bad.output
    assert "DIVERGES" in bad.output and "open_case_file" in bad.output
    assert "1 of 2 histories replay cleanly" in bad.output
    as_json = runner.invoke(audit_app, ["replay", str(tmp_path), "--json"])
    assert as_json.exit_code == 1
    assert [r["clean"] for r in json.loads(as_json.output)] == [True, False]

    # Without the key the payloads were sealed with: said so, nothing replayed.
    monkeypatch.setenv("ONETHING_CODEC_KEYS", f"other:{base64.b64encode(bytes(32)).decode()}")
    wrong_key = runner.invoke(audit_app, ["replay", str(HERE / "refused")])
    assert wrong_key.exit_code == 1
    assert "CANNOT DECODE" in wrong_key.output and "'test-histories'" in wrong_key.output

    missing = runner.invoke(audit_app, ["replay", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "neither a history file nor a directory" in missing.output


# -- the trail of procedure revision 2026-12 ------------------------------------------------


async def test_trail_of_a_correction_withdrawn_by_a_clerk_for_the_applicant(
    ts_env: WorkflowEnvironment,
    sqlite_store: Engine,
    catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """补正: the correction notice is the window's, lists what is missing (and the agent who
    applied, redacted), and is no acceptance; a clerk withdrawing at the window does so for
    the applicant."""
    application_id = f"W{uuid.uuid4().hex[:10]}"
    first17 = "42068419850505100"
    agent = Agent(
        name="代办员", id_number=first17 + resident_id_check_digit(first17), phone="13900000002"
    )
    async with onething_client(ts_env, sqlite_store, catalog) as client:
        run = Run(client, catalog, application_id, ts_env)
        submission = incomplete(run, "nurse-diploma", "applicant-id")
        await client.submit(submission.model_copy(update={"agent": agent}))
        await awaiting_correction(run)
        await client.withdraw(
            application_id, Withdrawal(reason="材料无法补齐, 撤回申请", received_by=CLERK)
        )
        await client.result(application_id)
        await export_histories(ts_env.client, application_id, tmp_path / "export")
        trail = await decision_trail(application_id, client=ts_env.client)

    correction, withdrawal, status = trail.rows
    assert (correction.kind, correction.actor, correction.role) == (
        "correction",
        CLERK.staff_id,
        "window_clerk",
    )
    assert correction.detail is not None
    for shown in ("申请人身份证件", "学历证书", "帮办代办", agent.redacted()):
        assert shown in correction.detail
    assert agent.id_number not in trail.model_dump_json()
    assert (withdrawal.kind, withdrawal.actor, withdrawal.on_behalf_of) == (
        "withdrawal",
        CLERK.staff_id,
        "applicant",
    )
    assert withdrawal.reason == "材料无法补齐, 撤回申请"
    assert (status.kind, status.action) == ("status", "withdrawn")  # it echoes the update

    keys = tmp_path / "keys.json"
    keys.write_text(CODEC.keyring.to_json(), "utf-8")
    monkeypatch.setenv("ONETHING_CODEC_KEYS_FILE", str(keys))
    monkeypatch.delenv("ONETHING_CODEC_KEYS", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    # The CLI runs its own event loop: off this one's thread.
    table = await asyncio.to_thread(
        CliRunner().invoke, audit_app, ["trail", str(tmp_path / "export")]
    )
    assert table.exit_code == 0, table.output
    assert f"{CLERK.staff_id} (代申请人)" in table.output
    assert "撤回" in table.output and "withdraw" not in table.output


def copy_recording(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for file in source.iterdir():
        (target / file.name).write_bytes(file.read_bytes())


async def test_todays_recordings_are_kept_as_an_era_only_if_they_replay(tmp_path: Path) -> None:
    """`python -m tests.histories.record --era NAME` before re-recording: today's recordings
    (both servers) move into NAME/, where CI keeps replaying them; one that no longer
    replays cannot be kept: named, nothing moved; with --drop-diverging it is deleted."""
    source = kept(BEFORE_PROCEDURE_REVISION, "approved")
    root = tmp_path / "histories"
    copy_recording(source, root / "approved")
    copy_recording(source, root / "devserver" / "approved")
    copy_recording(source, root / "broken")
    term = HERE / LICENSE_TERMS / "revoked"
    copy_recording(term, root / LICENSE_TERMS / "revoked")
    for file in (root / "broken").glob("*__item-*.json"):
        doc = json.loads(file.read_text("utf-8"))
        first = next(
            e["activityTaskScheduledEventAttributes"]
            for e in doc["events"]
            if "activityTaskScheduledEventAttributes" in e
        )
        first["activityType"]["name"] = "renamed_since"
        file.write_text(json.dumps(doc), "utf-8")
    assert len(todays(root)) == 4

    with pytest.raises(SystemExit, match="renamed_since") as refused:
        await keep_as_era("older", root=root)
    assert "broken" in str(refused.value) and "--drop-diverging" in str(refused.value)
    assert len(todays(root)) == 4 and not (root / "older").exists()

    moved = await keep_as_era("older", root=root, drop_diverging=True)

    assert sorted(p.relative_to(root).as_posix() for p in moved) == [
        "older/approved",
        "older/devserver/approved",
        f"older/{LICENSE_TERMS}/revoked",
    ]
    assert todays(root) == [] and not (root / "broken").exists()
    assert not (root / "devserver").exists() and not (root / LICENSE_TERMS).exists()
    assert kept("older", "devserver/approved", root) == root / "older/devserver/approved"
    with pytest.raises(SystemExit, match="new folder name"):
        await keep_as_era("older", root=root)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_scenario_runs_live_and_its_trail_says_what_it_did(
    scenario: Scenario, ts_env: WorkflowEnvironment, sqlite_store: Engine, catalog: Catalog
) -> None:
    """Every scenario against today's workflows, as `record` would record it: the trail
    read from the live histories is the one the scenario states. (Last in this module: the
    scenarios that need time move its server's clock on by weeks.)"""
    application_id = f"live-{scenario.name.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
    async with onething_client(ts_env, sqlite_store, catalog) as client:
        expected = await scenario.run(Run(client, catalog, application_id, ts_env))
        trail = await decision_trail(application_id, client=ts_env.client)
        # What `onething status` shows staff: every action the workflows wrote, in words.
        entries = list((await client.state(application_id)).trail)
        for item_code in sorted({r.item_code for r in trail.rows if r.item_code}):
            entries += (await client.item_state(application_id, item_code)).trail

    assert per_workflow(observed(trail)) == per_workflow(expected)
    for row in trail.rows:
        assert row.rule and row.rule.count("/") == 1, f"rule is 'catalog version/item': {row}"
    unsaid = {e.action for e in entries if action_words(e.action).isascii()}
    assert entries and not unsaid, unsaid


def test_every_trail_kind_has_a_chinese_label() -> None:
    from audit.kinds import KIND_LABELS, Kind

    assert set(KIND_LABELS) == set(Kind)
    assert all(not label.isascii() for label in KIND_LABELS.values())
