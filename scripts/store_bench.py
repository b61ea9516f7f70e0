"""What the store benchmarks share: the command line (a fresh SQLite store, or
`--database-url`) and counting store transactions while a block runs."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, event
from sqlmodel import Session


def main(doc: str, run: Callable[[int, str], None]) -> None:
    """`run(n, url)` with `-n` distinct applications on a store of its own."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="distinct applications (300)")
    parser.add_argument("--database-url", help="another store (an empty schema) instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="onething-bench-") as folder:
        run(args.n, args.database_url or f"sqlite:///{Path(folder) / 'onething.db'}")


class Counter:
    """Store transactions while it is on: ORM sessions begun, commits on the connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.sessions, self.commits = engine, 0, 0

    def _began(self, *_: object) -> None:
        self.sessions += 1

    def _committed(self, *_: object) -> None:
        self.commits += 1

    def __enter__(self) -> Counter:
        event.listen(Session, "after_begin", self._began)
        event.listen(self.engine, "commit", self._committed)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(Session, "after_begin", self._began)
        event.remove(self.engine, "commit", self._committed)
