"""end_to_end: real uploads through the local backend, from the upload's end to ``completed`` on its socket.

Each upload does what the browser does: presign over HTTP, open its socket
(snapshot received), POST the presigned multipart form with a real JPEG to
the local backend's endpoint, then wait for ``completed``; ``--concurrency``
uploads run at once. Lost: uploads that never reached ``completed`` within
``--timeout`` s. Baseline in the same run: the pipeline alone, the same JPEG
rendered to the same variants in this process, to show what the web process,
the callbacks and the push add around the image work.

    python -m bench.end_to_end [--uploads 1000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import time

import aiohttp

from .harness import client_gc_paused, ms, percentile, report, session, stack


def photo() -> bytes:
    """A 1200x900 JPEG with real content (a gradient and a grain), like a photo resized before upload."""
    from PIL import Image, ImageFilter

    image = Image.linear_gradient("L").resize((1200, 900)).convert("RGB")
    noise = Image.effect_noise((1200, 900), 40).convert("RGB")
    image = Image.blend(image, noise, 0.25).filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def pipeline_alone(data: bytes, count: int = 20) -> list[float]:
    """The baseline: render_variants of the same JPEG with the configured variants, in this process."""
    from realtime_uploads.conf import uploads_settings
    from realtime_uploads.processing.image.render import render_variants

    times = []
    for _ in range(count):
        started = time.perf_counter()
        render_variants(io.BytesIO(data), uploads_settings.VARIANTS, max_pixels=uploads_settings.MAX_PIXELS)
        times.append(time.perf_counter() - started)
    return times


async def upload_one(http: aiohttp.ClientSession, base: str, data: bytes, timeout: float) -> float | None:
    """One browser upload; seconds from the upload's 204 to ``completed``, None if it never came."""
    async with http.post(f"{base}/api/uploads/", json={"filename": "photo.jpg", "content_type": "image/jpeg",
                                                      "size": len(data)}) as r:
        presigned = await r.json()
    socket_url = f"{presigned['subscribe']['url']}?token={presigned['subscribe']['token']}"
    async with http.ws_connect(socket_url, origin=base) as ws:
        assert json.loads((await ws.receive(timeout=30)).data)["status"] == "pending"
        form = aiohttp.FormData()
        for name, value in presigned["upload"]["fields"].items():
            form.add_field(name, value)
        form.add_field("file", data, filename="photo.jpg", content_type="image/jpeg")  # last, as S3 requires
        async with http.post(presigned["upload"]["url"], data=form) as r:
            assert r.status == 204, await r.text()
        ended = time.perf_counter()
        try:
            while True:
                event = json.loads((await ws.receive(timeout=timeout)).data)
                if event.get("status") in ("completed", "failed"):
                    return time.perf_counter() - ended if event["status"] == "completed" else None
        except (TimeoutError, TypeError):
            return None


async def run(base: str, data: bytes, uploads: int, concurrency: int, timeout: float) -> list[float | None]:
    results: list[float | None] = []
    async with session() as http:
        left = list(range(uploads))

        async def worker() -> None:
            while left:
                left.pop()
                results.append(await upload_one(http, base, data, timeout))

        with client_gc_paused():
            await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.end_to_end", description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4,
                        help="uploads at once (the processor has two threads: more only adds queueing)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before an upload counts as lost")
    args = parser.parse_args(argv)
    data = photo()
    with stack("e2e", REALTIME_UPLOADS_LOCAL_PROCESSOR_THREADS="2") as running:
        started = time.perf_counter()
        results = asyncio.run(run(running.urls[0], data, args.uploads, args.concurrency, args.timeout))
        took = time.perf_counter() - started
        alone = pipeline_alone(data)
    done = [r for r in results if r is not None]
    lost = len(results) - len(done)
    rows = [
        ("upload end -> completed on the socket", len(done), ms(percentile(done, 50)), ms(percentile(done, 99))),
        ("baseline: the pipeline alone, in-process", len(alone), ms(percentile(alone, 50)), ms(percentile(alone, 99))),
    ]
    report("end_to_end", f"{args.uploads} uploads of a {len(data) // 1024} KB JPEG through the local backend, "
           f"{args.concurrency} at once", ["what", "count", "p50 ms", "p99 ms"], rows,
           {"uploads": len(results), "lost": lost, "p50_ms": ms(percentile(done, 50)),
            "p99_ms": ms(percentile(done, 99)), "baseline_ms": ms(percentile(alone, 50)),
            "uploads_per_s": round(len(results) / took, 1), "goal": "0 lost"},
           [f"{len(results) / took:.1f} uploads/s overall; two processor threads render in the web process."])


if __name__ == "__main__":
    main()
