"""The data folder is 0700 and every file the service creates in it 0600, under a usual umask
(022), through the real code paths: the store, the payload and subject keyrings, the API token
file, the Temporal dev server."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from onething.devserver import DevServer, start_on_free_ports
from onething.keys import open_subject_keys
from onething.runtime import open_codec, open_store
from onething.settings import Settings
from starter.auth import load_api_tokens


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """A umask that leaves new files readable by others, as on most systems."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(folder: Path) -> dict[str, int]:
    """The mode of the folder and of everything in it, by name relative to it."""
    found = {".": mode(folder)}
    for path in sorted(folder.rglob("*")):
        found[str(path.relative_to(folder))] = mode(path)
    return found


def settings(data_dir: Path) -> Settings:
    """The embedded default (SQLite store, local key file) in `data_dir`, whatever the
    environment says."""
    return Settings(data_dir=data_dir, database_url="", codec_keys="", codec_keys_file=None)


def test_store_keys_and_tokens_are_private(tmp_path: Path) -> None:
    data = tmp_path / "nested" / "data"
    config = settings(data)
    engine = open_store(config)
    try:
        with engine.begin() as connection:  # a write: the -wal and -shm files exist now
            connection.execute(text("CREATE TABLE probe (x INTEGER)"))
            connection.execute(text("INSERT INTO probe VALUES (1)"))
        assert (data / "onething.db-wal").exists() and (data / "onething.db-shm").exists()
        open_codec(config)
        no_env = Settings(
            subject_keys="", subject_keys_file=None, api_tokens="", api_tokens_file=None
        )
        load_api_tokens(data, env=no_env, subject_keys=open_subject_keys(data, no_env))
        found = modes(data)
    finally:
        engine.dispose()
    for name in [
        "onething.db",
        "onething.db-wal",
        "onething.db-shm",
        "codec-keys.json",
        "subject-keys.json",
        "api-tokens.json",
    ]:
        assert name in found, name
    assert found == {".": 0o700} | {name: 0o600 for name in found if name != "."}


def test_a_folder_and_store_an_older_version_left_open_are_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "onething.db").touch(mode=0o644)
    assert mode(data) == 0o755 and mode(data / "onething.db") == 0o644
    open_store(settings(data)).dispose()
    assert mode(data) == 0o700
    assert mode(data / "onething.db") == 0o600


def test_a_store_file_named_in_a_setting_keeps_its_shared_folder(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    url = f"sqlite:///{shared / 'store.db'}"
    config = Settings(data_dir=tmp_path / "data", database_url=url)
    open_store(config).dispose()
    assert mode(shared) == 0o755  # not ours to close
    assert mode(shared / "store.db") == 0o600


@pytest.mark.devserver
async def test_the_dev_servers_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "temporal-server.log").touch(mode=0o644)  # from an older version
    server = await start_on_free_ports(lambda port, ui: DevServer(data, port=port, ui_port=ui))
    try:
        found = modes(data)
    finally:
        server.stop()
    assert "temporal.db" in found and "temporal-server.log" in found
    assert found == {".": 0o700} | {name: 0o600 for name in found if name != "."}
