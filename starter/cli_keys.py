"""`onething keys ...`: the payload keyring and the subject keyring (HMAC keys of references
to people).

    onething keys show              the payload keyring: its source, key IDs, the active one
    onething keys rotate            a new active payload key in the keyring file
    onething keys add               a new payload key that decodes, not encrypts yet
    onething keys activate KID      encrypt with KID from now on (after `keys add`)
    onething keys subjects show     where it comes from, its key ids, the active one, and
                                    how many credit records each key id still keys
    onething keys subjects rotate   a new active key in the keyring file; old keys stay

Mounted by starter/cli.py: `app.add_typer(keys_app, name="keys")`. Key material is never
shown. Errors are one line on stderr (exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from onething.codec import (
    Keyring,
    KeyringError,
    activate_key_in_file,
    add_key_to_file,
    rotate_keyring_file,
)
from onething.keys import (
    SUBJECT_KEYS_ENV,
    open_subject_keys,
    subject_keys_path,
)
from starter.cli_common import JsonOpt, console, emit, fail, settings_or_exit

subjects_app = typer.Typer(
    name="subjects",
    help="The subject keyring: HMAC keys of credit subjects and applicant references.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
keys_app = typer.Typer(help="The payload keyring: key IDs and rotation (key material never shown).")


@keys_app.command("show")
def keys_show(as_json: JsonOpt = False) -> None:
    """Where the keyring comes from, its key IDs, and the active one."""
    from onething.runtime import open_codec

    keyring = open_codec(settings_or_exit()).keyring
    emit(
        {"source": keyring.source, "active": keyring.active_key_id, "keys": keyring.key_ids},
        as_json,
    )


KeyFileOpt = Annotated[
    Path | None, typer.Option("--file", help="Keyring file (default: the configured one).")
]


@keys_app.command("rotate")
def keys_rotate(file: KeyFileOpt = None) -> None:
    """Add a new active key to the keyring file; old keys stay to decode old histories.

    Restart workers, the API and the codec endpoint together afterwards: keys are read at
    start-up. Where they cannot restart together, use `keys add`, then `keys activate`.
    """
    _change_keyring_file(file, rotate_keyring_file)


@keys_app.command("add")
def keys_add(file: KeyFileOpt = None) -> None:
    """Add a new key that decodes but does not encrypt yet (a rotation's first step).

    Restart every worker, the API and the codec endpoint, wherever they run; then `keys
    activate` the new key and restart them again. No process meets a key it lacks.
    """
    _change_keyring_file(file, add_key_to_file)


@keys_app.command("activate")
def keys_activate(
    key_id: Annotated[str, typer.Argument(help="A key ID the keyring holds (`keys show`).")],
    file: KeyFileOpt = None,
) -> None:
    """Encrypt with `key_id` from now on (a rotation's second step, once every process
    holds the key). Restart them all afterwards."""
    _change_keyring_file(file, lambda path: activate_key_in_file(path, key_id))


def _change_keyring_file(file: Path | None, change: Callable[[Path], Keyring]) -> None:
    settings = settings_or_exit()
    path = file or settings.local_codec_keys_path
    if settings.codec_keys and file is None:
        raise fail("ONETHING_CODEC_KEYS holds the keys: change them where that value is kept")
    try:
        keyring = change(path)
    except (KeyringError, OSError) as exc:
        raise fail(f"{path}: {exc}") from None
    console.print(f"{path}: active key {keyring.active_key_id}; keys {', '.join(keyring.key_ids)}")


keys_app.add_typer(subjects_app, name="subjects")


@subjects_app.command("show")
def show(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Key ids, the active one, and the credit records under each key id: an old key may
    leave the ring only when no record (and no token-file entry) uses it any more."""
    from onething.runtime import open_store
    from store.credit import rows_by_key_id

    settings = settings_or_exit()
    try:
        keys = open_subject_keys(settings.data_dir, settings)
    except KeyringError as exc:
        raise fail(str(exc)) from None
    engine = open_store(settings)
    try:
        rows = rows_by_key_id(engine)
    finally:
        engine.dispose()
    unknown = {kid: n for kid, n in rows.items() if kid not in keys.keyring.keys}
    report = {
        "source": keys.source,
        "active": keys.active_key_id,
        "keys": keys.keyring.key_ids,
        "credit_records_by_key": {kid: rows.get(kid, 0) for kid in keys.keyring.key_ids},
        "credit_records_under_unknown_keys": unknown,
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"source  {report['source']}")
    for kid in keys.keyring.key_ids:
        mark = "active" if kid == keys.active_key_id else "old"
        typer.echo(f"{kid}\t{mark}\t{rows.get(kid, 0)} credit records")
    for kid, n in unknown.items():
        typer.echo(f"{kid}\tNOT IN THE RING\t{n} credit records (unreachable until it is back)")


@subjects_app.command("rotate")
def rotate(
    file: Annotated[
        Path | None, typer.Option(help="Keyring file (default: the configured one).")
    ] = None,
) -> None:
    """Add a new active key; old keys stay so records and tokens made under them are found
    (and records are rewritten under the new key when looked up). Restart the worker and
    the API afterwards: keys are read at start-up."""
    settings = settings_or_exit()
    if settings.subject_keys.strip() and file is None:
        raise fail(f"{SUBJECT_KEYS_ENV} holds the keys: rotate them where that value is kept")
    path = file or subject_keys_path(settings.data_dir, settings)
    try:
        if not path.exists() and file is None:
            open_subject_keys(settings.data_dir, settings)  # the embedded default, made now
        keyring = rotate_keyring_file(path)
    except (KeyringError, OSError) as exc:
        raise fail(f"{path}: {exc}") from None
    typer.echo(f"{path}: active key {keyring.active_key_id}; keys {', '.join(keyring.key_ids)}")
