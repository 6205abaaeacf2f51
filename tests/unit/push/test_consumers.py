"""UploadConsumer through the project's real ASGI stack (origin check, session auth, router)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from asgi import application
from realtime_uploads.state import services
from realtime_uploads.state.access import make_subscribe_token
from realtime_uploads.state.events import group_name
from tests.conftest import completed_payload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")  # the same origin: the Origin check compares scheme, host and port


def communicator(path: str, headers=()) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=[ORIGIN, HOST, *headers])


async def new_upload():
    return await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=9)


async def subscribed(upload):
    comm = communicator(f"/ws/uploads/{upload.id}/?token={make_subscribe_token(str(upload.id))}")
    connected, _ = await comm.connect()
    assert connected
    return comm


async def test_snapshot_is_sent_at_once_then_every_change():
    upload = await new_upload()
    comm = await subscribed(upload)
    snapshot = await comm.receive_json_from(timeout=2)
    assert (snapshot["type"], snapshot["id"], snapshot["status"], snapshot["seq"]) == (
        "upload.status", str(upload.id), "pending", 1)
    await sync_to_async(services.upload_mark_processing)(upload_id=upload.id)
    assert (await comm.receive_json_from(timeout=2))["status"] == "processing"
    payload = completed_payload(upload.id)
    await sync_to_async(services.upload_mark_completed)(
        upload_id=upload.id, original=payload["original"], variants=payload["variants"])
    event = await comm.receive_json_from(timeout=2)
    assert (event["status"], event["seq"]) == ("completed", 3)
    assert event["variants"][0]["name"] == "thumb"
    await comm.disconnect()


async def test_late_subscriber_gets_the_completed_state_from_the_snapshot():
    upload = await new_upload()
    payload = completed_payload(upload.id)
    await sync_to_async(services.upload_mark_completed)(
        upload_id=upload.id, original=payload["original"], variants=payload["variants"])
    comm = await subscribed(upload)
    snapshot = await comm.receive_json_from(timeout=2)
    assert (snapshot["status"], snapshot["seq"]) == ("completed", 2)
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


async def test_events_not_newer_than_what_was_sent_are_dropped():
    upload = await new_upload()
    comm = await subscribed(upload)
    await comm.receive_json_from(timeout=2)  # snapshot, seq 1
    layer = get_channel_layer()
    stale = {"type": "upload.status", "id": str(upload.id), "status": "pending", "seq": 1}
    await layer.group_send(group_name(upload.id), stale)
    assert await comm.receive_nothing(timeout=0.2)
    newer = {**stale, "status": "processing", "seq": 2}
    await layer.group_send(group_name(upload.id), newer)
    assert (await comm.receive_json_from(timeout=2))["seq"] == 2
    await comm.disconnect()


async def test_ping_is_answered_with_pong_and_junk_with_an_error():
    comm = await subscribed(await new_upload())
    await comm.receive_json_from(timeout=2)
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from(timeout=2) == {"type": "pong"}
    await comm.send_to(text_data="not json")
    assert (await comm.receive_json_from(timeout=2))["error"]["code"] == "unknown_message"
    await comm.disconnect()


async def _close_code(comm) -> int:
    connected, _ = await comm.connect()
    assert connected  # accepted first, so the close can carry an application code
    message = await comm.receive_output(timeout=2)
    assert message["type"] == "websocket.close"
    return message["code"]


async def test_malformed_id_closes_4400():
    assert await _close_code(communicator("/ws/uploads/not-a-uuid/")) == 4400


async def test_unknown_id_closes_4404():
    uid = "8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1"
    assert await _close_code(communicator(f"/ws/uploads/{uid}/?token={make_subscribe_token(uid)}")) == 4404


@pytest.mark.parametrize("token", ["", "?token=garbage", "?token=OTHER"])
async def test_missing_or_foreign_token_closes_4403_and_joins_nothing(token):
    upload = await new_upload()
    other = await new_upload()
    query = token.replace("OTHER", make_subscribe_token(str(other.id)))
    comm = communicator(f"/ws/uploads/{upload.id}/{query}")
    assert await _close_code(comm) == 4403


async def test_foreign_origin_is_refused_before_accept():
    upload = await new_upload()
    comm = WebsocketCommunicator(
        application, f"/ws/uploads/{upload.id}/?token={make_subscribe_token(str(upload.id))}",
        headers=[(b"origin", b"http://evil.example")])
    connected, _ = await comm.connect()
    assert not connected


async def test_owner_session_subscribes_without_token_and_others_cannot():
    user = await sync_to_async(get_user_model().objects.create_user)("owner", password="pw")
    upload = await sync_to_async(services.upload_create)(
        filename="a.jpg", content_type="image/jpeg", size=9, owner=user)

    def session_cookie(u):
        client = Client()
        client.force_login(u)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    cookie = await sync_to_async(session_cookie)(user)
    comm = communicator(f"/ws/uploads/{upload.id}/", headers=[(b"cookie", cookie)])
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_json_from(timeout=2))["id"] == str(upload.id)
    await comm.disconnect()
    # Cookies split over several headers (HTTP/2, RFC 9113 section 8.2.3) count too.
    split = communicator(f"/ws/uploads/{upload.id}/", headers=[(b"cookie", b"theme=dark"), (b"cookie", cookie)])
    assert (await split.connect())[0]
    assert (await split.receive_json_from(timeout=2))["id"] == str(upload.id)
    await split.disconnect()

    other = await sync_to_async(get_user_model().objects.create_user)("other", password="pw")
    cookie = await sync_to_async(session_cookie)(other)
    assert await _close_code(communicator(f"/ws/uploads/{upload.id}/", headers=[(b"cookie", cookie)])) == 4403


async def test_change_committed_while_connecting_is_pushed_not_lost(monkeypatch):
    """The consumer joins the group before reading the snapshot, so a change landing
    between that read and the first push still arrives."""
    from realtime_uploads.state import snapshots

    upload = await new_upload()
    read_snapshots = snapshots.read_snapshots

    def change_right_after_the_read(ids):
        found = read_snapshots(ids)
        for upload_id in ids:
            services.upload_mark_processing(upload_id=upload_id)
        return found

    monkeypatch.setattr(snapshots, "read_snapshots", change_right_after_the_read)
    comm = await subscribed(upload)
    assert (await comm.receive_json_from(timeout=2))["seq"] == 1
    assert (await comm.receive_json_from(timeout=2))["status"] == "processing"
    await comm.disconnect()


async def test_refused_subscriber_never_joins_the_group():
    upload = await new_upload()
    assert await _close_code(communicator(f"/ws/uploads/{upload.id}/?token=garbage")) == 4403
    assert group_name(upload.id) not in get_channel_layer().groups
