"""presign: POST /api/uploads/ through daphne with the s3 backend; baseline: a boto3 client per request.

Presigning is local signing (no AWS call), so the server's S3 endpoint is a
closed loopback port and nothing leaves the machine. Throughput is measured
with ``--concurrency`` clients, the median alone (one client at a time);
Django's own floor on this server is measured in the same run (the demo
page, a template view, through the same middleware). Baseline in the same invocation: the same
POST policy signed in this process with a boto3 Session and client created
per request, as the s3 backend did before clients were shared per process.

    python -m bench.presign [--requests 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from .harness import client_gc_paused, ms, percentile, report, session, stack

S3_ENV = {
    "REALTIME_UPLOADS_BACKEND": "s3", "REALTIME_UPLOADS_BUCKET": "bench-uploads",
    "REALTIME_UPLOADS_ADDRESSING_STYLE": "path", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret",
}
BODY = {"filename": "photo.jpg", "content_type": "image/jpeg", "size": 2_000_000}


async def load(url: str, method: str, count: int, concurrency: int) -> tuple[float, list[float]]:
    """``count`` requests with ``concurrency`` in flight: requests/s and latencies."""
    latencies: list[float] = []
    async with session() as http:
        left = list(range(count))

        async def worker() -> None:
            while left:
                left.pop()
                started = time.perf_counter()
                request = http.post(url, json=BODY) if method == "POST" else http.get(url)
                async with request as r:
                    await r.read()
                    assert r.status in (200, 201), (r.status, await r.text())
                latencies.append(time.perf_counter() - started)

        with client_gc_paused():
            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started), latencies


def per_request_clients(count: int) -> float:
    """Baseline: sign the same policy with a new boto3 Session and client each time; signatures/s."""
    import boto3
    from botocore.config import Config

    from realtime_uploads.state.services import upload_create
    from realtime_uploads.storage import get_backend

    upload = upload_create(**BODY)
    backend = get_backend()
    policy = backend.policy_for(upload, tagging="<Tagging/>")
    conditions = [c for c in policy.conditions() if not (isinstance(c, dict) and "key" in c)]
    started = time.perf_counter()
    for _ in range(count):
        client = boto3.session.Session().client(
            "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        client.generate_presigned_post(Bucket="bench-uploads", Key=upload.key, Conditions=conditions,
                                       ExpiresIn=600)
    return count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.presign", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--baseline-requests", type=int, default=20)
    args = parser.parse_args(argv)
    with stack("presign", **S3_ENV) as running:
        base = running.urls[0]
        asyncio.run(load(f"{base}/api/uploads/", "POST", 200, 4))  # warm-up
        rps, loaded = asyncio.run(load(f"{base}/api/uploads/", "POST", args.requests, args.concurrency))
        _, alone = asyncio.run(load(f"{base}/api/uploads/", "POST", 300, 1))
        _, floor = asyncio.run(load(f"{base}/", "GET", 300, 1))
        import os

        for name, value in S3_ENV.items():
            os.environ[name] = value
        from django.conf import settings

        settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "BACKEND": "s3", "BUCKET": "bench-uploads"}
        baseline = per_request_clients(args.baseline_requests)
    rows = [
        (f"presign, {args.concurrency} clients", round(rps, 1), ms(percentile(loaded, 50)),
         ms(percentile(loaded, 99))),
        ("presign, 1 client", round(1 / percentile(alone, 50), 1), ms(percentile(alone, 50)),
         ms(percentile(alone, 99))),
        ("demo page, 1 client (Django's floor)", round(1 / percentile(floor, 50), 1), ms(percentile(floor, 50)),
         ms(percentile(floor, 99))),
        ("baseline: client per request, in-process", round(baseline, 1), ms(1 / baseline), ""),
    ]
    report("presign", "POST /api/uploads/ through daphne, s3 backend (local signing)",
           ["what", "requests/s", "p50 ms", "p99 ms"], rows,
           {"rps": round(rps, 1), "p50_ms": ms(percentile(alone, 50)), "baseline_rps": round(baseline, 1),
            "ratio": round(rps / baseline, 1), "floor_p50_ms": ms(percentile(floor, 50)),
            "goal": ">= 25x the baseline, p50 <= 5 ms"},
           ["p50 is one client at a time; Django's floor is the same server rendering the demo page."])


if __name__ == "__main__":
    main()
