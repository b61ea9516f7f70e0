"""A dev server on free ports starts even when a chosen port is taken before it binds it.

Tests and the bench start dev servers on ports chosen free a moment before; another process
(the dev server's own internal services among them) may take one in between. The server
then exits; `start_on_free_ports` starts it again on other ports instead of failing the run.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from onething.devserver import DevServer, PortTaken, free_port, port_open, start_on_free_ports


@contextmanager
def taken_port() -> Iterator[int]:
    """A loopback port another process listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


async def test_a_server_whose_web_ui_port_is_taken_says_so(tmp_path: Path) -> None:
    with taken_port() as ui_port:
        server = DevServer(tmp_path / "temporal", port=free_port(), ui_port=ui_port)
        with pytest.raises(PortTaken, match="exited"):
            await server.start()
    assert "address already in use" in server.log_path.read_text()


async def test_started_again_on_other_ports_when_a_chosen_one_was_taken(tmp_path: Path) -> None:
    tried: list[tuple[int, int]] = []
    with taken_port() as taken:

        def make(port: int, ui_port: int) -> DevServer:
            tried.append((port, ui_port))
            first = len(tried) == 1  # as if another process took the Web UI's port meanwhile
            return DevServer(tmp_path / "temporal", port=port, ui_port=taken if first else ui_port)

        server = await start_on_free_ports(make)
    try:
        assert len(tried) == 2
        assert server.port == tried[1][0] and port_open(server.host, server.port)
    finally:
        server.stop()


async def test_a_port_taken_every_time_fails_after_the_attempts(tmp_path: Path) -> None:
    with taken_port() as taken:
        attempts = 0

        def make(port: int, _ui_port: int) -> DevServer:
            nonlocal attempts
            attempts += 1
            return DevServer(tmp_path / "temporal", port=port, ui_port=taken)

        with pytest.raises(PortTaken):
            await start_on_free_ports(make, attempts=2)
    assert attempts == 2
