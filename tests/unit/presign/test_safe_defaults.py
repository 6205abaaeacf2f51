"""Presign's safe defaults: signed-in users only unless PERMISSION_CLASSES opts in, JSON bodies only (a cross-site
page cannot send one without a CORS preflight), bad JSON a 400 naming the body, counted by the throttle before it is
read, and MAX_BATCH_FILES within MAX_PENDING_PER_CLIENT. (The cross-site page in Chromium:
tests/scenarios/test_cross_site_presign.py.)"""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from realtime_uploads.checks import check_presign
from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.settings_schema import SETTINGS
from realtime_uploads.models import Upload

pytestmark = pytest.mark.django_db

GOOD = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 100}
NESTED = b"[" * 50_000 + b"]" * 50_000  # the probe's 100 KB body


@pytest.fixture
def closed(settings):
    """The app's own default: PERMISSION_CLASSES left out, while the project's DRF default stays AllowAny."""
    settings.REALTIME_UPLOADS = {k: v for k, v in settings.REALTIME_UPLOADS.items() if k != "PERMISSION_CLASSES"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"]}
    return settings


@pytest.fixture
def fresh_cache():
    caches["default"].clear()
    yield
    caches["default"].clear()


def presign(client, body=GOOD, content_type="application/json", url="/api/uploads/"):
    return client.post(url, body, content_type=content_type)


def test_the_default_refuses_anonymous_presign_whatever_the_drf_default_says(client, closed):
    for url, body in [("/api/uploads/", GOOD), ("/api/uploads/batch/", {"files": [GOOD]})]:
        response = presign(client, body, url=url)
        assert response.status_code == 403, response.content
        assert response.json()["detail"].startswith("Authentication credentials were not provided")
        assert "REALTIME_UPLOADS['PERMISSION_CLASSES']" in response.json()["detail"]
    assert client.get("/api/uploads/").status_code == 403  # the history too
    assert not Upload.objects.exists()


def test_the_default_lets_a_signed_in_user_presign(client, closed):
    client.force_login(get_user_model().objects.create_user("ada"))
    response = presign(client)
    assert response.status_code == 201, response.content
    assert Upload.objects.get().owner.username == "ada"
    assert client.get("/api/uploads/").json()["results"][0]["id"] == response.json()["id"]


def test_the_setting_opts_into_anonymous_presign_whatever_the_drf_default_says(client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"]}
    assert settings.REALTIME_UPLOADS["PERMISSION_CLASSES"] == ["rest_framework.permissions.AllowAny"]
    assert presign(client).status_code == 201


@pytest.mark.parametrize(("body", "content_type"), [
    ("filename=a.jpg&content_type=image%2Fjpeg&size=100", "application/x-www-form-urlencoded"),
    ('{"filename": "a.jpg", "content_type": "image/jpeg", "size": 100}', "text/plain;charset=UTF-8"),
    ("--b\r\nContent-Disposition: form-data; name=\"size\"\r\n\r\n100\r\n--b--\r\n", "multipart/form-data; boundary=b"),
])
@pytest.mark.parametrize("url", ["/api/uploads/", "/api/uploads/batch/"])
def test_a_body_a_page_can_send_cross_site_without_a_preflight_is_refused_with_415(client, body, content_type, url):
    response = presign(client, body, content_type=content_type, url=url)
    assert response.status_code == 415, response.content
    assert "application/json" in response.json()["detail"]
    assert content_type.split(";")[0] in response.json()["detail"]
    assert not Upload.objects.exists()


@pytest.mark.parametrize("url", ["/api/uploads/", "/api/uploads/batch/"])
@pytest.mark.parametrize(("body", "reason"), [(NESTED, "nested too deeply"), (b'{"files": [', "Expecting value"),
                                              (b"\xff\xfe", "not valid JSON")])
def test_nested_or_malformed_json_is_a_400_naming_the_body_and_logs_no_error(client, caplog, url, body, reason):
    with caplog.at_level(logging.WARNING):
        response = presign(client, body, url=url)
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert detail.startswith("The request body is not valid JSON") and reason in detail
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not Upload.objects.exists()


@pytest.mark.parametrize("url", ["/api/uploads/", "/api/uploads/batch/"])
def test_the_throttle_counts_bad_bodies_before_reading_them(client, settings, fresh_cache, url):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "PRESIGN_RATE": "60/min"}
    answers = [presign(client, NESTED, url=url).status_code for _ in range(70)]
    assert answers == [400] * 60 + [429] * 10
    refused = presign(client, {"files": [GOOD]} if url.endswith("batch/") else GOOD, url=url)
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"


def test_bodies_a_cross_site_page_can_send_do_not_use_up_the_visitors_rate(client, settings, fresh_cache):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "PRESIGN_RATE": "60/min"}
    form = "filename=a.jpg&content_type=image%2Fjpeg&size=100"
    assert {presign(client, form, content_type="application/x-www-form-urlencoded").status_code
            for _ in range(70)} == {415}
    assert presign(client).status_code == 201


