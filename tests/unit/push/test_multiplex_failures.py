"""The multiplexed socket when its dependencies fail: a busy database or a dead channel layer refuses the
subscription with ``try_again`` naming it, joins nothing, and keeps the socket (the per-upload route closes
with 4503 instead, having nothing else to offer)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from asgi import application
from realtime_uploads.exceptions import DatabaseQueueFull
from realtime_uploads.push import socket_caps, subscriptions
from realtime_uploads.state import services
from realtime_uploads.state.access import make_subscribe_token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


async def _connected():
    comm = WebsocketCommunicator(application, "/ws/uploads/", headers=[ORIGIN, (b"host", b"127.0.0.1:8000")])
    connected, _ = await comm.connect()
    assert connected
    return comm


async def _subscribe(comm, upload):
    await comm.send_json_to({"type": "subscribe", "id": str(upload.id), "token": make_subscribe_token(str(upload.id))})
    return await comm.receive_json_from(timeout=3)


async def test_a_full_database_queue_is_try_again_naming_the_id_and_the_socket_stays(monkeypatch):
    upload = await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=9)

    async def overloaded(upload_id):
        raise DatabaseQueueFull(99)

    monkeypatch.setattr(subscriptions, "snapshot", overloaded)
    comm = await _connected()
    answer = await _subscribe(comm, upload)
    assert (answer["type"], answer["id"], answer["error"]["code"]) == ("error", str(upload.id), "try_again")
    assert socket_caps.counts.by_upload.get(upload.id) is None  # nothing counted, nothing joined
    monkeypatch.undo()
    assert (await _subscribe(comm, upload))["status"] == "pending"
    await comm.disconnect()
    assert socket_caps.counts.by_upload.get(upload.id) is None


async def test_an_unreachable_channel_layer_is_try_again_and_leaves_nothing_counted(monkeypatch):
    upload = await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=9)
    comm = await _connected()

    async def dead(group, channel):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(get_channel_layer(), "group_add", dead)
    answer = await _subscribe(comm, upload)
    assert (answer["id"], answer["error"]["code"]) == (str(upload.id), "try_again")
    assert socket_caps.counts.by_upload.get(upload.id) is None
    await comm.disconnect()
