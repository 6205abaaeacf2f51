"""One socket, many uploads (``/ws/uploads/``): a real daphne and real WebSocket clients on loopback.

Before it a page uploading 50 photos opened 50 sockets.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests import servers
from tests.cluster import callback, collect, presign

MAX_SUBSCRIPTIONS = 6
PER_CLIENT = 5


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    server = servers.Daphne(tmp_path_factory.mktemp("multiplex"),
                            REALTIME_UPLOADS_MAX_SUBSCRIPTIONS_PER_SOCKET=str(MAX_SUBSCRIPTIONS),
                            REALTIME_UPLOADS_MAX_SOCKETS_PER_UPLOAD="2",
                            REALTIME_UPLOADS_MAX_SOCKETS_PER_CLIENT=str(PER_CLIENT),
                            REALTIME_UPLOADS_MAX_MESSAGE_SIZE="1000",
                            REALTIME_UPLOADS_PRESIGN_RATE="1000/min",
                            REALTIME_UPLOADS_MAX_PENDING_PER_CLIENT="1000").start()
    yield server
    server.terminate()


async def _presigned(base: str, n: int) -> list[dict]:
    async with aiohttp.ClientSession() as http:
        return [await presign(http, base) for _ in range(n)]


def _socket(base: str):
    return connect(base.replace("http", "ws") + "/ws/uploads/", origin=base)


async def _send(ws, message: dict) -> None:
    await ws.send(json.dumps(message))


async def _recv(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


def _subscribe(presigned: dict, token: str | None = None) -> dict:
    return {"type": "subscribe", "id": presigned["id"], "token": token or presigned["subscribe"]["token"]}


@pytest.mark.asyncio
async def test_one_socket_gets_five_snapshots_then_each_push_exactly_once(daphne):
    uploads = await _presigned(daphne.url, 5)
    async with _socket(daphne.url) as ws:
        for presigned in uploads:
            await _send(ws, _subscribe(presigned))
        snapshots = [await _recv(ws) for _ in uploads]
        assert [(s["id"], s["status"], s["seq"]) for s in snapshots] == [(u["id"], "pending", 1) for u in uploads]
        async with aiohttp.ClientSession() as http:
            for presigned in uploads:
                assert (await callback(http, daphne.url, presigned["id"], "processing")).status == 200
                assert (await callback(http, daphne.url, presigned["id"], "processing")).status == 200  # repeat
            for presigned in uploads:
                assert (await callback(http, daphne.url, presigned["id"], "completed")).status == 200
        events = await collect(ws, until_status=None, timeout=3)
    assert sorted((e["id"], e["seq"], e["status"]) for e in events) == sorted(
        [(u["id"], 2, "processing") for u in uploads] + [(u["id"], 3, "completed") for u in uploads])


@pytest.mark.asyncio
async def test_unsubscribe_stops_pushes_of_that_upload_only(daphne):
    first, second = await _presigned(daphne.url, 2)
    async with _socket(daphne.url) as ws:
        for presigned in (first, second):
            await _send(ws, _subscribe(presigned))
            await _recv(ws)
        await _send(ws, {"type": "unsubscribe", "id": first["id"]})
        assert await _recv(ws) == {"type": "unsubscribed", "id": first["id"]}
        async with aiohttp.ClientSession() as http:
            for presigned in (first, second):
                await callback(http, daphne.url, presigned["id"], "processing")
        events = await collect(ws, until_status=None, timeout=2)
    assert [(e["id"], e["status"]) for e in events] == [(second["id"], "processing")]


@pytest.mark.asyncio
async def test_refused_subscriptions_are_error_messages_naming_the_id_and_the_socket_stays_open(daphne):
    mine, theirs = await _presigned(daphne.url, 2)
    unknown = "6f1c1b2e-0000-4000-8000-000000000000"
    async with _socket(daphne.url) as ws:
        await _send(ws, _subscribe(theirs, token=mine["subscribe"]["token"]))  # a foreign token
        assert await _recv(ws) == {"type": "error", "id": theirs["id"], "error": {
            "code": "forbidden", "message": "Send this upload's subscribe token, or sign in as its owner."}}
        await _send(ws, {"type": "subscribe", "id": theirs["id"]})  # no token, no session
        assert (await _recv(ws))["error"]["code"] == "forbidden"
        await _send(ws, {"type": "subscribe", "id": unknown, "token": mine["subscribe"]["token"]})
        assert (await _recv(ws))["id"] == unknown
        await _send(ws, {"type": "subscribe", "id": "not-a-uuid"})
        error = await _recv(ws)
        assert (error["id"], error["error"]["code"]) == ("not-a-uuid", "malformed_id")
        await _send(ws, {"type": "subscribe", "id": {"deep": [1]}})
        assert (await _recv(ws))["error"]["code"] == "malformed_id"
        await ws.send(b"\x00binary")
        assert (await _recv(ws))["error"]["code"] == "binary_not_supported"
        await ws.send("[" * 499 + "]" * 499)  # JSON, but not a message
        assert (await _recv(ws))["error"]["code"] == "unknown_message"
        await _send(ws, {"type": "ping"})
        assert await _recv(ws) == {"type": "pong"}
        await _send(ws, _subscribe(mine))  # still open and working
        assert (await _recv(ws))["id"] == mine["id"]
        async with aiohttp.ClientSession() as http:
            await callback(http, daphne.url, theirs["id"], "processing")  # refused ones hear nothing
        assert await collect(ws, until_status=None, timeout=1.5) == []


@pytest.mark.asyncio
async def test_unknown_id_is_not_found(daphne):
    mine, = await _presigned(daphne.url, 1)
    unknown = "6f1c1b2e-0000-4000-8000-000000000001"
    async with _socket(daphne.url) as ws:
        await _send(ws, {"type": "subscribe", "id": unknown})
        error = await _recv(ws)
    assert (error["id"], error["error"]["code"]) == (unknown, "not_found")


@pytest.mark.asyncio
async def test_subscriptions_per_socket_are_capped_with_a_message_and_freed_by_unsubscribe(daphne):
    uploads = await _presigned(daphne.url, MAX_SUBSCRIPTIONS + 1)
    async with _socket(daphne.url) as ws:
        for presigned in uploads[:MAX_SUBSCRIPTIONS]:
            await _send(ws, _subscribe(presigned))
            assert (await _recv(ws))["id"] == presigned["id"]
        await _send(ws, _subscribe(uploads[-1]))
        error = await _recv(ws)
        assert (error["id"], error["error"]["code"]) == (uploads[-1]["id"], "too_many_subscriptions")
        await _send(ws, _subscribe(uploads[1]))  # one it follows: its snapshot again (a catch-up), not counted
        assert ((again := await _recv(ws))["id"], again["seq"]) == (uploads[1]["id"], 1)
        await _send(ws, {"type": "unsubscribe", "id": uploads[0]["id"]})
        await _recv(ws)
        await _send(ws, _subscribe(uploads[-1]))
        assert (await _recv(ws))["status"] == "pending"


@pytest.mark.asyncio
async def test_each_subscription_counts_against_the_uploads_socket_cap(daphne):
    presigned, = await _presigned(daphne.url, 1)
    async with _socket(daphne.url) as a, _socket(daphne.url) as b, _socket(daphne.url) as c:
        for ws in (a, b):
            await _send(ws, _subscribe(presigned))
            assert (await _recv(ws))["id"] == presigned["id"]
        await _send(c, _subscribe(presigned))
        assert (await _recv(c))["error"]["code"] == "too_many_subscribers"
        await a.close()
        await asyncio.sleep(0.3)
        await _send(c, _subscribe(presigned))
        assert (await _recv(c))["id"] == presigned["id"]


@pytest.mark.asyncio
async def test_multiplexed_sockets_count_against_the_clients_socket_cap(daphne):
    await asyncio.sleep(0.5)  # the sockets of earlier tests are gone
    held = [await _socket(daphne.url) for _ in range(PER_CLIENT)]
    async with _socket(daphne.url) as refused:
        with pytest.raises(ConnectionClosed) as closed:
            await _recv(refused)
    assert closed.value.rcvd.code == 4429
    await held[0].close()
    await asyncio.sleep(0.3)
    async with _socket(daphne.url) as ws:  # the closed one's place is free again
        await _send(ws, {"type": "ping"})
        assert await _recv(ws) == {"type": "pong"}
    for ws in held[1:]:
        await ws.close()


@pytest.mark.asyncio
async def test_a_message_over_the_size_limit_closes_with_4413(daphne):
    async with _socket(daphne.url) as ws:
        await ws.send(json.dumps({"type": "ping", "pad": "x" * 2000}))
        assert (await _recv(ws))["error"]["code"] == "message_too_large"
        with pytest.raises(ConnectionClosed) as closed:
            await _recv(ws)
    assert closed.value.rcvd.code == 4413


@pytest.mark.asyncio
async def test_the_per_upload_route_still_works_beside_it(daphne):
    presigned, = await _presigned(daphne.url, 1)
    url = daphne.url.replace("http", "ws") + f"/ws/uploads/{presigned['id']}/?token={presigned['subscribe']['token']}"
    async with connect(url, origin=daphne.url) as ws:
        assert (await _recv(ws))["id"] == presigned["id"]


def _owner_session(server, upload_id: str, username: str) -> str:
    """Make ``username`` (created if new) the upload's owner in the server's database; their session key."""
    import subprocess
    import sys

    code = (
        "from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY\n"
        "from django.contrib.sessions.backends.db import SessionStore\n"
        "from realtime_uploads.models import Upload\n"
        f"user, _ = get_user_model().objects.get_or_create(username={username!r})\n"
        f"Upload.objects.filter(pk={upload_id!r}).update(owner=user)\n"
        "s = SessionStore(); s[SESSION_KEY] = str(user.pk)\n"
        "s[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'\n"
        "s[HASH_SESSION_KEY] = user.get_session_auth_hash(); s.create(); print(s.session_key)\n"
    )
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=servers.ROOT, env=server.env,
                          check=True, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.asyncio
async def test_the_owners_session_may_subscribe_without_a_token_and_no_one_elses(daphne):
    mine, theirs = await _presigned(daphne.url, 2)
    session_key = _owner_session(daphne, mine["id"], "alice")
    _owner_session(daphne, theirs["id"], "mallory")
    async with connect(daphne.url.replace("http", "ws") + "/ws/uploads/", origin=daphne.url,
                       additional_headers={"Cookie": f"sessionid={session_key}"}) as ws:
        await _send(ws, {"type": "subscribe", "id": mine["id"]})
        assert (await _recv(ws))["id"] == mine["id"]
        await _send(ws, {"type": "subscribe", "id": theirs["id"]})
        error = await _recv(ws)
    assert (error["id"], error["error"]["code"]) == (theirs["id"], "forbidden")
