"""``DELETE /api/uploads/<id>/``: cancel an unfinished upload, delete a finished one with its stored objects.

Real parts: the database, the in-memory channel layer (a real channel joined
to the upload's group), the local backend's files on disk.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.db import transaction

from realtime_uploads.models import Status, Upload, Variant
from realtime_uploads.state import purge, services
from realtime_uploads.state.access import make_subscribe_token
from realtime_uploads.state.events import group_name
from realtime_uploads.storage import get_backend
from tests.conftest import completed_payload

pytestmark = pytest.mark.django_db(transaction=True)

JPEG = b"\xff\xd8\xff\xe0 not really a jpeg"


def backend_storage():
    """The Django storage the local backend keeps its objects in."""
    return get_backend().storage


@pytest.fixture
def listener():
    layer = get_channel_layer()

    def listen(upload_id):
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(group_name(upload_id), channel)

        def received():
            import asyncio

            async def one():
                return await asyncio.wait_for(layer.receive(channel), timeout=0.2)

            out = []
            while True:
                try:
                    out.append(async_to_sync(one)())
                except TimeoutError:
                    return out

        return received

    return listen


def presign(client, **meta):
    response = client.post("/api/uploads/", {"filename": "cat.jpg", "content_type": "image/jpeg", "size": 1234},
                           content_type="application/json", **meta)
    assert response.status_code == 201, response.content
    return response.json()


def delete(client, upload_id, token=None, **extra):
    query = f"?token={token}" if token else ""
    return client.delete(f"/api/uploads/{upload_id}/{query}", **extra)


def completed(upload: Upload) -> Upload:
    """Store the original and the variant files, then complete the upload through the service."""
    storage = backend_storage()
    storage.save(upload.key, ContentFile(JPEG))
    payload = completed_payload(upload.id, names=("thumb", "large"))
    for variant in payload["variants"]:
        storage.save(variant["key"], ContentFile(b"webp bytes"))
    services.upload_mark_completed(upload_id=upload.id, original=payload["original"], variants=payload["variants"])
    return Upload.objects.get(pk=upload.id)


def stored_keys(upload_id) -> list[str]:
    return [key for key in (f"uploads/{upload_id}/cat.jpg", f"variants/{upload_id}/thumb.webp",
                            f"variants/{upload_id}/large.webp") if backend_storage().exists(key)]


def test_deleting_a_pending_upload_cancels_it_pushes_seq_plus_one_and_answers_the_event(client, listener):
    data = presign(client)
    received = listener(data["id"])
    response = delete(client, data["id"], data["subscribe"]["token"])
    assert response.status_code == 200
    event = response.json()
    assert (event["status"], event["seq"], event["error"]["code"]) == ("cancelled", 2, "cancelled")
    assert [(e["status"], e["seq"]) for e in received()] == [("cancelled", 2)]
    assert Upload.objects.get(pk=data["id"]).status == Status.CANCELLED


def test_a_processing_upload_is_cancelled_too(client, make_upload):
    upload = make_upload()
    services.upload_mark_processing(upload_id=upload.id)
    response = delete(client, upload.id, make_subscribe_token(upload.id))
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_a_cancelled_upload_frees_its_pending_slot_so_a_batch_of_twenty_fits(client, settings):
    """The issue's scenario: cancel one, then presign 20 with MAX_PENDING_PER_CLIENT=20."""
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "MAX_PENDING_PER_CLIENT": 20}
    caches["default"].clear()
    files = [{"filename": f"{i}.jpg", "content_type": "image/jpeg", "size": 100} for i in range(20)]
    first = presign(client)
    refused = client.post("/api/uploads/batch/", {"files": files}, content_type="application/json")
    assert refused.status_code == 429  # without the cancel, the one pending upload blocks the twenty
    assert delete(client, first["id"], first["subscribe"]["token"]).status_code == 200
    answer = client.post("/api/uploads/batch/", {"files": files}, content_type="application/json")
    assert answer.status_code == 201, answer.content
    assert Upload.objects.filter(status=Status.PENDING).count() == 20
    caches["default"].clear()


