"""``CHANNEL_LAYERS`` entries for Redis: the Pub/Sub layer by default, the core layer on request.

:func:`channel_layer_settings` builds the ``CHANNEL_LAYERS["default"]``
entry from a Redis URL (``redis://``, ``rediss://`` for TLS) or a Sentinel
deployment, with socket timeouts that never fire while a layer legitimately
waits (redis-py 8 reads time out after 5 s, exactly channels-redis' 5 s
``BRPOP`` in the core layer: every idle socket died with 1011). Imports
nothing of channels-redis, so a settings module may use it freely.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

PUBSUB = "realtime_uploads.push.layers.RedisPubSubChannelLayer"
CORE = "channels_redis.core.RedisChannelLayer"
#: Connection options for every Redis connection of the layer: fail fast on connect, never time
#: out a blocking read the layer itself bounds, notice a dead peer (TCP keepalive + PING).
CONNECTION_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 2,
    "socket_timeout": 10,  # > the core layer's 5 s BRPOP; Pub/Sub commands answer in milliseconds
    "socket_keepalive": True,
    "health_check_interval": 10,
}


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
        config = {"hosts": [host], "prefix": prefix, "on_reconnect": "realtime_uploads.push.resync.on_reconnect"}
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
