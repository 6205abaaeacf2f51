"""Batch presign (``POST /api/uploads/batch/``): N files in one request, all or nothing, counted as N.

Before it a page uploading 50 photos sent 50 presign requests.
"""

from __future__ import annotations

import pytest
from django.core.cache import caches

from realtime_uploads.models import Upload

pytestmark = pytest.mark.django_db

GOOD = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 100}


@pytest.fixture
def limits(settings):
    def set_limits(**values):
        settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "PRESIGN_RATE": None, "PRESIGN_USER_RATE": None,
                                     "MAX_PENDING_PER_CLIENT": None, **values}

    caches["default"].clear()
    set_limits()
    yield set_limits
    caches["default"].clear()


def batch(client, files, **meta):
    return client.post("/api/uploads/batch/", {"files": files}, content_type="application/json", **meta)


def test_a_batch_answers_one_presign_per_file_in_order(client, limits):
    files = [{**GOOD, "filename": f"{i}.jpg"} for i in range(5)]
    response = batch(client, files)
    assert response.status_code == 201, response.content
    uploads = response.json()["uploads"]
    assert len(uploads) == 5
    assert [Upload.objects.get(pk=u["id"]).filename for u in uploads] == [f["filename"] for f in files]
    for answer in uploads:
        assert set(answer) == {"id", "status", "upload", "subscribe", "status_url", "expires_at"}
        assert answer["status"] == "pending" and answer["subscribe"]["token"]
        assert set(answer["upload"]) == {"url", "fields"}


def test_one_bad_item_is_a_400_naming_it_and_creates_nothing(client, limits):
    response = batch(client, [GOOD, {**GOOD, "size": 0}, GOOD, {**GOOD, "content_type": "image/tiff"}])
    assert response.status_code == 400
    errors = response.json()["files"]
    assert errors[0] == {} and errors[2] == {}
    assert list(errors[1]) == ["size"] and "between 1 and" in errors[1]["size"][0]
    assert list(errors[3]) == ["content_type"]
    assert Upload.objects.count() == 0


@pytest.mark.parametrize("body", [{}, {"files": []}, {"files": "a.jpg"}, {"files": [None]}, [GOOD]])
def test_a_malformed_batch_is_a_400_and_creates_nothing(client, limits, body):
    response = client.post("/api/uploads/batch/", body, content_type="application/json")
    assert response.status_code == 400 and response.json()
    assert Upload.objects.count() == 0


def test_more_than_max_batch_files_is_a_400_naming_the_limit(client, limits, settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "MAX_BATCH_FILES": 3}
    response = batch(client, [GOOD] * 4)
    assert response.status_code == 400
    assert "at most 3 files (MAX_BATCH_FILES), got 4" in response.json()["files"][0]
    assert batch(client, [GOOD] * 3).status_code == 201


def test_a_batch_counts_as_n_presigns_and_is_refused_whole_past_the_rate(client, limits):
    limits(PRESIGN_RATE="5/min")
    assert batch(client, [GOOD] * 3).status_code == 201
    refused = batch(client, [GOOD] * 3)  # 6 > 5: none of them
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert Upload.objects.count() == 3


def test_a_batch_counts_as_n_pending_and_is_refused_whole_past_the_cap(client, limits):
    limits(MAX_PENDING_PER_CLIENT=4)
    assert batch(client, [GOOD] * 3).status_code == 201
    refused = batch(client, [GOOD] * 2)
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "too_many_pending" and "asked for 2 more" in body["detail"]
    assert Upload.objects.count() == 3
    assert batch(client, [GOOD]).status_code == 201


def test_get_is_not_allowed_on_the_batch(client):
    assert client.get("/api/uploads/batch/").status_code == 405


def test_a_database_error_midway_creates_none_of_the_batch(client, limits, monkeypatch):
    real, calls = Upload.save, []

    def failing_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            from django.db import IntegrityError
            raise IntegrityError("simulated")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Upload, "save", failing_third)
    with pytest.raises(Exception, match="simulated"):
        batch(client, [GOOD] * 4)
    assert len(calls) == 3  # two rows were written before the error: the transaction took them back
    assert Upload.objects.count() == 0
