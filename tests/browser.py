"""A real browser for end-to-end tests: Debian's chromium driven by Playwright (Python).

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``
(installed by ``.ci/run``) headless with the flags below. Screenshots go to
``test-artifacts/`` (``REALTIME_UPLOADS_ARTIFACTS`` overrides), kept after
the run for a human to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import servers

CHROMIUM = os.environ.get("REALTIME_UPLOADS_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(os.environ.get("REALTIME_UPLOADS_ARTIFACTS", servers.ROOT / "test-artifacts"))


def require_chromium() -> str:
    """The chromium binary; skipped without one (failed on CI, where .ci/run installs it)."""
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if path is None:
        message = f"chromium is required at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("REALTIME_UPLOADS_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One headless chromium per test module."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = require_chromium()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact; its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
