"""Re-record the histories replayed in CI: `python -m tests.histories.record [NAME ...]`.

Runs every scenario of tests/histories/scenarios.py (or the named ones) on a fresh
time-skipping test server with the production worker, then writes, per scenario,
tests/histories/<name>/ with the exported histories (parent and children, the JSON of
`temporal workflow show --output json`), manifest.json and expected-trail.json.

Payloads are encrypted with tests/histories/test-keyring.json: a fixed key committed
for these recordings only. It protects nothing (the scenario data is made up) and
must never be used anywhere else.

Re-record only when a workflow change is meant to change new histories *and* the
old ones still replay (behind `workflow.patched`); first move today's recordings into a
folder named for their era (as `before-local-activities/`), so CI goes on replaying them.
See the audit README.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import Engine
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog, load_seed_catalog
from onething.codec import EncryptionCodec, load_keyring_file
from onething.devserver import executable
from onething.settings import Settings
from onething.temporal import data_converter, register_search_attributes
from starter.audit import export_histories
from starter.client import OnethingClient
from tests.histories.scenarios import SCENARIOS, Run, Scenario

HERE = Path(__file__).resolve().parent
KEYRING = HERE / "test-keyring.json"
EXPECTED = "expected-trail.json"


def recording_converter() -> DataConverter:
    """The production converter with the committed test key (tests only)."""
    return data_converter(EncryptionCodec(load_keyring_file(KEYRING)))


def scenario_dirs(root: Path = HERE) -> list[Path]:
    """Today's recordings (<root>/<scenario>) and those kept from earlier workflow code
    (<root>/<era>/<scenario>): every one must still replay."""
    return sorted(p.parent for p in root.glob(f"**/{EXPECTED}"))


def fresh_store(directory: Path) -> Engine:
    """An empty SQLite store, opened the way every onething process opens its store."""
    from onething.runtime import open_store

    return open_store(Settings(database_url=f"sqlite:///{directory / 'onething.db'}"))


async def record(names: list[str] | None = None, out: Path = HERE) -> list[Path]:
    chosen = [s for s in SCENARIOS if not names or s.name in names]
    unknown = set(names or []) - {s.name for s in SCENARIOS}
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    catalog = load_seed_catalog()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(executable("temporal-test-server")),
        data_converter=recording_converter(),
    )
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = fresh_store(Path(tmp))
        try:
            await register_search_attributes(env.client)
            for scenario in chosen:
                written.append(await _record_one(env, engine, catalog, scenario, out))
        finally:
            engine.dispose()
            await env.shutdown()
    return written


async def _record_one(
    env: WorkflowEnvironment, engine: Engine, catalog: Catalog, scenario: Scenario, out: Path
) -> Path:
    # The same worker set-up the tests use (the lead's conftest keeps it current).
    from tests.conftest import running_worker

    async with running_worker(env.client, engine) as task_queue:
        client = OnethingClient(env.client, task_queue, catalog)
        expected = await scenario.run(Run(client, catalog, scenario.application_id, env))
    target = out / scenario.name
    if target.exists():
        shutil.rmtree(target)
    exported = await export_histories(env.client, scenario.application_id, target)
    (target / EXPECTED).write_text(
        json.dumps(
            [e.model_dump(exclude_none=True) for e in expected], indent=2, ensure_ascii=False
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"{scenario.name}: {len(exported)} histories -> {target}")
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="scenarios to re-record (default: all)")
    args = parser.parse_args(argv)
    asyncio.run(record(args.names or None))


if __name__ == "__main__":
    main()
