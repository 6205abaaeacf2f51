"""End to end on the cloud path: moto's S3 + SQS server over real HTTP (standing in
for AWS), a live daphne with the s3 backend, and the SQS worker process.

presign over HTTP → multipart POST of the returned fields + file to the S3
server → S3 event → SQS → worker → signed callbacks → processing and
completed on a real WebSocket → a variant fetched from S3 and opened with Pillow.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys

import httpx
import pytest
from PIL import Image
from websockets.asyncio.client import connect

from tests.scenarios.test_e2e_local import photo
from tests.servers import BIN, CALLBACK_SECRET, ROOT, aws_env, daphne_server, moto_server
from tests.stack import BUCKET, WORKER_ARGV, init_argv, web_env, worker_env

pytestmark = pytest.mark.asyncio


@pytest.fixture
def cloud_stack(tmp_path):
    with moto_server() as endpoint:
        env = {**os.environ, **aws_env(endpoint)}
        queue_url = subprocess.run(
            [sys.executable, *init_argv("http://127.0.0.1")[1:]], cwd=ROOT, env=env, check=True,
            capture_output=True, text=True).stdout.strip()
        with daphne_server(tmp_path, **{**aws_env(endpoint), **web_env(endpoint, CALLBACK_SECRET)}) as base:
            callback_url = base + "/api/uploads/{id}/callback/"
            worker_log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
            worker = subprocess.Popen(
                [str(BIN / WORKER_ARGV[0]), *WORKER_ARGV[1:]], cwd=ROOT, stdout=worker_log,
                stderr=subprocess.STDOUT,
                env={**env, **worker_env(endpoint, queue_url, callback_url, CALLBACK_SECRET)})
            try:
                yield {"base": base, "endpoint": endpoint, "log": tmp_path / "worker.log"}
            finally:
                worker.terminate()
                assert worker.wait(timeout=15) == 0, (tmp_path / "worker.log").read_text()
                worker_log.close()


async def test_photo_through_s3_sqs_and_the_worker_ends_as_a_completed_push(cloud_stack):
    base, data = cloud_stack["base"], photo(1800, 1200)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        p = (await http.post("/api/uploads/", json={
            "filename": "Été à Paris.jpg", "content_type": "image/jpeg", "size": len(data)})).json()
        assert p["upload"]["url"] == f"{cloud_stack['endpoint']}/{BUCKET}"  # straight to storage, not Django
        async with connect(f"{p['subscribe']['url']}?token={p['subscribe']['token']}", origin=base) as ws:
            assert json.loads(await ws.recv())["status"] == "pending"
            posted = await http.post(p["upload"]["url"], data=p["upload"]["fields"],
                                     files={"file": ("Été à Paris.jpg", data, "image/jpeg")})
            assert posted.status_code == 204, posted.text
            events = [json.loads(await asyncio.wait_for(ws.recv(), 30)) for _ in range(2)]
        assert [(e["status"], e["seq"]) for e in events] == [("processing", 2), ("completed", 3)], \
            cloud_stack["log"].read_text()
        completed = events[1]
        assert completed["original"] == {"width": 1200, "height": 1800, "format": "JPEG"}
        thumb = next(v for v in completed["variants"] if v["name"] == "thumb")
        assert thumb["url"].startswith(f"{cloud_stack['endpoint']}/{BUCKET}/variants/{p['id']}/thumb.webp?")
        fetched = await http.get(thumb["url"])  # a presigned GET: the bucket itself is private
        assert fetched.status_code == 200
        image = Image.open(io.BytesIO(fetched.content))
        assert (image.format, image.size) == ("WEBP", (thumb["width"], thumb["height"])) == ("WEBP", (213, 320))
        # The same stack takes an iPhone's HEIC (web and worker share the demo's content types): upright,
        # with every file of the thumb stored with its own type and the placeholder in the event.
        from tests.images import iphone_heic

        heic = iphone_heic(600, 400)
        p = (await http.post("/api/uploads/", json={
            "filename": "IMG_0042.HEIC", "content_type": "image/heic", "size": len(heic)})).json()
        async with connect(f"{p['subscribe']['url']}?token={p['subscribe']['token']}", origin=base) as ws:
            await ws.recv()
            posted = await http.post(p["upload"]["url"], data=p["upload"]["fields"],
                                     files={"file": ("IMG_0042.HEIC", heic, "image/heic")})
            assert posted.status_code == 204, posted.text
            events = [json.loads(await asyncio.wait_for(ws.recv(), 30)) for _ in range(2)]
        completed = events[1]
        assert completed["status"] == "completed", (completed, cloud_stack["log"].read_text())
        assert completed["original"] == {"width": 600, "height": 400, "format": "HEIF"} and completed["placeholder"]
        thumb = next(v for v in completed["variants"] if v["name"] == "thumb")
        for file in thumb["formats"]:
            fetched = await http.get(file["url"])
            assert fetched.status_code == 200 and fetched.headers["content-type"] == file["type"], file
            assert Image.open(io.BytesIO(fetched.content)).size == (320, 213)
