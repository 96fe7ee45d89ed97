"""A real browser for tests: Playwright driving the system's Chromium (/usr/bin/chromium; no
browser is downloaded). Absent, the test skips — except under CI=true, where it fails."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import IN_CI

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def require_browser() -> None:
    """Skip without Playwright or Chromium; under CI their absence fails the test."""
    missing = [
        what
        for what, present in (
            ("the playwright package", importlib.util.find_spec("playwright") is not None),
            (str(CHROMIUM), CHROMIUM.is_file()),
        )
        if not present
    ]
    if not missing:
        return
    message = f"no real browser here: missing {', '.join(missing)}"
    if IN_CI:
        pytest.fail(f"{message}; CI must run this test (.ci/run installs them)", pytrace=False)
    pytest.skip(message)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A fresh headless Chromium (a playwright `Browser`)."""
    require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
