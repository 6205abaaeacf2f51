"""The REST contract (docs/contract.md, "REST"): presign, status GET (+ long-poll), callback."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from realtime_uploads.models import Status, Upload
from realtime_uploads.state import services
from tests.conftest import completed_payload, signed_headers

pytestmark = pytest.mark.django_db(transaction=True)


def presign(client, **overrides):
    body = {"filename": "cat.jpg", "content_type": "image/jpeg", "size": 1234}
    body.update(overrides)
    return client.post("/api/uploads/", body, content_type="application/json")


# --- presign -----------------------------------------------------------------


def test_presign_answers_the_contract_shape(client):
    response = presign(client)
    assert response.status_code == 201
    data = response.json()
    upload = Upload.objects.get(pk=data["id"])
    assert data["status"] == "pending"
    assert data["upload"]["url"] == "http://testserver/api/uploads/local/"
    fields = data["upload"]["fields"]
    assert fields["key"] == upload.key == f"uploads/{upload.id}/cat.jpg"
    assert fields["Content-Type"] == "image/jpeg"
    assert {"policy", "x-amz-signature"} <= set(fields)
    assert data["subscribe"]["url"] == f"ws://testserver/ws/uploads/{upload.id}/"
    assert data["subscribe"]["token"]
    assert data["status_url"] == f"/api/uploads/{upload.id}/"
    assert data["expires_at"].endswith("Z")


def test_presigned_policy_pins_key_type_and_size_range(client, settings):
    data = presign(client).json()
    doc = json.loads(base64.b64decode(data["upload"]["fields"]["policy"]))
    assert {"key": data["upload"]["fields"]["key"]} in doc["conditions"]
    assert {"Content-Type": "image/jpeg"} in doc["conditions"]
    assert ["content-length-range", 1234, 1234] in doc["conditions"]  # exactly the declared size


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"content_type": "image/svg+xml"}, "content_type"),
        ({"content_type": "text/html"}, "content_type"),
        ({"size": 0}, "size"),
        ({"size": 10 * 1024 * 1024 + 1}, "size"),
        ({"size": "lots"}, "size"),
        ({"filename": ""}, "filename"),
        ({"filename": "   "}, "filename"),
        ({"filename": "x" * 256}, "filename"),
        ({"filename": "a\x00b.jpg"}, "filename"),
    ],
)
def test_bad_presign_input_is_a_400_naming_the_field_and_creates_nothing(client, override, field):
    response = presign(client, **override)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Upload.objects.count() == 0


def test_presign_records_the_signed_in_user_as_owner(client):
    user = get_user_model().objects.create_user("alice", password="pw")
    client.force_login(user)
    # DRF enforces CSRF for session-authenticated users: send the token as the JS client does.
    client.get("/")
    response = client.post(
        "/api/uploads/", {"filename": "a.png", "content_type": "image/png", "size": 10},
        content_type="application/json", headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    assert response.status_code == 201
    assert Upload.objects.get(pk=response.json()["id"]).owner == user


# --- status GET ----------------------------------------------------------------


def test_status_get_with_token_answers_the_snapshot(client):
    data = presign(client).json()
    response = client.get(data["status_url"], {"token": data["subscribe"]["token"]})
    assert response.status_code == 200
    event = response.json()
    assert event == {**event, "type": "upload.status", "id": data["id"], "status": "pending", "seq": 1,
                     "variants": [], "error": None, "original": None}


def test_status_get_without_token_is_403_and_unknown_id_is_404(client, make_upload):
    upload = make_upload()
    assert client.get(f"/api/uploads/{upload.id}/").status_code == 403
    other = presign(client).json()["subscribe"]["token"]
    assert client.get(f"/api/uploads/{upload.id}/", {"token": other}).status_code == 403
    assert client.get("/api/uploads/8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1/").status_code == 404
    assert client.get("/api/uploads/not-a-uuid/").status_code == 404


def test_owner_session_may_read_status_without_token(client, make_upload):
    user = get_user_model().objects.create_user("bob", password="pw")
    upload = make_upload()
    Upload.objects.filter(pk=upload.pk).update(owner=user)
    client.force_login(user)
    assert client.get(f"/api/uploads/{upload.id}/").status_code == 200
    mallory = get_user_model().objects.create_user("mallory", password="pw")
    client.force_login(mallory)
    assert client.get(f"/api/uploads/{upload.id}/").status_code == 403


@pytest.mark.parametrize(("query", "field"), [({"wait": 31}, "wait"), ({"since": -1}, "since"),
                                              ({"wait": "soon"}, "wait")])
def test_bad_long_poll_query_is_a_400_naming_the_field(client, query, field):
    data = presign(client).json()
    response = client.get(data["status_url"], {"token": data["subscribe"]["token"], **query})
    assert response.status_code == 400 and field in response.json()


@pytest.mark.asyncio
async def test_long_poll_answers_as_soon_as_seq_passes_since():
    client = AsyncClient()
    data = (await client.post("/api/uploads/", {"filename": "a.jpg", "content_type": "image/jpeg",
                                                "size": 5}, content_type="application/json")).json()

    async def change_soon():
        await asyncio.sleep(0.3)
        await sync_to_async(services.upload_mark_processing)(upload_id=data["id"])

    started = time.monotonic()
    changer = asyncio.create_task(change_soon())
    response = await client.get(data["status_url"], {"token": data["subscribe"]["token"], "since": 1,
                                                     "wait": 20})
    elapsed = time.monotonic() - started
    await changer
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["seq"]) == ("processing", 2)
    assert elapsed < 10  # answered by the push, far before the 20 s wait ran out


@pytest.mark.asyncio
async def test_long_poll_answers_at_once_when_already_newer_and_after_wait_otherwise():
    client = AsyncClient()
    data = (await client.post("/api/uploads/", {"filename": "a.jpg", "content_type": "image/jpeg",
                                                "size": 5}, content_type="application/json")).json()
    token = data["subscribe"]["token"]
    response = await client.get(data["status_url"], {"token": token, "since": 0, "wait": 20})
    assert response.json()["seq"] == 1
    started = time.monotonic()
    response = await client.get(data["status_url"], {"token": token, "since": 1, "wait": 0.3})
    assert response.json()["seq"] == 1 and time.monotonic() - started >= 0.3


# --- callback --------------------------------------------------------------------


def test_signed_callbacks_drive_the_upload_to_completed(make_upload, post_callback):
    upload = make_upload()
    response = post_callback(upload.id, {"status": "processing"})
    assert response.status_code == 200 and response.json()["seq"] == 2
    response = post_callback(upload.id, completed_payload(upload.id, names=("thumb", "large")))
    event = response.json()
    assert response.status_code == 200
    assert (event["status"], event["seq"]) == ("completed", 3)
    assert event["original"] == {"width": 4000, "height": 3000, "format": "JPEG"}
    assert [v["name"] for v in event["variants"]] == ["thumb", "large"]
    assert event["variants"][0]["url"] == f"/api/uploads/local/files/variants/{upload.id}/thumb.webp"


def test_repeated_callback_is_200_and_idempotent(make_upload, post_callback):
    upload = make_upload()
    post_callback(upload.id, {"status": "processing"})
    first = post_callback(upload.id, completed_payload(upload.id))
    again = post_callback(upload.id, completed_payload(upload.id))
    assert again.status_code == 200 and again.json()["seq"] == first.json()["seq"] == 3
    assert Upload.objects.get(pk=upload.id).variants.count() == 1


def test_illegal_transition_is_409_and_changes_nothing(make_upload, post_callback):
    upload = make_upload()
    post_callback(upload.id, completed_payload(upload.id))
    response = post_callback(upload.id, {"status": "processing"})
    assert response.status_code == 409
    assert "completed" in response.json()["detail"]
    assert Upload.objects.get(pk=upload.id).status == Status.COMPLETED


def _forged(client, upload_id, body: bytes, headers: dict):
    return client.post(f"/api/uploads/{upload_id}/callback/", data=body, content_type="application/json",
                       headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Upload-Signature": "t=1,v1=00"},
        {"X-Upload-Signature": "t=\u00b2,v1=" + "0" * 64},
        "wrong-secret",
        "stale",
        "tampered",
    ],
)
def test_forged_callback_is_rejected_and_changes_nothing(client, make_upload, headers):
    upload = make_upload()
    report = {"id": str(upload.id), "status": "failed", "error": {"code": "not_an_image", "message": "x"}}
    body = json.dumps(report).encode()
    if headers == "wrong-secret":
        headers = signed_headers(body, secret="guessed-secret")
    elif headers == "stale":
        headers = signed_headers(body, timestamp=int(time.time()) - 301)
    elif headers == "tampered":
        headers = signed_headers(json.dumps({"status": "processing"}).encode())
    response = _forged(client, upload.id, body, headers)
    assert response.status_code == 401
    assert response.json()["code"] in {"missing_signature", "malformed_signature", "invalid_signature",
                                       "stale_signature"}
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.seq) == ("pending", 1)


def test_signed_callback_replayed_against_another_upload_is_refused(client, make_upload):
    victim, other = make_upload(), make_upload()
    body = json.dumps({"id": str(other.id), "status": "failed",
                       "error": {"code": "not_an_image", "message": "x"}}).encode()
    headers = signed_headers(body)  # a genuine callback for `other`, captured
    assert _forged(client, other.id, body, headers).status_code == 200
    replayed = _forged(client, victim.id, body, headers)
    assert replayed.status_code == 400 and "id" in replayed.json()
    assert Upload.objects.get(pk=victim.id).status == "pending"


def test_callback_without_id_is_400(make_upload, post_callback):
    upload = make_upload()
    response = post_callback(upload.id, {"id": None, "status": "processing"})
    assert response.status_code == 400 and "id" in response.json()


def test_report_about_another_object_version_is_409_and_changes_nothing(make_upload, post_callback):
    upload = make_upload()
    assert post_callback(upload.id, {"status": "processing", "object": {"size": 5, "etag": '"a"'}}).status_code == 200
    again = post_callback(upload.id, {"status": "processing", "object": {"size": 5, "etag": '"a"'}})
    assert again.status_code == 200  # the same version: an idempotent repeat
    other = post_callback(upload.id, {"status": "processing", "object": {"size": 9, "etag": '"b"'}})
    assert other.status_code == 409 and "ETag" in other.json()["detail"]
    payload = {**completed_payload(upload.id), "object": {"size": 9, "etag": '"b"'}}
    assert post_callback(upload.id, payload).status_code == 409
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.seq, fresh.object_etag) == ("processing", 2, '"a"')


def test_unsigned_caller_learns_nothing_about_unknown_ids(client):
    response = _forged(client, "8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1", b"{}", {})
    assert response.status_code == 401  # not 404: the signature is checked first


def test_signed_callback_for_unknown_id_is_404(post_callback, db):
    assert post_callback("8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1", {"status": "processing"}).status_code == 404
    assert post_callback("nope", {"status": "processing"}).status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"status": "done"}, "status"),
        ({}, "status"),
        ({"status": "failed"}, "error"),
        ({"status": "failed", "error": {"code": "made_up", "message": ""}}, "error"),
        ({"status": "completed", "variants": []}, "original"),
        ({"status": "completed", "original": {"width": 1, "height": 1, "format": "JPEG"}}, "variants"),
        ({"status": ["failed"]}, "status"),
        ({"status": "failed", "error": {"code": [], "message": ""}}, "error"),
        ({"status": "failed", "error": {"code": {}, "message": ""}}, "error"),
        ({"status": "failed", "error": {"code": "timeout", "message": "a\x00b"}}, "error"),  # PostgreSQL: no NUL
        ({"status": "failed", "error": {"code": "timeout", "message": "\ud800"}}, "error"),  # not UTF-8
        ({"status": "processing", "object": {"size": 1, "etag": "   "}}, "object"),
    ],
)
def test_bad_callback_body_is_400_naming_the_field_and_changes_nothing(make_upload, post_callback, payload,
                                                                       field):
    upload = make_upload()
    response = post_callback(upload.id, payload)
    assert response.status_code == 400 and field in response.json()
    assert Upload.objects.get(pk=upload.id).seq == 1


def test_completed_callback_with_variant_key_outside_its_folder_is_400(make_upload, post_callback):
    upload = make_upload()
    payload = completed_payload(upload.id)
    payload["variants"][0]["key"] = f"uploads/{upload.id}/cat.jpg"
    response = post_callback(upload.id, payload)
    assert response.status_code == 400 and "variants" in response.json()
    assert not Upload.objects.get(pk=upload.id).variants.exists()


def test_non_json_callback_body_is_400(client, make_upload):
    upload = make_upload()
    body = b"status=completed"
    response = _forged(client, upload.id, body, signed_headers(body))
    assert response.status_code == 400


@pytest.mark.asyncio
async def test_long_poll_sees_a_change_that_landed_just_before_it_joined_the_group(monkeypatch):
    from realtime_uploads.push import longpoll

    client = AsyncClient()
    data = (await client.post("/api/uploads/", {"filename": "a.jpg", "content_type": "image/jpeg",
                                                "size": 5}, content_type="application/json")).json()
    real = longpoll.get_channel_layer()
    waited = []

    class ChangeBeforeJoin:
        """The real layer; a change commits just before the long-poll joins the group."""

        async def new_channel(self):
            return await real.new_channel()

        async def group_add(self, group, channel):
            await sync_to_async(services.upload_mark_processing)(upload_id=data["id"])
            await real.group_add(group, channel)

        async def group_discard(self, group, channel):
            await real.group_discard(group, channel)

        async def receive(self, channel):
            waited.append(channel)
            return await real.receive(channel)

    monkeypatch.setattr(longpoll, "get_channel_layer", ChangeBeforeJoin)
    response = await client.get(data["status_url"], {"token": data["subscribe"]["token"], "since": 1, "wait": 5})
    assert response.json()["seq"] == 2
    assert waited == []  # answered from the re-read snapshot, without waiting for a push that already went


@pytest.mark.parametrize(
    ("filename", "declared", "pinned"),
    [("IMG_0001.HEIC", "application/octet-stream", "image/heic"), ("IMG_0002.heif", "", "image/heif"),
     ("photo.JPG", "application/octet-stream", "image/jpeg"), ("cat.png", "image/png", "image/png")],
)
def test_a_generic_content_type_is_taken_from_the_file_name_and_pinned(client, settings, filename, declared,
                                                                       pinned):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "ALLOWED_CONTENT_TYPES": [
        "image/jpeg", "image/png", "image/heic", "image/heif"]}
    response = presign(client, filename=filename, content_type=declared)
    assert response.status_code == 201, response.json()
    assert response.json()["upload"]["fields"]["Content-Type"] == pinned
    assert Upload.objects.get(pk=response.json()["id"]).content_type == pinned


@pytest.mark.parametrize(("filename", "declared"), [("IMG_0001.HEIC", "application/octet-stream"),
                                                    ("notes.bin", "application/octet-stream"), ("x.jpg", "")])
def test_a_generic_content_type_that_names_no_allowed_type_is_a_400_saying_so(client, settings, filename, declared):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "ALLOWED_CONTENT_TYPES": ["image/png"]}
    response = presign(client, filename=filename, content_type=declared)
    assert response.status_code == 400 and "content_type" in response.json()
    assert repr(declared) in response.json()["content_type"][0]
    assert not Upload.objects.exists()
