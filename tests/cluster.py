"""Helpers for tests that run the service as real processes: daphnes sharing Redis and PostgreSQL.

They talk to their servers only over loopback: presign, callbacks and
long-polls over HTTP (aiohttp), subscriptions over real WebSockets
(``websockets``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect

from realtime_uploads.core.signing import SIGNATURE_HEADER, sign_callback

from . import servers
from .servers import CALLBACK_SECRET

ADMIN_URL = servers.ADMIN_URL


def require(what: str, error: Exception) -> None:
    """Skip, or fail when REALTIME_UPLOADS_REQUIRE_SERVICES=1 (CI): ``what`` is needed and unreachable."""
    message = f"{what} is required and not reachable: {error}"
    if os.environ.get("REALTIME_UPLOADS_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A fresh PostgreSQL database for server processes (skipped, or failed on CI, without PostgreSQL)."""
    try:
        with servers.postgres_database(name) as url:
            yield url
    except servers.Unavailable as exc:
        require("PostgreSQL", exc)


def shared_redis_url() -> str:
    """The machine's Redis (REDIS_URL, default 127.0.0.1:6379, db 9 for these tests)."""
    import redis

    url = os.environ.get("REALTIME_UPLOADS_TEST_REDIS", "redis://127.0.0.1:6379/9")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        require("Redis", exc)
    return url


@dataclass
class Answer:
    status: int
    body: Any


async def _answer(response: aiohttp.ClientResponse) -> Answer:
    text = await response.text()
    try:
        return Answer(response.status, json.loads(text))
    except ValueError:
        return Answer(response.status, text)


async def presign(http: aiohttp.ClientSession, base: str) -> dict:
    async with http.post(f"{base}/api/uploads/", json={"filename": "a.jpg", "content_type": "image/jpeg",
                                                      "size": 100}) as response:
        answer = await _answer(response)
    assert answer.status == 201, answer.body
    return answer.body


async def callback(http: aiohttp.ClientSession, base: str, upload_id: str, status: str, **extra) -> Answer:
    """POST a signed callback; ``completed`` gets one variant unless ``variants`` is given.

    Like the processor's client, a 503 is retried after its ``Retry-After``
    (a saturated server sheds load that way) and the other answers are returned.
    """
    body = {"id": upload_id, "status": status, **extra}
    if status == "completed":
        body.setdefault("original", {"width": 64, "height": 48, "format": "JPEG"})
        body.setdefault("variants", [{"name": "thumb", "key": f"variants/{upload_id}/thumb.webp", "width": 32,
                                      "height": 24, "format": "WEBP", "size": 100}])
    raw = json.dumps(body).encode()
    for _attempt in range(20):
        async with http.post(f"{base}/api/uploads/{upload_id}/callback/", data=raw, headers={
                "Content-Type": "application/json", SIGNATURE_HEADER: sign_callback(raw, CALLBACK_SECRET)}) as response:
            answer = await _answer(response)
            retry_after = float(response.headers.get("Retry-After", "1"))
        if answer.status != 503:
            return answer
        await asyncio.sleep(retry_after * random.uniform(0.5, 1.5))  # noqa: S311
    return answer


async def long_poll(http: aiohttp.ClientSession, base: str, presigned: dict, *, since: int, wait: float) -> Answer:
    params = {"token": presigned["subscribe"]["token"], "since": str(since), "wait": str(wait)}
    async with http.get(f"{base}{presigned['status_url']}", params=params) as response:
        return await _answer(response)


def session(**kwargs) -> aiohttp.ClientSession:
    """An HTTP client session for load: aiohttp keeps hundreds of connections cheaply (httpx's pool does not)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=90),
                                 **kwargs)


async def subscribe(base: str, presigned: dict):
    """An open socket to ``base`` for the upload, its snapshot already read (returned with it)."""
    ws_base = base.replace("http://", "ws://")
    ws = await connect(f"{ws_base}/ws/uploads/{presigned['id']}/?token={presigned['subscribe']['token']}",
                       origin=base, open_timeout=20)
    snapshot = json.loads(await asyncio.wait_for(ws.recv(), 20))
    return ws, snapshot


async def collect(ws, *, until_status: str | None, timeout: float, linger: float = 1.0) -> list[dict]:
    """Every event the socket receives within ``timeout`` s.

    Once an event with ``until_status`` arrives, it listens only ``linger``
    seconds more, for any duplicate.
    """
    events: list[dict] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (remaining := deadline - loop.time()) > 0:
        try:
            events.append(json.loads(await asyncio.wait_for(ws.recv(), remaining)))
        except TimeoutError:
            break
        if until_status is not None and events[-1].get("status") == until_status:
            deadline = min(deadline, loop.time() + linger)
    return events
