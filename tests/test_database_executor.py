"""The database executor: a committed change is pushed whatever happens to its caller afterwards.

The events go through the project's in-memory channel layer; the database is the real one of the pass.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from realtime_uploads import database, services
from realtime_uploads.events import group_name
from realtime_uploads.models import Upload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def follow(upload_id) -> str:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group_name(upload_id), channel)
    return channel


async def new_upload():
    return await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=9)


def processing_then(upload_id, after):
    services.upload_mark_processing(upload_id=upload_id)  # commits (autocommit) and collects its event
    after()


async def test_a_cancelled_callers_committed_change_is_still_pushed():
    """Django cancels a view whose client hung up; the processor's retry would be a no-op publishing nothing."""
    upload = await new_upload()
    channel = await follow(upload.id)
    call = asyncio.ensure_future(database.run(processing_then, upload.id, lambda: time.sleep(0.3)))
    await asyncio.sleep(0.1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    event = await asyncio.wait_for(get_channel_layer().receive(channel), 5)
    assert (event["status"], event["seq"]) == ("processing", 2)


async def test_a_change_committed_before_the_call_raised_is_still_pushed():
    upload = await new_upload()
    channel = await follow(upload.id)

    def fail():
        raise RuntimeError("after the commit")

    with pytest.raises(RuntimeError, match="after the commit"):
        await database.run(processing_then, upload.id, fail)
    event = await asyncio.wait_for(get_channel_layer().receive(channel), 5)
    assert (event["status"], event["seq"]) == ("processing", 2)
    assert (await sync_to_async(Upload.objects.get)(pk=upload.id)).seq == 2


async def test_a_cancelled_call_holds_its_place_until_its_worker_is_free(settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "DB_THREADS": 1, "DB_MAX_QUEUED": 0}
    call = asyncio.ensure_future(database.run(time.sleep, 0.5))
    await asyncio.sleep(0.1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    with pytest.raises(database.Overloaded):  # the thread is still busy: admitting more would overrun it
        await database.run(time.sleep, 0)
    await asyncio.sleep(0.6)
    assert await database.run(sum, [1, 2]) == 3
