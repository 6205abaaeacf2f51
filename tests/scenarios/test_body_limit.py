"""The shipped server refuses oversized request bodies with 413 before buffering them.

Real daphne (``realtime-uploads-daphne``, the command ``make demo``, the
Dockerfile and compose run), raw sockets on loopback: plain daphne took 3.7 GB
for one 300 MB POST and stalled every other socket for seconds.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect

from realtime_uploads.runtime.server import FORM_OVERHEAD
from tests import servers
from tests.cluster import presign

MAX_SIZE = 1024 * 1024
LIMIT = MAX_SIZE + FORM_OVERHEAD
MB = 1024 * 1024


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    server = servers.Daphne(tmp_path_factory.mktemp("body-limit"), REALTIME_UPLOADS_MAX_SIZE=str(MAX_SIZE)).start()
    yield server
    server.terminate()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _read_response(sock: socket.socket, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    with_body = False
    while not with_body:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep and b"content-length:" in head.lower():
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            with_body = len(body) >= length
    return data


def _send_body(sock: socket.socket, total: int, chunked: bool, sent: list[int]) -> None:
    block = b"x" * MB
    try:
        while sent[0] < total:
            piece = block[: min(MB, total - sent[0])]
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent[0] += len(piece)
        if chunked:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server closed after its 413: expected


def post_large(url: str, path: str, total: int, *, chunked: bool = False, expect: bool = False) -> tuple[bytes, int]:
    """POST ``total`` bytes of body to ``path``; the response's bytes and how much of the body was sent."""
    port = int(url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port))
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: multipart/form-data; boundary=zz"]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    if expect:
        head.append("Expect: 100-continue")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = [0]
    if expect:
        response = _read_response(sock)
        sock.close()
        return response, 0
    sender = threading.Thread(target=_send_body, args=(sock, total, chunked, sent))
    sender.start()
    response = _read_response(sock, timeout=30)
    sender.join(30)
    sock.close()
    return response, sent[0]


@pytest.mark.parametrize("path", ["/api/uploads/local/", "/nonexistent/"])
def test_a_large_declared_body_is_refused_with_413_and_not_buffered(daphne, path):
    before = rss_bytes(daphne.proc.pid)
    response, _sent = post_large(daphne.url, path, 300 * MB)
    assert response.startswith(b"HTTP/1.1 413 "), response[:200]
    assert b'"code": "body_too_large"' in response and str(LIMIT).encode() in response
    time.sleep(0.5)
    grown = rss_bytes(daphne.proc.pid) - before
    assert grown < 50 * MB, f"daphne grew by {grown / MB:.0f} MB for a refused body"


def test_a_chunked_body_is_refused_once_it_crosses_the_limit(daphne):
    before = rss_bytes(daphne.proc.pid)
    response, sent = post_large(daphne.url, "/api/uploads/local/", 100 * MB, chunked=True)
    assert response.startswith(b"HTTP/1.1 413 "), response[:200]
    assert rss_bytes(daphne.proc.pid) - before < 50 * MB


def test_expect_100_continue_gets_413_instead_of_continue(daphne):
    response, _ = post_large(daphne.url, "/api/uploads/local/", 300 * MB, expect=True)
    assert response.startswith(b"HTTP/1.1 413 "), response[:200]
    assert b"100 Continue" not in response


def test_a_body_within_the_limit_reaches_the_application(daphne):
    response, sent = post_large(daphne.url, "/nonexistent/", LIMIT - 10)
    assert sent == LIMIT - 10
    assert response.startswith(b"HTTP/1.1 404 "), response[:200]
    response, _ = post_large(daphne.url, "/nonexistent/", 2 * MB, chunked=True)
    assert response.startswith(b"HTTP/1.1 413 "), response[:200]
    response, _ = post_large(daphne.url, "/nonexistent/", MAX_SIZE, chunked=True)
    assert response.startswith(b"HTTP/1.1 404 "), response[:200]


@pytest.mark.asyncio
async def test_other_sockets_stay_responsive_while_a_huge_body_is_refused(daphne):
    """WebSocket pings of another client during a 300 MB POST: plain daphne stalled them for 5.2 s."""
    async with aiohttp.ClientSession() as http:
        presigned = await presign(http, daphne.url)
    token = presigned["subscribe"]["token"]
    ws_url = daphne.url.replace("http", "ws") + f"/ws/uploads/{presigned['id']}/?token={token}"
    async with connect(ws_url, origin=daphne.url) as ws:
        await ws.recv()  # snapshot
        big = asyncio.create_task(asyncio.to_thread(post_large, daphne.url, "/nonexistent/", 300 * MB))
        round_trips = []
        while not big.done():
            started = time.perf_counter()
            await asyncio.wait_for(await ws.ping(), 10)
            round_trips.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)
        response, _ = await big
    assert response.startswith(b"HTTP/1.1 413 ")
    # The goal is < 100 ms (SECURITY.md); a shared 2-core CI machine gets slack.
    assert max(round_trips) < 0.5, f"ping round trips up to {max(round_trips) * 1000:.0f} ms"
