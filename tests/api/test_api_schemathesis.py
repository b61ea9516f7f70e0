"""Schemathesis over the API's own OpenAPI document: generated requests (valid and not)
against the app served by uvicorn on loopback, with a real worker and a Temporal dev
server. A 500 is a bug; so is an answer the document does not describe."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from domain.catalog import Catalog
from starter.api import create_app
from tests.conftest import CODEC, onething_client, serving
from tests.support.api import REGISTRY, own_dev_server, token

# Every check but `positive_data_acceptance`: an ID number's check digit and "latitude
# with longitude" are rules a JSON Schema cannot state, so schema-valid data may be refused.
EXCLUDED_CHECKS = "positive_data_acceptance"
MAX_EXAMPLES = int(os.environ.get("ONETHING_SCHEMATHESIS_EXAMPLES", "8"))
PHASES = os.environ.get("ONETHING_SCHEMATHESIS_PHASES", "examples,coverage,fuzzing")


def config_toml() -> str:
    """Each caller fuzzes the operations its role reaches; `wait` stays 0 so a running
    application's result does not hold a request open."""

    def bearer(who: str) -> str:
        return f'headers = {{ Authorization = "Bearer {token(who)}" }}'

    return f"""
[parameters]
"query.wait" = 0

[[operations]]
include-path-regex = "/decision$"
{bearer("rev-health")}

[[operations]]
include-path-regex = "/inspection$"
{bearer("insp-health")}

[[operations]]
include-path-regex = "/extension$"
{bearer("head-health")}

[[operations]]
include-path-regex = "/excluded-time(/end)?$"
{bearer("rev-health")}

[[operations]]
include-path-regex = "/cancellation$"
{bearer("ops")}

[[operations]]
include-path-regex = "^/supervision/"
{bearer("sup")}

[[operations]]
include-path-regex = "^/credit/"
{bearer("sup")}

[[operations]]
include-path-regex = "^/tasks$"
{bearer("rev-health")}

[[operations]]
include-path-regex = "^/(codec|reports|healthz)"
{bearer("ops")}

[[operations]]
include-path-regex = "^/(applications|catalog|guides|halls|licenses|me)"
{bearer("clerk-yc")}
"""


def _schemathesis() -> str:
    beside = Path(sys.executable).with_name("schemathesis")
    found = str(beside) if beside.exists() else shutil.which("schemathesis")
    if not found:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    return found


async def test_schemathesis_finds_no_server_error(
    store_engine: Engine, catalog: Catalog, tmp_path: Path
) -> None:
    if store_engine.dialect.name != "sqlite":
        pytest.skip("one store is enough for the fuzzing run")
    command = _schemathesis()
    async with (
        own_dev_server() as env,
        onething_client(env, store_engine, catalog) as client,
    ):
        app = create_app(client, store_engine, REGISTRY, codec=CODEC)
        async with serving(app) as base:
            config = tmp_path / "schemathesis.toml"
            config.write_text(config_toml())
            report = tmp_path / "report.json"
            process = await asyncio.create_subprocess_exec(
                command,
                "--config-file",
                str(config),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "all",
                "--exclude-checks",
                EXCLUDED_CHECKS,
                "--max-examples",
                str(MAX_EXAMPLES),
                "--phases",
                "examples,coverage,fuzzing",
                "--seed",
                "20261127",
                "--no-shrink",
                "--request-timeout",
                "20",
                "--report",
                "json",
                "--report-json-path",
                str(report),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "NO_COLOR": "1"},
                cwd=tmp_path,  # its cache directory goes there, not into the work tree
            )
            out, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    text = out.decode(errors="replace")
    assert process.returncode == 0, text[-8000:]
    summary = json.loads(report.read_text())
    operations = summary["operations"]
    assert operations["tested"] == operations["total"] > 20, operations
    assert summary["failures"] == [] and summary["errors"] == [], text[-8000:]
