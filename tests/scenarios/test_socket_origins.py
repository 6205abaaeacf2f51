"""The WebSocket Origin check compares scheme, host and port (``realtime_uploads.push.origins``).

The outside probe (issue 16): under channels' ``AllowedHostsOriginValidator``
pages at ``http://127.0.0.1:<another port>`` and ``https://localhost`` could
open the sockets where ``ALLOWED_HOSTS`` named only the host. A real daphne
(the demo's ``asgi:application``) and websockets' client sending crafted
``Origin`` headers; a refusal is HTTP 403 at the handshake.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests import servers
from tests.cluster import presign
from tests.scenarios.silent_socket import open_silent

ALLOWED = "https://app.example.com"


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    server = servers.Daphne(tmp_path_factory.mktemp("socket-origins"),
                            REALTIME_UPLOADS_ALLOWED_ORIGINS=f"{ALLOWED}, http://localhost:1").start()
    yield server
    server.terminate()


@pytest.fixture(scope="module")
def socket_url(daphne):
    async def presigned() -> dict:
        async with aiohttp.ClientSession() as http:
            return await presign(http, daphne.url)

    answer = asyncio.run(presigned())
    return daphne.url.replace("http", "ws") + f"/ws/uploads/{answer['id']}/?token={answer['subscribe']['token']}"


async def _status(url: str, origin: str | None, **kwargs) -> int | dict:
    try:
        async with connect(url, origin=origin, **kwargs) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 10))
    except InvalidStatus as refused:
        return refused.response.status_code


@pytest.mark.asyncio
@pytest.mark.parametrize("origin", [
    "http://127.0.0.1:{other}",  # another port of the same host: another origin
    "https://127.0.0.1:{port}",  # another scheme
    "https://localhost",
    "http://localhost",
    "http://localhost:{port}",  # another host, though ALLOWED_HOSTS names it: not this server's origin here
    "http://evil.example",
    "https://app.example.com:8443",  # an allowed origin's host on another port
    "http://app.example.com",  # and scheme
    "null",
    "http://127.0.0.1:{port}/path",
])
async def test_foreign_origins_are_refused_with_403(daphne, socket_url, origin):
    origin = origin.format(port=daphne.port, other=daphne.port + 1)
    assert await _status(socket_url, origin) == 403


@pytest.mark.asyncio
@pytest.mark.parametrize("origin", ["http://127.0.0.1:{port}", "HTTP://127.0.0.1:{port}", ALLOWED,
                                    "https://APP.example.com:443", "http://localhost:1"])
async def test_the_servers_own_origin_and_allowed_origins_connect(daphne, socket_url, origin):
    event = await _status(socket_url, origin.format(port=daphne.port))
    assert isinstance(event, dict) and event["type"] == "upload.status", event


@pytest.mark.asyncio
async def test_a_handshake_without_origin_is_not_a_page_and_connects(daphne, socket_url):
    event = await _status(socket_url, None)
    assert isinstance(event, dict) and event["status"] == "pending"


@pytest.mark.asyncio
async def test_a_rebinding_host_is_not_this_servers_origin(daphne, socket_url):
    # A DNS-rebinding page: its name resolves to this server, so Host and Origin agree; ALLOWED_HOSTS refuses it.
    rebinding = await open_silent(socket_url, origin=f"http://rebind.example:{daphne.port}",
                                  headers={"Host": f"rebind.example:{daphne.port}"})
    rebinding.abort()
    assert rebinding.status == 403
    same = await open_silent(socket_url, origin=f"http://localhost:{daphne.port}",
                             headers={"Host": f"localhost:{daphne.port}"})  # in ALLOWED_HOSTS: its own origin
    same.abort()
    assert same.status == 101