def test_a_signed_in_users_cancel_frees_the_slot_counted_by_owner(client, settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "MAX_PENDING_PER_CLIENT": 1}
    user = get_user_model().objects.create_user("carol", password="pw")
    client.force_login(user)
    client.get("/")
    csrf = {"headers": {"X-CSRFToken": client.cookies["csrftoken"].value}}
    first = presign(client, **csrf)
    assert client.post("/api/uploads/", {"filename": "b.jpg", "content_type": "image/jpeg", "size": 5},
                       content_type="application/json", **csrf).status_code == 429
    assert delete(client, first["id"], **csrf).status_code == 200
    presign(client, **csrf)


def test_deleting_a_completed_upload_removes_row_original_and_variants_after_commit(client, make_upload, listener):
    upload = completed(make_upload())
    assert len(stored_keys(upload.id)) == 3
    received = listener(upload.id)
    token = make_subscribe_token(upload.id)
    response = delete(client, upload.id, token)
    assert response.status_code == 204 and response.content == b""
    assert purge.wait(10)
    assert stored_keys(upload.id) == []
    root = Path(backend_storage().location)
    assert not (root / f"uploads/{upload.id}").exists() and not (root / f"variants/{upload.id}").exists()
    assert (root / "uploads").is_dir() and (root / "variants").is_dir()  # the upload's folders go, the prefixes stay
    assert not Upload.objects.filter(pk=upload.id).exists() and not Variant.objects.exists()
    events = received()
    assert [(e["status"], e["seq"]) for e in events] == [("deleted", upload.seq + 1)]
    assert client.get(f"/api/uploads/{upload.id}/", {"token": token}).status_code == 404


@pytest.mark.parametrize("status", [Status.FAILED, Status.EXPIRED, Status.CANCELLED])
def test_every_finished_upload_is_deleted_with_its_original(client, make_upload, status):
    upload = make_upload()
    backend_storage().save(upload.key, ContentFile(JPEG))
    if status == Status.FAILED:
        services.upload_mark_failed(upload_id=upload.id, error_code="not_an_image")
    elif status == Status.EXPIRED:
        services.upload_mark_expired(upload_id=upload.id)
    else:
        services.upload_cancel(upload_id=upload.id)
    assert delete(client, upload.id, make_subscribe_token(upload.id)).status_code == 204
    assert purge.wait(10)
    assert stored_keys(upload.id) == [] and not Upload.objects.filter(pk=upload.id).exists()


def test_repeating_the_delete_is_harmless_and_unknown_ids_are_404(client):
    data = presign(client)
    token = data["subscribe"]["token"]
    assert delete(client, data["id"], token).status_code == 200  # cancelled
    assert delete(client, data["id"], token).status_code == 204  # a cancelled upload: deleted
    assert delete(client, data["id"], token).status_code == 204  # gone already: the token proves it was there
    assert delete(client, data["id"]).status_code == 404  # without a token nothing says it ever existed
    assert delete(client, "8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1").status_code == 404
    assert delete(client, "not-a-uuid").status_code == 404


def test_only_the_owner_may_delete(client, make_upload):
    upload = make_upload()
    other = presign(client)["subscribe"]["token"]
    response = delete(client, upload.id, other)
    assert response.status_code == 403 and "Not authorised" in response.json()["detail"]
    assert delete(client, upload.id).status_code == 403
    assert Upload.objects.get(pk=upload.id).status == Status.PENDING


def test_a_session_delete_needs_csrf_and_is_refused_in_json_naming_it(make_upload):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    user = get_user_model().objects.create_user("dave", password="pw")
    upload = make_upload()
    Upload.objects.filter(pk=upload.pk).update(owner=user)
    client.force_login(user)
    client.get("/")
    refused = delete(client, upload.id)
    assert refused.status_code == 403 and refused["Content-Type"] == "application/json"
    assert refused.json()["code"] == "csrf_failed" and "CSRF" in refused.json()["detail"]
    assert Upload.objects.get(pk=upload.id).status == Status.PENDING
    # A token is not ambient: no CSRF needed with it.
    assert delete(client, upload.id, make_subscribe_token(upload.id)).status_code == 200
    ok = delete(client, upload.id, headers={"X-CSRFToken": client.cookies["csrftoken"].value})
    assert ok.status_code == 204


def test_other_methods_are_405_naming_the_allowed_ones(client, make_upload):
    response = client.put(f"/api/uploads/{make_upload().id}/")
    assert response.status_code == 405 and "DELETE" in response["Allow"]


