"""Only an authorised socket counts against ``MAX_SOCKETS_PER_UPLOAD``; unauthorised ones against
``MAX_UNAUTHORISED_SOCKETS_PER_CLIENT`` (issue 16's probe: bare handshakes kept the owner out).

Through the project's ASGI stack with channels' communicator; the real-daphne
version, with a client that never answers close frames, is
``tests/scenarios/test_unauthorised_sockets.py``.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from asgi import application
from realtime_uploads.push.socket_caps import counts
from realtime_uploads.state import services
from realtime_uploads.state.access import make_subscribe_token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


@pytest.fixture(autouse=True)
def _fresh_counts():
    """Sockets other tests left open (a communicator never disconnected) would count here too."""
    counts.unauthorised.clear()
    counts.by_upload.clear()


def _comm(path: str, *headers) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=[*HEADERS, *headers])


async def _close_code(comm) -> int:
    assert (await comm.connect())[0]
    message = await comm.receive_output(timeout=3)
    assert message["type"] == "websocket.close", message
    return message["code"]


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return b"sessionid=" + client.cookies["sessionid"].value.encode()


async def test_a_refused_session_never_counts_against_the_upload(monkeypatch):
    upload = await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=9)
    taken = []
    take = counts.take
    monkeypatch.setattr(counts, "take", lambda counter, key, cap: taken.append(counter is counts.by_upload)
                        or take(counter, key, cap))
    comm = _comm(f"/ws/uploads/{upload.id}/", (b"cookie", b"sessionid=forged"))
    assert await _close_code(comm) == 4403
    assert True not in taken and counts.unauthorised  # counted as unauthorised until it is gone
    await comm.disconnect()
    assert not counts.unauthorised and not counts.by_upload


async def test_the_owners_session_counts_once_authorised_and_a_full_upload_refuses_it(settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "MAX_SOCKETS_PER_UPLOAD": 1}
    user = await sync_to_async(get_user_model().objects.create_user)("owner", password="pw")
    upload = await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=9,
                                                         owner=user)
    cookie = await sync_to_async(_session_cookie)(user)
    owner = _comm(f"/ws/uploads/{upload.id}/", (b"cookie", cookie))
    assert (await owner.connect())[0]
    assert (await owner.receive_json_from(timeout=3))["id"] == str(upload.id)
    assert counts.by_upload[upload.id] == 1 and not counts.unauthorised
    second = _comm(f"/ws/uploads/{upload.id}/", (b"cookie", cookie))
    assert await _close_code(second) == 4429  # the upload's cap, taken after the owner check
    await second.disconnect()
    await owner.disconnect()
    assert not counts.by_upload and not counts.unauthorised
    token = _comm(f"/ws/uploads/{upload.id}/?token={make_subscribe_token(str(upload.id))}")
    assert (await token.connect())[0]
    assert (await token.receive_json_from(timeout=3))["seq"] == 1
    await token.disconnect()


async def test_unauthorised_sockets_past_the_client_cap_close_4429_before_any_read(settings, monkeypatch):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "MAX_UNAUTHORISED_SOCKETS_PER_CLIENT": 2}
    upload = await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=9)
    held = [_comm(f"/ws/uploads/{upload.id}/") for _ in range(2)]
    assert [await _close_code(comm) for comm in held] == [4403, 4403]  # refused, not yet gone
    extra = _comm(f"/ws/uploads/{upload.id}/")
    assert await _close_code(extra) == 4429
    await extra.disconnect()
    await held[0].disconnect()
    again = _comm(f"/ws/uploads/{upload.id}/")
    assert await _close_code(again) == 4403  # a place was given back
    for comm in [again, held[1]]:
        await comm.disconnect()
    assert not counts.unauthorised
