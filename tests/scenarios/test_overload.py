"""Past capacity the push path sheds load at once (503 + Retry-After, close 4503) and changes nothing.

The database executor is shrunk to one thread and no queue, and that
thread is kept busy by a real call, so the next call finds it full.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from realtime_uploads.models import Upload
from realtime_uploads.runtime import executor
from realtime_uploads.state import services
from realtime_uploads.state.access import make_subscribe_token
from tests.conftest import signed_headers
from tests.unit.push.test_consumers import communicator

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def new_upload():
    return await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=9)


async def test_a_callback_is_503_with_retry_after_and_changes_nothing(settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "DB_THREADS": 1, "DB_MAX_QUEUED": 0}
    upload = await new_upload()
    release = threading.Event()
    busy = asyncio.ensure_future(executor.run(release.wait, 30))
    await asyncio.sleep(0.05)
    try:
        body = f'{{"id": "{upload.id}", "status": "processing"}}'.encode()
        response = await AsyncClient().post(f"/api/uploads/{upload.id}/callback/", data=body,
                                            content_type="application/json", headers=signed_headers(body))
        assert response.status_code == 503 and response["Retry-After"] == "1"
        assert response.json()["code"] == "overloaded"
        comm = communicator(f"/ws/uploads/{upload.id}/?token={make_subscribe_token(str(upload.id))}")
        assert (await comm.connect())[0]
        assert (await comm.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4503}
    finally:
        release.set()
        await busy
    assert (await sync_to_async(Upload.objects.get)(pk=upload.pk)).seq == 1


async def test_long_polls_past_the_per_process_cap_are_503_with_retry_after(settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "LONG_POLL_MAX_WAITERS": 1}
    upload = await new_upload()
    query = {"token": make_subscribe_token(str(upload.id)), "since": 1, "wait": 10}
    client = AsyncClient()
    first = asyncio.ensure_future(client.get(f"/api/uploads/{upload.id}/", query))
    await asyncio.sleep(0.3)
    second = await client.get(f"/api/uploads/{upload.id}/", query)
    assert second.status_code == 503 and second["Retry-After"] == "1"
    await sync_to_async(services.upload_mark_processing)(upload_id=upload.id)
    assert (await asyncio.wait_for(first, 5)).json()["seq"] == 2
