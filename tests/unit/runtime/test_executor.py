"""The database executor, and the outbox on it: a committed change is pushed whatever happens to its caller.

The events go through the project's in-memory channel layer; the database is the real one of the pass.
"""

from __future__ import annotations

import asyncio
import contextvars
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from realtime_uploads.exceptions import Overloaded
from realtime_uploads.models import Upload
from realtime_uploads.runtime import executor
from realtime_uploads.state import outbox, services
from realtime_uploads.state.events import group_name

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
    call = asyncio.ensure_future(outbox.run_and_publish(processing_then, upload.id, lambda: time.sleep(0.3)))
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
        await outbox.run_and_publish(processing_then, upload.id, fail)
    event = await asyncio.wait_for(get_channel_layer().receive(channel), 5)
    assert (event["status"], event["seq"]) == ("processing", 2)
    assert (await sync_to_async(Upload.objects.get)(pk=upload.id)).seq == 2


async def test_a_cancelled_call_holds_its_place_until_its_worker_is_free(settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "DB_THREADS": 1, "DB_MAX_QUEUED": 0}
    call = asyncio.ensure_future(executor.run(time.sleep, 0.5))
    await asyncio.sleep(0.1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    with pytest.raises(Overloaded):  # the thread is still busy: admitting more would overrun it
        await executor.run(time.sleep, 0)
    await asyncio.sleep(0.6)
    assert await executor.run(sum, [1, 2]) == 3


REQUEST = contextvars.ContextVar("request", default=None)


async def test_a_calls_follow_up_runs_whatever_becomes_of_it_and_the_worker_keeps_its_own_context():
    """What the outbox is built on: ``after`` runs once the call is done on success, on an exception, and when
    the caller was cancelled meanwhile. The worker runs in its own context, not a copy of the caller's:
    Django's per-thread objects (a cache client) then live as long as the worker, not one call."""
    pool = executor.DatabaseExecutor(threads=1, max_queued=2)
    ran: list[str] = []

    def after(label):
        async def record():
            ran.append(label)
        return record

    try:
        REQUEST.set("abc")
        assert await pool.run(REQUEST.get) is None
        from django.core.cache import caches

        assert len({id(await pool.run(lambda: caches["default"])) for _ in range(5)}) == 1
        assert await pool.run(sum, [1, 2], after=after("returned")) == 3
        with pytest.raises(ZeroDivisionError):
            await pool.run(lambda: 1 / 0, after=after("raised"))
        call = asyncio.ensure_future(pool.run(time.sleep, 0.3, after=after("cancelled")))
        await asyncio.sleep(0.1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert ran == ["returned", "raised"]  # the cancelled call's worker is still sleeping
        for _ in range(50):
            if "cancelled" in ran:
                break
            await asyncio.sleep(0.05)
        assert ran == ["returned", "raised", "cancelled"]
    finally:
        pool.shutdown()
