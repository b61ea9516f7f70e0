"""The data folder and the files the service keeps in it are its user's alone.

They hold license holders' names (the store, the Temporal server's state), payload and subject
keys and API tokens. The folder is 0700 and the files 0600 whatever the umask: modes are set
at creation, and a folder or file an older version made readable by others is tightened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# For a child process that creates files in the folder (the Temporal dev server).
PRIVATE_UMASK = 0o077


def _tighten(path: Path) -> None:
    """Drop the group and other bits of `path` if this user owns it (else leave it: chmod
    would fail, and a folder someone else owns is not ours to change)."""
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid == os.getuid() and mode & PRIVATE_UMASK:
        path.chmod(mode & ~PRIVATE_UMASK)


def ensure_private_dir(path: Path) -> Path:
    """`path` as a folder with mode 0700: created so (missing parents too), or tightened."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    _tighten(path)
    return path


def make_private_parent(path: Path) -> None:
    """Create the folder of `path` with mode 0700 if it is missing. An existing folder is left
    as it is: a file named in a setting may sit in a shared folder such as /tmp."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)


def ensure_private_file(path: Path) -> Path:
    """`path` as a file with mode 0600: created empty so, or tightened. SQLite opens an empty
    file as a new database and gives its -wal and -shm files the database file's mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        _tighten(path)
    return path


def tighten_if_present(*paths: Path) -> None:
    """Tighten the files among `paths` that exist (left by an older version)."""
    for path in paths:
        if path.exists():
            _tighten(path)


def sqlite_companions(database: Path) -> tuple[Path, Path]:
    """The write-ahead log and shared-memory files SQLite keeps next to `database`."""
    return database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")
