"""The local backend's upload endpoint enforces the presigned policy as S3 would.

A live server (Django's threaded test server) answers the in-process
processor's signed callbacks, so the whole chain runs for real.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from realtime_uploads.models import Upload
from realtime_uploads.storage import get_backend
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_callbacks(live_server, settings):
    settings.REALTIME_UPLOADS = {
        **settings.REALTIME_UPLOADS, "CALLBACK_URL": live_server.url + "/api/uploads/{id}/callback/"}
    return live_server


def presign(client, size, content_type="image/jpeg"):
    response = client.post("/api/uploads/", {"filename": "p.jpg", "content_type": content_type,
                                            "size": size}, content_type="application/json")
    assert response.status_code == 201
    return response.json()


def post_file(client, fields, data, *, name="p.jpg", field="file"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/uploads/local/", {**fields, field: SimpleUploadedFile(name, data, "image/jpeg")})


def s3_code(response) -> str:
    body = response.content.decode()
    return body.split("<Code>")[1].split("</Code>")[0]


def wait_for_status(upload_id, wanted, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upload = Upload.objects.get(pk=upload_id)
        if upload.status == wanted:
            return upload
        time.sleep(0.05)
    raise AssertionError(f"upload stayed {Upload.objects.get(pk=upload_id).status}, wanted {wanted}")


def test_valid_post_is_stored_at_its_key_and_processed(client, live_callbacks):
    data = jpeg_bytes(800, 600)
    p = presign(client, len(data))
    response = post_file(client, p["upload"]["fields"], data)
    assert response.status_code == 204
    storage = get_backend().storage
    key = p["upload"]["fields"]["key"]
    with storage.open(key) as stored:
        assert stored.read() == data
    upload = wait_for_status(p["id"], "completed")
    assert upload.seq == 3
    names = sorted(upload.variants.values_list("name", flat=True))
    assert names == ["large", "thumb"]
    assert all(storage.exists(v.key) for v in upload.variants.all())


def _refused(client, fields, data, code, status):
    response = post_file(client, fields, data)
    assert response.status_code == status
    assert response["Content-Type"] == "application/xml"
    assert s3_code(response) == code
    return response


def test_tampered_key_is_refused_and_nothing_is_stored(client):
    data = jpeg_bytes()
    p = presign(client, len(data))
    fields = {**p["upload"]["fields"], "key": "uploads/../../etc/cron.d/x"}
    _refused(client, fields, data, "AccessDenied", 403)
    assert not get_backend().storage.exists(p["upload"]["fields"]["key"])
    assert Upload.objects.get(pk=p["id"]).status == "pending"


def test_other_content_type_than_signed_is_access_denied(client):
    data = jpeg_bytes()
    p = presign(client, len(data))
    _refused(client, {**p["upload"]["fields"], "Content-Type": "text/html"}, data, "AccessDenied", 403)


def test_forged_policy_signature_is_signature_does_not_match(client):
    data = jpeg_bytes()
    p = presign(client, len(data))
    _refused(client, {**p["upload"]["fields"], "x-amz-signature": "0" * 64}, data, "SignatureDoesNotMatch", 403)


def test_missing_policy_is_access_denied(client):
    data = jpeg_bytes()
    p = presign(client, len(data))
    fields = dict(p["upload"]["fields"])
    del fields["policy"]
    _refused(client, fields, data, "AccessDenied", 403)


def test_expired_policy_is_access_denied(client, monkeypatch):
    data = jpeg_bytes()
    p = presign(client, len(data))
    later = timezone.now() + timedelta(seconds=601)
    monkeypatch.setattr("realtime_uploads.local.post_object.timezone.now", lambda: later)
    response = _refused(client, p["upload"]["fields"], data, "AccessDenied", 403)
    assert b"Policy expired" in response.content


def test_empty_file_is_entity_too_small(client):
    p = presign(client, 10)
    _refused(client, p["upload"]["fields"], b"", "EntityTooSmall", 400)
    assert not get_backend().storage.exists(p["upload"]["fields"]["key"])


def test_file_over_max_size_is_entity_too_large_and_not_stored(client, settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "MAX_SIZE": 2000}
    p = presign(client, 2000)
    _refused(client, p["upload"]["fields"], b"x" * 5000, "EntityTooLarge", 400)
    assert not get_backend().storage.exists(p["upload"]["fields"]["key"])


def test_extra_field_is_access_denied(client):
    data = jpeg_bytes()
    p = presign(client, len(data))
    _refused(client, {**p["upload"]["fields"], "acl": "public-read"}, data, "AccessDenied", 403)


def test_post_without_a_file_is_refused(client):
    p = presign(client, 10)
    response = client.post("/api/uploads/local/", p["upload"]["fields"])
    assert response.status_code == 400 and s3_code(response) == "IncorrectNumberOfFilesInPostRequest"


def test_get_is_not_allowed(client):
    assert client.get("/api/uploads/local/").status_code == 405


def test_backend_presign_url_points_at_the_endpoint(rf, make_upload):
    presigned = get_backend().presign(make_upload(), request=rf.get("/"))
    assert presigned["url"] == "http://testserver/api/uploads/local/"


def test_second_post_after_the_upload_was_received_is_refused(client, live_callbacks):
    data = jpeg_bytes()
    p = presign(client, len(data))
    assert post_file(client, p["upload"]["fields"], data).status_code == 204
    wait_for_status(p["id"], "completed")
    other = b"x" * len(data)  # of the declared size, so only the upload's state refuses it
    _refused(client, p["upload"]["fields"], other, "AccessDenied", 403)
    with get_backend().storage.open(p["upload"]["fields"]["key"]) as stored:
        assert stored.read() == data  # the processed original was not swapped


def test_several_file_parts_are_refused_and_nothing_is_stored(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = jpeg_bytes()
    p = presign(client, len(data))
    files = [SimpleUploadedFile(f"{i}.jpg", data, "image/jpeg") for i in range(3)]
    response = client.post("/api/uploads/local/", {**p["upload"]["fields"], "file": files})
    assert response.status_code == 400 and s3_code(response) == "IncorrectNumberOfFilesInPostRequest"
    assert not get_backend().storage.exists(p["upload"]["fields"]["key"])
