"""Long-poll: wait for an upload's next change while holding no database connection.

:func:`wait_for_change` joins the upload's channel-layer group, reads the
snapshot once (batched with other reads, on the bounded executor of
:mod:`realtime_uploads.runtime.executor`, which returns the connection at once),
and then waits on the layer: the
pushed event itself is the answer, so a wake-up costs no query. A change
committed between the join and the read is in the read; one committed after
it arrives as a push. If the channel layer cannot be reached the wait
degrades to one read a second, still without a connection held in between.

Waiting long-polls are counted per process; past ``LONG_POLL_MAX_WAITERS``
:class:`~realtime_uploads.exceptions.TooManyWaiters` tells the view to answer 503 with ``Retry-After``
(RFC 9110 section 10.2.3) at once. They are also counted per client address
(:func:`request_client`, ``X-Forwarded-For`` believed only from
``TRUSTED_PROXIES``, an IPv6 client as its /64, as presign counts it): past
``LONG_POLL_MAX_PER_CLIENT`` :class:`~realtime_uploads.exceptions.TooManyLongPolls`
is a 429 with ``Retry-After`` (RFC 6585 section 4) and code
``too_many_long_polls``, so one client cannot take every slot of a process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

from channels.layers import get_channel_layer

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.addresses import rate_key, resolve_client, trusted_networks
from realtime_uploads.exceptions import TooManyLongPolls, TooManyWaiters
from realtime_uploads.models import TERMINAL_STATUSES
from realtime_uploads.state.events import EVENT_TYPE, group_name
from realtime_uploads.state.snapshots import snapshot

logger = logging.getLogger(__name__)

#: Longest wait for the channel layer to join or leave a group, seconds.
LAYER_TIMEOUT = 5.0
#: Seconds between reads when the channel layer is unreachable.
POLL_EVERY = 1.0
#: ``Retry-After`` of a client past ``LONG_POLL_MAX_PER_CLIENT``, seconds.
PER_CLIENT_RETRY_AFTER = 5


class _Waiters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.by_client: Counter[str] = Counter()

    def admit(self, client: str | None) -> None:
        with self.lock:
            limit = uploads_settings.LONG_POLL_MAX_PER_CLIENT
            if client is not None and self.by_client[client] >= limit:
                raise TooManyLongPolls(limit, PER_CLIENT_RETRY_AFTER)
            if self.count >= uploads_settings.LONG_POLL_MAX_WAITERS:
                raise TooManyWaiters(f"{self.count} long-polls are already waiting here; try again shortly.")
            self.count += 1
            if client is not None:
                self.by_client[client] += 1

    def release(self, client: str | None) -> None:
        with self.lock:
            self.count -= 1
            if client is not None:
                self.by_client[client] -= 1
                if self.by_client[client] <= 0:
                    del self.by_client[client]


waiters = _Waiters()


def request_client(meta: Mapping[str, Any]) -> str:
    """The client a long-poll counts against, from a Django request's ``META`` (``REMOTE_ADDR``,
    ``HTTP_X_FORWARDED_FOR``): its address behind ``TRUSTED_PROXIES``, an IPv6 client as its /64."""
    return rate_key(resolve_client(meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR"),
                                   trusted_networks(tuple(uploads_settings.TRUSTED_PROXIES))))


async def read_snapshot(upload_id: uuid.UUID) -> dict[str, Any] | None:
    """The upload's event, or None if there is no such upload (a batched read,
    :mod:`realtime_uploads.state.snapshots`)."""
    found = await snapshot(upload_id)
    return None if found is None else found.event


def _settled(event: dict[str, Any] | None, since: int) -> bool:
    return event is None or event["seq"] > since or event["status"] in TERMINAL_STATUSES


async def wait_for_change(upload_id: uuid.UUID, *, since: int, wait: float,
                          client: str | None = None) -> dict[str, Any] | None:
    """The upload's event as soon as its ``seq`` exceeds ``since`` (or it is terminal), else after ``wait`` s.

    ``client`` (:func:`request_client`, or the socket caps' ``client_key`` of an
    ASGI scope) is counted against ``LONG_POLL_MAX_PER_CLIENT``; None counts
    only against the process. Returns None if the upload does not exist (any
    more). Raises :class:`~realtime_uploads.exceptions.TooManyLongPolls` (429)
    first, then :class:`~realtime_uploads.exceptions.TooManyWaiters` and
    :class:`~realtime_uploads.exceptions.DatabaseQueueFull` (both ``Overloaded``:
    503 with ``Retry-After``).
    """
    waiters.admit(client)
    layer, channel, joined, group = get_channel_layer(), None, False, group_name(upload_id)
    try:
        if layer is not None:
            try:
                channel = await asyncio.wait_for(layer.new_channel(), LAYER_TIMEOUT)
                await asyncio.wait_for(layer.group_add(group, channel), LAYER_TIMEOUT)
                joined = True
            except Exception as exc:
                logger.warning("Long-poll for %s cannot use the channel layer (%r); reading every %.0f s.",
                               upload_id, exc, POLL_EVERY)
        event = await read_snapshot(upload_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not _settled(event, since) and (remaining := deadline - loop.time()) > 0:
            if not joined:
                await asyncio.sleep(min(POLL_EVERY, remaining))
                event = await read_snapshot(upload_id)
                continue
            try:
                message = await asyncio.wait_for(layer.receive(channel), remaining)
            except TimeoutError:
                break
            if message.get("type") == EVENT_TYPE and message.get("seq", 0) > event["seq"]:
                event = message
        return event
    finally:
        waiters.release(client)
        if channel is not None:
            await _forget(layer, group, channel)


async def _forget(layer: Any, group: str, channel: str) -> None:
    """Leave ``group`` (also after a failed ``group_add``, which registers first) and drop the channel:
    channels-redis' Pub/Sub layer drops a channel only when a ``receive`` is cancelled, and a poll
    answered at once or by a message would otherwise keep its queue and Redis subscription for good."""
    try:
        await asyncio.wait_for(layer.group_discard(group, channel), LAYER_TIMEOUT)
        delete = getattr(layer, "delete_channel", None)  # realtime_uploads.push.layers' Pub/Sub layer
        if delete is not None:
            await asyncio.wait_for(delete(channel), LAYER_TIMEOUT)
    except Exception as exc:
        logger.info("Long-poll could not leave %s cleanly: %r", group, exc)
