"""The local backend's files: variants served by the app's own URL, originals at no URL at all.

A photo goes the whole way (presign, the browser's POST, the in-process
processor calling back a live server), then every URL the app serves, and
the documented ``static(MEDIA_URL, …)`` setup, is tried for its original.
"""

from __future__ import annotations

import os
import sys
import types

import pytest
from django.conf.urls.static import static
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import include, path

from realtime_uploads.storage import get_backend
from tests.conftest import jpeg_bytes
from tests.unit.local.test_post_object import post_file, presign, wait_for_status

pytestmark = pytest.mark.django_db(transaction=True)

FILES = "/api/uploads/local/files/"


@pytest.fixture
def completed(client, live_server, settings):
    """A photo uploaded and processed by a signed-in user: ``(presign answer, original bytes, upload)``."""
    settings.REALTIME_UPLOADS = {
        **settings.REALTIME_UPLOADS, "CALLBACK_URL": live_server.url + "/api/uploads/{id}/callback/"}
    user = get_user_model().objects.create_user("owner", password="x")
    client.force_login(user)
    data = jpeg_bytes(800, 600)
    p = presign(client, len(data))
    assert post_file(client, p["upload"]["fields"], data).status_code == 204
    return p, data, wait_for_status(p["id"], "completed")


def test_variants_are_served_by_the_apps_url_with_their_type_and_cache_headers(client, completed):
    p, _, upload = completed
    event = client.get(f"/api/uploads/{p['id']}/").json()
    files = [f for variant in event["variants"] for f in variant["formats"]]
    assert len(files) >= 4  # thumb and large, each in AVIF and a fallback
    storage = get_backend().storage
    for file in files:
        assert file["url"].startswith(f"{FILES}variants/{upload.id}/"), file["url"]
        answer = client.get(file["url"])
        assert answer.status_code == 200, file["url"]
        assert answer["Content-Type"] == file["type"]  # image/avif too, whatever mimetypes knows
        assert answer["Cache-Control"] == "public, max-age=31536000, immutable"
        assert answer["X-Content-Type-Options"] == "nosniff"
        key = file["url"].removeprefix(FILES)
        with storage.open(key) as stored:
            assert b"".join(answer.streaming_content) == stored.read()
    head = client.head(files[0]["url"])
    assert head.status_code == 200 and head["Content-Type"] == files[0]["type"]
    assert client.post(files[0]["url"]).status_code == 405


def test_the_original_is_404_at_the_apps_file_url_whatever_the_path(client, completed):
    p, data, upload = completed
    key = p["upload"]["fields"]["key"]
    assert get_backend().storage.exists(key)  # it is stored, just never served
    name = key.rsplit("/", 1)[1]
    tries = [
        key,
        f"variants/../{key}",
        f"variants/%2e%2e/{key}",
        f"variants/..%2f{key}",
        f"variants/%2e%2e%2f{key}",
        f"variants/{upload.id}/../../{key}",
        f"variants//{key}",
        f"variants/./../{key}",
        f"variants\\..\\{key}",
        f"variants/..%5c{key}".replace("/", "%2f"),
        f"variants/%00/../{key}",
        f"/{get_backend().root}/{key}",
        f"{get_backend().root}/{key}",
        f"variants/{upload.id}/",
        f"variants/{upload.id}",
        f"uploads/{upload.id}/{name}",
        "variants/",
        "../../../../../../etc/passwd",
        f"{key}\n",
        f"variants/{upload.id}/thumb.webp\n/../../../{key}",
        "",
    ]
    for tried in tries:
        answer = client.get(FILES + tried)
        assert answer.status_code == 404, tried
        assert answer.json()["detail"] == "No such variant.", tried  # the app's answer, whatever the path
        assert data not in answer.content


def test_a_link_in_the_variants_folder_to_an_original_is_not_followed(client, completed):
    p, _, upload = completed
    backend = get_backend()
    link = os.path.join(backend.root, "variants", str(upload.id), "leak.jpg")
    os.symlink(backend.storage.path(p["upload"]["fields"]["key"]), link)
    assert client.get(f"{FILES}variants/{upload.id}/leak.jpg").status_code == 404


def test_originals_are_not_under_media_root_so_static_media_serving_cannot_expose_them(client, completed, settings):
    """The obvious fix the trial reached for, ``urlpatterns += static(MEDIA_URL, document_root=MEDIA_ROOT)``,
    serves MEDIA_ROOT, and the local backend keeps nothing there."""
    p, data, upload = completed
    settings.DEBUG = True  # static() adds its pattern only then
    urlconf = types.ModuleType("media_urls_for_test")
    urlconf.urlpatterns = [path("api/", include("realtime_uploads.urls")),
                           *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)]
    sys.modules[urlconf.__name__] = urlconf
    settings.ROOT_URLCONF = urlconf.__name__
    try:
        (settings.MEDIA_ROOT / "proof.txt").write_text("served")
        assert client.get(settings.MEDIA_URL + "proof.txt").status_code == 200  # MEDIA_URL is served
        key = p["upload"]["fields"]["key"]
        variant = upload.variants.first().key
        anyone = Client(raise_request_exception=False)
        for tried in (key, variant, f"../{os.path.basename(get_backend().root)}/{key}"):
            answer = anyone.get(settings.MEDIA_URL + tried)
            assert answer.status_code in (400, 404), tried  # 400: Django's serve() refuses the traversal
            assert data not in answer.content
        assert client.get(FILES + variant).status_code == 200  # the variant is at the app's URL instead
    finally:
        del sys.modules[urlconf.__name__]


def test_the_files_url_serves_nothing_when_the_backend_is_s3(client, s3_settings):
    assert client.get(f"{FILES}variants/x/thumb.webp").status_code == 404


def test_the_default_folder_is_in_base_dir_not_in_media_root(settings):
    from realtime_uploads.storage.local import LocalBackend

    settings.REALTIME_UPLOADS = {key: value for key, value in settings.REALTIME_UPLOADS.items() if key != "LOCAL_ROOT"}
    settings.BASE_DIR = settings.MEDIA_ROOT.parent / "project"
    backend = LocalBackend()
    assert backend.root == str(settings.BASE_DIR / ".realtime_uploads")
    with pytest.raises(NotImplementedError):
        backend.storage.url("uploads/x/p.jpg")  # no URL of its own (not MEDIA_URL): nothing serves it whole


def test_local_root_takes_a_path_with_spaces(settings, tmp_path):
    from realtime_uploads.storage.local import LocalBackend

    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "LOCAL_ROOT": tmp_path / "my files"}
    assert LocalBackend().root == str(tmp_path / "my files")
