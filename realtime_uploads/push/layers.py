"""The channel layer for many processes: Redis Pub/Sub that says when it may have missed messages.

:class:`RedisPubSubChannelLayer` is channels-redis' ``RedisPubSubChannelLayer``
(one ``PUBLISH`` per group send, no per-channel capacity to overflow) with
its ``on_disconnect`` / ``on_reconnect`` hooks working again: channels-redis
4.2+ still accepts them but never calls them (django/channels_redis#406),
while redis-py silently reconnects the subscriber connection and
re-subscribes. Messages published while it was away are lost (channels-redis
README, "RedisPubSubChannelLayer"), so the app must hear of the reconnect to
re-send the truth from the database: the default ``on_reconnect``,
:func:`realtime_uploads.push.resync.on_reconnect`, sends every local subscriber a
fresh snapshot.

Hooks are callables or dotted paths, sync or async, called with the per-loop
layer (``RedisPubSubLoopLayer``). ``on_disconnect`` runs once per outage of a
shard's subscriber connection, ``on_reconnect`` every time it is connected
again (and re-subscribed). The receive loop of each shard also survives any
error (channels-redis' own re-raises a builtin ``TimeoutError`` and stops
delivering for good) and drains every message already buffered per wake-up.

:func:`realtime_uploads.push.layer_settings.channel_layer_settings` builds the
``CHANNEL_LAYERS["default"]`` entry that uses it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from channels_redis.pubsub import RedisPubSubChannelLayer as _PubSubLayer
from channels_redis.pubsub import RedisPubSubLoopLayer as _PubSubLoopLayer
from channels_redis.pubsub import RedisSingleShardConnection as _Shard
from channels_redis.utils import _wrap_close
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

_DRAIN = 1000  # messages read per wake-up of a shard's receive loop at most
_DATA_TYPES = frozenset({"message", "pmessage"})


def _settle(futures: Any, exc: BaseException | None = None) -> None:
    """Resolve every unfinished future: with ``exc`` if given, else with None."""
    for future in futures:
        if not future.done():
            future.set_exception(exc) if exc is not None else future.set_result(None)


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

    Subscriptions and unsubscriptions asked for in the same event-loop
    iteration go out as one ``SUBSCRIBE`` / ``UNSUBSCRIBE`` with many channels:
    every socket subscribes twice (its own channel and its upload's group) and
    unsubscribes twice when it goes, and a reconnect storm is thousands of
    sockets at once. Each caller still returns only once its command was sent.
    Publishes do not wait for that lock: channels-redis held the shard's one
    lock for a whole ``PUBLISH`` round trip, so events queued behind every
    socket that came or went. Instead every ``PUBLISH`` of an event-loop
    iteration goes out in one pipeline, in order, one batch at a time (1000
    publishes at once unbounded opened 1000 Redis connections, and some
    missed their time limit).
    """

    def __init__(self, host: dict, channel_layer: Any):
        super().__init__(host, channel_layer)
        self._down = False
        self._hook_tasks: set[asyncio.Task] = set()
        self._batches: dict[str, dict[str, asyncio.Future]] = {"SUBSCRIBE": {}, "UNSUBSCRIBE": {}}
        self._inflight: dict[str, dict[str, asyncio.Future]] = {"SUBSCRIBE": {}, "UNSUBSCRIBE": {}}
        self._outbox: list[tuple[str, bytes, asyncio.Future]] = []
        self._publishing = False

    async def publish(self, channel: str, message: bytes) -> None:
        done = asyncio.get_running_loop().create_future()
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._outbox.append((channel, message, done))
        if not self._publishing:
            self._publishing = True
            self._keep(asyncio.ensure_future(self._send_outbox()))
        await asyncio.shield(done)

    async def _send_outbox(self) -> None:
        try:
            while self._outbox:
                await asyncio.sleep(0)  # let the rest of this loop iteration publish too
                batch, self._outbox = self._outbox, []
                try:
                    if self._redis is None:
                        async with self._lock:
                            self._ensure_redis()
                    pipe = self._redis.pipeline(transaction=False)
                    for channel, message, _done in batch:
                        pipe.publish(channel, message)
                    await pipe.execute()
                except Exception as exc:
                    _settle((done for _c, _m, done in batch), exc)
                    continue
                except BaseException:
                    self._outbox[:0] = batch  # failed below, with whatever else was waiting
                    raise
                _settle(done for _c, _m, done in batch)
        finally:
            self._publishing = False
            if self._outbox:  # cancelled (loop closing, flush): no publisher waits for ever
                batch, self._outbox = self._outbox, []
                _settle((done for _c, _m, done in batch), ConnectionError("channel layer closed"))

    def _pending(self, command: str, channel: str) -> asyncio.Future | None:
        """The unfinished ``command`` for ``channel``: queued, or sent and not yet answered."""
        return self._batches[command].get(channel) or self._inflight[command].get(channel)

    async def subscribe(self, channel: str) -> None:
        leaving = self._batches["UNSUBSCRIBE"].pop(channel, None)
        if leaving is not None:  # queued, not sent yet: the channel simply stays subscribed
            _settle([leaving])
        leaving = self._inflight["UNSUBSCRIBE"].get(channel)
        if leaving is not None:  # already on the wire: let it land, then subscribe again
            await asyncio.wait([leaving])
        joining = self._pending("SUBSCRIBE", channel)
        if joining is not None:
            await asyncio.shield(joining)
        elif channel not in self._subscribed_to:
            await self._batched("SUBSCRIBE", channel)

    async def unsubscribe(self, channel: str) -> None:
        """Queue the channel's UNSUBSCRIBE and return: nothing waits on Redis (channels-redis unsubscribes
        while a cancelled consumer cleans up, where awaiting would be cancelled again and logged as an
        error; and a SUBSCRIBE hung on a dead Redis must not hang the socket that is leaving)."""
        joining = self._pending("SUBSCRIBE", channel)
        if joining is not None:  # a subscription still being sent: undo it once it lands, unless wanted again
            joining.add_done_callback(lambda _done: self._unsubscribe_unwanted(channel))
        elif channel in self._subscribed_to:
            self._enqueue("UNSUBSCRIBE", channel)

    def _unsubscribe_unwanted(self, channel: str) -> None:
        layer = self.channel_layer
        if channel in self._subscribed_to and channel not in layer.channels and channel not in layer.groups:
            self._enqueue("UNSUBSCRIBE", channel)

    async def _batched(self, command: str, channel: str) -> None:
        await asyncio.shield(self._enqueue(command, channel))

    def _enqueue(self, command: str, channel: str) -> asyncio.Future:
        wanted = self._batches[command]
        waiter = wanted.get(channel)
        if waiter is None:
            waiter = wanted[channel] = asyncio.get_running_loop().create_future()
            waiter.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved, even if
            if len(wanted) == 1:  # the caller is gone
                self._keep(asyncio.ensure_future(self._send_batch(command)))
        return waiter

    async def _send_batch(self, command: str) -> None:
        """Send every queued ``command`` in one go. While it is on the wire the batch stays visible in
        ``_inflight``: a subscribe racing an UNSUBSCRIBE of the same channel waits for it instead of
        trusting ``_subscribed_to`` (and ending up unsubscribed)."""
        await asyncio.sleep(0)  # let the rest of this loop iteration add its channels
        async with self._lock:
            wanted, self._batches[command] = self._batches[command], {}
            if not wanted:  # emptied by a subscribe that kept its channel
                return
            self._inflight[command] = wanted
            try:
                self._ensure_redis()
                self._ensure_receiver()
                if command == "SUBSCRIBE":
                    await self._pubsub.subscribe(*wanted)
                    self._subscribed_to.update(wanted)
                else:
                    await self._pubsub.unsubscribe(*wanted)
                    self._subscribed_to.difference_update(wanted)
            except BaseException as exc:
                _settle(wanted.values(), exc if isinstance(exc, Exception) else ConnectionError(str(exc)))
                if not isinstance(exc, Exception):
                    raise
                return
            finally:
                self._inflight[command] = {}
        _settle(wanted.values())

    async def flush(self) -> None:
        """channels-redis' flush (closes the connection) that also fails what was queued, not yet sent."""
        await super().flush()
        for command in ("SUBSCRIBE", "UNSUBSCRIBE"):
            queued, self._batches[command] = self._batches[command], {}
            _settle(queued.values(), ConnectionError("channel layer flushed"))

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
                    # Drain what is buffered in one go. Subscribe confirmations are skipped here, not by
                    # redis-py: it answers None for them, which would end the drain at every one (a
                    # reconnect storm queues thousands ahead of the events).
                    # Every message read is handed on before the next read (at most _DRAIN per wake-up).
                    timeout = 0.1
                    for _ in range(_DRAIN):
                        message = await self._pubsub.get_message(timeout=timeout)
                        if message is None:
                            break
                        if message["type"] in _DATA_TYPES:
                            self._receive_message(message)
                        timeout = 0
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

    async def _subscribe_to_channel(self, channel: str) -> None:
        """The channel's local queue, subscribed in Redis if Redis answers.

        channels' AsyncConsumer asks for a channel before the application
        runs; with Redis away, channels-redis raised there and every new
        socket failed its handshake with a traceback. The channel stays local
        instead (group messages reach it through its groups), so the consumer
        can answer with its own 4503 when it cannot join the upload's group.
        """
        self.channels[channel] = asyncio.Queue()
        try:
            await self._get_shard(channel).subscribe(channel)
        except Exception as exc:
            logger.info("Channel %s not subscribed in Redis (%r); it receives group messages only.", channel, exc)

    async def delete_channel(self, channel: str) -> None:
        """Forget a channel made by ``new_channel`` that no consumer receives on: its queue and its Redis
        subscription (channels-redis does this only when a ``receive`` is cancelled). Never waits on Redis."""
        if self.channels.pop(channel, None) is not None:
            await self._get_shard(channel).unsubscribe(channel)

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
