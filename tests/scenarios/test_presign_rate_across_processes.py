"""The presign rate holds across processes: two daphnes share one Redis cache and one limit (real processes,
a private redis-server; nothing but loopback)."""

from __future__ import annotations


def test_the_rate_holds_across_two_daphne_processes_sharing_redis(tmp_path):
    """Each process alone would allow the full rate; through the shared Redis cache the two together do."""
    import httpx

    from tests.servers import Daphne, RedisServer

    redis_server = RedisServer().start()
    env = {"REDIS_URL": redis_server.url, "REALTIME_UPLOADS_PRESIGN_RATE": "6/min",
           "REALTIME_UPLOADS_MAX_PENDING_PER_CLIENT": "none", "REALTIME_UPLOADS_LOCAL_SWEEP": "0"}
    servers = []
    try:
        for name in ("a", "b"):
            servers.append(Daphne(tmp_path / name, **env))
            (tmp_path / name).mkdir()
            servers[-1].start()
        codes = []
        for i in range(12):
            answer = httpx.post(servers[i % 2].url + "/api/uploads/", timeout=10, headers={
                "X-Forwarded-For": f"198.51.100.{i}"},
                json={"filename": "a.jpg", "content_type": "image/jpeg", "size": 100})
            codes.append(answer.status_code)
        assert sorted(codes) == [201] * 6 + [429] * 6, codes
    finally:
        for server in servers:
            server.terminate(timeout=10)
        redis_server.stop()
