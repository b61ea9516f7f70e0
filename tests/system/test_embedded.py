"""The README's first command as a newcomer runs it: `onething dev` (what `make run` starts)
in a data directory of its own, on free ports. It must come up whole (dev server and Web UI,
worker, API, the demo application), do what the worker does at its start (the ratings'
reconciliation, the read model's schedule), and leave nothing running after Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from domain.staff_words import APPLICATION_STATUS
from starter.demo import DEMO_ITEM
from starter.desk import eventually
from store import documents
from store.db import make_engine
from tests.support.net import free_port

BIN = Path(sys.executable).parent
UP_WITHIN_S = 120.0


def answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Service:
    """`onething dev` running, its output collected line by line."""

    def __init__(self, data_dir: Path) -> None:
        self.temporal, self.ui, self.codec, self.api = (free_port() for _ in range(4))
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ONETHING_", "TEMPORAL_")) and k != "DATABASE_URL"
        }
        env |= {
            "ONETHING_DATA_DIR": str(data_dir),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal}",
            "ONETHING_UI_PORT": str(self.ui),
            "ONETHING_CODEC_PORT": str(self.codec),
            "ONETHING_API_PORT": str(self.api),
            "ONETHING_METRICS_BIND": "off",
            "ONETHING_LOG_FORMAT": "json",
        }
        self.env = env
        self.data_dir = data_dir
        self.out = data_dir.parent / "dev.out"
        self.process = subprocess.Popen(
            [str(BIN / "onething"), "dev"],
            env=env,
            stdout=self.out.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def logged(self, event: str) -> list[dict[str, object]]:
        found = []
        complete = self.output().rpartition("\n")[0]  # the last line may be half written
        for line in complete.splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("event") == event:
                    found.append(record)
        return found

    async def health(self) -> str | None:
        if self.process.poll() is not None:
            raise AssertionError(f"onething dev ended early:\n{self.output()[-3000:]}")
        try:
            async with httpx.AsyncClient() as http:
                r = await http.get(f"http://127.0.0.1:{self.api}/healthz", timeout=2)
        except httpx.HTTPError:
            return None
        return str(r.json()["status"]) if r.status_code == 200 else None

    async def banner(self) -> str | None:
        return "Demo application" if "Demo application" in self.output() else None

    async def lines(self, event: str) -> list[dict[str, object]] | None:
        return self.logged(event) or None

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    running = Service(tmp_path / "data")
    try:
        yield running
    finally:
        if running.process.poll() is None:  # the test failed before Ctrl-C: leave nothing
            # The dev server runs in a session of its own (Ctrl-C reaches only `onething
            # dev`, which stops it): kill it by name too, or it outlives the test.
            children = psutil.Process(running.process.pid).children(recursive=True)
            os.killpg(running.process.pid, signal.SIGKILL)
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            running.process.wait()


async def test_onething_dev_comes_up_whole_and_stops_on_ctrl_c(service: Service) -> None:
    polls = int(UP_WITHIN_S / 0.25)
    await eventually(
        service.health, lambda s: s == "ok", "/healthz ok", attempts=polls, poll_s=0.25
    )
    await eventually(service.banner, bool, "the banner", attempts=polls, poll_s=0.25)
    banner = service.output()
    demo = re.search(r"Demo application\s+(\S+) \(started\)", banner)
    assert demo, banner[-2000:]
    assert f"127.0.0.1:{service.temporal}" in banner and f"{service.api}/docs" in banner

    async with httpx.AsyncClient() as http:
        ui = await http.get(f"http://127.0.0.1:{service.ui}/namespaces/default/workflows")
    assert ui.status_code == 200 and "<html" in ui.text.lower()

    # What `onething worker` does beside its workers, the embedded default does too.
    reconciled = await eventually(
        lambda: service.lines("ratings reconciled"), bool, "reconciled", attempts=120, poll_s=0.25
    )
    assert reconciled[0]["open_follow_ups"] == 0
    schedule = service.logged("read model refresh schedule")
    assert schedule and schedule[0]["every_seconds"] == 300

    # The demo application runs in the embedded worker and is read back by the CLI.
    status = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "onething"), "status", demo.group(1)],
        env={**service.env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    assert demo.group(1) in status.stdout
    # Staff read it in Chinese: statuses, the item's path, the trail's actions and roles.
    assert any(word in status.stdout for word in APPLICATION_STATUS.values()), status.stdout
    assert "受理" in status.stdout and "护士执业注册" in status.stdout, status.stdout
    codes = r"\b(?:in_progress|under_review|accepted|window|system|review|health|yicheng)\b"
    assert not re.findall(codes, status.stdout), status.stdout
    item = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "onething"), "status", demo.group(1), "--item", DEMO_ITEM],
        env={**service.env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert item.returncode == 0, item.stderr
    assert "护士执业注册" in item.stdout and "待办: 审查 (审查人员)" in item.stdout, item.stdout
    assert "审查时限: 正常, " in item.stdout, item.stdout
    assert not re.findall(codes, item.stdout), item.stdout

    # Decided, its license says where the public verifies it: this service's own address.
    await verified_where_the_license_says(service, demo.group(1))

    started = time.monotonic()
    assert await asyncio.to_thread(service.stop) == 0, service.output()[-3000:]
    assert time.monotonic() - started < 60
    for port in (service.temporal, service.ui, service.codec, service.api):
        assert not answers(port), f"port {port} still answers after Ctrl-C"
    assert "Traceback" not in service.output()


REVIEWER = ("--reviewer", "rev-1", "--department", "health")


async def verified_where_the_license_says(service: Service, application_id: str) -> None:
    decided = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "onething"), "decide", application_id, DEMO_ITEM, "approve", *REVIEWER],
        env=service.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert decided.returncode == 0, decided.stderr
    engine = make_engine(f"sqlite:///{service.data_dir / 'onething.db'}")
    try:

        async def certificate() -> list[documents.Document]:
            found = documents.documents_of(engine, application_id)
            return [d for d in found if d.kind == "license"]

        [doc] = await eventually(certificate, bool, "the license is issued", attempts=120)
    finally:
        engine.dispose()
    found = re.search(r"核验码 (\w+), 在线核验: (\S+?)。", doc.content)
    assert found, doc.content
    code, url = found.groups()
    assert url == f"http://127.0.0.1:{service.api}/licenses/{code}"
    async with httpx.AsyncClient() as http:
        page = await http.get(url, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "此电子证照真实有效" in page.text
