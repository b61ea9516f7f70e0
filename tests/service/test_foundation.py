"""The foundation: settings refuse wrong values in one line; logs carry workflow and run IDs."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.application import Withdrawal
from domain.catalog import Catalog
from onething.logs import configure_logging
from onething.settings import LogFormat, SettingsError, load_settings
from starter.demo import demo_submission
from tests.conftest import ROOT, new_application_id, onething_client
from tests.desk import wait_for_assessment


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("TEMPORAL_ADDRESS", "localhost", "must be host:port"),
        ("ONETHING_LOG_FORMAT", "xml", "'auto', 'console' or 'json'"),
        ("DATABASE_URL", "mysql://x", "must start with sqlite:// or postgresql://"),
        ("ONETHING_UI_PORT", "99999", "less than or equal to 65535"),
        ("ONETHING_LOG_LEVEL", "loud", "must be one of DEBUG"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"invalid setting {variable}=")
    assert problem in message


def test_the_cli_stops_at_start_up_with_that_line_and_no_traceback() -> None:
    env = {**os.environ, "TEMPORAL_ADDRESS": "nowhere"}
    done = subprocess.run(
        [sys.executable, "-m", "starter.cli", "status", "x"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "TEMPORAL_ADDRESS" in lines[0] and "Traceback" not in done.stderr


async def test_workflow_and_activity_logs_carry_workflow_and_run_ids(
    ts_env: WorkflowEnvironment,
    store_engine: Engine,
    catalog: Catalog,
    capfd: pytest.CaptureFixture[str],
) -> None:
    configure_logging(LogFormat.JSON, "INFO")
    try:
        submission = demo_submission(catalog, new_application_id())
        missing_all = submission.model_copy(update={"materials": []})  # a correction notice
        async with onething_client(ts_env, store_engine, catalog) as client:
            receipt = await client.submit(missing_all)
            await wait_for_assessment(client, receipt.application_id)
            await client.withdraw(receipt.application_id, Withdrawal(reason="不再办理"))
            await client.result(receipt.application_id)
            history = await ts_env.client.get_workflow_handle(receipt.workflow_id).fetch_history()
    finally:
        logging.getLogger().handlers.clear()

    events = [
        json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
    ]
    waiting = [e for e in events if e.get("event") == "application awaiting_correction"]
    assert waiting, "the workflow logged its wait for the correction"
    assert waiting[0]["workflow_id"] == receipt.workflow_id
    assert waiting[0]["run_id"] == history.run_id
    [pinned] = [e for e in events if e.get("event") == "catalog pinned"]
    assert pinned["workflow_id"] == receipt.workflow_id and pinned["run_id"] == history.run_id
    assert (
        pinned["activity_type"] == "receive_application"
        and pinned["catalog_version"] == catalog.version
    )
    for personal in (submission.applicant.name, submission.applicant.id_number):
        assert all(personal not in json.dumps(e, ensure_ascii=False) for e in events)


def test_keys_rotate_adds_an_active_key_and_keeps_the_old(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from onething.codec import load_keyring_file
    from starter.cli import app

    env = {"ONETHING_DATA_DIR": str(tmp_path), "ONETHING_CODEC_KEYS": ""}
    runner = CliRunner()
    first = runner.invoke(app, ["keys", "show", "--json"], env=env)
    assert first.exit_code == 0, first.output
    before = json.loads(first.output)
    rotated = runner.invoke(app, ["keys", "rotate"], env=env)
    assert rotated.exit_code == 0, rotated.output
    keyring = load_keyring_file(tmp_path / "codec-keys.json")
    assert keyring.active_key_id not in before["keys"]
    assert set(before["keys"]) < set(keyring.key_ids)
    secrets = [base64.b64encode(keyring.key(kid)).decode() for kid in keyring.key_ids]
    assert not any(secret in first.output + rotated.output for secret in secrets)

    # In two steps: a key added decodes but does not seal until it is activated.
    added = runner.invoke(app, ["keys", "add"], env=env)
    assert added.exit_code == 0, added.output
    ring = load_keyring_file(tmp_path / "codec-keys.json")
    [new] = set(ring.key_ids) - set(keyring.key_ids)
    assert ring.active_key_id == keyring.active_key_id
    typo = runner.invoke(app, ["keys", "activate", "no-such-key"], env=env)
    assert typo.exit_code == 2 and "'no-such-key' is not in the keyring" in typo.output
    activated = runner.invoke(app, ["keys", "activate", new], env=env)
    assert activated.exit_code == 0, activated.output
    assert load_keyring_file(tmp_path / "codec-keys.json").active_key_id == new
