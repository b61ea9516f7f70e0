"""`onething audit`: export histories, replay them against today's code, read the trail.

Mounted by the main CLI as `app.add_typer(cli_audit.app, name="audit")`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from temporalio.client import Client
from temporalio.converter import DataConverter

import domain.staff_words as words
from audit.export import export_histories, export_workflow_histories
from audit.kinds import Kind
from audit.replay import replay
from audit.rows import DecisionTrail
from audit.trail import decision_trail
from domain.catalog_loading import load_seed_catalog
from domain.license_term import term_workflow_id
from onething.histories import HistoryNotFound, fetch_workflow_histories
from starter.cli_common import fail
from worker import WORKFLOWS, workflow_runner

app = typer.Typer(
    name="audit",
    help="Auditors: export an application's (or a license term's) histories, replay them, "
    "read the decision trail.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)
LOCAL = ZoneInfo("Asia/Shanghai")  # the service center's clock, for people reading the table


def _converter() -> DataConverter:
    """The production data converter with the codec of this installation's keyring."""
    from onething.runtime import open_codec
    from onething.settings import SettingsError, load_settings
    from onething.temporal import data_converter

    try:
        return data_converter(open_codec(load_settings()))
    except (SettingsError, ValueError, OSError) as exc:
        raise fail(f"cannot load the payload keys: {exc}") from None


async def _client() -> Client:
    from onething.runtime import open_codec
    from onething.settings import SettingsError, load_settings
    from onething.temporal import connect

    try:
        settings = load_settings()
        return await connect(settings, open_codec(settings))
    except (SettingsError, ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    except RuntimeError as exc:  # cannot reach Temporal
        raise fail(f"cannot connect to Temporal: {exc}") from None


LicenseFlag = Annotated[
    bool,
    typer.Option(
        "--license",
        help="The ID is a license number: its term (validity, renewal), every run of it.",
    ),
]
WorkflowFlag = Annotated[
    bool,
    typer.Option(
        "--workflow",
        help="The ID is a workflow ID started on its own (a 差评's follow-up, "
        "rating-follow-up-...; a license term, license-term-...), every run of it.",
    ),
]


def _standalone_id(source: str, license: bool, workflow: bool) -> str | None:
    """The workflow ID `--license` or `--workflow` names; None for an application ID."""
    if license:
        return term_workflow_id(source)
    return source if workflow else None


@app.command("export")
def export_cmd(
    application_id: Annotated[str, typer.Argument(help="The application ID.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Directory to write to (default: ./audit-<ID>)."),
    ] = None,
    license: LicenseFlag = False,
    workflow: WorkflowFlag = False,
) -> None:
    """Write the application's workflow histories (parent and children) as JSON, or with
    --license those of a license's term, with --workflow those of a workflow started on
    its own.

    Same format as `temporal workflow show --output json` and the Web UI download,
    plus manifest.json naming the workflow ID of each file.
    """
    target = out or Path(f"audit-{application_id}")

    async def go() -> list[str]:
        client = await _client()
        if standalone := _standalone_id(application_id, license, workflow):
            exported = await export_workflow_histories(client, [standalone], target)
        else:
            exported = await export_histories(client, application_id, target)
        return [f"{e.path}  {e.workflow_type} {e.workflow_id}" for e in exported]

    try:
        lines = asyncio.run(go())
    except HistoryNotFound as exc:
        raise fail(str(exc)) from None
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
    console.print(f"{len(lines)} histories written to {target}", highlight=False, soft_wrap=True)


@app.command("replay")
def replay_cmd(
    paths: Annotated[
        list[Path], typer.Argument(help="History files or directories (e.g. an export).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Replay histories against today's workflow code; exit 1 if any diverges."""
    converter = _converter()
    # The report carries each failure; the SDK's own traceback per failure is noise here.
    sdk_log = logging.getLogger("temporalio")
    level = sdk_log.level
    sdk_log.setLevel(logging.CRITICAL)
    try:
        reports = asyncio.run(
            replay(paths, converter, workflows=WORKFLOWS, workflow_runner=workflow_runner())
        )
    except HistoryNotFound as exc:
        raise fail(str(exc)) from None
    finally:
        sdk_log.setLevel(level)
    if not reports:
        raise fail("no history files found")
    diverged = [r for r in reports if not r.clean]
    if as_json:
        rows = [
            {
                "path": str(r.path),
                "workflow_id": r.workflow_id,
                "workflow_type": r.workflow_type,
                "clean": r.clean,
                "divergence": r.divergence,
                "undecodable": r.undecodable,
            }
            for r in reports
        ]
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        raise typer.Exit(1 if diverged else 0)
    for report in reports:
        mark = "[green]ok[/]" if report.clean else "[bold red]FAIL[/]"
        console.print(f"{mark} {report.line()}", highlight=False, soft_wrap=True)
    console.print(
        f"{len(reports) - len(diverged)} of {len(reports)} histories replay cleanly",
        highlight=False,
    )
    if diverged:
        raise typer.Exit(1)


@app.command("trail")
def trail_cmd(
    source: Annotated[
        str,
        typer.Argument(
            help="An application ID (or with --license a license number), a history file or "
            "an export directory."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    license: LicenseFlag = False,
    workflow: WorkflowFlag = False,
) -> None:
    """The decision trail: who decided what, when, under which rule, and why; of a license's
    term: its terms, the renewal reminder, application and decision, its end."""
    path = Path(source)
    from_file = path.exists()

    async def go() -> DecisionTrail:
        if from_file:
            return await decision_trail(path, data_converter=_converter())
        client = await _client()
        if standalone := _standalone_id(source, license, workflow):
            histories = await fetch_workflow_histories(client, standalone)
            return await decision_trail(histories, client=client)
        return await decision_trail(source, client=client)

    try:
        trail = asyncio.run(go())
    except HistoryNotFound as exc:
        raise fail(str(exc)) from None
    if as_json:
        sys.stdout.write(trail.model_dump_json(indent=2) + "\n")
        return
    table = Table(title=f"{trail.application_id or source} 办理过程记录")
    columns = (
        "时间(北京时间)",
        "类别",
        "办理",
        "办理人",
        "角色",
        "依据(目录版本/事项)",
        "理由",
        "详情",
    )
    for column in columns:
        # Instants are read whole; the rest may fold on a narrow terminal.
        table.add_column(column, overflow="fold", no_wrap=column.startswith("时间"))
    catalog = load_seed_catalog()  # item names: codes keep their names across versions
    for row in trail.rows:
        actor = words.actor_words(row.actor)
        if row.on_behalf_of:
            actor += f" (代{words.ROLE.get(row.on_behalf_of, row.on_behalf_of)})"
        table.add_row(
            row.at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M:%S"),
            _kind_label(row.kind),
            words.action_words(row.action),
            actor,
            words.ROLE.get(row.role, row.role),
            words.case_words(catalog, row.rule) if row.rule else "",
            row.reason or "",
            words.detail_words(row.detail),
        )
    console.print(table)


def _kind_label(kind: str) -> str:
    """The trail's kind in Chinese; a kind this version does not know, as recorded."""
    return Kind(kind).label if kind in _KINDS else kind


_KINDS = frozenset(k.value for k in Kind)
