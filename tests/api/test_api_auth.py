"""The token document: formats, refusals, the embedded default, and the helper command."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from domain.catalog import Catalog
from domain.people import Role
from onething.keys import open_subject_keys
from onething.settings import Settings
from starter.api import build_api
from starter.auth import (
    AuthConfigError,
    TokenRegistry,
    applicant_ref,
    id_number_sha256,
    load_api_tokens,
    sha256_hex,
)
from starter.demo import demo_applicant
from tests.conftest import ROOT

TOKEN = "a-token-of-at-least-16-chars"


def registry(*entries: dict[str, Any]) -> TokenRegistry:
    return TokenRegistry.from_document({"tokens": list(entries)})


def test_json_and_toml_give_the_same_principals() -> None:
    toml = f"""
[[tokens]]
name = "clerk-1"
role = "window_clerk"
hall = "yicheng-center"
token = "{TOKEN}"

[[tokens]]
name = "rev-1"
role = "reviewer"
department = "health"
token_sha256 = "{sha256_hex("another-token-0123456789")}"
"""
    from_toml = TokenRegistry.from_text(toml, toml=True)
    from_json = TokenRegistry.from_text(
        json.dumps(
            {
                "tokens": [
                    {
                        "name": "clerk-1",
                        "role": "window_clerk",
                        "hall": "yicheng-center",
                        "token": TOKEN,
                    },
                    {
                        "name": "rev-1",
                        "role": "reviewer",
                        "department": "health",
                        "token_sha256": sha256_hex("another-token-0123456789"),
                    },
                ]
            }
        )
    )
    for reg in (from_toml, from_json):
        clerk = reg.authenticate(TOKEN)
        assert clerk is not None and clerk.role is Role.WINDOW_CLERK
        assert clerk.hall == "yicheng-center" and clerk.staff().staff_id == "clerk-1"
        reviewer = reg.authenticate("another-token-0123456789")
        assert reviewer is not None and reviewer.department == "health"
        assert reg.authenticate("another-token-012345678") is None
        assert reg.token_of("rev-1") is None  # only its hash is known


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"name": "r", "role": "reviewer", "token": TOKEN}, "a reviewer needs department"),
        ({"name": "h", "role": "department_head", "token": TOKEN}, "needs department"),
        (
            {
                "name": "h",
                "role": "department_head",
                "hall": "x",
                "department": "m",
                "token": TOKEN,
            },
            "a department_head has no hall",
        ),
        ({"name": "c", "role": "window_clerk", "token": TOKEN}, "a window_clerk needs hall"),
        ({"name": "a", "role": "applicant", "token": TOKEN}, "needs applicant_ref"),
        (
            {"name": "s", "role": "supervisor", "hall": "x", "token": TOKEN},
            "a supervisor has no hall",
        ),
        ({"name": "s", "role": "supervisor"}, "exactly one of token or token_sha256"),
        ({"name": "s", "role": "supervisor", "token": "short"}, "at least 16"),
        ({"name": "s", "role": "boss", "token": TOKEN}, "tokens[0].role"),
        ({"name": "s p", "role": "auditor", "token": TOKEN}, "tokens[0].name"),
        ({"name": "s", "role": "auditor", "token": TOKEN, "extra": 1}, "tokens[0].extra"),
    ],
)
def test_wrong_entries_are_refused_with_one_line(entry: dict[str, Any], problem: str) -> None:
    with pytest.raises(AuthConfigError) as caught:
        registry(entry)
    message = str(caught.value)
    assert problem in message and "\n" not in message
    assert TOKEN not in message


def test_duplicates_and_bad_documents() -> None:
    same_name = {"name": "x", "role": "auditor", "token": TOKEN}
    with pytest.raises(AuthConfigError, match=r"tokens\[1\]\.name: 'x' is used twice"):
        registry(same_name, {**same_name, "token": TOKEN + "-2"})
    with pytest.raises(AuthConfigError, match=r"tokens\[1\]: the same token is used twice"):
        registry(same_name, {**same_name, "name": "y"})
    with pytest.raises(AuthConfigError, match="not valid JSON"):
        TokenRegistry.from_text("{", source="ONETHING_API_TOKENS")
    with pytest.raises(AuthConfigError, match="not valid TOML"):
        TokenRegistry.from_text("[[tokens]", toml=True)
    with pytest.raises(AuthConfigError, match="tokens"):
        TokenRegistry.from_document({"tokens": []})


def test_applicant_reference_is_the_id_numbers_sha256() -> None:
    id_number = demo_applicant().id_number
    assert id_number_sha256(id_number) == sha256_hex(id_number)
    assert id_number_sha256(id_number.lower()) == sha256_hex(id_number)  # x → X
    with pytest.raises(ValueError):
        id_number_sha256("123")


def test_sources_env_then_file_then_embedded_default(tmp_path: Path) -> None:
    inline = json.dumps({"tokens": [{"name": "ops", "role": "operator", "token": TOKEN}]})
    reg = load_api_tokens(tmp_path, env=Settings(api_tokens=inline))
    assert reg.source == "ONETHING_API_TOKENS" and reg.authenticate(TOKEN) is not None

    file = tmp_path / "tokens.toml"
    file.write_text(f'[[tokens]]\nname = "aud"\nrole = "auditor"\ntoken = "{TOKEN}"\n')
    reg = load_api_tokens(tmp_path, env=Settings(api_tokens_file=file))
    principal = reg.authenticate(TOKEN)
    assert principal is not None and principal.role is Role.AUDITOR
    with pytest.raises(AuthConfigError, match="cannot read"):
        load_api_tokens(tmp_path, env=Settings(api_tokens_file=tmp_path / "missing.json"))

    data_dir = tmp_path / "data"
    reg = load_api_tokens(data_dir, env=Settings())
    default = data_dir / "api-tokens.json"
    assert stat.S_IMODE(default.stat().st_mode) == 0o600
    roles = {e.role for e in reg.entries}
    assert roles == set(Role)
    demo = next(e for e in reg.entries if e.role is Role.APPLICANT)
    keys = open_subject_keys(data_dir)
    assert demo.applicant_ref == applicant_ref(keys, demo_applicant().id_number)
    # Read again, not made anew: the tokens stay what they were.
    again = load_api_tokens(data_dir, env=Settings())
    assert again.token_of("supervisor") == reg.token_of("supervisor") is not None


def test_helper_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from starter.cli_tokens import main

    monkeypatch.setenv("ONETHING_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ONETHING_API_TOKENS", raising=False)
    monkeypatch.delenv("ONETHING_API_TOKENS_FILE", raising=False)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    code, listed, _ = run("list")
    assert code == 0 and "clerk-yicheng-center\twindow_clerk\tyicheng-center" in listed
    _, token, _ = run("token", "supervisor")
    stored = json.loads((tmp_path / "api-tokens.json").read_text())
    assert token.strip() == next(e["token"] for e in stored["tokens"] if e["name"] == "supervisor")
    assert token.strip() not in listed  # `list` never shows a token
    assert run("token", "nobody")[0] == 2
    _, hashed, _ = run("hash-id", stdin=demo_applicant().id_number + "\n")
    keys = open_subject_keys(tmp_path)
    assert hashed.strip() == applicant_ref(keys, demo_applicant().id_number)
    code, _, err = run("hash-id", stdin="110105194912310021\n")
    assert code == 2 and "110105194912310021" not in err
    new = json.loads(run("new")[1])
    assert sha256_hex(new["token"]) == new["token_sha256"]


def test_helper_runs_as_a_module(tmp_path: Path) -> None:
    import os

    done = subprocess.run(
        [sys.executable, "-m", "starter.auth", "new"],
        capture_output=True,
        text=True,
        env={**os.environ, "ONETHING_DATA_DIR": str(tmp_path)},
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert set(json.loads(done.stdout)) == {"token", "token_sha256"}


async def test_build_api_from_settings(
    ts_env: WorkflowEnvironment, store_engine: Engine, catalog: Catalog, tmp_path: Path
) -> None:
    """What `onething api` and `onething dev` serve: tokens from the embedded default."""
    settings = Settings(
        ONETHING_DATA_DIR=tmp_path, ONETHING_API_PUBLIC_URL="https://guide.example.gov.cn/"
    )
    app = build_api(settings, ts_env.client, store_engine, catalog=catalog)
    tokens = json.loads((tmp_path / "api-tokens.json").read_text())["tokens"]
    supervisor = next(e["token"] for e in tokens if e["name"] == "supervisor")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        me = await http.get("/me", headers={"Authorization": f"Bearer {supervisor}"})
        guide = await http.get("/guides/open-transport-company")
    assert me.json()["role"] == "supervisor"
    assert guide.json()["url"] == "https://guide.example.gov.cn/guides/open-transport-company"


async def test_embedded_api_serves_over_http_while_the_block_runs(
    ts_env: WorkflowEnvironment, store_engine: Engine, tmp_path: Path
) -> None:
    """What `onething dev` wraps around its wait: the API on a real loopback port."""
    import socket

    from starter.api import embedded_api

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings(ONETHING_DATA_DIR=tmp_path, ONETHING_API_PORT=port)
    async with embedded_api(settings, ts_env.client, store_engine) as url:
        assert url == f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url) as http:
            health = await http.get("/healthz")
            refused = await http.get("/tasks")
    assert health.json()["status"] == "ok" and refused.status_code == 401
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=url) as http:
            await http.get("/healthz")


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("ONETHING_API_TOKENS", '{"tokens": []}', "ONETHING_API_TOKENS: tokens"),
        ("ONETHING_API_PORT", "99999", "ONETHING_API_PORT"),
    ],
)
def test_onething_api_stops_with_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    says: str,
) -> None:
    """`onething api`: a wrong token document (read by `serve_api`) or API setting (read
    with every other setting, before it) stops it with one line."""
    from typer.testing import CliRunner

    from starter.cli import app

    monkeypatch.setenv("ONETHING_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(app, ["api"])
    err = result.stderr + capsys.readouterr().err
    assert result.exit_code == 2, err
    assert err.startswith(f"error: {says}") or says in err.splitlines()[0]
    assert err.count("\n") == 1 and "Traceback" not in err
