"""The presign service: the row, the POST and the token in one call, all or nothing, URLs from the URLconf."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from realtime_uploads.models import Upload
from realtime_uploads.presign.service import uploads_presign
from realtime_uploads.state.access import check_subscribe_token
from realtime_uploads.storage.local import LocalBackend

pytestmark = pytest.mark.django_db(transaction=True)

FILES = [{"filename": "a.jpg", "content_type": "image/jpeg", "size": 10},
         {"filename": "b.png", "content_type": "image/png", "size": 20}]


def _request():
    request = RequestFactory().post("/api/uploads/batch/")
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    request.user, request.session = AnonymousUser(), SessionStore()
    return request


def test_one_call_creates_the_rows_presigns_each_post_and_makes_each_token():
    presigned = uploads_presign(request=_request(), files=FILES)
    assert [p.upload.filename for p in presigned] == ["a.jpg", "b.png"]
    for p in presigned:
        assert Upload.objects.get(pk=p.upload.pk).status == "pending"
        assert p.post["fields"]["key"] == p.upload.key
        assert check_subscribe_token(p.token, p.upload.pk)


def test_a_backend_that_cannot_presign_leaves_no_row_behind(monkeypatch):
    calls = []

    def fails_on_the_second(self, upload, *, request=None):
        calls.append(upload.filename)
        if len(calls) == 2:
            raise RuntimeError("the store is down")
        return {"url": "x", "fields": {}}

    monkeypatch.setattr(LocalBackend, "presign", fails_on_the_second)
    with pytest.raises(RuntimeError, match="the store is down"):
        uploads_presign(request=_request(), files=FILES)
    assert calls == ["a.jpg", "b.png"]
    assert not Upload.objects.exists()


def test_every_url_in_the_answer_follows_where_the_project_mounted_the_api(client, settings):
    settings.ROOT_URLCONF = "tests.unit.presign.elsewhere_urls"
    answer = client.post("/files/v2/uploads/", {"filename": "cat.jpg", "content_type": "image/jpeg", "size": 9},
                         content_type="application/json")
    assert answer.status_code == 201, answer.content
    data = answer.json()
    assert data["status_url"] == f"/files/v2/uploads/{data['id']}/"
    assert data["upload"]["url"] == "http://testserver/files/v2/uploads/local/"
    assert client.get(data["status_url"], {"token": data["subscribe"]["token"]}).json()["status"] == "pending"
