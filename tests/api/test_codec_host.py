"""The embedded codec endpoint (`make run`) over real HTTP on loopback: it answers only
for the address it listens on (a page that rebinds its own DNS name to 127.0.0.1 sends
its own name as Host) and only to the Web UI's origin among browsers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from temporalio.api.common.v1 import Payload

from onething.codec import EncryptionCodec, Keyring
from onething.settings import Settings
from starter.embedded import codec_server
from tests.support.net import free_port

SECRET = b'{"id_number":"420684199001011000"}'


class Served:
    def __init__(self, url: str, port: int, ui_port: int, body: dict[str, object]) -> None:
        self.url, self.port, self.ui_port, self.body = url, port, ui_port, body


@pytest_asyncio.fixture(loop_scope="session")
async def served() -> AsyncIterator[Served]:
    """`codec_server` exactly as `run_embedded` serves it, on a free loopback port."""
    codec = EncryptionCodec(Keyring.generate("k1"))
    port, ui_port = free_port(), free_port()
    settings = Settings(ONETHING_CODEC_PORT=port, ONETHING_UI_PORT=ui_port)
    server, url = codec_server(settings, codec)
    assert url == f"http://127.0.0.1:{port}/codec"
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the codec endpoint stopped at start-up"
        await asyncio.sleep(0.02)
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=SECRET)])
    body: dict[str, object] = {
        "payloads": [
            {
                "metadata": {k: _b64(v) for k, v in sealed.metadata.items()},
                "data": _b64(sealed.data),
            }
        ]
    }
    try:
        yield Served(url, port, ui_port, body)
    finally:
        server.should_exit = True
        await task


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()


async def post(served: Served, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{served.url}/decode", json=served.body, headers=headers)


@pytest.mark.asyncio(loop_scope="session")
async def test_the_web_ui_and_the_cli_decode(served: Served) -> None:
    ui = f"http://localhost:{served.ui_port}"
    for headers in (
        {},  # the CLI: Host 127.0.0.1:PORT, no Origin
        {"Origin": ui},
        {"Origin": f"http://127.0.0.1:{served.ui_port}"},
        {"Host": f"localhost:{served.port}", "Origin": ui},
    ):
        r = await post(served, headers)
        assert r.status_code == 200, (headers, r.text)
        assert "420684199001011000" not in r.text  # base64 of the plain payload, decoded
    r = await post(served, {"Origin": ui})
    assert r.headers["access-control-allow-origin"] == ui


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize(
    "host",
    [
        "attacker.example:{port}",  # DNS rebinding: the page's own name, now 127.0.0.1
        "attacker.example",
        "127.0.0.1:1",  # another port: not where it listens
        "localhost.attacker.example:{port}",
    ],
)
async def test_a_wrong_host_is_refused(served: Served, host: str) -> None:
    given = host.format(port=served.port)
    r = await post(served, {"Host": given})
    assert r.status_code == 421, r.text
    assert "payloads" not in r.text and given not in r.text
    assert r.json()["detail"].startswith("this codec endpoint answers only for")


@pytest.mark.asyncio(loop_scope="session")
async def test_a_wrong_origin_is_refused_also_before_cors(served: Served) -> None:
    for origin in ("http://evil.example", "null", f"http://localhost:{served.port + 1}"):
        r = await post(served, {"Origin": origin})
        assert r.status_code == 403, (origin, r.text)
        assert "payloads" not in r.text and "access-control-allow-origin" not in r.headers
        async with httpx.AsyncClient() as http:
            pre = await http.options(
                f"{served.url}/decode",
                headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            )
        assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers
