"""`python -m starter.auth ...`: the API's token document from the command line.

token NAME       the plain token of entry NAME
list             entries: name, role, scope (never tokens)
hash-id          an ID number on stdin -> its applicant_ref under this installation's
                 subject keyring (the same ONETHING_DATA_DIR / ONETHING_SUBJECT_KEYS*
                 as the API's)
upgrade-tokens   replace `id_number_sha256` (unkeyed, reversible) by `applicant_ref`:
                 rewrites a JSON file in place (0600); for TOML or the inline
                 ONETHING_API_TOKENS it prints what to put there instead
new              a new random token and its token_sha256
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from onething.settings import Settings
from starter.auth import (
    AuthConfigError,
    applicant_ref,
    load_api_tokens,
    open_token_subject_keys,
    sha256_hex,
    upgrade_token_document,
)
from starter.auth.loading import write_private_json
from starter.auth.tokens import parse_document, read_document


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _upgrade(path: Path | None, settings: Settings) -> int:
    data_dir = settings.data_dir
    keys = open_token_subject_keys(data_dir, settings)
    if path is None and settings.api_tokens.strip():
        data = parse_document(settings.api_tokens, toml=False, source="ONETHING_API_TOKENS")
        names = upgrade_token_document(data, keys)
        if not names:
            print("ONETHING_API_TOKENS: nothing to upgrade", file=sys.stderr)
            return 0
        print("# the new ONETHING_API_TOKENS value:", file=sys.stderr)
        print(json.dumps(data, ensure_ascii=False))
        return 0
    path = path or settings.api_tokens_file or data_dir / "api-tokens.json"
    toml = path.suffix.lower() == ".toml"
    data = parse_document(read_document(path), toml=toml, source=str(path))
    names = upgrade_token_document(data, keys)
    if not names:
        print(f"{path}: nothing to upgrade")
        return 0
    if toml:
        print(f"# {path}: in each entry, replace id_number_sha256 by:")
        for entry in data["tokens"]:
            if entry.get("name") in names:
                print(f'#   name = "{entry["name"]}"\napplicant_ref = "{entry["applicant_ref"]}"')
        return 0
    write_private_json(path, data)
    print(f"{path}: applicant_ref written for {', '.join(names)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m starter.auth", description="The API's bearer tokens."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_token = sub.add_parser("token", help="print the plain token of the entry NAME")
    p_token.add_argument("name")
    sub.add_parser("list", help="list entries: name, role, scope (never tokens)")
    sub.add_parser("hash-id", help="read an ID number on stdin, print its applicant_ref")
    p_upgrade = sub.add_parser(
        "upgrade-tokens", help="replace id_number_sha256 entries by applicant_ref"
    )
    p_upgrade.add_argument("file", nargs="?", type=Path, help="default: the configured one")
    sub.add_parser("new", help="print a new random token and its token_sha256")
    args = parser.parse_args(argv)
    if argv is None:  # a real command line: `| head` closing the pipe is no error
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    if args.command == "new":
        token = secrets.token_urlsafe(24)
        print(json.dumps({"token": token, "token_sha256": sha256_hex(token)}))
        return 0

    from onething.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        if args.command == "hash-id":
            id_number = sys.stdin.readline().strip()
            try:
                keys = open_token_subject_keys(settings.data_dir, settings)
                print(applicant_ref(keys, id_number))
            except ValidationError as exc:  # never echo the number
                return _error(f"id number {exc.errors()[0]['msg'].removeprefix('Value error, ')}")
            return 0
        if args.command == "upgrade-tokens":
            return _upgrade(args.file, settings)
        registry = load_api_tokens(settings.data_dir, env=settings)
    except (SettingsError, AuthConfigError) as exc:
        return _error(str(exc))
    if args.command == "list":
        for e in registry.entries:
            scope = e.hall or e.department or ("applicant" if e.applicant_ref else "")
            print(f"{e.name}\t{e.role.value}\t{scope}")
        return 0
    plain = registry.token_of(args.name)
    if plain is None:
        return _error(f"no entry {args.name!r} with a plain token in {registry.source}")
    print(plain)
    return 0
