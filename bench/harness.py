"""What every benchmark shares: the stack it runs, uploads made in bulk, statistics and the report.

A benchmark runs real processes on loopback only: daphne (the command the
project ships, from ``tests/stack.py``), the machine's Redis and a fresh
PostgreSQL database (dropped afterwards). Its own process sets Django up on
the same database and secret key, so it can create thousands of uploads and
subscribe tokens in one statement instead of presigning each over HTTP.

Each benchmark prints a table and then, as its very last line, one JSON
object with ``"bench": "<name>"``: compare ratios within one run, since this
machine is shared and noisy.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import CALLBACK_SECRET, SECRET_KEY, Daphne, Unavailable, postgres_database  # noqa: E402

REDIS_URL = os.environ.get("REALTIME_UPLOADS_BENCH_REDIS", "redis://127.0.0.1:6379/8")
#: Server settings for every benchmark: no throttle, and the local sweep kept out of the measurements.
SERVER_ENV = {
    "DJANGO_DEBUG": "0",
    "REALTIME_UPLOADS_PRESIGN_RATE": "none",
    "REALTIME_UPLOADS_MAX_PENDING_PER_CLIENT": "none",
    # Every benchmark client is 127.0.0.1: thousands of sockets from one address.
    "REALTIME_UPLOADS_MAX_SOCKETS_PER_CLIENT": "1000000",
    "REALTIME_UPLOADS_LONG_POLL_MAX_PER_CLIENT": "1000000",  # every waiter comes from 127.0.0.1
    "REALTIME_UPLOADS_LOCAL_RETRY_AFTER": "3600",
    "REALTIME_UPLOADS_PROCESSING_TIMEOUT": "7200",
    "DATABASE_POOL_MAX_SIZE": "16",
}


def raise_file_limit() -> int:
    """Let this process (and the servers it starts) hold as many sockets as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Uvicorn(Daphne):
    """uvicorn serving the same ``asgi:application`` (a baseline server), started like :class:`Daphne`."""

    def __init__(self, state_dir: Path, **env: str):
        super().__init__(state_dir, **env)
        self.argv = [str(Path(sys.executable).parent / "uvicorn"), "--host", "127.0.0.1", "--port", str(self.port),
                     "--backlog", "2048", "--ws", "websockets-sansio", "--no-access-log", "--log-level",
                     "warning", "asgi:application"]


@dataclass
class Stack:
    """Running servers sharing one database and Redis; ``urls`` are their base URLs."""

    servers: list[Daphne]
    database_url: str
    state: Path
    env: dict[str, str]

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    def restart(self, processes: int = 1, server: type[Daphne] = Daphne, **env: str) -> None:
        """Stop the servers; start ``processes`` of ``server`` with ``env`` added, on the same database."""
        self.stop()
        for i in range(processes):
            folder = self.state / f"{server.__name__.lower()}-{i}-{len(os.listdir(self.state))}"
            folder.mkdir(parents=True)
            self.servers.append(server(folder, **{**self.env, **env}).start(migrate=False))

    def stop(self) -> None:
        for running in self.servers:
            running.terminate()
        self.servers = []


@contextlib.contextmanager
def stack(name: str, *, processes: int = 1, **env: str) -> Iterator[Stack]:
    """``processes`` daphnes on a fresh PostgreSQL database and Redis; Django set up here on the same."""
    check_redis()
    state = Path(tempfile.mkdtemp(prefix=f"realtime-uploads-bench-{name}-"))
    try:
        with postgres_database(f"realtime_uploads_bench_{name}_{os.getpid()}") as database_url:
            full_env = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, **SERVER_ENV, **env}
            (state / "migrate").mkdir()
            running = Stack([Daphne(state / "migrate", **full_env).start()], database_url, state, full_env)
            try:
                running.restart(processes)
                setup_django(database_url, full_env)
                yield running
            finally:
                running.stop()
                close_django()
                if not os.environ.get("REALTIME_UPLOADS_BENCH_KEEP"):  # keep the servers' logs when asked
                    shutil.rmtree(state, ignore_errors=True)
    except Unavailable as exc:
        sys.exit(f"This benchmark needs PostgreSQL and Redis on loopback: {exc}")