def test_queryset_delete_purges_storage_after_commit_and_a_rollback_purges_nothing(make_upload):
    uploads = [completed(make_upload()) for _ in range(3)]
    with purge.synchronously():
        with pytest.raises(RuntimeError), transaction.atomic():
            Upload.objects.filter(pk=uploads[0].pk).delete()
            raise RuntimeError("rolled back")
        assert len(stored_keys(uploads[0].id)) == 3
        with transaction.atomic():
            Upload.objects.filter(pk__in=[u.pk for u in uploads[:2]]).delete()
            assert len(stored_keys(uploads[0].id)) == 3  # not before the commit
    assert stored_keys(uploads[0].id) == stored_keys(uploads[1].id) == []
    assert len(stored_keys(uploads[2].id)) == 3
    uploads[2].delete()  # Upload.delete(): the same, on the purge thread
    assert purge.wait(10)
    assert stored_keys(uploads[2].id) == []


def test_a_processing_report_for_a_cancelled_upload_is_409_and_its_object_is_deleted(client, make_upload,
                                                                                   post_callback):
    upload = make_upload()
    services.upload_cancel(upload_id=upload.id)
    backend_storage().save(upload.key, ContentFile(JPEG))  # the file arrived after the cancel
    response = post_callback(upload.id, {"status": "processing"})
    assert response.status_code == 409 and response.json()["code"] == "upload_cancelled"
    assert purge.wait(10)
    assert stored_keys(upload.id) == []
    assert Upload.objects.get(pk=upload.id).status == Status.CANCELLED


def test_a_completed_report_for_an_upload_cancelled_while_processing_deletes_what_was_rendered(
        client, make_upload, post_callback):
    upload = make_upload()
    services.upload_mark_processing(upload_id=upload.id)
    services.upload_cancel(upload_id=upload.id)
    backend_storage().save(upload.key, ContentFile(JPEG))
    payload = completed_payload(upload.id, names=("thumb", "large"))
    for variant in payload["variants"]:
        backend_storage().save(variant["key"], ContentFile(b"webp"))
    response = post_callback(upload.id, payload)
    assert response.status_code == 409 and response.json()["code"] == "upload_cancelled"
    assert purge.wait(10)
    assert stored_keys(upload.id) == [] and not Variant.objects.exists()


def test_a_completed_report_for_an_upload_deleted_while_processing_deletes_what_was_rendered(
        client, make_upload, post_callback):
    upload = make_upload()
    services.upload_mark_processing(upload_id=upload.id)
    services.upload_cancel(upload_id=upload.id)
    services.upload_remove(upload_id=upload.id)  # the second DELETE (or retention): the row is gone
    assert purge.wait(10)
    payload = completed_payload(upload.id, names=("thumb", "large"))
    for variant in payload["variants"]:  # the processor, unaware, stores what it rendered
        backend_storage().save(variant["key"], ContentFile(b"webp"))
    response = post_callback(upload.id, payload)
    assert response.status_code == 404
    assert purge.wait(10)
    assert stored_keys(upload.id) == []  # no variant left behind, public by URL, with no row to delete it


def test_a_referenced_upload_is_not_deleted_through_the_api(client, make_upload):
    from tests.formsapp.models import Avatar, Profile

    upload = completed(make_upload())
    profile = Profile.objects.create(name="p", photo=upload)  # UploadReferenceField: on_delete=PROTECT
    response = delete(client, upload.id, make_subscribe_token(upload.id))
    assert response.status_code == 409 and response.json()["code"] == "upload_in_use"  # was a 500 (ProtectedError)
    assert Upload.objects.filter(pk=upload.id).exists() and len(stored_keys(upload.id)) == 3
    profile.photo = None
    profile.save()
    profile.gallery.add(upload)  # a gallery's link rows cascade: without the check it would lose it silently
    assert delete(client, upload.id, make_subscribe_token(upload.id)).status_code == 409
    assert list(profile.gallery.all()) == [upload]
    profile.gallery.clear()
    avatar = Avatar.objects.create(upload=upload)  # one-to-one, cascading: the project's own row would go
    assert delete(client, upload.id, make_subscribe_token(upload.id)).status_code == 409
    assert Avatar.objects.filter(pk=avatar.pk).exists()
    avatar.delete()
    assert delete(client, upload.id, make_subscribe_token(upload.id)).status_code == 204


