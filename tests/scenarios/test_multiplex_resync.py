"""Redis stops while callbacks arrive: a multiplexed socket (``/ws/uploads/``) gets the truth once it is back.

After a reconnect :mod:`realtime_uploads.push.resync` re-sends snapshots to the
channels of the groups this process holds; a multiplexed socket joins the
same per-upload groups, so it must hear them too, each upload once.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from tests.cluster import callback, collect, presign, session
from tests.servers import Daphne, RedisServer

pytestmark = pytest.mark.asyncio


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


async def test_a_multiplexed_socket_gets_what_it_missed_during_a_redis_outage_once(tmp_path, redis_server):
    server = Daphne(tmp_path, REDIS_URL=redis_server.url).start()
    try:
        async with session() as http:
            uploads = [await presign(http, server.url) for _ in range(4)]
            unchanged = await presign(http, server.url)  # its resent snapshot is no news: dropped
            async with connect(server.url.replace("http", "ws") + "/ws/uploads/", origin=server.url) as ws:
                for presigned in [*uploads, unchanged]:
                    await ws.send(json.dumps({"type": "subscribe", "id": presigned["id"],
                                              "token": presigned["subscribe"]["token"]}))
                snapshots = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(5)]
                assert {s["id"] for s in snapshots} == {u["id"] for u in [*uploads, unchanged]}

                redis_server.stop()
                answers = await asyncio.gather(*(callback(http, server.url, p["id"], "processing")
                                                 for p in uploads))
                assert [a.status for a in answers] == [200] * 4
                redis_server.start()
                events = [json.loads(await asyncio.wait_for(ws.recv(), 30)) for _ in uploads]
                events += await collect(ws, until_status=None, timeout=1.5)  # and no duplicate
                assert sorted((e["id"], e["status"], e["seq"]) for e in events) == sorted(
                    (p["id"], "processing", 2) for p in uploads)
    finally:
        server.terminate()
    log = server.log()
    assert "Exception inside application" not in log
    assert "re-sent the snapshots of 5 upload" in log, log
