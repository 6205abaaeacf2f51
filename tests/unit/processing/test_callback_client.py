"""The processor's callback client against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from realtime_uploads.core.errors import CallbackError, CallbackRejected
from realtime_uploads.core.signing import SIGNATURE_HEADER, verify_callback
from realtime_uploads.processing.callback_client import CallbackClient
from tests.servers import free_port

SECRET = "client-test-secret"


@pytest.fixture
def scripted_server():
    """An HTTP server answering POSTs with the scripted statuses in turn, recording each request."""
    script: list[int] = []
    seen: list[tuple[str, bytes, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.path, body, self.headers.get(SIGNATURE_HEADER)))
            status = script.pop(0) if script else 200
            answer = json.dumps({"status": "processing", "seq": 2} if status == 200 else {"detail": "x"}).encode()
            self.send_response(status)
            if status == 503:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/uploads/{{id}}/callback/", script, seen
    server.shutdown()
    server.server_close()


def client(url, **kwargs):
    sleeps: list[float] = []
    c = CallbackClient(url_template=url, secret=SECRET, attempts=4, timeout=2, backoff=0.01,
                       sleep=sleeps.append, **kwargs)
    return c, sleeps


def test_callback_is_signed_over_the_exact_body_sent(scripted_server):
    url, _, seen = scripted_server
    c, _ = client(url)
    assert c.send("abc", {"status": "processing"}) == {"status": "processing", "seq": 2}
    path, body, header = seen[0]
    assert path == "/api/uploads/abc/callback/"
    assert json.loads(body) == {"status": "processing"}
    verify_callback(body, header, [SECRET], tolerance=5)


def test_5xx_is_retried_with_growing_backoff_then_succeeds(scripted_server):
    url, script, seen = scripted_server
    script.extend([500, 504, 502])
    c, sleeps = client(url)
    c.send("abc", {"status": "processing"})
    assert len(seen) == 4
    assert len(sleeps) == 3 and all(0 <= s <= 0.01 * 2**i for i, s in enumerate(sleeps))
    assert all(header.startswith("t=") for _, _, header in seen)  # every attempt is signed


@pytest.mark.parametrize("status", [400, 401, 404, 409])
def test_4xx_is_final_and_not_retried(scripted_server, status):
    url, script, seen = scripted_server
    script.append(status)
    c, sleeps = client(url)
    with pytest.raises(CallbackRejected) as info:
        c.send("abc", {"status": "processing"})
    assert info.value.status == status and len(seen) == 1 and sleeps == []


def test_persistent_5xx_gives_up_after_all_attempts(scripted_server):
    url, script, seen = scripted_server
    script.extend([500] * 10)
    c, _ = client(url)
    with pytest.raises(CallbackError, match="failed 4 times"):
        c.send("abc", {"status": "processing"})
    assert len(seen) == 4


def test_connection_refused_is_retried_then_raised():
    port = free_port()  # nothing listens there
    c, sleeps = client(f"http://127.0.0.1:{port}/{{id}}/")
    with pytest.raises(CallbackError) as info:
        c.send("abc", {"status": "processing"})
    assert not isinstance(info.value, CallbackRejected)
    assert len(sleeps) == 3


def test_a_503_retry_after_is_waited_at_least(scripted_server):
    """Django sheds load with 503 + Retry-After: 1; retrying sooner would only add to the queue."""
    url, script, seen = scripted_server
    script.append(503)
    c, sleeps = client(url)
    c.send("abc", {"status": "processing"})
    assert len(seen) == 2 and sleeps == [1.0]


def test_a_cancelled_client_sends_nothing_and_stops_waiting(scripted_server, monkeypatch):
    import time

    from realtime_uploads.processing import callback_client

    url, script, seen = scripted_server
    script.append(500)
    # Full jitter may draw any wait up to 30 s, a few ms included (then the retry beat the cancel, about
    # once in 150 runs): draw the longest, so the cancel always lands in the wait.
    monkeypatch.setattr(callback_client.random, "uniform", lambda low, high: high)
    cancel = threading.Event()
    c = CallbackClient(url_template=url, secret=SECRET, attempts=4, timeout=2, backoff=30, cancel=cancel)
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(CallbackError, match="shutting down"):
        c.send("abc", {"status": "processing"})
    assert time.monotonic() - started < 5  # the 30 s backoff was cut short by the cancel
    assert len(seen) == 1  # the first attempt went out before the cancel, nothing after it
    with pytest.raises(CallbackError, match="shutting down"):
        c.send("def", {"status": "processing"})
    assert len(seen) == 1
