"""push_latency: callback POST sent -> event on its socket, with thousands of sockets held; baseline: polling.

One daphne, PostgreSQL, Redis. Push: ``--sockets`` sockets are opened and
held, then one signed callback per upload is sent open-loop at ``--rate``
per second; the latency is from just before a callback is sent to the
moment its socket receives the event. Baselines in the same run, on the
same server: clients polling the status GET every second, and clients
long-polling it; each starts waiting ``--processing`` seconds before its
upload's callback is sent (the time processing takes), at the same rate.

    python -m bench.push_latency [--sockets 2000] [--rate 200] [--pollers 200] [--processing 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time

import aiohttp

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


async def send_callbacks(http, base: str, targets: list[Target], rate: float, offset: float = 0.0) -> dict:
    """One ``processing`` callback per target, open-loop at ``rate``/s after ``offset`` s; send times."""
    sent: dict[str, float] = {}
    clock, tasks = Clock(rate), []
    clock.start += offset

    async def send(target: Target) -> None:
        body, headers = callback_request(target.id, "processing")
        sent[target.id] = time.perf_counter()
        async with http.post(f"{base}/api/uploads/{target.id}/callback/", data=body, headers=headers) as r:
            await r.read()
            assert r.status == 200, (r.status, await r.text())

    for i, target in enumerate(targets):
        await clock.slot(i)
        tasks.append(asyncio.ensure_future(send(target)))
    await asyncio.gather(*tasks)
    return sent


async def push(http, base: str, targets: list[Target], rate: float, settle: float) -> tuple[list[float], float]:
    """Latencies of the push, and the fraction delivered."""
    received: dict[str, float] = {}
    gate, everything = asyncio.Semaphore(200), asyncio.Event()

    async def hold(target: Target, opened: asyncio.Future) -> None:
        try:
            async with gate:
                ws = await http.ws_connect(target.socket_url(base), origin=base, autoping=True)
                first = await ws.receive(timeout=30)
                assert first.type == aiohttp.WSMsgType.TEXT and json.loads(first.data)["seq"] == 1, first
        except BaseException as exc:  # a refused socket fails the run instead of leaving it waiting forever
            opened.set_exception(exc)
            raise
        opened.set_result(None)
        try:
            async for message in ws:
                if json.loads(message.data).get("seq", 0) >= 2:
                    received[target.id] = time.perf_counter()
                    if len(received) == len(targets):
                        everything.set()
                    await asyncio.sleep(3600)  # stays held until the phase ends
        finally:
            await ws.close()

    opened = [asyncio.get_running_loop().create_future() for _ in targets]
    holders = [asyncio.ensure_future(hold(t, f)) for t, f in zip(targets, opened, strict=True)]
    await asyncio.gather(*opened)
    await asyncio.sleep(settle)  # held, not being accepted: the accept storm is bench.connections' subject
    sent = await send_callbacks(http, base, targets, rate)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(everything.wait(), 10)
    for holder in holders:
        holder.cancel()
    await asyncio.gather(*holders, return_exceptions=True)
    latencies = [received[t] - sent[t] for t in sent if t in received]
    return latencies, len(received) / len(targets)


async def poll(http, base: str, targets: list[Target], rate: float, processing: float) -> tuple[list[float], float]:
    """1-s polling: latencies (callback sent -> a GET shows it) and GETs per upload."""
    seen: dict[str, float] = {}
    requests = 0

    async def poller(target: Target, start: float) -> None:
        nonlocal requests
        await asyncio.sleep(max(0.0, start - time.perf_counter()) + random.uniform(0, 1))  # noqa: S311
        while True:
            requests += 1
            async with http.get(f"{base}{target.status_path}", params={"token": target.token}) as r:
                if (await r.json())["seq"] >= 2:
                    seen[target.id] = time.perf_counter()
                    return
            await asyncio.sleep(1.0)

    begin = time.perf_counter()
    pollers = [asyncio.ensure_future(poller(t, begin + i / rate)) for i, t in enumerate(targets)]
    sent = await send_callbacks(http, base, targets, rate, offset=processing)
    await asyncio.wait_for(asyncio.gather(*pollers), 30)
    return [seen[t] - sent[t] for t in sent], requests / len(targets)


async def long_poll(http, base: str, targets: list[Target], rate: float, processing: float) -> list[float]:
    """Long-poll (``since=1&wait=25``): latencies from callback sent to the answer."""
    answered: dict[str, float] = {}

    async def waiter(target: Target, start: float) -> None:
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        params = {"token": target.token, "since": "1", "wait": "25"}
        async with http.get(f"{base}{target.status_path}", params=params) as r:
            assert (await r.json())["seq"] >= 2
            answered[target.id] = time.perf_counter()

    begin = time.perf_counter()
    waiters = [asyncio.ensure_future(waiter(t, begin + i / rate)) for i, t in enumerate(targets)]
    sent = await send_callbacks(http, base, targets, rate, offset=processing)
    await asyncio.wait_for(asyncio.gather(*waiters), 30)
    return [answered[t] - sent[t] for t in sent]


async def run(args: argparse.Namespace, base: str) -> dict:
    total = args.sockets + 2 * args.pollers
    targets = await asyncio.to_thread(make_uploads, total)
    sockets, pollers, waiters = (targets[: args.sockets], targets[args.sockets: args.sockets + args.pollers],
                                 targets[args.sockets + args.pollers:])
    async with session() as http:
        with client_gc_paused():
            push_lat, delivered = await push(http, base, sockets, args.rate, args.settle)
        await asyncio.sleep(args.settle)  # the push phase's sockets are gone before the baselines start
        with client_gc_paused():
            poll_lat, poll_requests = await poll(http, base, pollers, args.rate, args.processing)
        with client_gc_paused():
            long_lat = await long_poll(http, base, waiters, args.rate, args.processing)
    return {"push": push_lat, "delivered": delivered, "poll": poll_lat, "poll_requests": poll_requests,
            "long": long_lat}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.push_latency", description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=2000, help="sockets held during the push phase")
    parser.add_argument("--rate", type=float, default=200, help="callbacks per second")
    parser.add_argument("--pollers", type=int, default=200, help="uploads followed by polling, and by long-poll")
    parser.add_argument("--processing", type=float, default=3.0, help="seconds a baseline client waits first")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds between the last accept and the push")
    args = parser.parse_args(argv)
    raise_file_limit()
    with stack("push") as running:
        r = asyncio.run(run(args, running.urls[0]))
    push_p50, push_p99 = percentile(r["push"], 50), percentile(r["push"], 99)
    poll_p50, poll_p99 = percentile(r["poll"], 50), percentile(r["poll"], 99)
    rows = [
        ("push (WebSocket)", len(r["push"]), ms(push_p50), ms(push_p99), 1.0),
        ("1-s polling", len(r["poll"]), ms(poll_p50), ms(poll_p99), round(r["poll_requests"], 2)),
        ("long-poll", len(r["long"]), ms(percentile(r["long"], 50)), ms(percentile(r["long"], 99)), 1.0),
    ]
    report("push_latency", f"Callback sent -> client learns it; {args.sockets} sockets held, {args.rate:g}/s",
           ["client", "uploads", "p50 ms", "p99 ms", "requests/upload"], rows,
           {"push_p50_ms": ms(push_p50), "push_p99_ms": ms(push_p99), "poll_p50_ms": ms(poll_p50),
            "poll_p99_ms": ms(poll_p99), "longpoll_p50_ms": ms(percentile(r["long"], 50)),
            "requests_per_upload_push": 1.0, "requests_per_upload_poll": round(r["poll_requests"], 2),
            "delivered": round(r["delivered"], 4),
            "p50_ratio": round(push_p50 / poll_p50, 4), "p99_ratio": round(push_p99 / poll_p99, 4),
            "goal": "delivered 1.0, p50_ratio <= 0.005, p99_ratio <= 0.01"},
           [f"Baselines wait {args.processing:g} s for processing first; a socket needs one request "
            "(its handshake) whatever the wait."])


if __name__ == "__main__":
    main()
