"""``GET /api/uploads/<id>/download/``: the owner, and only the owner, is redirected to a short-lived link.

The local backend end to end (a photo presigned, POSTed and processed for
real, then downloaded through the signed link), and the s3 backend against
moto's server over HTTP (the presigned GET fetched as a browser would).
"""

from __future__ import annotations

import time

import boto3
import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from realtime_uploads.models import Upload
from realtime_uploads.state.access import make_subscribe_token
from realtime_uploads.storage.base import attachment_name
from tests.conftest import jpeg_bytes
from tests.unit.local.test_post_object import post_file, presign, s3_code, wait_for_status

pytestmark = pytest.mark.django_db(transaction=True)


def download(client, upload_id, **query):
    return client.get(f"/api/uploads/{upload_id}/download/", query)


@pytest.fixture
def owner():
    return get_user_model().objects.create_user("owner", password="x")


@pytest.fixture
def local_photo(client, live_server, settings, owner):
    """A photo the signed-in ``owner`` uploaded and the local backend processed: ``(upload, bytes)``."""
    settings.REALTIME_UPLOADS = {
        **settings.REALTIME_UPLOADS, "CALLBACK_URL": live_server.url + "/api/uploads/{id}/callback/"}
    client.force_login(owner)
    data = jpeg_bytes(300, 200)
    p = presign(client, len(data))
    assert post_file(client, p["upload"]["fields"], data).status_code == 204
    return wait_for_status(p["id"], "completed"), data


def test_the_owner_is_redirected_to_a_signed_link_that_sends_the_original_as_an_attachment(client, local_photo):
    upload, data = local_photo
    answer = download(client, upload.id)
    assert answer.status_code == 302
    assert answer["Cache-Control"] == "no-store" and answer["Referrer-Policy"] == "no-referrer"
    link = answer["Location"]
    assert link.startswith("http://testserver/api/uploads/local/download/")
    got = Client().get(link)  # the link alone is enough: no session
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == data
    assert got["Content-Disposition"] == 'attachment; filename="p.jpg"'
    assert got["Content-Type"] == "image/jpeg"
    assert got["Cache-Control"] == "private, no-store"


def test_the_subscribe_token_authorises_the_download_too(local_photo):
    upload, _ = local_photo
    assert download(Client(), upload.id, token=make_subscribe_token(upload.id)).status_code == 302


def test_nobody_else_gets_the_original(local_photo):
    upload, _ = local_photo
    stranger = Client()
    stranger.force_login(get_user_model().objects.create_user("stranger", password="x"))
    for client, query in ((Client(), {}), (stranger, {}), (Client(), {"token": "forged"}),
                          (Client(), {"token": make_subscribe_token("7d2b0e4e-52b5-4b8e-8a4e-7d1f3c9a0b11")})):
        answer = download(client, upload.id, **query)
        assert answer.status_code == 403, query
        assert answer.json()["code"] == "not_authorised"
        assert "Location" not in answer
    assert download(Client(), "7d2b0e4e-52b5-4b8e-8a4e-7d1f3c9a0b11").status_code == 404
    assert download(Client(), "not-a-uuid").status_code == 404


def test_the_anonymous_session_that_presigned_it_may_download_and_no_other(make_upload, settings):
    from types import SimpleNamespace

    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    from realtime_uploads.presign.identity import session_hash

    session = SessionStore()
    visitor = SimpleNamespace(session=session, user=AnonymousUser())
    upload = make_upload(session_hash=session_hash(visitor, create=True))
    Upload.objects.filter(pk=upload.pk).update(status="completed")
    same = Client()
    same.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    assert download(same, upload.id).status_code == 302
    other = SessionStore()
    session_hash(SimpleNamespace(session=other, user=AnonymousUser()), create=True)
    another = Client()
    another.cookies[settings.SESSION_COOKIE_NAME] = other.session_key
    assert download(another, upload.id).status_code == 403


def test_an_altered_or_expired_link_is_refused(client, local_photo, settings):
    upload, data = local_photo
    link = download(client, upload.id)["Location"]
    token = link.rstrip("/").rsplit("/", 1)[1]
    altered = link.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    answer = Client().get(altered)
    assert (answer.status_code, s3_code(answer)) == (403, "AccessDenied")
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "DOWNLOAD_URL_EXPIRES": 1}
    short = download(client, upload.id)["Location"]
    time.sleep(2.1)
    answer = Client().get(short)
    assert (answer.status_code, s3_code(answer)) == (403, "ExpiredToken")
    assert data not in answer.content


def test_an_upload_that_is_not_completed_has_no_download(client, owner):
    client.force_login(owner)
    p = presign(client, 1234)
    answer = download(client, p["id"])
    assert (answer.status_code, answer.json()["code"]) == (409, "not_completed")


@pytest.mark.parametrize(("filename", "sent"), [
    ('../../etc/pass"wd\r\nSet-Cookie: x=1.jpg', "etcpasswdSet-Cookie x=1.jpg"),
    ("ｆｏｔｏ ü.jpg", "ｆｏｔｏ ü.jpg"),
    ("...", "download"),
    ("a" * 300 + ".jpeg", "a" * 140 + ".jpeg"),
])
def test_the_file_name_sent_is_made_safe(filename, sent):
    assert attachment_name(filename) == sent


def test_s3_the_owner_is_redirected_to_a_presigned_get_that_s3_answers_as_an_attachment(s3_settings, make_upload,
                                                                                       owner):
    upload = make_upload(filename="Holiday photo ü.jpg", owner=owner)
    boto3.client("s3").put_object(Bucket=s3_settings["bucket"], Key=upload.key, Body=b"original bytes")
    Upload.objects.filter(pk=upload.pk).update(status="completed")
    client = Client()
    client.force_login(owner)
    answer = download(client, upload.id)
    assert answer.status_code == 302
    link = answer["Location"]
    assert link.startswith(f"{s3_settings['endpoint']}/{s3_settings['bucket']}/")
    assert "X-Amz-Expires=300" in link and "X-Amz-Signature=" in link
    got = httpx.get(link)
    assert got.status_code == 200 and got.content == b"original bytes"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "filename*=utf-8''Holiday%20photo%20%C3%BC.jpg" in got.headers["content-disposition"]
    assert got.headers["content-type"] == "image/jpeg"
    assert httpx.get(f"{s3_settings['endpoint']}/{s3_settings['bucket']}/{upload.key}").status_code == 403
    stranger = Client()
    stranger.force_login(get_user_model().objects.create_user("stranger", password="x"))
    assert download(stranger, upload.id).status_code == 403


def test_s3_without_credentials_is_a_503_naming_the_cause_not_a_500(s3_settings, make_upload, owner, monkeypatch,
                                                                     tmp_path, caplog):
    """The web process with no AWS credentials: presign and download said 500 (botocore's NoCredentialsError)."""
    from realtime_uploads.core.s3_client import reset_clients

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role to find on this machine
    reset_clients()
    upload = make_upload(owner=owner)
    Upload.objects.filter(pk=upload.pk).update(status="completed")
    client = Client()
    client.force_login(owner)
    answer = download(client, upload.id)
    assert (answer.status_code, answer.json()["code"]) == (503, "storage_unavailable")
    before = Upload.objects.count()
    presigned = client.post("/api/uploads/", {"filename": "a.jpg", "content_type": "image/jpeg", "size": 100},
                            content_type="application/json")
    assert (presigned.status_code, presigned.json()["code"]) == (503, "storage_unavailable")
    assert Upload.objects.count() == before  # nothing half-made
    assert "Cannot sign S3 requests" in caplog.text and "credentials" in caplog.text
