"""One client cannot take every long-poll slot of a process: ``LONG_POLL_MAX_PER_CLIENT``.

The outside probe (issue 16) held 1000 long-polls on its own upload and
every other client got 503 (``LONG_POLL_MAX_WAITERS`` is per process). Now a
client past its own cap gets 429 with ``Retry-After`` and code
``too_many_long_polls`` while others still wait, on both paths that answer
long-polls: the fast path ahead of Django (a token's GET) and Django's view.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application

from asgi import application
from realtime_uploads.push import longpoll
from realtime_uploads.state import services
from realtime_uploads.state.access import make_subscribe_token

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

CAP = 2


@pytest.fixture(autouse=True)
def cap(settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "LONG_POLL_MAX_PER_CLIENT": CAP,
                                 "TRUSTED_PROXIES": ["10.9.9.9/32"]}


def _scope(path: str, query: str, client: str, headers=()) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query.encode(),
            "client": (client, 5000), "server": ("127.0.0.1", 8000),
            "headers": [(b"host", b"127.0.0.1:8000"), *headers]}


async def _start(app, upload, client: str, headers=()) -> ApplicationCommunicator:
    query = f"token={make_subscribe_token(str(upload.id))}&since=1&wait=20"
    comm = ApplicationCommunicator(app, _scope(f"/api/uploads/{upload.id}/", query, client, headers))
    await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
    return comm


async def _waiting(count: int) -> None:
    for _ in range(200):
        if longpoll.waiters.count == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{longpoll.waiters.count} long-polls wait, expected {count}")


async def _answer(comm: ApplicationCommunicator) -> tuple[int, dict, dict]:
    start = await comm.receive_output(10)
    body = await comm.receive_output(10)
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, json.loads(body["body"])


async def _stop(comms) -> None:
    for comm in comms:
        await comm.send_input({"type": "http.disconnect"})
        await comm.wait(5)


@pytest.mark.parametrize("path", ["fast", "django"])
async def test_a_client_past_its_long_poll_cap_gets_429_and_others_still_wait(path):
    app = application if path == "fast" else get_asgi_application()
    upload = await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=5)
    held = [await _start(app, upload, "203.0.113.7") for _ in range(CAP)]
    await _waiting(CAP)
    status, headers, body = await _answer(await _start(app, upload, "203.0.113.7"))
    assert status == 429 and body["code"] == "too_many_long_polls" and body["limit"] == CAP
    assert int(headers["retry-after"]) >= 1 and "LONG_POLL_MAX_PER_CLIENT" in body["detail"]
    held.append(await _start(app, upload, "203.0.113.8"))  # another client is not refused
    await _waiting(CAP + 1)
    await _stop(held)
    assert longpoll.waiters.count == 0 and not longpoll.waiters.by_client
    held = [await _start(app, upload, "203.0.113.7")]  # the slots come back
    await _waiting(1)
    await _stop(held)


async def test_clients_behind_a_trusted_proxy_are_told_apart_by_x_forwarded_for():
    upload = await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=5)
    held = [await _start(application, upload, "10.9.9.9", [(b"x-forwarded-for", f"198.51.100.{i}".encode())])
            for i in [0] * CAP + [1]]  # the proxy's address is not the client: .1 is another one
    await _waiting(CAP + 1)
    status, _headers, _body = await _answer(await _start(application, upload, "10.9.9.9",
                                                         [(b"x-forwarded-for", b"198.51.100.0")]))
    assert status == 429
    await _stop(held)