def check_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        sys.exit(f"This benchmark needs Redis at {REDIS_URL}: {exc}")


def setup_django(database_url: str, env: dict[str, str]) -> None:
    """Django in this process, on the servers' database and secret key (to create uploads and tokens)."""
    os.environ.update({**env, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings",
                       "REALTIME_UPLOADS_CALLBACK_SECRET": CALLBACK_SECRET, "DJANGO_SECRET_KEY": SECRET_KEY})
    import django

    django.setup()


def close_django() -> None:
    from django.db import connections

    connections.close_all()


@dataclass(frozen=True)
class Target:
    """An upload to subscribe to: its id, subscribe token and status path."""

    id: str
    token: str

    @property
    def status_path(self) -> str:
        return f"/api/uploads/{self.id}/"

    def socket_url(self, base: str) -> str:
        return f"{base.replace('http://', 'ws://')}/ws/uploads/{self.id}/?token={self.token}"


def make_uploads(count: int) -> list[Target]:
    """``count`` pending uploads created in bulk, with their subscribe tokens."""
    from django.utils import timezone

    from realtime_uploads.models import Upload
    from realtime_uploads.state.access import make_subscribe_token

    now = timezone.now()
    rows = []
    for _ in range(count):
        upload_id = uuid.uuid4()
        rows.append(Upload(id=upload_id, filename="bench.jpg", key=f"uploads/{upload_id}/bench.jpg",
                           content_type="image/jpeg", size=1000, expires_at=now + timedelta(hours=2)))
    Upload.objects.bulk_create(rows, batch_size=2000)
    return [Target(str(row.id), make_subscribe_token(str(row.id))) for row in rows]


def callback_request(upload_id: str, status: str) -> tuple[bytes, dict[str, str]]:
    """A signed callback body and its headers (``completed`` carries two variants)."""
    from realtime_uploads.core.signing import SIGNATURE_HEADER, sign_callback

    body: dict[str, Any] = {"id": upload_id, "status": status}
    if status == "completed":
        body["original"] = {"width": 4000, "height": 3000, "format": "JPEG"}
        body["variants"] = [
            {"name": name, "key": f"variants/{upload_id}/{name}.webp", "width": w, "height": h, "format": "WEBP",
             "size": 10_000} for name, w, h in (("thumb", 320, 240), ("large", 1280, 960))]
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json", SIGNATURE_HEADER: sign_callback(raw, CALLBACK_SECRET)}


def session(**kwargs: Any):
    """An aiohttp client session without a connection limit (hundreds of sockets and requests at once)."""
    import aiohttp

    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                 timeout=aiohttp.ClientTimeout(total=120), **kwargs)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, seconds (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    """Resident memory of a process, KiB (/proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def machine() -> str:
    """This machine in one line: CPU model, cores, Python."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "?")
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def report(name: str, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
           result: dict[str, Any], notes: Sequence[str] = ()) -> None:
    """Print the table, the notes, and as the last line the JSON result with ``"bench": name``."""
    widths = [max(len(str(c)), *(len(_cell(r[i])) for r in rows)) for i, c in enumerate(columns)]
    print(f"\n{title}  ({machine()})")
    print("  ".join(str(c).ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(_cell(v).ljust(w) for v, w in zip(row, widths, strict=True)))
    for note in notes:
        print(note)
    print(json.dumps({"bench": name, **result}), flush=True)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


@contextlib.contextmanager
def client_gc_paused() -> Iterator[None]:
    """The load generator's own cyclic GC off while it measures (its pauses would count as server latency).

    The generator holds thousands of sockets beside Django; its full collections took up to 140 ms.
    Only this process is affected; the servers run as shipped.
    """
    import gc

    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Clock:
    """Open-loop pacing: ``await clock.slot(i)`` returns at start + i / rate seconds."""

    def __init__(self, rate: float):
        self.rate = rate
        self.start = time.perf_counter()

    async def slot(self, i: int) -> None:
        import asyncio

        delay = self.start + i / self.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
