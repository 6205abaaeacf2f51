"""Nested or malformed JSON on the multiplexed socket is an ``error`` message, never a crash (1011) or an
ERROR-logged traceback; the socket stays open and still answers. (The per-upload route's frames are tested
against a real daphne in ``tests/scenarios/test_socket_limits.py``.)"""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from asgi import application
from realtime_uploads.state import services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

HEADERS = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]


@pytest.mark.parametrize("frame", [
    "[" * 2000 + "]" * 2000,  # deeper than Python's parser goes, within MAX_MESSAGE_SIZE
    '{"a":' * 650 + "1" + "}" * 650,
    '{"type": "subscribe", "id": ' + "[" * 1500 + "]" * 1500 + "}",
    '{"type": "subscribe", "id": "ID", "token": ' + "{" * 1000 + "}",  # truncated
    '{"type": "subscribe", "id": "ID", "token": ["x"]}',
    '{"type": "subscribe", "id": {"x": 1}}',
    '{"type": "unsubscribe", "id": 1e999}',
    '{"type": {"nested": "type"}}',
    "", "null", "nul", "\ud800", '"\\ud800"', "1" * 4000,
])
async def test_a_hostile_message_gets_an_error_and_the_socket_stays(frame, caplog):
    upload = await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=9)
    comm = WebsocketCommunicator(application, "/ws/uploads/", headers=HEADERS)
    assert (await comm.connect())[0]
    with caplog.at_level(logging.INFO):
        await comm.send_input({"type": "websocket.receive", "text": frame.replace("ID", str(upload.id))})
        answer = await comm.receive_json_from(timeout=3)
        assert answer["type"] == "error" and answer["error"]["code"] and answer["error"]["message"], answer
        await comm.send_json_to({"type": "ping"})
        assert await comm.receive_json_from(timeout=3) == {"type": "pong"}
    await comm.disconnect()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
