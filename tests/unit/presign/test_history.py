"""History (``GET /api/uploads/``): the requester's uploads, newest first, paginated, isolated.

Before it a reload or a second tab showed nothing of earlier uploads.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from realtime_uploads.models import Upload
from realtime_uploads.state.access import check_subscribe_token

pytestmark = pytest.mark.django_db

GOOD = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 100}


@pytest.fixture(autouse=True)
def no_limits(settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "PRESIGN_RATE": None, "PRESIGN_USER_RATE": None,
                                 "MAX_PENDING_PER_CLIENT": None, "HISTORY_PAGE_SIZE": 3}


def presign(client, name):
    response = client.post("/api/uploads/", {**GOOD, "filename": name}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def history(client, url="/api/uploads/"):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


def all_pages(client) -> list[dict]:
    items, url = [], "/api/uploads/"
    while url:
        page = history(client, url)
        assert len(page["results"]) <= 3
        items += page["results"]
        url = page["next"]
    return items


def test_an_anonymous_session_lists_its_uploads_newest_first_over_pages(client):
    ids = [presign(client, f"{i}.jpg") for i in range(7)]
    items = all_pages(client)
    assert [i["id"] for i in items] == ids[::-1]
    first = items[0]
    assert first["type"] == "upload.status" and first["status"] == "pending" and first["seq"] == 1
    assert first["filename"] == "6.jpg" and first["created_at"].endswith("Z")
    assert check_subscribe_token(first["token"], first["id"])
    assert {"original", "variants", "error", "updated_at"} <= set(first)


def test_sessions_and_users_see_only_their_own(client):
    other = Client()
    mine = [presign(client, "mine.jpg"), presign(client, "mine2.jpg")]
    theirs = [presign(other, "theirs.jpg")]
    batch = other.post("/api/uploads/batch/", {"files": [GOOD, GOOD]}, content_type="application/json")
    theirs += [u["id"] for u in batch.json()["uploads"]]
    assert {i["id"] for i in all_pages(client)} == set(mine)
    assert {i["id"] for i in all_pages(other)} == set(theirs)
    assert history(Client())["results"] == []  # no session: nothing

    alice = get_user_model().objects.create_user("alice", password="pw")
    bob = get_user_model().objects.create_user("bob", password="pw")
    alice_client, bob_client = Client(enforce_csrf_checks=False), Client()
    alice_client.force_login(alice)
    bob_client.force_login(bob)
    Upload.objects.filter(pk=mine[0]).update(owner=alice)
    assert [i["id"] for i in all_pages(alice_client)] == [mine[0]]
    assert all_pages(bob_client) == []


def test_the_session_key_is_stored_hashed(client):
    upload_id = presign(client, "a.jpg")
    stored = Upload.objects.get(pk=upload_id).session_hash
    assert len(stored) == 64 and client.session.session_key not in stored


def test_limit_asks_for_smaller_pages_and_a_bad_cursor_is_404(client):
    for i in range(3):
        presign(client, f"{i}.jpg")
    assert len(history(client, "/api/uploads/?limit=1")["results"]) == 1
    assert len(history(client, "/api/uploads/?limit=50")["results"]) == 3  # capped at HISTORY_PAGE_SIZE
    assert client.get("/api/uploads/?cursor=garbage").status_code == 404


def test_history_is_not_throttled_as_a_presign(client, settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "PRESIGN_RATE": "1/min"}
    for _ in range(3):
        assert client.get("/api/uploads/").status_code == 200


def test_signed_cookie_sessions_started_in_the_same_second_are_not_one_history(settings, db):
    """With the signed_cookies engine the session key is the signed data: identical data in the same second
    used to give two visitors one key, so each saw (and could download and delete) the other's uploads."""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    first, second = Client(), Client()
    presign(first, "first.jpg")
    presign(second, "second.jpg")
    cookie = settings.SESSION_COOKIE_NAME
    assert first.cookies[cookie].value != second.cookies[cookie].value
    assert [item["filename"] for item in history(first)["results"]] == ["first.jpg"]
    assert [item["filename"] for item in history(second)["results"]] == ["second.jpg"]
