"""Checks E020/W020: ``manage.py check`` fails when a URL pattern would serve the local backend's originals."""

from __future__ import annotations

import sys
import types

import pytest
from django.conf.urls.static import static
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import include, path

from realtime_uploads.checks.originals import check_originals_private


@pytest.fixture
def urlconf(settings):
    """Install ``urlpatterns`` (the app's URLs plus ``extra``) as ROOT_URLCONF."""
    module = types.ModuleType("storage_check_urls")
    sys.modules[module.__name__] = module

    def install(*extra):
        module.urlpatterns = [path("api/", include("realtime_uploads.urls")), *extra]
        settings.ROOT_URLCONF = module.__name__

    yield install
    del sys.modules[module.__name__]


def ids():
    return [message.id for message in check_originals_private(None)]


def test_the_default_setup_passes_even_with_media_served(settings, urlconf):
    settings.DEBUG = True
    urlconf(*static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT))
    assert ids() == []


def test_static_media_serving_a_folder_with_the_originals_is_an_error(settings, urlconf, tmp_path):
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "LOCAL_ROOT": tmp_path / "private"}
    urlconf(*static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT))
    messages = check_originals_private(None)
    assert [m.id for m in messages] == ["realtime_uploads.E020", "realtime_uploads.W020"]
    assert "media/" in messages[0].msg and "EXIF" in messages[0].msg and "LOCAL_ROOT" in messages[0].hint
    assert "MEDIA_ROOT" in messages[1].msg
    with pytest.raises(SystemCheckError, match="realtime_uploads.E020"):
        call_command("check")


def test_static_media_with_media_root_unset_serves_the_project_folder_and_is_an_error(settings, urlconf, tmp_path,
                                                                                     monkeypatch):
    """A fresh startproject: MEDIA_ROOT "" is the working directory to serve(), and the default LOCAL_ROOT is
    in BASE_DIR, the same folder."""
    settings.DEBUG = True
    settings.MEDIA_ROOT = ""
    settings.BASE_DIR = tmp_path
    settings.REALTIME_UPLOADS = {k: v for k, v in settings.REALTIME_UPLOADS.items() if k != "LOCAL_ROOT"}
    monkeypatch.chdir(tmp_path)
    urlconf(*static("/media/", document_root=settings.MEDIA_ROOT))
    assert ids() == ["realtime_uploads.E020"]


def test_serving_the_originals_folder_itself_or_inside_it_is_an_error(settings, urlconf):
    from django.views.static import serve

    from realtime_uploads.storage.local import local_root

    urlconf(path("files/<path:path>", serve, {"document_root": local_root()}))
    assert ids() == ["realtime_uploads.E020"]
    urlconf(path("o/<path:path>", serve, {"document_root": f"{local_root()}/uploads/some-id"}))
    assert ids() == ["realtime_uploads.E020"]
    urlconf(path("v/<path:path>", serve, {"document_root": f"{local_root()}/variants"}))
    assert ids() == []  # the variants alone may be served


def test_originals_inside_media_root_are_a_warning(settings, urlconf):
    urlconf()
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "LOCAL_ROOT": settings.MEDIA_ROOT}
    assert ids() == ["realtime_uploads.W020"]


def test_the_s3_backend_is_not_checked(s3_settings, settings, urlconf):
    settings.DEBUG = True
    urlconf(*static(settings.MEDIA_URL, document_root="/"))
    assert ids() == []
