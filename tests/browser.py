"""Pages in a real browser: Debian's Chromium, headless, driven by Playwright.

Playwright here only drives the browser the machine has (`/usr/bin/chromium`, installed by
`.ci/run`); it never downloads one. Without Chromium a browser test is skipped on a
developer's machine and fails in CI, where a missing browser is a broken install.

Screenshots go to `.data/screenshots/` (ignored by git) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

CHROMIUM = os.environ.get("ONETHING_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / ".data" / "screenshots"
PHONE = {"width": 390, "height": 844}  # a common phone's CSS viewport


def chromium_path() -> str:
    """The browser to drive, or a skip (a failure in CI) naming what is missing."""
    found = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if found is None:
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def zbarimg_path() -> str:
    """zbarimg (Debian's zbar-tools) to decode QR codes, or a skip (a failure in CI)."""
    found = shutil.which("zbarimg")
    if found is None:
        message = "zbarimg not found: apt-get install zbar-tools"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def decode_qr(png: Path) -> str:
    """What the QR code in the image says, read by zbarimg."""
    done = subprocess.run(
        [zbarimg_path(), "--quiet", "--raw", str(png)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser() -> AsyncIterator[object]:
    """One headless Chromium per test module (a `playwright.async_api.Browser`)."""
    executable = chromium_path()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            yield launched
        finally:
            await launched.close()
