"""Real servers for end-to-end tests: a daphne process serving ``asgi:application``.

Each server gets a free port on 127.0.0.1 and its own state directory
(SQLite database, MEDIA_ROOT), migrated before it starts.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CALLBACK_SECRET = "e2e-callback-secret-0123456789abcdef0123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"daphne exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"daphne did not answer {url} within {timeout} s")


@contextlib.contextmanager
def daphne_server(state_dir: Path, **env_overrides: str) -> Iterator[str]:
    """Run daphne on a free port; yield its base URL (``http://127.0.0.1:<port>``)."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PORT": str(port),
        "REALTIME_UPLOADS_STATE_DIR": str(state_dir),
        "REALTIME_UPLOADS_CALLBACK_SECRET": CALLBACK_SECRET,
        "DJANGO_DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
        **env_overrides,
    }
    env.pop("DATABASE_URL", None) if "DATABASE_URL" not in env_overrides else None
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    log = open(state_dir / "daphne.log", "wb")  # noqa: SIM115 - closed below
    from .stack import WEB_ARGV

    argv = [arg.format(host="127.0.0.1", port=port) for arg in WEB_ARGV]
    proc = subprocess.Popen(
        [str(BIN / argv[0]), *argv[1:]],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base + "/", proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """Run moto's server (S3, SQS, Secrets Manager… over real HTTP); yield its endpoint URL."""
    port = free_port()
    log = open(os.devnull, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(endpoint + "/moto-api/", proc)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def aws_env(endpoint: str) -> dict[str, str]:
    """boto3's own variables pointing at an S3-compatible test server (moto), fake credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "REALTIME_UPLOADS_ADDRESSING_STYLE": "path",
    }
