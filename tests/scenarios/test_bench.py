"""Every benchmark runs (at a tiny size) and ends with its JSON line, so `make bench` cannot rot unseen.

No speed is asserted here: speed goals live in bench/ and its numbers in
docs/performance.md. Runs in `make test`'s default pass only (the benchmarks start their
own servers on their own PostgreSQL database in either pass).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from tests.cluster import require
from tests.servers import ROOT

pytestmark = pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs in the default pass of make test")

TINY = {
    "callbacks": (["--rates", "50", "--seconds", "1"], {"callbacks_per_s", "p50_ms", "p99_ms"}),
    "push_latency": (["--sockets", "60", "--pollers", "10", "--processing", "1", "--settle", "0.5"],
                     {"push_p50_ms", "push_p99_ms", "poll_p50_ms", "poll_p99_ms", "longpoll_p50_ms",
                      "requests_per_upload_push", "requests_per_upload_poll", "delivered"}),
    "burst": (["--uploads", "60"], {"delivered", "baseline_delivered", "p99_ms"}),
    "connections": (["--sockets", "200", "--concurrency", "50", "--idle", "1"],
                    {"sockets", "kb_per_socket", "idle_cpu_pct", "accept_per_s", "baseline_kb_per_socket"}),
    "presign": (["--requests", "40", "--baseline-requests", "2"], {"rps", "p50_ms", "baseline_rps"}),
    "end_to_end": (["--uploads", "6", "--concurrency", "2"], {"uploads", "lost", "p50_ms", "p99_ms"}),
    "processing": (["--repeat", "1", "--memory-repeat", "1", "--photo", "800x600", "--screenshot", "640x400"],
                   {"ms", "baseline_ms", "pyvips_ms", "psnr_db", "baseline_psnr_db", "peak_mb", "baseline_peak_mb"}),
}


@pytest.mark.parametrize("name", list(TINY))
def test_benchmark_runs_and_ends_with_its_json_line(name):
    args, keys = TINY[name]
    run = subprocess.run([sys.executable, "-m", f"bench.{name}", *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"})
    if run.returncode and "needs PostgreSQL and Redis" in run.stderr:
        require("PostgreSQL and Redis", RuntimeError(run.stderr.strip()))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    last = json.loads(run.stdout.strip().splitlines()[-1])
    assert last["bench"] == name and keys <= set(last), last
    if name in ("burst", "end_to_end", "push_latency"):
        assert last.get("delivered", 1.0) == 1.0 and last.get("lost", 0) == 0, last
    if name == "processing":  # pyvips_ms is null when pyvips does not import or lacks a saver
        measured = {k: last[k] for k in keys if not (k == "pyvips_ms" and last[k] is None)}
        assert all(isinstance(v, int | float) and math.isfinite(v) and v > 0 for v in measured.values()), last
