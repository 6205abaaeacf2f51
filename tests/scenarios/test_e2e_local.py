"""End to end on the embedded defaults: a real daphne process, real HTTP, a real
WebSocket client, the local backend and the in-process processor, a real JPEG."""

from __future__ import annotations

import asyncio
import io
import json

import httpx
import pytest
from PIL import Image
from websockets.asyncio.client import connect

from tests.servers import daphne_server

pytestmark = pytest.mark.asyncio


def photo(width=2400, height=1600) -> bytes:
    """A camera-sized JPEG with a gradient, EXIF orientation 6 (rotate 90° clockwise) and GPS."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x8825] = {1: "N", 2: (52.0, 30.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, exif=exif)
    return out.getvalue()


@pytest.fixture
def server(tmp_path):
    with daphne_server(tmp_path) as base:
        yield base


async def next_event(ws, timeout=20):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def test_photo_goes_from_presign_to_completed_push_and_variants_open_with_pillow(server, tmp_path):
    data = photo()
    async with httpx.AsyncClient(base_url=server, timeout=20) as http:
        presigned = await http.post("/api/uploads/", json={
            "filename": "holiday photo.jpg", "content_type": "image/jpeg", "size": len(data)})
        assert presigned.status_code == 201, presigned.text
        p = presigned.json()
        ws_url = f"{p['subscribe']['url']}?token={p['subscribe']['token']}"
        async with connect(ws_url, origin=server) as ws:
            assert (await next_event(ws))["status"] == "pending"
            posted = await http.post(p["upload"]["url"], data=p["upload"]["fields"],
                                     files={"file": ("holiday photo.jpg", data, "image/jpeg")})
            assert posted.status_code == 204, posted.text
            processing = await next_event(ws)
            completed = await next_event(ws)
        assert (processing["status"], processing["seq"]) == ("processing", 2)
        assert (completed["status"], completed["seq"]) == ("completed", 3)
        assert completed["original"] == {"width": 1600, "height": 2400, "format": "JPEG"}
        by_name = {v["name"]: v for v in completed["variants"]}
        assert set(by_name) == {"thumb", "large"}

        thumb = await http.get(by_name["thumb"]["url"])
        assert thumb.status_code == 200
        image = Image.open(io.BytesIO(thumb.content))
        assert image.format == "WEBP" == by_name["thumb"]["format"]
        assert image.size == (by_name["thumb"]["width"], by_name["thumb"]["height"]) == (213, 320)
        assert len(thumb.content) == by_name["thumb"]["size"]
        large = Image.open(io.BytesIO((await http.get(by_name["large"]["url"])).content))
        assert (large.format, large.size) == ("JPEG", (853, 1280))
        assert not large.getexif()  # orientation applied, GPS and all metadata stripped

        status = await http.get(p["status_url"], params={"token": p["subscribe"]["token"]})
        assert status.json() == completed  # the GET and the push are the same serializer


async def test_reconnecting_subscriber_catches_up_from_the_snapshot(server):
    data = photo(300, 200)
    async with httpx.AsyncClient(base_url=server, timeout=20) as http:
        p = (await http.post("/api/uploads/", json={
            "filename": "a.jpg", "content_type": "image/jpeg", "size": len(data)})).json()
        posted = await http.post(p["upload"]["url"], data=p["upload"]["fields"],
                                 files={"file": ("a.jpg", data, "image/jpeg")})
        assert posted.status_code == 204
        # Nobody listened while it was processed; a long-poll waits for the end.
        seq = 1
        for _ in range(10):
            event = (await http.get(p["status_url"], params={
                "token": p["subscribe"]["token"], "since": seq, "wait": 10})).json()
            seq = event["seq"]
            if event["status"] == "completed":
                break
        assert event["status"] == "completed"
        async with connect(f"{p['subscribe']['url']}?token={p['subscribe']['token']}", origin=server) as ws:
            snapshot = await next_event(ws)
        assert (snapshot["status"], snapshot["seq"]) == ("completed", 3)


async def test_not_an_image_ends_failed_with_its_code(server):
    data = b"%PDF-1.7 definitely not a picture" * 10
    async with httpx.AsyncClient(base_url=server, timeout=20) as http:
        p = (await http.post("/api/uploads/", json={
            "filename": "x.jpg", "content_type": "image/jpeg", "size": len(data)})).json()
        async with connect(f"{p['subscribe']['url']}?token={p['subscribe']['token']}", origin=server) as ws:
            await next_event(ws)
            await http.post(p["upload"]["url"], data=p["upload"]["fields"],
                            files={"file": ("x.jpg", data, "image/jpeg")})
            events = [await next_event(ws), await next_event(ws)]
    assert [e["status"] for e in events] == ["processing", "failed"]
    assert events[1]["error"]["code"] == "not_an_image"


async def test_an_iphone_heic_typed_octet_stream_is_presigned_as_heic_and_completes_in_avif_and_webp(server):
    """The demo allows HEIC. A browser that cannot type a phone's HEIC says application/octet-stream: the
    presign takes the type from the name and pins it. The variants come in every listed format, upright,
    each served with its own content type, with a placeholder and a colour."""
    from tests.images import iphone_heic

    data = iphone_heic(400, 200)
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        refused = await http.post("/api/uploads/", json={
            "filename": "IMG_0001.bin", "content_type": "application/octet-stream", "size": len(data)})
        assert refused.status_code == 400 and "application/octet-stream" in refused.json()["content_type"][0]
        presigned = await http.post("/api/uploads/", json={
            "filename": "IMG_0001.HEIC", "content_type": "application/octet-stream", "size": len(data)})
        assert presigned.status_code == 201, presigned.text
        p = presigned.json()
        assert p["upload"]["fields"]["Content-Type"] == "image/heic"
        async with connect(f"{p['subscribe']['url']}?token={p['subscribe']['token']}", origin=server) as ws:
            await next_event(ws)
            posted = await http.post(p["upload"]["url"], data=p["upload"]["fields"],
                                     files={"file": ("IMG_0001.HEIC", data, "application/octet-stream")})
            assert posted.status_code == 204, posted.text
            events = [await next_event(ws, timeout=30), await next_event(ws, timeout=30)]
    completed = events[-1]
    assert completed["status"] == "completed", completed
    assert completed["original"] == {"width": 400, "height": 200, "format": "HEIF"}
    assert 20 <= len(completed["placeholder"]) <= 64 and completed["color"].startswith("#")
    by_name = {v["name"]: v for v in completed["variants"]}
    assert [f["format"] for f in by_name["thumb"]["formats"]] == ["AVIF", "WEBP"]
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        for variant in completed["variants"]:
            for file in variant["formats"]:
                got = await http.get(file["url"])
                assert got.status_code == 200 and got.headers["content-type"] == file["type"], file
                assert len(got.content) == file["size"]
                with Image.open(io.BytesIO(got.content)) as image:
                    assert (image.format, image.size) == (file["format"], (variant["width"], variant["height"]))
                    assert image.width > image.height  # shown as the phone shows it, not as the sensor stored it
