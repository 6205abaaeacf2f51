"""``make stack`` (config.devstack): the whole cloud path on loopback, then Ctrl-C leaves no process behind.

The runner is started as ``make stack`` starts it, on free ports with its own
state folder: moto's S3 + SQS, provisioning, the worker and daphne on the s3
backend. A real JPEG goes to the presigned S3 URL and the status long-poll
sees it ``completed``; then SIGINT to the runner's process group (what a
terminal's Ctrl-C sends) must stop every process it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from config.stack import STACK_ENV, stack_env
from tests.scenarios.test_e2e_local import photo
from tests.servers import ROOT, free_port


def _descendants(pid: int) -> set[tuple[int, str]]:
    """(pid, start time) of every process under ``pid``, from /proc (start time guards against pid reuse)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add((child, _start_time(child)))
            todo.append(child)
    return found


def _start_time(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        return ""


def _alive(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    return {(pid, start) for pid, start in processes if start and _start_time(pid) == start}


@pytest.fixture
def stack(tmp_path):
    port, moto_port = free_port(), free_port()
    log_path = tmp_path / "stack.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    env = {k: v for k, v in os.environ.items() if k != "REALTIME_UPLOADS_CALLBACK_SECRET"}
    proc = subprocess.Popen([sys.executable, "-m", "config.devstack", "--port", str(port), "--moto-port",
                             str(moto_port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            # The machine's Redis (found by the runner) holds presign counts other tests share.
                            env={**env, "REALTIME_UPLOADS_STATE_DIR": str(tmp_path / "state"),
                                 "REALTIME_UPLOADS_PRESIGN_RATE": "none",
                                 "REALTIME_UPLOADS_MAX_PENDING_PER_CLIENT": "none"},
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while b"realtime-uploads stack on" not in log_path.read_bytes():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        children = _descendants(proc.pid)
        yield {"proc": proc, "base": f"http://127.0.0.1:{port}", "endpoint": f"http://127.0.0.1:{moto_port}",
               "log": log_path, "children": children}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid, _ in _alive(children if "children" in locals() else set()):  # a failed test leaves no orphan
            os.kill(pid, signal.SIGKILL)
        log.close()


def test_stack_uploads_to_s3_completes_and_ctrl_c_stops_every_child(stack):
    proc, base = stack["proc"], stack["base"]
    assert f"stack on {base}/" in stack["log"].read_text()
    children = stack["children"]
    assert len(children) >= 3, children  # moto, worker, daphne (and the worker's forkserver)
    data = photo(1200, 800)
    with httpx.Client(base_url=base, timeout=30) as http:
        p = http.post("/api/uploads/", json={"filename": "stack.jpg", "content_type": "image/jpeg",
                                              "size": len(data)})
        assert p.status_code == 201, p.text
        p = p.json()
        assert p["upload"]["url"] == f"{stack['endpoint']}/uploads"  # presigned for moto, path-style
        posted = http.post(p["upload"]["url"], data=p["upload"]["fields"],
                           files={"file": ("stack.jpg", data, "image/jpeg")})
        assert posted.status_code == 204, posted.text
        event, deadline = {"seq": 1, "status": "pending"}, time.monotonic() + 60
        while event["status"] not in ("completed", "failed", "expired") and time.monotonic() < deadline:
            event = http.get(p["status_url"], params={"token": p["subscribe"]["token"], "since": event["seq"],
                                                     "wait": 20}).json()
        assert event["status"] == "completed", (event, stack["log"].read_text())
        assert {v["name"] for v in event["variants"]} == {"thumb", "large"}
        assert http.get(event["variants"][0]["url"]).status_code == 200
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: the runner's process group only
    assert proc.wait(timeout=60) == 0, stack["log"].read_text()
    deadline = time.monotonic() + 5
    while _alive(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(children), stack["log"].read_text()


def test_one_environment_for_every_process():
    env = stack_env(endpoint="http://127.0.0.1:5000", queue_url="q", callback_url="c", secret="s")
    assert set(env) == STACK_ENV
    assert not {k for k in env if k.startswith("AWS_ENDPOINT_URL_")}  # boto3's global endpoint, for S3 and SQS
