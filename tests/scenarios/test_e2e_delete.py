"""Deleting a completed upload end to end: a real daphne, real HTTP, a real WebSocket client, the local
backend's files on disk. Its original and variants are gone, its socket got the last event, GET is 404."""

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


def photo() -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((400, 300)).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


async def next_event(ws, timeout=20):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def stored(root, upload_id: str) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and upload_id in str(p))


async def test_deleting_a_completed_upload_removes_its_files_tells_its_socket_and_then_404s(tmp_path):
    data = photo()
    with daphne_server(tmp_path) as server:
        async with httpx.AsyncClient(base_url=server, timeout=20) as http:
            p = (await http.post("/api/uploads/", json={
                "filename": "a.jpg", "content_type": "image/jpeg", "size": len(data)})).json()
            token = p["subscribe"]["token"]
            async with connect(f"{p['subscribe']['url']}?token={token}", origin=server) as ws:
                assert (await next_event(ws))["status"] == "pending"
                posted = await http.post(p["upload"]["url"], data=p["upload"]["fields"],
                                         files={"file": ("a.jpg", data, "image/jpeg")})
                assert posted.status_code == 204, posted.text
                while (event := await next_event(ws))["status"] != "completed":
                    pass
                files = stored(tmp_path / "files", p["id"])
                assert f"uploads/{p['id']}/a.jpg" in files and len(files) >= 3, files  # original + variants
                thumb_url = next(v["url"] for v in event["variants"] if v["name"] == "thumb")
                assert (await http.get(thumb_url)).status_code == 200

                deleted = await http.delete(p["status_url"], params={"token": token})
                assert deleted.status_code == 204, deleted.text
                last = await next_event(ws)
                assert (last["status"], last["seq"], last["variants"]) == ("deleted", event["seq"] + 1, [])
            for _ in range(100):  # deleted after commit, off the request
                if not stored(tmp_path / "files", p["id"]):
                    break
                await asyncio.sleep(0.1)
            assert stored(tmp_path / "files", p["id"]) == []
            assert (await http.get(p["status_url"], params={"token": token})).status_code == 404
            assert (await http.get(thumb_url)).status_code == 404
            assert (await http.delete(p["status_url"], params={"token": token})).status_code == 204  # again
