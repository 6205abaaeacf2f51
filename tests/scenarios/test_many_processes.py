"""Two daphne processes sharing the Pub/Sub channel layer (Redis) and PostgreSQL.

Sockets are held by one process while the processor's callbacks land on the
other, as behind any load balancer. Runs in `make test`'s default pass
only: its servers use their own PostgreSQL database either way, so the
second (PostgreSQL) pass of .ci/run would repeat it unchanged.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.cluster import callback, collect, postgres_database, presign, session, shared_redis_url, subscribe
from tests.servers import Daphne

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs in the default pass of make test"),
]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    redis_url = shared_redis_url()
    with postgres_database(f"realtime_uploads_e2e_{os.getpid()}") as database_url:
        env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "DATABASE_POOL_MAX_SIZE": "8",
               "REALTIME_UPLOADS_LOCAL_RETRY_AFTER": "600", "REALTIME_UPLOADS_PRESIGN_RATE": "100000/minute",
               "REALTIME_UPLOADS_MAX_PENDING_PER_CLIENT": "none"}
        a = Daphne(tmp_path_factory.mktemp("a"), **env).start()
        try:
            b = Daphne(tmp_path_factory.mktemp("b"), **env).start(migrate=False)
            try:
                yield a, b
            finally:
                b.terminate()
        finally:
            a.terminate()
    for server in (a, b):
        assert "Exception inside application" not in server.log(), server.log()[-3000:]


async def test_sockets_on_one_process_get_every_completion_posted_to_the_other_once_in_order(two_processes):
    a, b = two_processes
    async with session() as http:
        uploads = [await presign(http, a.url) for _ in range(20)]
        sockets = [(await subscribe(a.url, p))[0] for p in uploads]
        for p in uploads:
            assert (await callback(http, b.url, p["id"], "processing")).status == 200
            assert (await callback(http, b.url, p["id"], "completed")).status == 200
            assert (await callback(http, b.url, p["id"], "completed")).status == 200  # a repeat: no event
        got = await asyncio.gather(*(collect(ws, until_status="completed", timeout=20) for ws in sockets))
    for events in got:
        assert [(e["status"], e["seq"]) for e in events] == [("processing", 2), ("completed", 3)]
    for ws in sockets:
        await ws.close()


async def test_a_burst_of_1000_completions_across_two_processes_reaches_each_socket_exactly_once(two_processes):
    a, b = two_processes
    servers = [a, b]
    async with session() as http:
        gate = asyncio.Semaphore(50)

        async def gated(coro):
            async with gate:
                return await coro

        uploads = await asyncio.gather(*(gated(presign(http, servers[i % 2].url)) for i in range(1000)))
        # The socket of upload i is on one process, its callback goes to the other.
        opened = await asyncio.gather(*(gated(subscribe(servers[i % 2].url, p)) for i, p in enumerate(uploads)))
        sockets = [ws for ws, _snapshot in opened]
        listening = [asyncio.ensure_future(collect(ws, until_status="completed", timeout=30, linger=2))
                     for ws in sockets]
        answers = await asyncio.gather(*(
            callback(http, servers[(i + 1) % 2].url, p["id"], "completed") for i, p in enumerate(uploads)))
        assert [r.status for r in answers].count(200) == 1000
        got = await asyncio.gather(*listening)
    delivered = [[(e["status"], e["seq"]) for e in events] for events in got]
    assert delivered.count([("completed", 2)]) == 1000, [d for d in delivered if d != [("completed", 2)]][:5]
    for ws in sockets:
        await ws.close()
