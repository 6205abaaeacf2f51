"""CHANNEL_LAYERS from a Redis URL or Sentinel (realtime_uploads.push.layer_settings), and a Sentinel round trip."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
import redis

from realtime_uploads.push.layer_settings import CORE, PUBSUB, channel_layer_settings, sentinels_from_string
from tests.servers import RedisServer, free_port


def test_a_redis_url_gives_the_resynchronising_pubsub_layer_with_safe_timeouts():
    layer = channel_layer_settings("redis://:secret@cache.internal:6380/2")
    assert layer["BACKEND"] == PUBSUB
    (host,) = layer["CONFIG"]["hosts"]
    assert host["address"] == "redis://:secret@cache.internal:6380/2"
    assert host["socket_timeout"] > 5  # never the 5 s that killed every idle socket with 1011
    assert layer["CONFIG"]["on_reconnect"] == "realtime_uploads.push.resync.on_reconnect"
    assert channel_layer_settings("rediss://cache.internal:6380/0")["CONFIG"]["hosts"][0]["address"].startswith(
        "rediss://")


def test_the_core_layer_is_given_a_capacity_and_group_expiry_that_do_not_drop_events():
    layer = channel_layer_settings("redis://127.0.0.1:6379/0", layer="core")
    assert layer["BACKEND"] == CORE
    assert layer["CONFIG"]["capacity"] >= 1000 and layer["CONFIG"]["group_expiry"] > 86400


def test_sentinel_hosts_take_db_credentials_and_tls_from_the_url():
    layer = channel_layer_settings("rediss://:pw@ignored:1/4", sentinels=[("s1", 26379), ("s2", 26380)],
                                   sentinel_master="mymaster")
    (host,) = layer["CONFIG"]["hosts"]
    assert (host["master_name"], host["sentinels"]) == ("mymaster", [("s1", 26379), ("s2", 26380)])
    assert (host["db"], host["password"], host["ssl"]) == (4, "pw", True)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"url": "http://x"}, "redis://"),
    ({"url": None}, "redis://"),
    ({"url": "redis://x", "layer": "rabbit"}, "layer must be"),
    ({"url": None, "sentinels": [("s", 1)]}, "both the sentinels"),
])
def test_bad_layer_settings_say_what_is_wrong(kwargs, message):
    url = kwargs.pop("url")
    with pytest.raises(ValueError, match=message):
        channel_layer_settings(url, **kwargs)


def test_sentinels_are_read_from_host_port_lists():
    assert list(sentinels_from_string("a:1, [::1]:26379,")) == [("a", 1), ("::1", 26379)]
    with pytest.raises(ValueError, match="'b' must be host:port"):
        list(sentinels_from_string("a:1,b"))


@pytest.fixture
def sentinel(tmp_path):
    """A private master and a real Sentinel monitoring it (``redis-server --sentinel``), on free ports."""
    master = RedisServer().start()
    port = free_port()
    conf = tmp_path / "sentinel.conf"  # Sentinel rewrites its own configuration file
    conf.write_text(f"port {port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {master.port} 1\n")
    proc = subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis(port=port, socket_connect_timeout=0.5).execute_command(
                        "SENTINEL", "get-master-addr-by-name", "mymaster"):
                    break
            except redis.RedisError:
                pass
            assert time.monotonic() < deadline, "Sentinel did not start"
            time.sleep(0.05)
        yield master, port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        master.stop()


@pytest.mark.asyncio
async def test_events_flow_through_a_master_found_by_sentinel(sentinel):
    from realtime_uploads.push.layers import RedisPubSubChannelLayer

    master, sentinel_port = sentinel
    config = channel_layer_settings("redis:///0", sentinels=[("127.0.0.1", sentinel_port)],
                                    sentinel_master="mymaster")["CONFIG"]
    layer = RedisPubSubChannelLayer(**config)
    channel = await layer.new_channel()
    await layer.group_add("upload.sentinel", channel)
    await layer.group_send("upload.sentinel", {"type": "upload.status", "seq": 2})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["seq"] == 2
    clients = redis.Redis(port=master.port).client_list()
    assert any(c.get("cmd") in ("subscribe", "ssubscribe", "publish", "ping") or int(c.get("sub", 0))
               for c in clients)  # the layer's connections are on the master Sentinel named
    await layer.flush()
