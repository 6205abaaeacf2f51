"""Sockets that were never authorised cannot keep an upload's owner off its socket.

The outside probe (issue 16): anyone who knows an upload id (it is in every
variant URL) opened bare handshakes to ``/ws/uploads/<id>/`` and never
answered the close frame; each was counted against ``MAX_SOCKETS_PER_UPLOAD``
before its token or session was checked, so the owner got 4429. Now only an
authorised socket counts against the upload, and unauthorised ones are
bounded per client (``MAX_UNAUTHORISED_SOCKETS_PER_CLIENT``). A real daphne,
a sans-I/O websockets client that answers no close frame, and websockets'
own client for the owner.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from websockets.asyncio.client import connect

from tests import servers
from tests.cluster import presign
from tests.scenarios.silent_socket import open_silent

PER_UPLOAD = 3
UNAUTHORISED = 5


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    server = servers.Daphne(tmp_path_factory.mktemp("unauthorised-sockets"),
                            REALTIME_UPLOADS_MAX_SOCKETS_PER_UPLOAD=str(PER_UPLOAD),
                            REALTIME_UPLOADS_MAX_UNAUTHORISED_SOCKETS_PER_CLIENT=str(UNAUTHORISED),
                            REALTIME_UPLOADS_DB_THREADS="1").start()
    yield server
    server.terminate()


async def _presigned(base: str) -> dict:
    async with aiohttp.ClientSession() as http:
        return await presign(http, base)


async def _owner_snapshot(base: str, presigned: dict) -> dict:
    url = base.replace("http", "ws") + f"/ws/uploads/{presigned['id']}/?token={presigned['subscribe']['token']}"
    async with connect(url, origin=base) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 10))


@pytest.mark.asyncio
async def test_unauthorised_handshakes_past_the_client_cap_close_with_4429_at_once(daphne):
    presigned = await _presigned(daphne.url)
    url = daphne.url.replace("http", "ws") + f"/ws/uploads/{presigned['id']}/"
    held = [await open_silent(url, origin=daphne.url, headers={"Cookie": f"sessionid=forged{i}"})
            for i in range(UNAUTHORISED)]
    try:
        assert all(socket.status == 101 for socket in held)
        assert {await socket.close_code() for socket in held} == {4403}  # refused; the close never answered
        extra = await open_silent(url, origin=daphne.url)
        assert await extra.close_code() == 4429
        extra.abort()
        assert (await _owner_snapshot(daphne.url, presigned))["status"] == "pending"  # a token is authorised
    finally:
        for socket in held:
            socket.abort()


@pytest.mark.asyncio
async def test_a_flood_of_bare_handshakes_never_keeps_the_owner_out(daphne):
    presigned = await _presigned(daphne.url)
    url = daphne.url.replace("http", "ws") + f"/ws/uploads/{presigned['id']}/"
    stop = asyncio.Event()
    opened: list = []

    async def flood(n: int) -> None:
        while not stop.is_set():
            cookie = {"Cookie": f"sessionid=forged{n}"} if n % 2 else None
            try:
                opened.append(await open_silent(url, origin=daphne.url, headers=cookie))
            except (OSError, TimeoutError):
                pass
            await asyncio.sleep(0.01)

    flooders = [asyncio.create_task(flood(n)) for n in range(4 * PER_UPLOAD)]
    try:
        await asyncio.sleep(0.5)
        snapshots = []
        for _ in range(6):
            snapshots.append(await asyncio.gather(*(_owner_snapshot(daphne.url, presigned)
                                                    for _ in range(PER_UPLOAD))))
            await asyncio.sleep(0.2)
        assert all(event["id"] == presigned["id"] for batch in snapshots for event in batch)
    finally:
        stop.set()
        await asyncio.gather(*flooders, return_exceptions=True)
        for socket in opened:
            socket.abort()
    assert len(opened) > 2 * PER_UPLOAD
