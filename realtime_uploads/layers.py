"""The channel layer for many processes: Redis Pub/Sub that says when it may have missed messages.

:class:`RedisPubSubChannelLayer` is channels-redis' ``RedisPubSubChannelLayer``
(one ``PUBLISH`` per group send, no per-channel capacity to overflow) with
its ``on_disconnect`` / ``on_reconnect`` hooks working again: channels-redis
4.2+ still accepts them but never calls them (django/channels_redis#406),
while redis-py silently reconnects the subscriber connection and
re-subscribes. Messages published while it was away are lost (channels-redis
README, "RedisPubSubChannelLayer"), so the app must hear of the reconnect to
re-send the truth from the database: the default ``on_reconnect``,
:func:`realtime_uploads.resync.on_reconnect`, sends every local subscriber a
fresh snapshot.

Hooks are callables or dotted paths, sync or async, called with the per-loop
layer (``RedisPubSubLoopLayer``). ``on_disconnect`` runs once per outage of a
shard's subscriber connection, ``on_reconnect`` every time it is connected
again (and re-subscribed). The receive loop of each shard also survives any
error (channels-redis' own re-raises a builtin ``TimeoutError`` and stops
delivering for good) and drains every message already buffered per wake-up.

:func:`channel_layer_settings` builds the ``CHANNEL_LAYERS["default"]`` entry
from a Redis URL (``redis://``, ``rediss://`` for TLS) or a Sentinel
deployment, with socket timeouts that never fire while a layer legitimately
waits (redis-py 8 reads time out after 5 s, exactly channels-redis' 5 s
``BRPOP`` in the core layer: every idle socket died with 1011).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from channels_redis.pubsub import RedisPubSubChannelLayer as _PubSubLayer
from channels_redis.pubsub import RedisPubSubLoopLayer as _PubSubLoopLayer
from channels_redis.pubsub import RedisSingleShardConnection as _Shard
from channels_redis.utils import _wrap_close
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

PUBSUB = "realtime_uploads.layers.RedisPubSubChannelLayer"
CORE = "channels_redis.core.RedisChannelLayer"
#: Connection options for every Redis connection of the layer: fail fast on connect, never time
#: out a blocking read the layer itself bounds, notice a dead peer (TCP keepalive + PING).
CONNECTION_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 2,
    "socket_timeout": 10,  # > the core layer's 5 s BRPOP; Pub/Sub commands answer in milliseconds
    "socket_keepalive": True,
    "health_check_interval": 10,
}
_DRAIN = 1000  # messages read per wake-up of a shard's receive loop at most


def _hook(value: Callable | str | None) -> Callable | None:
    return import_string(value) if isinstance(value, str) else value


async def _call_hook(hook: Callable | None, layer: Any, what: str) -> None:
    if hook is None:
        return
    try:
        result = hook(layer)
        if inspect.isawaitable(result):
            await result
    except Exception:
        logger.exception("The channel layer's %s hook failed.", what)


class _ShardConnection(_Shard):
    """One Redis shard: calls the layer's hooks around outages of its subscriber connection.

    Subscriptions asked for in the same event-loop iteration go out as one
    ``SUBSCRIBE`` with many channels: every socket subscribes twice (its own
    channel and its upload's group), and a reconnect storm is thousands of
    sockets at once. Each caller still returns only once its channel's
    subscription has been sent.
    """

    def __init__(self, host: dict, channel_layer: Any):
        super().__init__(host, channel_layer)
        self._down = False
        self._hook_tasks: set[asyncio.Task] = set()
        self._wanted: dict[str, asyncio.Future] = {}

    async def subscribe(self, channel: str) -> None:
        if channel in self._subscribed_to:
            return
        waiter = self._wanted.get(channel)
        if waiter is None:
            waiter = self._wanted[channel] = asyncio.get_running_loop().create_future()
            waiter.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved, even if
            if len(self._wanted) == 1:                                                    # the caller is gone
                self._keep(asyncio.ensure_future(self._subscribe_wanted()))
        await asyncio.shield(waiter)

    async def unsubscribe(self, channel: str) -> None:
        waiter = self._wanted.get(channel)
        if waiter is not None:  # a subscription still being sent: let it land, then undo it
            await asyncio.wait([waiter])
        await super().unsubscribe(channel)

    async def _subscribe_wanted(self) -> None:
        await asyncio.sleep(0)  # let the rest of this loop iteration add its channels
        async with self._lock:
            wanted, self._wanted = self._wanted, {}
            try:
                self._ensure_redis()
                self._ensure_receiver()
                await self._pubsub.subscribe(*wanted)
            except BaseException as exc:
                for waiter in wanted.values():
                    if not waiter.done():
                        waiter.set_exception(exc if isinstance(exc, Exception) else ConnectionError(str(exc)))
                if not isinstance(exc, Exception):
                    raise
                return
            self._subscribed_to.update(wanted)
        for waiter in wanted.values():
            if not waiter.done():
                waiter.set_result(None)

    def _keep(self, task: asyncio.Future) -> None:
        self._hook_tasks.add(task)
        task.add_done_callback(self._hook_tasks.discard)

    def _ensure_redis(self) -> None:
        fresh = self._redis is None
        super()._ensure_redis()
        if fresh:
            # redis-py registers pubsub.on_connect (as a WeakMethod: it must be a bound method) on the
            # subscriber connection and calls it on every reconnect, never the first connect, to
            # re-subscribe; ours re-subscribes the same way, then runs the hook.
            self._resubscribe = self._pubsub.on_connect
            self._pubsub.on_connect = self._subscriber_reconnected

    async def _subscriber_reconnected(self, connection: Any) -> None:
        await self._resubscribe(connection)
        self._hook("on_reconnect")

    def _hook(self, which: str) -> None:
        if which == "on_reconnect":
            if self._down:
                logger.warning("Redis %s: subscriber connection is back; resynchronising.", self._where())
            self._down = False
        self._keep(asyncio.ensure_future(_call_hook(getattr(self.channel_layer, which), self.channel_layer, which)))

    def _where(self) -> str:
        """The shard for log lines, without credentials."""
        address = self.host.get("address")
        if address:
            parts = urlsplit(address)
            return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"
        return str(self.host.get("master_name") or self.host.get("host", "?"))

    async def _do_receiving(self) -> None:
        delay = 0.1
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    for _ in range(_DRAIN):
                        if message is None:
                            break
                        self._receive_message(message)
                        message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0)
                    delay = 0.1
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as exc:
                if not self._down:
                    self._down = True
                    logger.warning("Redis %s: subscriber connection lost (%s); retrying.", self._where(), exc)
                    self._hook("on_disconnect")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)


class RedisPubSubLoopLayer(_PubSubLoopLayer):
    """channels-redis' per-event-loop Pub/Sub layer, with the reconnect hooks and local delivery."""

    def __init__(self, *args: Any, on_disconnect=None, on_reconnect=None, **kwargs: Any):
        super().__init__(*args, on_disconnect=_hook(on_disconnect), on_reconnect=_hook(on_reconnect), **kwargs)
        self._shards = [_ShardConnection(shard.host, self) for shard in self._shards]

    def local_groups(self) -> list[str]:
        """The groups at least one channel of this process has joined (names as given to ``group_add``)."""
        start = len(self._get_group_channel_name(""))
        return [name[start:] for name, channels in self.groups.items() if channels]

    def deliver_local(self, group: str, message: dict) -> int:
        """Put ``message`` on every local channel of ``group`` without a trip to Redis; returns how many."""
        data = self.channel_layer.serialize(message)
        delivered = 0
        for channel in list(self.groups.get(self._get_group_channel_name(group), ())):
            queue = self.channels.get(channel)
            if queue is not None:
                queue.put_nowait(data)
                delivered += 1
        return delivered


class RedisPubSubChannelLayer(_PubSubLayer):
    """``channels_redis.pubsub.RedisPubSubChannelLayer`` with working ``on_disconnect`` / ``on_reconnect``.

    CONFIG is channels-redis' own (``hosts``, ``prefix``, ...) plus the two
    hooks (callables or dotted paths, sync or async, called with the loop layer).
    """

    def _get_layer(self) -> RedisPubSubLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = RedisPubSubLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer


def _sentinel_host(url: str | None, sentinels: Sequence[tuple[str, int]], master: str) -> dict[str, Any]:
    from redis.connection import parse_url

    host: dict[str, Any] = {"master_name": master, "sentinels": list(sentinels), **CONNECTION_OPTIONS}
    if url:  # the master's db, username, password and TLS come from the URL; its host and port from Sentinel
        parsed = parse_url(url)
        host.update({k: v for k, v in parsed.items() if k in ("db", "username", "password")})
        if url.startswith("rediss://"):
            host["ssl"] = True
    return host


def channel_layer_settings(
    url: str | None = None,
    *,
    layer: str = "pubsub",
    sentinels: Sequence[tuple[str, int]] = (),
    sentinel_master: str | None = None,
    prefix: str = "asgi",
    capacity: int = 10_000,
    group_expiry: int = 7 * 86400,
) -> dict[str, Any]:
    """A ``CHANNEL_LAYERS["default"]`` entry for Redis.

    ``url``: ``redis://[[user]:password@]host[:port][/db]`` or ``rediss://…`` (TLS;
    redis-py's query options such as ``?ssl_cert_reqs=required&ssl_ca_certs=/path``
    apply). With ``sentinels`` (``[(host, port)]``) and ``sentinel_master``, the
    master is found through Redis Sentinel and ``url`` only gives its db,
    credentials and TLS. ``layer``: ``"pubsub"`` (default, :class:`RedisPubSubChannelLayer`,
    resynchronising subscribers after a reconnect) or ``"core"``
    (channels-redis' ``RedisChannelLayer``; ``capacity`` messages per process
    before ``group_send`` drops, groups forgotten after ``group_expiry``
    seconds, which must outlast the longest socket). Raises ValueError.
    """
    if layer not in ("pubsub", "core"):
        raise ValueError(f"layer must be 'pubsub' or 'core', got {layer!r}.")
    if bool(sentinels) != bool(sentinel_master):
        raise ValueError("Redis Sentinel needs both the sentinels (host:port list) and the master's name.")
    if sentinels:
        host = _sentinel_host(url, sentinels, sentinel_master)
    elif url and url.startswith(("redis://", "rediss://", "unix://")):
        host = {"address": url, **CONNECTION_OPTIONS}
    else:
        raise ValueError(f"A Redis URL must start with redis://, rediss:// or unix://, got {url!r}.")
    if layer == "pubsub":
        config = {"hosts": [host], "prefix": prefix, "on_reconnect": "realtime_uploads.resync.on_reconnect"}
        return {"BACKEND": PUBSUB, "CONFIG": config}
    return {"BACKEND": CORE, "CONFIG": {"hosts": [host], "prefix": prefix, "capacity": capacity,
                                        "group_expiry": group_expiry}}


def sentinels_from_string(value: str) -> Iterator[tuple[str, int]]:
    """``"h1:26379,h2:26379"`` → ``("h1", 26379), ("h2", 26379)``. Raises ValueError naming the bad entry."""
    for entry in filter(None, (part.strip() for part in value.split(","))):
        host, sep, port = entry.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"Sentinel {entry!r} must be host:port.")
        yield host.strip("[]"), int(port)
