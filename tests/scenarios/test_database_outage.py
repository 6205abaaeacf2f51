"""A database connection dropped under the push path (PostgreSQL pass only): retried or refused, never a crash.

The database executor's worker keeps its connection between calls. Here that connection is killed
for real with ``pg_terminate_backend``, as a database restart or a network blip would, so the next
call on it fails with the driver's own error.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings as django_settings
from django.db import connection

from realtime_uploads.push.layer_settings import channel_layer_settings
from realtime_uploads.push.resync import resync
from realtime_uploads.runtime import executor
from realtime_uploads.state import services
from realtime_uploads.state.access import make_subscribe_token
from realtime_uploads.state.events import group_name
from tests.unit.push.test_consumers import communicator

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="kills a PostgreSQL backend"),
]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture
def one_worker(settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "DB_THREADS": 1}


async def kill_the_workers_connection() -> None:
    pid = await executor.run(_backend_pid)
    await sync_to_async(_terminate)(pid)
    await asyncio.sleep(0.2)


async def test_resync_retries_when_the_kept_connection_died_in_the_same_outage(one_worker, settings, caplog):
    settings.CHANNEL_LAYERS = {"default": {**channel_layer_settings(django_settings.REDIS_URL)}}
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = "realtime-uploads-test-outage"
    upload = await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=9)
    layer = get_channel_layer()
    try:
        channel = await layer.new_channel()
        await layer.group_add(group_name(upload.id), channel)
        await sync_to_async(services.upload_mark_processing)(upload_id=upload.id)
        await asyncio.wait_for(layer.receive(channel), 5)  # the push itself
        await kill_the_workers_connection()
        assert await asyncio.wait_for(resync(layer._get_layer()), 20) == 1
        event = await asyncio.wait_for(layer.receive(channel), 5)
        assert (event["status"], event["seq"]) == ("processing", 2)
        assert "retrying" in caplog.text
    finally:
        await layer.flush()


async def test_a_socket_whose_snapshot_read_fails_is_closed_try_again_and_the_retry_works(one_worker):
    upload = await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=9)
    path = f"/ws/uploads/{upload.id}/?token={make_subscribe_token(str(upload.id))}"
    await kill_the_workers_connection()
    comm = communicator(path)
    await comm.connect()
    assert (await comm.receive_output(5)) == {"type": "websocket.close", "code": 4503}
    retry = communicator(path)
    await retry.connect()
    assert (await retry.receive_json_from(5))["seq"] == 1
    await retry.disconnect()
