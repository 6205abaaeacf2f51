"""Runs the browser client's unit tests (``tests/js/*.test.mjs``) with ``node --test``, so ``make test`` runs them.

They need only Node (20.11+ for --test-timeout; no npm packages). Without ``node`` the test skips, except on CI
(``REALTIME_UPLOADS_REQUIRE_SERVICES=1``), where a missing Node is a failure.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.node import node_binary

ROOT = Path(__file__).resolve().parents[2]
JS_TESTS = ROOT / "tests" / "js"


def test_browser_client_unit_tests_pass_under_node():
    files = sorted(str(p.relative_to(ROOT)) for p in JS_TESTS.glob("*.test.mjs"))
    assert files, "no tests/js/*.test.mjs found"
    result = subprocess.run(
        [node_binary("the browser client's tests (tests/js)"), "--test", "--test-timeout=10000", *files],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )
    assert result.returncode == 0, f"node --test failed:\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
