"""The Pub/Sub channel layer against a real, private redis-server: nothing buffered or raced is lost.

Each test talks to its own redis-server on a free loopback port (tests.servers.RedisServer), because
some pause it with CLIENT PAUSE; the machine's shared Redis is never touched.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_asyncio
import redis

from realtime_uploads.push.layer_settings import channel_layer_settings
from realtime_uploads.push.layers import RedisPubSubChannelLayer
from tests.servers import RedisServer

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def layer(redis_server):
    config = channel_layer_settings(redis_server.url)["CONFIG"]  # as deployed: socket_timeout set, and so
    layer = RedisPubSubChannelLayer(**{**config, "prefix": "t", "on_reconnect": None})  # every write yields
    yield layer
    await layer.flush()


def redis_channels(url: str) -> set[str]:
    return {name.decode() for name in redis.Redis.from_url(url).pubsub_channels()}


async def eventually(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_every_message_arrives_when_far_more_than_one_drain_is_buffered(layer, redis_server):
    channel = await layer.new_channel()
    count = 2500  # the receive loop hands on at most 1000 per wake-up
    client = redis.Redis.from_url(redis_server.url)
    pipe = client.pipeline(transaction=False)
    for n in range(count):
        pipe.publish(channel, layer.serialize({"type": "t", "n": n}))
    pipe.execute()  # blocks this event loop, so all of them are buffered before the layer reads one
    time.sleep(0.3)
    received = [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(count)]
    assert received == list(range(count))


async def on_the_wire(shard, command: str, channel: str) -> None:
    """Step the event loop until ``command`` for ``channel`` has been handed to the connection, unanswered."""
    for _ in range(1000):
        if channel in shard._inflight[command]:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{command} {channel} never went out")


async def test_joining_while_the_last_members_unsubscribe_is_on_the_wire_stays_subscribed(layer, redis_server):
    leaving, joining = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("g", leaving)
    loop_layer = layer._get_layer()
    group = loop_layer._get_group_channel_name("g")
    await layer.group_discard("g", leaving)
    await on_the_wire(loop_layer._shards[0], "UNSUBSCRIBE", group)
    await asyncio.wait_for(layer.group_add("g", joining), 5)  # must let the UNSUBSCRIBE land, then SUBSCRIBE
    await eventually(lambda: group in redis_channels(redis_server.url))
    await layer.group_send("g", {"type": "t", "n": 1})
    assert (await asyncio.wait_for(layer.receive(joining), 5))["n"] == 1


async def test_a_join_cancels_a_queued_leave_without_a_round_trip(layer, redis_server):
    member, other = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("g", member)
    await layer.group_discard("g", member)  # UNSUBSCRIBE queued, not yet sent (no await in between)
    await layer.group_add("g", other)
    shard = layer._get_layer()._shards[0]
    assert shard._batches["UNSUBSCRIBE"] == {} and shard._inflight["UNSUBSCRIBE"] == {}
    await layer.group_send("g", {"type": "t", "n": 2})
    assert (await asyncio.wait_for(layer.receive(other), 5))["n"] == 2


async def test_leaving_while_the_join_is_on_the_wire_returns_at_once_and_undoes_it(layer, redis_server):
    member = await layer.new_channel()
    loop_layer = layer._get_layer()
    group = loop_layer._get_group_channel_name("g")
    joining = asyncio.ensure_future(layer.group_add("g", member))
    await on_the_wire(loop_layer._shards[0], "SUBSCRIBE", group)
    leave = asyncio.ensure_future(layer.group_discard("g", member))
    await asyncio.sleep(0)
    assert leave.done()  # a socket that leaves never waits on Redis (hung, or dead until socket_timeout)
    await asyncio.wait_for(joining, 5)
    await eventually(lambda: group not in loop_layer._shards[0]._subscribed_to)
    await eventually(lambda: group not in redis_channels(redis_server.url))


async def test_delete_channel_drops_the_queue_and_the_subscription(layer, redis_server):
    channel = await layer.new_channel()
    await eventually(lambda: channel in redis_channels(redis_server.url))
    await layer.delete_channel(channel)
    assert channel not in layer._get_layer().channels
    await eventually(lambda: channel not in redis_channels(redis_server.url))


async def test_publishers_waiting_on_a_flushed_layer_are_answered(layer, redis_server):
    admin = redis.Redis.from_url(redis_server.url)
    admin.execute_command("CLIENT", "PAUSE", "1000", "ALL")
    sends = [asyncio.ensure_future(layer.group_send("g", {"type": "t", "n": n})) for n in range(3)]
    await asyncio.sleep(0.1)
    await asyncio.wait_for(layer.flush(), 5)
    results = await asyncio.wait_for(asyncio.gather(*sends, return_exceptions=True), 5)
    assert all(r is None or isinstance(r, Exception) for r in results)  # answered, none left hanging


@pytest.mark.django_db(transaction=True)
async def test_a_long_poll_leaves_no_channel_or_subscription_behind(redis_server, settings, make_upload):
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    from realtime_uploads.push.longpoll import wait_for_change
    from realtime_uploads.state import services

    settings.CHANNEL_LAYERS = {"default": channel_layer_settings(redis_server.url)}
    upload = await sync_to_async(make_upload)()
    await sync_to_async(services.upload_mark_processing)(upload_id=upload.id)
    layer = get_channel_layer()
    try:
        answered_at_once = await wait_for_change(upload.id, since=0, wait=5)  # seq 2 > 0: no waiting
        assert answered_at_once["seq"] == 2
        waiting = asyncio.ensure_future(wait_for_change(upload.id, since=2, wait=10))
        await asyncio.sleep(0.3)
        await sync_to_async(services.upload_mark_failed)(
            upload_id=upload.id, error_code="corrupt_image", error_message="truncated")
        assert (await asyncio.wait_for(waiting, 10))["status"] == "failed"  # answered by a message
        assert layer._get_layer().channels == {}
        await eventually(lambda: redis_channels(redis_server.url) == set())  # neither its channel nor the group
    finally:
        await layer.flush()