def test_the_local_endpoint_refuses_a_file_for_a_cancelled_upload(client):
    data = presign(client)
    assert delete(client, data["id"], data["subscribe"]["token"]).status_code == 200
    fields = data["upload"]["fields"]
    response = client.post("/api/uploads/local/", {**fields, "file": ContentFile(b"x" * 1234, name="cat.jpg")})
    assert response.status_code == 403 and b"AccessDenied" in response.content
    assert b"was cancelled" in response.content and b"already been received" not in response.content
    assert not backend_storage().exists(fields["key"])
    assert delete(client, data["id"], data["subscribe"]["token"]).status_code == 204  # now deleted: row gone
    response = client.post("/api/uploads/local/", {**fields, "file": ContentFile(b"x" * 1234, name="cat.jpg")})
    assert response.status_code == 403 and b"no longer exists" in response.content


def test_history_shows_a_cancelled_upload_as_cancelled_and_a_deleted_one_not_at_all(client):
    kept, removed = presign(client), presign(client)
    assert delete(client, kept["id"], kept["subscribe"]["token"]).status_code == 200
    assert delete(client, removed["id"], removed["subscribe"]["token"]).status_code == 200
    assert delete(client, removed["id"], removed["subscribe"]["token"]).status_code == 204
    items = client.get("/api/uploads/").json()["results"]
    assert [(item["id"], item["status"]) for item in items] == [(kept["id"], "cancelled")]


def test_a_file_stored_while_its_upload_is_cancelled_is_deleted_not_processed(client, monkeypatch):
    from realtime_uploads.local import post_object
    from realtime_uploads.storage.local import LocalBackend

    data = presign(client)
    real_store = LocalBackend.store
    submitted = []

    def store_then_cancel(self, key, file):
        stored = real_store(self, key, file)
        services.upload_cancel(upload_id=data["id"])  # the owner's DELETE lands while the file is written
        return stored

    monkeypatch.setattr(LocalBackend, "store", store_then_cancel)
    monkeypatch.setattr(post_object, "get_runner", lambda: type("R", (), {"submit": submitted.append})())
    fields = data["upload"]["fields"]
    response = client.post("/api/uploads/local/", {**fields, "file": ContentFile(b"x" * 1234, name="cat.jpg")})
    assert response.status_code == 403 and b"was cancelled" in response.content
    assert not backend_storage().exists(fields["key"]) and submitted == []


def test_the_purge_retries_a_failing_backend_then_logs_the_keys_it_left(make_upload, monkeypatch, caplog):
    from realtime_uploads.core.errors import StorageError

    monkeypatch.setattr(purge, "FIRST_PAUSE", 0.01)
    backend = get_backend()
    attempts = []
    real = backend.delete

    def flaky(keys):
        attempts.append(list(keys))
        if len(attempts) < 3:
            raise StorageError("S3 is having a moment")
        real(keys)

    monkeypatch.setattr(backend, "delete", flaky)
    upload = make_upload()
    backend_storage().save(upload.key, ContentFile(JPEG))
    purge.purge_later([upload.key])
    assert purge.wait(10)
    assert len(attempts) == 3 and not backend_storage().exists(upload.key)

    monkeypatch.setattr(backend, "delete", lambda keys: (_ for _ in ()).throw(StorageError("down for good")))
    with caplog.at_level("ERROR", logger="realtime_uploads.state.purge"):
        purge.purge_later(["uploads/left/behind.jpg"])
        assert purge.wait(10)
    assert "uploads/left/behind.jpg" in caplog.text and "Gave up" in caplog.text


def test_the_async_views_work_in_a_project_with_atomic_requests(client, monkeypatch):
    """ATOMIC_REQUESTS (common in the projects that adopt the app) made Django refuse every async view: 500."""
    from django.db import connections

    monkeypatch.setitem(connections.settings["default"], "ATOMIC_REQUESTS", True)
    data = presign(client)
    assert client.get(f"/api/uploads/{data['id']}/", {"token": data["subscribe"]["token"]}).status_code == 200
    assert delete(client, data["id"], data["subscribe"]["token"]).status_code == 200
    unsigned = client.post(f"/api/uploads/{data['id']}/callback/", b"{}", content_type="application/json")
    assert unsigned.status_code == 401
