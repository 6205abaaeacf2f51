"""What one client can do to a server's WebSockets: caps on sockets, and messages that cannot crash one.

A real daphne (the shipped command) and real WebSocket clients on loopback.
Before the caps one client opened 2000 sockets on one upload with one token;
before the message handling a binary frame or deeply nested JSON closed the
socket with 1011 (a server error).
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests import servers
from tests.cluster import presign

PER_UPLOAD = 3
PER_CLIENT = 5


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    server = servers.Daphne(tmp_path_factory.mktemp("socket-limits"),
                            REALTIME_UPLOADS_MAX_SOCKETS_PER_UPLOAD=str(PER_UPLOAD),
                            REALTIME_UPLOADS_MAX_SOCKETS_PER_CLIENT=str(PER_CLIENT),
                            REALTIME_UPLOADS_MAX_MESSAGE_SIZE="1000").start()
    yield server
    server.terminate()


async def _presigned(base: str) -> dict:
    async with aiohttp.ClientSession() as http:
        return await presign(http, base)


def _ws_url(base: str, presigned: dict) -> str:
    return base.replace("http", "ws") + f"/ws/uploads/{presigned['id']}/?token={presigned['subscribe']['token']}"


def _origin(url: str) -> str:
    """The server's own origin (the Origin check compares scheme, host and port)."""
    return "http://" + url.split("/")[2]


async def _open(url: str):
    ws = await connect(url, origin=_origin(url))
    first = await asyncio.wait_for(ws.recv(), 10)
    return ws, first


async def _closed_with(url: str) -> int:
    async with connect(url, origin=_origin(url)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    return closed.value.rcvd.code


@pytest.mark.asyncio
async def test_sockets_per_upload_are_capped_with_4429_and_freed_on_close(daphne):
    presigned = await _presigned(daphne.url)
    url = _ws_url(daphne.url, presigned)
    held = [await _open(url) for _ in range(PER_UPLOAD)]
    assert all(json.loads(first)["id"] == presigned["id"] for _, first in held)
    assert await _closed_with(url) == 4429
    await held[0][0].close()
    await asyncio.sleep(0.3)
    ws, first = await _open(url)  # the closed one's place is free again
    assert json.loads(first)["status"] == "pending"
    for socket in [ws] + [w for w, _ in held[1:]]:
        await socket.close()


@pytest.mark.asyncio
async def test_sockets_per_client_are_capped_across_uploads(daphne):
    uploads = [await _presigned(daphne.url) for _ in range(PER_CLIENT + 1)]
    held = [await _open(_ws_url(daphne.url, presigned)) for presigned in uploads[:PER_CLIENT]]
    assert await _closed_with(_ws_url(daphne.url, uploads[-1])) == 4429
    for ws, _ in held:
        await ws.close()
    await asyncio.sleep(0.3)
    ws, _ = await _open(_ws_url(daphne.url, uploads[-1]))
    await ws.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("frame, code", [
    (b"\x00\x01binary", "binary_not_supported"),
    ("[" * 1000 + "]" * 1000, None),  # over MAX_MESSAGE_SIZE: refused before parsing
    ("[" * 100_000 + "]" * 100_000, 1009),  # over 4 x MAX_MESSAGE_SIZE bytes: autobahn closes before buffering
    ("[" * 900 + "]" * 0, "unknown_message"),  # not JSON
    ("", "unknown_message"),
    ('"\\ud800"', "unknown_message"),  # a lone surrogate, escaped: valid JSON, not a message
    ('{"type": ["ping"]}', "unknown_message"),
])
async def test_no_message_crashes_the_socket(daphne, frame, code):
    presigned = await _presigned(daphne.url)
    ws, _ = await _open(_ws_url(daphne.url, presigned))
    async with ws:
        await ws.send(frame)
        if code == 1009:  # autobahn fails the connection: its close frame may be lost behind our unread send
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is None or closed.value.rcvd.code == 1009, closed.value
            assert "Traceback" not in daphne.log()
            return
        if code is None:
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert answer["error"]["code"] == "message_too_large"
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd.code == 4413
            return
        answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert answer == {"type": "error", "error": {"code": code, "message": answer["error"]["message"]}}
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong"}


@pytest.mark.asyncio
async def test_deeply_nested_json_within_the_size_limit_is_an_error_message_not_1011(daphne, monkeypatch):
    # 999 levels fit in 1000 characters only half-closed; the parser's recursion limit is the risk.
    presigned = await _presigned(daphne.url)
    ws, _ = await _open(_ws_url(daphne.url, presigned))
    async with ws:
        await ws.send("[" * 999)
        answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert answer["error"]["code"] == "unknown_message"
    assert "RecursionError" not in daphne.log() and "Traceback" not in daphne.log()
