"""Presign limits: per client IP (X-Forwarded-For believed only from trusted proxies), per user,
shared by every process through the cache, and a cap on uploads pending per client."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches

from realtime_uploads.models import Status, Upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    """Presign limits on (tests/settings.py turns them off), counted in a fresh cache."""

    def set_limits(**values):
        settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "PRESIGN_RATE": None, "PRESIGN_USER_RATE": None,
                                     "MAX_PENDING_PER_CLIENT": None, **values}

    caches["default"].clear()
    yield set_limits
    caches["default"].clear()


def presign(client, **meta):
    return client.post("/api/uploads/", {"filename": "a.jpg", "content_type": "image/jpeg", "size": 100},
                       content_type="application/json", **meta)


def test_varied_forwarded_for_from_an_untrusted_peer_is_still_one_client(client, limits):
    limits(PRESIGN_RATE="5/min")
    answers = [presign(client, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
               for i in range(8)]
    assert [a.status_code for a in answers] == [201] * 5 + [429] * 3
    body = answers[-1].json()
    assert body["code"] == "throttled" and body["limit"] == "5 presigns per minute"
    assert "5 presigns per minute" in body["detail"]
    assert 1 <= int(answers[-1]["Retry-After"]) <= 61
    assert presign(client, REMOTE_ADDR="203.0.113.8").status_code == 201  # another client is not held back


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(client, limits):
    limits(PRESIGN_RATE="2/min", TRUSTED_PROXIES=["10.0.0.0/8"])
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for who in ("198.51.100.1", "198.51.100.2"):
        codes = [presign(client, **proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, {who}").status_code for n in range(3)]
        assert codes == [201, 201, 429], who


def test_signed_in_users_have_their_own_rate_whatever_their_address(client, limits):
    limits(PRESIGN_RATE="1/min", PRESIGN_USER_RATE="3/min")
    client.force_login(get_user_model().objects.create_user("ann", password="x"))
    codes = [presign(client, REMOTE_ADDR=f"203.0.113.{i}").status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]
    client.logout()
    assert presign(client, REMOTE_ADDR="203.0.113.0").status_code == 201  # the address's own anonymous budget


def test_pending_cap_refuses_the_next_presign_naming_the_limit_and_creates_nothing(client, limits):
    limits(MAX_PENDING_PER_CLIENT=3)
    ids = [presign(client).json()["id"] for _ in range(3)]
    refused = presign(client)
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_pending" and refused.json()["limit"] == 3
    assert "MAX_PENDING_PER_CLIENT" in refused.json()["detail"] and refused["Retry-After"]
    assert Upload.objects.count() == 3
    assert presign(client, REMOTE_ADDR="203.0.113.9").status_code == 201  # another client
    Upload.objects.filter(pk=ids[0]).update(status=Status.COMPLETED)  # one finished: room for one more
    assert presign(client).status_code == 201
    assert presign(client).status_code == 429


def test_pending_cap_counts_a_users_uploads_wherever_they_presign_from(client, limits):
    limits(MAX_PENDING_PER_CLIENT=2)
    client.force_login(get_user_model().objects.create_user("bob", password="x"))
    assert [presign(client, REMOTE_ADDR=f"203.0.113.{i}").status_code for i in range(3)] == [201, 201, 429]
    Upload.objects.filter(owner__username="bob").update(status=Status.EXPIRED)
    assert presign(client).status_code == 201


def test_project_scoped_rate_throttle_still_applies(client, limits, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    from realtime_uploads.presign.views import UploadCreateApi

    limits()
    # What DEFAULT_THROTTLE_CLASSES / _RATES give (DRF reads them once, at import).
    monkeypatch.setattr(UploadCreateApi, "throttle_classes", [ScopedRateThrottle])
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"realtime_uploads.presign": "2/min"})
    codes = [presign(client).status_code for _ in range(3)]
    assert codes == [201, 201, 429]


def test_unreachable_cache_lets_presign_through(client, limits, settings):
    limits(PRESIGN_RATE="1/min", MAX_PENDING_PER_CLIENT=1)
    settings.CACHES = {**settings.CACHES, "broken": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                                      "LOCATION": "redis://127.0.0.1:1/0"}}
    limits(PRESIGN_RATE="1/min", THROTTLE_CACHE="broken")
    assert [presign(client).status_code for _ in range(2)] == [201, 201]


@pytest.mark.parametrize(("key", "value"), [("PRESIGN_RATE", "60"), ("PRESIGN_USER_RATE", "x/min"),
                                            ("PRESIGN_RATE", "0/min"), ("MAX_PENDING_PER_CLIENT", 0),
                                            ("THROTTLE_CACHE", "nope")])
def test_bad_limit_settings_name_the_key(settings, key, value):
    from django.core.exceptions import ImproperlyConfigured

    from realtime_uploads.conf import uploads_settings

    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, key: value}
    with pytest.raises(ImproperlyConfigured, match=key):
        getattr(uploads_settings, key)


def test_unknown_ids_in_the_cache_do_not_count(client, limits):
    limits(MAX_PENDING_PER_CLIENT=1)
    caches["default"].set("realtime_uploads:pending:ip:127.0.0.1", [str(uuid.uuid4())])
    assert presign(client).status_code == 201


SEEN: list = []


def recording_handler(exc, context):
    """A project's DRF exception handler: it sees what DRF raised, then answers as DRF does."""
    from rest_framework.views import exception_handler

    SEEN.append(exc)
    return exception_handler(exc, context)


def test_a_refused_presign_reaches_the_projects_exception_handler_as_throttled(client, limits, settings):
    from rest_framework.exceptions import Throttled

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "EXCEPTION_HANDLER": f"{__name__}.recording_handler"}
    limits(MAX_PENDING_PER_CLIENT=1)
    SEEN.clear()
    assert presign(client).status_code == 201
    refused = presign(client)
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_pending"
    assert refused["Retry-After"]
    assert len(SEEN) == 1 and isinstance(SEEN[0], Throttled)


@pytest.mark.django_db(transaction=True)
def test_concurrent_presigns_of_one_client_cannot_pass_the_pending_cap_together(limits, monkeypatch):
    """26 presigns of one address at once under a cap of 20: each used to count the others as not there yet
    (all 26 got 201). A presign that waits on the lock is slowed down here so they really overlap."""
    import threading

    from django.test import Client

    from realtime_uploads.presign import service

    limits(MAX_PENDING_PER_CLIENT=20)
    real_new = service.upload_new

    def slow_new(**kwargs):
        upload = real_new(**kwargs)
        threading.Event().wait(0.02)  # between the count and the new row: where the race was
        return upload

    monkeypatch.setattr(service, "upload_new", slow_new)
    start, codes = threading.Barrier(26), []

    def one():
        client = Client(REMOTE_ADDR="203.0.113.50")
        start.wait()
        codes.append(presign(client).status_code)

    threads = [threading.Thread(target=one) for _ in range(26)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(codes) == [201] * 20 + [429] * 6
    assert Upload.objects.filter(status=Status.PENDING).count() == 20
