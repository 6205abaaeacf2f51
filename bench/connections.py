"""connections: idle sockets one daphne holds, memory per socket, idle CPU, accept rate; baseline: uvicorn.

``--sockets`` authorised sockets (subscribe token, snapshot received) are
opened with ``--concurrency`` handshakes in flight: the accept rate is what
a reconnect storm after a restart costs. Memory per socket is the server's
resident growth divided by the sockets; idle CPU is measured over ``--idle``
seconds with every socket open and answering the heartbeat (sockets closed
by the server meanwhile are counted). The same is then done against uvicorn
serving the same ``asgi:application`` on the same database, in the same run.

    python -m bench.connections [--sockets 10000] [--concurrency 200] [--idle 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from .harness import (
    Target,
    Uvicorn,
    client_gc_paused,
    cpu_seconds,
    make_uploads,
    raise_file_limit,
    report,
    rss_kb,
    session,
    stack,
)


async def hold_many(base: str, pid: int, targets: list[Target], concurrency: int, idle: float) -> dict:
    async with session() as http:
        gate = asyncio.Semaphore(concurrency)

        async def open_one(target: Target):
            async with gate:
                ws = await http.ws_connect(target.socket_url(base), origin=base, autoping=True)
                assert json.loads((await ws.receive(timeout=60)).data)["seq"] == 1
                return ws

        warm = await asyncio.gather(*(open_one(t) for t in targets[:200]))  # allocator and caches warm
        for ws in warm:
            await ws.close()
        await asyncio.sleep(1)
        before = rss_kb(pid)
        with client_gc_paused():
            started = time.perf_counter()
            sockets = await asyncio.gather(*(open_one(t) for t in targets[200:]))
            accept_per_s = len(sockets) / (time.perf_counter() - started)
        await asyncio.sleep(2)
        kb = (rss_kb(pid) - before) / len(sockets)
        cpu, wall = cpu_seconds(pid), time.perf_counter()
        await asyncio.sleep(idle)
        idle_pct = (cpu_seconds(pid) - cpu) / (time.perf_counter() - wall) * 100
        closed = sum(ws.closed for ws in sockets)
        for ws in sockets:
            await ws.close()
    return {"sockets": len(sockets) - closed, "kb": kb, "idle_pct": idle_pct, "accept_per_s": accept_per_s,
            "closed": closed}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.connections", description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=200, help="handshakes in flight while opening")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measurement")
    args = parser.parse_args(argv)
    limit = raise_file_limit()
    if limit < args.sockets + 1000:
        raise SystemExit(f"The open-file limit is {limit}; {args.sockets} sockets need more (ulimit -Hn).")
    with stack("connections") as running:
        targets = make_uploads(args.sockets + 200)
        ours = asyncio.run(hold_many(running.urls[0], running.servers[0].proc.pid, targets, args.concurrency,
                                     args.idle))
        running.restart(1, Uvicorn)
        base = asyncio.run(hold_many(running.urls[0], running.servers[0].proc.pid, targets, args.concurrency,
                                     args.idle))
    rows = [(name, r["sockets"], round(r["kb"], 1), round(r["idle_pct"], 1), round(r["accept_per_s"], 1),
             r["closed"]) for name, r in (("daphne", ours), ("uvicorn (baseline)", base))]
    report("connections", f"{args.sockets} idle sockets on one process (heartbeat on)",
           ["server", "sockets held", "KB/socket", "idle CPU %", "accepts/s", "closed by server"], rows,
           {"sockets": ours["sockets"], "kb_per_socket": round(ours["kb"], 1),
            "idle_cpu_pct": round(ours["idle_pct"], 2), "accept_per_s": round(ours["accept_per_s"], 1),
            "baseline_kb_per_socket": round(base["kb"], 1), "baseline_accept_per_s": round(base["accept_per_s"], 1),
            "goal": ">= 10000 sockets, <= 40 KB each, idle CPU <= 3 %, >= 500 accepts/s"},
           ["Accepts: authorised handshakes with the snapshot received, " f"{args.concurrency} in flight."])


if __name__ == "__main__":
    main()
