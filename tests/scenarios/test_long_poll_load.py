"""500 long-polls waiting at once on one daphne with PostgreSQL: nothing held, everything else answers.

Runs in `make test`'s default pass only (its server uses a PostgreSQL
database of its own in either pass).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from tests.cluster import ADMIN_URL, callback, long_poll, postgres_database, presign, session, shared_redis_url
from tests.servers import Daphne

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="runs in the default pass of make test"),
]

WAITERS = 500
POOL = 8


def connections_to(database: str) -> int:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()[0]


def threads_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


async def test_500_waiting_long_polls_hold_no_connection_and_no_thread_while_others_are_served(tmp_path):
    database = f"realtime_uploads_longpoll_{os.getpid()}"
    with postgres_database(database) as database_url:
        server = Daphne(tmp_path, DATABASE_URL=database_url, REDIS_URL=shared_redis_url(),
                        DATABASE_POOL_MAX_SIZE=str(POOL), REALTIME_UPLOADS_PRESIGN_RATE="100000/minute",
                        REALTIME_UPLOADS_MAX_PENDING_PER_CLIENT="none").start()
        try:
            async with session() as http:
                uploads = await asyncio.gather(*(presign(http, server.url) for _ in range(WAITERS)))
                idle_threads = threads_of(server.proc.pid)

                waiting = [asyncio.ensure_future(long_poll(http, server.url, p, since=1, wait=25)) for p in uploads]
                await asyncio.sleep(3)  # all of them are waiting now
                assert not any(w.done() for w in waiting)
                assert connections_to(database) <= POOL + 1  # the pool, and nothing per waiter
                assert threads_of(server.proc.pid) <= idle_threads + 10  # no thread per waiter

                started = time.monotonic()
                fresh = await presign(http, server.url)
                answer = await callback(http, server.url, fresh["id"], "processing")
                assert answer.status == 200 and time.monotonic() - started < 5

                gate = asyncio.Semaphore(50)  # a processor fleet's worth of callbacks at once

                async def report(p):
                    async with gate:
                        return await callback(http, server.url, p["id"], "processing")

                answers = await asyncio.gather(*(report(p) for p in uploads))
                assert {a.status for a in answers} == {200}
                results = await asyncio.wait_for(asyncio.gather(*waiting), 20)
            assert [(r.status, r.body["seq"]) for r in results] == [(200, 2)] * WAITERS
        finally:
            server.terminate()
