"""Screenshots of the Temporal Web UI of `make run`, taken in headless Chromium.

Usage (with `make run` running in another terminal):

    .venv/bin/python scripts/screenshot_webui.py [--ui http://localhost:8233]
        [--application demo-0001] [--out screenshots]

Writes two PNG files into --out and prints their paths:

- webui-workflows.png: the workflows list, filtered to the application, with our search
  attributes as columns (status, items, departments, hall, clock, due, escalated);
- webui-application.png: the application's workflow page, whose "Summary & Details"
  shows the static summary and details, decoded by the codec endpoint.

The list of Web UI 2.54 has no summary column (list results carry no user metadata), so
the summary is checked and shown on the application's page. The script waits until the
page shows the expected text and fails (exit 1) if it never does, so it doubles as a
smoke test of the UI, the codec endpoint and the demo application.

Needs the Debian package `chromium` (`apt-get update && apt-get install -y chromium`).
Chromium runs with a fresh profile and no network features: --headless --no-sandbox
--disable-gpu --disable-background-networking --disable-component-update --no-first-run
--disable-sync --user-data-dir=<temporary directory>. It is driven over the DevTools
protocol on a pipe (--remote-debugging-pipe), so no port is opened and nothing beyond
the standard library is needed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--remote-debugging-pipe",
)
# Search attributes shown as list columns (names from workflows/search_attributes.py).
COLUMNS = (
    "Status",
    "Workflow ID",
    "Type",
    "OnethingStatus",
    "OnethingClockState",
    "OnethingDueAt",
    "OnethingEscalated",
    "OnethingDepartments",
    "OnethingHall",
    "OnethingItems",
)


class ScreenshotError(RuntimeError):
    pass


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise ScreenshotError("Chromium not found: apt-get update && apt-get install -y chromium")


class DevTools:
    """The DevTools protocol over --remote-debugging-pipe: NUL-terminated JSON on fds 3/4."""

    def __init__(self, chromium: str, profile: Path, width: int, height: int) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes() -> None:
            # In the child: the browser reads commands on fd 3 and answers on fd 4. Lift
            # both ends above 4 first so neither dup2 clobbers the other.
            read_end = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 5)
            write_end = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 5)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.process = subprocess.Popen(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes,
            pass_fds=(3, 4),  # kept open through the exec (the fds are set in wire_pipes)
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.session: str | None = None

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise ScreenshotError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def _read(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise ScreenshotError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise ScreenshotError("Chromium exited")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        result: dict[str, Any] = json.loads(raw)
        return result

    def open_page(self) -> None:
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        attached = self.call(
            "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}
        )
        self.session = attached["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    def wait_for_text(self, texts: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        check = " && ".join(f"document.body.innerText.includes({json.dumps(t)})" for t in texts)
        while time.monotonic() < deadline:
            if self.evaluate(f"!!document.body && {check}"):
                time.sleep(0.8)  # let late cells (decoded payloads, badges) settle
                return
            time.sleep(0.3)
        shown = (self.evaluate("document.body ? document.body.innerText : ''") or "")[:400]
        raise ScreenshotError(f"the page never showed {texts!r}; it shows: {shown!r}")

    def click_text(self, text: str) -> None:
        """Click the link, button or tab whose text is exactly `text`."""
        found = self.evaluate(
            "(() => { const el = [...document.querySelectorAll('a,button,[role=tab]')]"
            f".find(e => e.innerText.trim() === {json.dumps(text)});"
            " if (el) { el.click(); return true; } return false; })()"
        )
        if not found:
            raise ScreenshotError(f"nothing to click with the text {text!r}")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        with contextlib.suppress(ScreenshotError, OSError):
            self.call("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._to_browser)
        os.close(self._from_browser)


def describe(ui: str, namespace: str, workflow_id: str) -> dict[str, Any]:
    """The workflow's description from the UI's own HTTP API (no codec needed)."""
    url = (
        f"{ui}/api/v1/namespaces/{urllib.parse.quote(namespace)}/workflows/"
        f"{urllib.parse.quote(workflow_id, safe='')}"
    )
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            result: dict[str, Any] = json.load(response)
            return result
    except OSError as exc:
        raise ScreenshotError(
            f"cannot read {workflow_id} from the Web UI at {ui} ({exc}); is `make run` running?"
        ) from None


def take(ui: str, namespace: str, application_id: str, out: Path, timeout: float) -> list[Path]:
    workflow_id = f"application-{application_id}"
    run_id = describe(ui, namespace, workflow_id)["workflowExecutionInfo"]["execution"]["runId"]
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="onething-chromium-") as profile:
        browser = DevTools(find_chromium(), Path(profile), 2200, 1000)
        try:
            browser.open_page()
            # Columns are a per-browser setting kept in localStorage: set ours first.
            browser.navigate(f"{ui}/namespaces/{namespace}/workflows")
            browser.wait_for_text(["Workflows"], timeout)
            columns = {namespace: [{"label": c} for c in COLUMNS]}
            browser.evaluate(
                "localStorage.setItem('namespace-workflow-table-columns', "
                f"{json.dumps(json.dumps(columns))})"
            )
            query = urllib.parse.quote(f'WorkflowId STARTS_WITH "{workflow_id}"')
            browser.navigate(f"{ui}/namespaces/{namespace}/workflows?query={query}")
            browser.wait_for_text([workflow_id, "ApplicationWorkflow", "ItemWorkflow"], timeout)
            shots = [browser.screenshot(out / "webui-workflows.png")]

            page = (
                f"{ui}/namespaces/{namespace}/workflows/"
                f"{urllib.parse.quote(workflow_id, safe='')}/{run_id}/history"
            )
            browser.navigate(page)
            browser.wait_for_text([workflow_id, "User Metadata"], timeout)
            browser.click_text("User Metadata")
            # The summary is encrypted in history: seeing it proves the codec endpoint works.
            browser.wait_for_text([f"申请 {application_id}", "Summary"], timeout)
            shots.append(browser.screenshot(out / "webui-application.png"))
            return shots
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshots of the Web UI of `make run`.")
    parser.add_argument("--ui", default=None, help="Web UI base URL (default: from settings)")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--application", default="demo-0001", help="application ID to show")
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait per page")
    args = parser.parse_args(argv)
    ui = args.ui
    if ui is None:
        port = os.environ.get("ONETHING_UI_PORT", "8233")
        ui = f"http://localhost:{port}"
    try:
        for path in take(ui.rstrip("/"), args.namespace, args.application, args.out, args.timeout):
            print(path)
    except ScreenshotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
