"""Headless Chromium (Debian's package) driven by Playwright: one browser for these tests.

Never `playwright install`: the browser is /usr/bin/chromium, which `.ci/run` installs. The
tests skip, saying why, only when that browser or the playwright package is truly missing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CROSSWALK_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One browser for all the browser tests; closed when they end, because Playwright's sync
    API keeps an event loop running in this thread, which later `asyncio.run()` calls refuse."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")
    if not CHROMIUM.exists():
        print(f"browser tests skipped: {CHROMIUM} not found (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not found; .ci/run installs Debian's chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()
