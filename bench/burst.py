"""burst: 1000 completions within about a second across two daphne processes; baseline: the core layer.

Two daphnes share PostgreSQL and Redis; each upload's socket is held by one
process while its ``completed`` callback is posted to the other, all within
about a second (a saturated server's 503 + Retry-After is retried, as the
processor does). Delivered: sockets that got their event exactly once.
Latency: from the callback's 200 answer (the commit) to its socket. Run with
the default channel layer, then with channels-redis' core layer at its own
defaults (``bench/core_layer_settings.py``), in the same invocation.

    python -m bench.burst [--uploads 1000] [--seconds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from .harness import (
    Clock,
    Target,
    callback_request,
    client_gc_paused,
    make_uploads,
    ms,
    percentile,
    raise_file_limit,
    report,
    session,
    stack,
)


async def burst(urls: list[str], targets: list[Target], seconds: float) -> dict:
    """Sockets on one process, callbacks to the other; per upload: events seen, answer and arrival times."""
    events: dict[str, list[float]] = {t.id: [] for t in targets}
    answered: dict[str, float] = {}
    async with session() as http:
        gate = asyncio.Semaphore(200)

        async def hold(i: int, target: Target, opened: asyncio.Future) -> None:
            base = urls[i % 2]
            async with gate:
                ws = await http.ws_connect(target.socket_url(base), origin=base, autoping=True)
                await ws.receive(timeout=30)  # the snapshot
            opened.set_result(ws)
            async for message in ws:
                if json.loads(message.data).get("status") == "completed":
                    events[target.id].append(time.perf_counter())

        async def complete(i: int, target: Target) -> None:
            body, headers = callback_request(target.id, "completed")
            for _attempt in range(30):
                async with http.post(f"{urls[(i + 1) % 2]}/api/uploads/{target.id}/callback/", data=body,
                                     headers=headers) as r:
                    await r.read()
                    if r.status == 200:
                        answered[target.id] = time.perf_counter()
                        return
                    retry = float(r.headers.get("Retry-After", "1"))
                await asyncio.sleep(retry)

        opened = [asyncio.get_running_loop().create_future() for _ in targets]
        holders = [asyncio.ensure_future(hold(i, t, f)) for i, (t, f) in enumerate(zip(targets, opened, strict=True))]
        sockets = await asyncio.gather(*opened)
        await asyncio.sleep(2)
        with client_gc_paused():
            clock, senders = Clock(len(targets) / seconds), []
            for i, target in enumerate(targets):
                await clock.slot(i)
                senders.append(asyncio.ensure_future(complete(i, target)))
            await asyncio.gather(*senders)
            took = time.perf_counter() - clock.start
            await asyncio.sleep(3)  # late arrivals, and any duplicate
        for holder in holders:
            holder.cancel()
        await asyncio.gather(*holders, return_exceptions=True)
        for ws in sockets:
            await ws.close()
    once = [t for t in targets if len(events[t.id]) == 1]
    latencies = [max(0.0, events[t.id][0] - answered[t.id]) for t in once if t.id in answered]
    return {"delivered": len(once) / len(targets), "latencies": latencies, "took": took,
            "duplicates": sum(len(v) > 1 for v in events.values()), "answered": len(answered)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.burst", description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=1.0, help="the callbacks are spread over this long")
    args = parser.parse_args(argv)
    raise_file_limit()
    with stack("burst", processes=2) as running:
        ours = asyncio.run(burst(running.urls, make_uploads(args.uploads), args.seconds))
        running.restart(2, DJANGO_SETTINGS_MODULE="bench.core_layer_settings")
        core = asyncio.run(burst(running.urls, make_uploads(args.uploads), args.seconds))
    rows = [(name, r["answered"], round(r["took"], 2), f"{r['delivered']:.3f}", r["duplicates"],
             ms(percentile(r["latencies"], 50)), ms(percentile(r["latencies"], 99)))
            for name, r in (("realtime_uploads Pub/Sub layer", ours), ("channels-redis core layer", core))]
    report("burst", f"{args.uploads} completions across two daphnes, sockets on the other process",
           ["channel layer", "answered", "sent in s", "delivered", "duplicates", "p50 ms", "p99 ms"], rows,
           {"delivered": round(ours["delivered"], 4), "baseline_delivered": round(core["delivered"], 4),
            "p99_ms": ms(percentile(ours["latencies"], 99)), "p50_ms": ms(percentile(ours["latencies"], 50)),
            "baseline_p99_ms": ms(percentile(core["latencies"], 99)), "goal": "delivered 1.0, p99 <= 150 ms"},
           ["Delivered: exactly one completed event on the socket. Latency: callback's 200 answer -> socket."])


if __name__ == "__main__":
    main()