def test_a_batch_still_counts_as_its_size_once_parsed(client, settings, fresh_cache):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "PRESIGN_RATE": "5/min"}
    assert presign(client, {"files": [GOOD] * 3}, url="/api/uploads/batch/").status_code == 201
    refused = presign(client, {"files": [GOOD] * 3}, url="/api/uploads/batch/")
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert Upload.objects.count() == 3


def test_a_full_batch_fits_the_pending_cap_by_default():
    assert SETTINGS["MAX_BATCH_FILES"].default <= SETTINGS["MAX_PENDING_PER_CLIENT"].default


def test_a_full_default_batch_is_presigned_under_the_default_pending_cap(client, settings, fresh_cache):
    settings.REALTIME_UPLOADS = {k: v for k, v in settings.REALTIME_UPLOADS.items()
                                 if k not in ("MAX_PENDING_PER_CLIENT", "MAX_BATCH_FILES", "PRESIGN_RATE")}
    files = [GOOD] * SETTINGS["MAX_BATCH_FILES"].default
    assert presign(client, {"files": files}, url="/api/uploads/batch/").status_code == 201


def ids(errors) -> list[str]:
    return [e.id.removeprefix("realtime_uploads.") for e in errors]


@pytest.mark.parametrize(("values", "expected"), [
    ({}, []),
    ({"MAX_BATCH_FILES": 21}, ["E030"]),
    ({"MAX_BATCH_FILES": 50, "MAX_PENDING_PER_CLIENT": 50}, []),
    ({"MAX_BATCH_FILES": 50, "MAX_PENDING_PER_CLIENT": None}, []),
    ({"PERMISSION_CLASSES": ["rest_framework.permissions.NoSuchThing"]}, ["E031"]),
])
def test_presign_checks(settings, values, expected):
    settings.REALTIME_UPLOADS = {"CALLBACK_SECRETS": ["x" * 40], **values}
    errors = check_presign(None)
    assert ids(errors) == expected
    if expected == ["E030"]:
        assert "MAX_BATCH_FILES" in errors[0].msg and "MAX_PENDING_PER_CLIENT" in errors[0].msg


@pytest.mark.parametrize("value", ["rest_framework.permissions.AllowAny", ["AllowAny"], [3]])
def test_permission_classes_must_be_a_list_of_dotted_paths(settings, value):
    settings.REALTIME_UPLOADS = {"PERMISSION_CLASSES": value}
    with pytest.raises(ImproperlyConfigured, match=r"PERMISSION_CLASSES.*list of dotted paths"):
        uploads_settings.PERMISSION_CLASSES  # noqa: B018 - validates the settings


def test_the_demo_opts_into_anonymous_uploads_explicitly():
    import config.settings as demo

    assert demo.REALTIME_UPLOADS["PERMISSION_CLASSES"] == ["rest_framework.permissions.AllowAny"]
    assert SETTINGS["PERMISSION_CLASSES"].default == ["rest_framework.permissions.IsAuthenticated"]
