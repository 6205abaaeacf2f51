"""The heartbeat: daphne pings idle sockets and closes those that stop answering.

The shipped command sets ``--ping-interval 20 --ping-timeout 30``; here a
real daphne runs with 1 s and 2 s. A raw TCP client completes the WebSocket
handshake (RFC 6455 section 4) and then never answers a ping, like a peer
whose network vanished; a ``websockets`` client, which answers pings as
RFC 6455 section 5.5.2 requires, is the control.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.servers import Daphne

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    daphne = Daphne(tmp_path_factory.mktemp("heartbeat"), flags={"--ping-interval": "1", "--ping-timeout": "2"})
    daphne.start()
    yield daphne
    daphne.terminate()


async def silent_socket(base: str, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket handshake by hand; afterwards the client reads bytes but never sends a pong."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {base}\r\n\r\n").encode())
    await writer.drain()
    status = await reader.readline()
    assert b" 101 " in status, status
    while await reader.readline() not in (b"\r\n", b""):
        pass
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> tuple[float | None, bytes]:
    """Seconds until the server closed or reset the TCP connection (None if it did not), and what it sent."""
    started, received = time.monotonic(), b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), within - (time.monotonic() - started)):
            received += chunk
    except TimeoutError:
        return None, received
    except ConnectionResetError:
        pass
    return time.monotonic() - started, received


async def test_a_socket_that_stops_answering_pings_is_closed_and_one_that_answers_stays(server):
    async with httpx.AsyncClient(base_url=server.url) as http:
        presigned = (await http.post("/api/uploads/", json={"filename": "a.jpg", "content_type": "image/jpeg",
                                                            "size": 5})).json()
    path = f"/ws/uploads/{presigned['id']}/?token={presigned['subscribe']['token']}"
    reader, writer = await silent_socket(server.url, path)
    healthy = await connect(server.url.replace("http", "ws") + path, origin=server.url)
    assert json.loads(await healthy.recv())["status"] == "pending"

    took, received = await closed_by_server(reader, within=15)
    assert took is not None, "the silent socket was still open after 15 s"
    assert b'"status":' in received or b'"status": ' in received  # accepted and sent its snapshot first
    assert took >= 1  # closed by the heartbeat, not refused
    writer.close()
    await healthy.ping()  # still open: it answered every ping meanwhile
    await healthy.close()
