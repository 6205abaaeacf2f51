"""Node.js for the tests that run JavaScript: the browser client's unit tests and the reference implementations
(thumbhash from npm) the Python code is compared with.

Without ``node`` those tests skip, except on CI (``REALTIME_UPLOADS_REQUIRE_SERVICES=1``), where a missing
Node is a failure: ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil

import pytest


def node_binary(needed_for: str) -> str:
    """The path of ``node``; skips (fails on CI) naming ``needed_for`` when there is none."""
    node = shutil.which("node")
    if node:
        return node
    if os.environ.get("REALTIME_UPLOADS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"node is needed for {needed_for} and is not on PATH")
    pytest.skip(f"node is not installed: {needed_for} did not run")
