"""``make stack``: the cloud path on one host, without Docker.

Runs, on loopback: moto's server standing in for S3 and SQS (``MOTO_PORT``,
default 5000), provisioning (bucket, CORS, queue, S3 → SQS notification:
``realtime_uploads.processing.provision``), ``manage.py migrate`` and ``collectstatic``,
then the SQS worker and the web process on the s3 backend (``PORT``, default
8000), with the commands of :mod:`config.stack`, the ones the end-to-end
tests and docker-compose run. Redis is the channel layer when ``REDIS_URL``
is set, or when one answers on 127.0.0.1:6379, then on database
:data:`REDIS_DB` (15), not 0, so the stack's keys and channels stay apart from
whatever else uses that Redis; else the in-memory layer.

Every process gets the same environment (:func:`config.stack.stack_env`):
one ``AWS_ENDPOINT_URL``, which boto3 uses for S3 and SQS alike, so the web
process presigns for the endpoint the worker reads from. Ctrl-C (SIGINT) or
SIGTERM stops every child (web, worker, then moto) and waits for each; if
one child exits by itself, the others are stopped too and the exit status is
1. State (SQLite, generated secrets) is kept in
``$REALTIME_UPLOADS_STATE_DIR`` (default ``.state/stack``); moto keeps its
buckets in memory, so variants of earlier runs are gone after a restart.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from realtime_uploads.core.generated_secrets import state_secret

from .stack import WEB_ARGV, WORKER_ARGV, init_argv, stack_env

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
STOP_TIMEOUT = 30.0  # seconds each child gets after SIGTERM (the worker finishes images under way)


class StackError(RuntimeError):
    """A part of the stack could not start; the message names it."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Own session (the terminal's Ctrl-C reaches only the runner, which stops children in order)
    and, on Linux, SIGTERM when the runner dies without stopping them (PR_SET_PDEATHSIG)."""
    os.setsid()
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


#: The Redis database the stack uses on 127.0.0.1:6379 (a local Redis's database 0 is everyone's default).
REDIS_DB = 15


def redis_url(environ: dict[str, str]) -> str:
    """``REDIS_URL`` if set (empty: the in-memory layer), else database :data:`REDIS_DB` of Redis on
    127.0.0.1:6379 if it answers PING."""
    if "REDIS_URL" in environ:
        return environ["REDIS_URL"]
    try:
        with socket.create_connection((HOST, 6379), timeout=0.5) as sock:
            sock.settimeout(0.5)
            sock.sendall(b"PING\r\n")
            if sock.recv(16).startswith(b"+PONG"):
                return f"redis://{HOST}:6379/{REDIS_DB}"
    except OSError:
        pass
    return ""


def _check_free(name: str, port: int) -> None:
    """Raise StackError naming the variable when something already listens on ``port``."""
    with socket.socket() as sock:
        if sock.connect_ex((HOST, port)) == 0:
            raise StackError(f"{HOST}:{port} is in use; pick another port: {name}=<port> make stack")


def _wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{proc.args[0]} exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback only
                return
        except OSError:
            time.sleep(0.2)
    raise StackError(f"{proc.args[0]} did not answer {url} within {timeout:.0f} s")


class Stack:
    """The stack's child processes, started in order and stopped in reverse."""

    def __init__(self, *, port: int, moto_port: int, state_dir: Path) -> None:
        self.port, self.moto_port, self.state_dir = port, moto_port, state_dir
        self.children: list[subprocess.Popen] = []
        self.env: dict[str, str] = {}

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env or self.env, preexec_fn=_die_with_parent)  # noqa: S603, PLW1509
        self.children.append(proc)
        return proc

    def _run(self, argv: list[str]) -> str:
        done = subprocess.run(argv, cwd=ROOT, env=self.env, stdout=subprocess.PIPE, text=True, check=False)  # noqa: S603
        if done.returncode:
            raise StackError(f"{' '.join(argv)} exited with {done.returncode}")
        return done.stdout

    def start(self) -> None:
        """Start moto, provision, migrate, then the worker and the web process. Raises StackError."""
        moto = BIN / "moto_server"
        if not moto.exists():
            raise StackError("moto's server is not installed: pip install -e '.[stack]' (make stack does it).")
        for name, port in (("PORT", self.port), ("MOTO_PORT", self.moto_port)):
            _check_free(name, port)
        endpoint, web = f"http://{HOST}:{self.moto_port}", f"http://{HOST}:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL_")}
        secret = base.get("REALTIME_UPLOADS_CALLBACK_SECRET") or state_secret(self.state_dir / "callback_secret")
        callback_url = web + "/api/uploads/{id}/callback/"
        self.env = {**base, **stack_env(endpoint=endpoint, queue_url="", callback_url=callback_url, secret=secret),
                    "DJANGO_SETTINGS_MODULE": "config.settings",  # this repository's service, whatever the shell says
                    "PORT": str(self.port), "REALTIME_UPLOADS_STATE_DIR": str(self.state_dir),
                    "REDIS_URL": redis_url(base), "PYTHONUNBUFFERED": "1",
                    # This checkout's code in every process, even where the console scripts' install points elsewhere.
                    "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), base.get("PYTHONPATH", "")) if p)}
        _wait_until_up(endpoint + "/moto-api/", self._spawn([str(moto), "-H", HOST, "-p", str(self.moto_port)]))
        provision = [sys.executable, *init_argv(web)[1:], "--origin", f"http://localhost:{self.port}"]
        self.env["REALTIME_UPLOADS_QUEUE_URL"] = self._run(provision).strip()
        self._run([sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"])
        self._run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"])
        self._spawn([str(BIN / WORKER_ARGV[0]), *WORKER_ARGV[1:]])
        web_argv = [a.format(host=HOST, port=self.port) for a in WEB_ARGV]
        _wait_until_up(web + "/", self._spawn([str(BIN / web_argv[0]), *web_argv[1:]]))

    def exited(self) -> subprocess.Popen | None:
        """A child that has exited by itself, if any."""
        return next((p for p in self.children if p.poll() is not None), None)

    def stop(self) -> None:
        """SIGTERM each child, newest first, and wait for it (SIGKILL to its group after STOP_TIMEOUT)."""
        for proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m config.devstack [--port N] [--moto-port N]``; 0 after Ctrl-C, 1 on failure."""
    parser = argparse.ArgumentParser(prog="make stack", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="web ($PORT)")
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "5000")),
                        help="moto's S3 + SQS ($MOTO_PORT)")
    args = parser.parse_args(argv)
    state_dir = Path(os.environ.get("REALTIME_UPLOADS_STATE_DIR", ROOT / ".state" / "stack")).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(port=args.port, moto_port=args.moto_port, state_dir=state_dir)
    signal.signal(signal.SIGINT, _interrupt)  # also when started in the background, where SIGINT comes ignored
    signal.signal(signal.SIGTERM, _interrupt)
    status = 0
    try:
        stack.start()
        layer = stack.env["REDIS_URL"] or "in-memory (no Redis on 127.0.0.1:6379)"
        print(f"realtime-uploads stack on http://{HOST}:{args.port}/  (S3 + SQS: moto on "
              f"{stack.env['AWS_ENDPOINT_URL']}, channel layer: {layer}; Ctrl-C stops it)", flush=True)
        while (proc := stack.exited()) is None:
            time.sleep(0.2)
        print(f"{proc.args[0]} exited with {proc.returncode}; stopping the stack.", file=sys.stderr, flush=True)
        status = 1
    except KeyboardInterrupt:
        pass
    except StackError as exc:
        print(f"make stack: {exc}", file=sys.stderr, flush=True)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
