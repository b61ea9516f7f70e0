"""Where the token document comes from (the settings: inline, a file, or the embedded
default created on first use), the embedded default's random tokens, and the upgrade of
an older document's unkeyed applicant field."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from onething.codec import KeyringError
from onething.keys import Purpose, SubjectKeys, open_subject_keys
from onething.settings import Settings, load_settings
from starter.auth.tokens import (
    HEX64,
    LEGACY_APPLICANT_FIELD,
    AuthConfigError,
    TokenRegistry,
    applicant_ref,
    parse_document,
    read_document,
)


def default_token_document(
    halls: Sequence[str], departments: Sequence[str], demo_applicant_ref: str | None = None
) -> dict[str, Any]:
    """Random tokens for every role of the embedded default (one clerk per hall, one
    reviewer and one inspector per department)."""

    def new() -> str:
        return secrets.token_urlsafe(24)

    entries: list[dict[str, Any]] = [
        {"name": f"clerk-{h}", "role": "window_clerk", "hall": h, "token": new()} for h in halls
    ]
    for d in departments:
        entries.append(
            {"name": f"reviewer-{d}", "role": "reviewer", "department": d, "token": new()}
        )
        entries.append(
            {"name": f"inspector-{d}", "role": "inspector", "department": d, "token": new()}
        )
        entries.append(
            {"name": f"head-{d}", "role": "department_head", "department": d, "token": new()}
        )
    entries += [
        {"name": "supervisor", "role": "supervisor", "token": new()},
        {"name": "auditor", "role": "auditor", "token": new()},
        {"name": "operator", "role": "operator", "token": new()},
    ]
    if demo_applicant_ref:
        entries.append(
            {
                "name": "applicant-demo",
                "role": "applicant",
                "applicant_ref": demo_applicant_ref,
                "token": new(),
            }
        )
    return {"tokens": entries}


def _seed_default_document(keys: SubjectKeys) -> dict[str, Any]:
    from domain.catalog_loading import load_seed_catalog
    from starter.demo import demo_applicant

    catalog = load_seed_catalog()
    departments = sorted({i.department for i in catalog.items.values()})
    return default_token_document(
        list(catalog.halls), departments, applicant_ref(keys, demo_applicant().id_number)
    )


def upgrade_token_document(data: Any, keys: SubjectKeys) -> list[str]:
    """Replace every entry's `id_number_sha256` by its `applicant_ref` (the HMAC of that
    same SHA-256 under the active subject key), in place; the names of the entries changed."""
    changed: list[str] = []
    entries = data.get("tokens") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and LEGACY_APPLICANT_FIELD in entry:
            old = entry.pop(LEGACY_APPLICANT_FIELD)
            if not isinstance(old, str) or not re.match(HEX64, old):
                raise AuthConfigError(
                    f"entry {entry.get('name')!r}: {LEGACY_APPLICANT_FIELD} is not 64 hex digits"
                )
            entry["applicant_ref"] = str(keys.keyed(Purpose.APPLICANT, old))
            changed.append(str(entry.get("name")))
    return changed


def write_private_json(path: Path, data: Any) -> None:
    """Write `data` to `path` readable by its owner only (it holds plain tokens), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def open_token_subject_keys(data_dir: Path, env: Settings | None = None) -> SubjectKeys:
    """The subject keyring the token document's applicant references are checked with."""
    try:
        return open_subject_keys(data_dir, env)
    except KeyringError as exc:
        raise AuthConfigError(str(exc)) from None


def load_api_tokens(
    data_dir: Path,
    *,
    env: Settings | None = None,
    make_default: Callable[[SubjectKeys], dict[str, Any]] = _seed_default_document,
    subject_keys: SubjectKeys | None = None,
) -> TokenRegistry:
    """The token registry from the settings (`env`, else the environment's), or the
    embedded default file (created on first use; one written with `id_number_sha256` by an
    older version is upgraded)."""
    env = env or load_settings()
    keys = subject_keys or open_token_subject_keys(data_dir, env)
    if env.api_tokens.strip():
        return TokenRegistry.from_text(
            env.api_tokens, source="ONETHING_API_TOKENS", subject_keys=keys
        )
    if env.api_tokens_file is not None:
        return TokenRegistry.from_file(env.api_tokens_file, subject_keys=keys)
    path = data_dir / "api-tokens.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created readable by its owner only: it holds plain tokens.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(make_default(keys), f, indent=2, ensure_ascii=False)
            f.write("\n")
    else:
        data = parse_document(read_document(path), toml=False, source=str(path))
        if upgrade_token_document(data, keys):
            write_private_json(path, data)
    return TokenRegistry.from_file(path, subject_keys=keys)
