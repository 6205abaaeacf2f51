"""The push path on a real Redis channel layer, and concurrent callbacks on the real database.

Redis is reached at REDIS_URL (default 127.0.0.1:6379). Where it is not
running the Redis tests skip, unless REALTIME_UPLOADS_REQUIRE_SERVICES=1
(as .ci/run sets), when they fail instead.
"""

from __future__ import annotations

import os
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection
from django.test import AsyncClient

from asgi import application
from realtime_uploads.models import Upload
from realtime_uploads.state import services
from realtime_uploads.state.access import make_subscribe_token
from tests.conftest import completed_payload


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(django_settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_layer(settings):
    if not _redis_up():
        if os.environ.get("REALTIME_UPLOADS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is required and not reachable at {django_settings.REDIS_URL}")
        pytest.skip(f"no Redis at {django_settings.REDIS_URL}")
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [django_settings.REDIS_URL], "prefix": "realtime-uploads-test"},
    }}


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_push_reaches_the_socket_through_redis(redis_layer):
    upload = await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=9)
    comm = WebsocketCommunicator(application, f"/ws/uploads/{upload.id}/?token={make_subscribe_token(str(upload.id))}",
                                 headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")])
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=3))["seq"] == 1
    await sync_to_async(services.upload_mark_processing)(upload_id=upload.id)
    event = await comm.receive_json_from(timeout=3)
    assert (event["status"], event["seq"]) == ("processing", 2)
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_long_poll_is_answered_through_redis(redis_layer):
    import asyncio

    client = AsyncClient()
    data = (await client.post("/api/uploads/", {"filename": "a.jpg", "content_type": "image/jpeg", "size": 5},
                              content_type="application/json")).json()

    async def change_soon():
        await asyncio.sleep(0.3)
        await sync_to_async(services.upload_mark_processing)(upload_id=data["id"])

    changer = asyncio.create_task(change_soon())
    response = await client.get(data["status_url"], {"token": data["subscribe"]["token"], "since": 1, "wait": 20})
    await changer
    assert response.json()["seq"] == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_completed_callbacks_leave_exactly_one_state_change(make_upload):
    """Row lock (PostgreSQL) or IMMEDIATE transaction (SQLite): racing reports serialise."""
    upload = make_upload()
    services.upload_mark_processing(upload_id=upload.id)
    payload = completed_payload(upload.id)
    barrier = threading.Barrier(4)
    changed, errors = [], []

    def report():
        try:
            barrier.wait()
            changed.append(services.upload_mark_completed(
                upload_id=upload.id, original=payload["original"], variants=payload["variants"]).changed)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=report) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(changed) == [False, False, False, True]
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.seq, fresh.variants.count()) == (3, 1)
