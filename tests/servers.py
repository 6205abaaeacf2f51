"""Real servers for end-to-end tests: daphne serving ``asgi:application``, moto, a private Redis.

Each server gets a free port on 127.0.0.1; each daphne its own state
directory (SQLite database, MEDIA_ROOT), migrated before it starts.
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
# One SECRET_KEY for every server of a test (and a benchmark's own process): subscribe tokens minted by one
# are checked by another. Without it each state directory would generate its own.
SECRET_KEY = "e2e-django-secret-key-not-for-production-0123456789abcdefghijklmnop"
ADMIN_URL = os.environ.get("REALTIME_UPLOADS_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")


class Unavailable(RuntimeError):
    """A service the caller needs (PostgreSQL, Redis) is not reachable."""


@contextlib.contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database for server processes, dropped afterwards; its URL. Raises Unavailable."""
    import psycopg

    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        raise Unavailable(f"PostgreSQL at {ADMIN_URL}: {exc}") from exc
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{proc.args[0]} did not answer {url} within {timeout} s")


class Daphne:
    """One daphne process serving ``asgi:application`` on a free port with its own state directory.

    ``env`` overrides the environment (``DATABASE_URL`` passes through only when
    given); ``flags`` replaces values of the shipped command's options (e.g.
    ``{"--ping-interval": "1"}``). :meth:`start` migrates first; the process
    may be stopped (:meth:`terminate`, :meth:`kill`) and started again on the
    same port and state.
    """

    def __init__(self, state_dir: Path, *, flags: dict[str, str] | None = None, port: int | None = None,
                 **env: str):
        from .stack import WEB_ARGV

        self.state_dir = state_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PORT": str(self.port),
            "REALTIME_UPLOADS_STATE_DIR": str(state_dir),
            "REALTIME_UPLOADS_CALLBACK_SECRET": CALLBACK_SECRET,
            "DJANGO_SECRET_KEY": SECRET_KEY,
            "DJANGO_DEBUG": "1",
            # Load and fault tests hold thousands of sockets and long-polls from 127.0.0.1; test_socket_limits,
            # test_unauthorised_sockets set their own caps.
            "REALTIME_UPLOADS_MAX_SOCKETS_PER_CLIENT": "1000000",
            "REALTIME_UPLOADS_LONG_POLL_MAX_PER_CLIENT": "1000000",
            "PYTHONUNBUFFERED": "1",
            "PYTHONFAULTHANDLER": "1",
            **env,
        }
        if "DATABASE_URL" not in env:
            self.env.pop("DATABASE_URL", None)
        argv = [arg.format(host="127.0.0.1", port=self.port) for arg in WEB_ARGV]
        for flag, value in (flags or {}).items():
            argv[argv.index(flag) + 1] = value
        self.argv = [str(BIN / argv[0]), *argv[1:]]
        self.proc: subprocess.Popen | None = None
        self.log_path = state_dir / f"daphne-{self.port}.log"

    def start(self, *, migrate: bool = True) -> Daphne:
        if migrate:
            subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                           cwd=ROOT, env=self.env, check=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        _wait_until_up(self.url + "/", self.proc)
        return self

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, wait; the exit status (negative: killed by that signal)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.contextmanager
def daphne_server(state_dir: Path, **env_overrides: str) -> Iterator[str]:
    """Run daphne on a free port; yield its base URL (``http://127.0.0.1:<port>``)."""
    server = Daphne(state_dir, **env_overrides).start()
    try:
        yield server.url
    finally:
        try:
            server.terminate(timeout=10)
        except subprocess.TimeoutExpired:
            pass


class RedisServer:
    """A private redis-server on a free loopback port, for tests that must stop Redis.

    The machine's shared Redis is never touched. :meth:`stop` and :meth:`start`
    keep the port, so clients configured with :attr:`url` reconnect to the new
    process.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping():
                    return self
            except redis.RedisError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


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
