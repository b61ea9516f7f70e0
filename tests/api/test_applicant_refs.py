"""Applicants in the token file are keyed references (`applicant_ref`): HMAC under the
subject keyring of their ID's SHA-256, not that SHA-256, which enumerating ID numbers
reverses. They still work after a rotation; the old field is refused with a way out."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from domain.credit import credit_subject
from onething.keys import SubjectKeys, open_subject_keys
from onething.settings import Settings
from starter.auth import (
    AuthConfigError,
    TokenRegistry,
    applicant_ref,
    id_number_sha256,
    load_api_tokens,
)
from starter.demo import demo_applicant
from tests.support.people import candidate_ids

TOKEN = "a-token-of-at-least-16-chars"


def test_the_token_file_says_nothing_about_whose_id_it_is(tmp_path: Path) -> None:
    registry = load_api_tokens(tmp_path, env=Settings())
    stored = json.loads((tmp_path / "api-tokens.json").read_text())
    [demo] = [e for e in stored["tokens"] if e["role"] == "applicant"]
    assert "id_number_sha256" not in demo

    values = {str(v) for v in demo.values()} | {
        part for v in demo.values() for part in str(v).split(":")
    }
    guesses = {id_number_sha256(c) for c in candidate_ids()}
    guesses |= {credit_subject(c) for c in candidate_ids()}
    assert not values & guesses, "the token file gives the applicant's ID away"

    # The API still recognises the applicant, from the ID's SHA-256 it derives.
    principal = registry.authenticate(demo["token"])
    assert principal is not None
    assert principal.is_applicant_of(id_number_sha256(demo_applicant().id_number))
    assert not principal.is_applicant_of(id_number_sha256(candidate_ids()[7]))


def test_an_applicant_token_still_works_after_rotation(tmp_path: Path) -> None:
    key1 = SubjectKeys.generate("tok-1")
    made_under_1 = applicant_ref(key1, demo_applicant().id_number)
    document = {
        "tokens": [
            {"name": "wang", "role": "applicant", "applicant_ref": made_under_1, "token": TOKEN}
        ]
    }
    key2 = key1.rotated("tok-2")
    principal = TokenRegistry.from_document(document, subject_keys=key2).authenticate(TOKEN)
    assert principal is not None
    assert principal.is_applicant_of(id_number_sha256(demo_applicant().id_number))
    assert applicant_ref(key2, demo_applicant().id_number).startswith("tok-2:")

    # A ring that lost key 1 refuses the file at start, naming the entry and the key id.
    with pytest.raises(AuthConfigError, match=r"tokens\[0\]\.applicant_ref: key id 'tok-1'"):
        TokenRegistry.from_document(document, subject_keys=SubjectKeys.generate("tok-3"))


def test_the_old_field_is_refused_with_the_way_out(tmp_path: Path) -> None:
    old_value = id_number_sha256(demo_applicant().id_number)
    document: dict[str, Any] = {
        "tokens": [
            {"name": "wang", "role": "applicant", "id_number_sha256": old_value, "token": TOKEN}
        ]
    }
    keys = SubjectKeys.generate("up")
    with pytest.raises(AuthConfigError) as refused:
        TokenRegistry.from_document(document, subject_keys=keys)
    message = str(refused.value)
    assert "id_number_sha256" in message and "upgrade-tokens" in message
    assert old_value not in message and "\n" not in message


def test_upgrade_tokens_rewrites_a_json_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from starter.cli_tokens import main

    monkeypatch.setenv("ONETHING_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ONETHING_SUBJECT_KEYS", raising=False)
    monkeypatch.delenv("ONETHING_API_TOKENS", raising=False)
    file = tmp_path / "tokens.json"
    monkeypatch.setenv("ONETHING_API_TOKENS_FILE", str(file))
    old_value = id_number_sha256(demo_applicant().id_number)
    file.write_text(
        json.dumps(
            {
                "tokens": [
                    {"name": "ops", "role": "operator", "token": TOKEN + "-ops"},
                    {
                        "name": "w",
                        "role": "applicant",
                        "id_number_sha256": old_value,
                        "token": TOKEN,
                    },
                ]
            }
        )
    )
    assert main(["list"]) == 2 and "upgrade-tokens" in capsys.readouterr().err
    assert main(["upgrade-tokens"]) == 0
    assert "applicant_ref written for w" in capsys.readouterr().out
    assert old_value not in file.read_text()
    assert oct(file.stat().st_mode & 0o777) == "0o600"

    registry = load_api_tokens(tmp_path, env=Settings(api_tokens_file=file))
    principal = registry.authenticate(TOKEN)
    assert principal is not None and principal.is_applicant_of(old_value)
    assert main(["upgrade-tokens"]) == 0 and "nothing to upgrade" in capsys.readouterr().out


def test_the_embedded_default_file_of_an_older_version_is_upgraded_at_start(
    tmp_path: Path,
) -> None:
    old_value = id_number_sha256(demo_applicant().id_number)
    path = tmp_path / "api-tokens.json"
    path.write_text(
        json.dumps(
            {
                "tokens": [
                    {
                        "name": "applicant-demo",
                        "role": "applicant",
                        "id_number_sha256": old_value,
                        "token": TOKEN,
                    }
                ]
            }
        )
    )
    os.chmod(path, 0o600)
    registry = load_api_tokens(tmp_path, env=Settings())
    principal = registry.authenticate(TOKEN)
    assert principal is not None and principal.is_applicant_of(old_value)
    assert old_value not in path.read_text()
    assert json.loads(path.read_text())["tokens"][0]["applicant_ref"] == applicant_ref(
        open_subject_keys(tmp_path), demo_applicant().id_number
    )
