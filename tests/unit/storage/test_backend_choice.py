"""BACKEND names a class: "local", "s3", or a project's own StorageBackend by dotted path; a wrong one is E005."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from realtime_uploads.checks import check_settings
from realtime_uploads.storage import backend_class, get_backend
from realtime_uploads.storage.base import StorageBackend
from realtime_uploads.storage.local import LocalBackend

pytestmark = pytest.mark.django_db(transaction=True)


class ProjectBackend(StorageBackend):
    """What a project plugs in without editing the package."""

    name = "project"

    def presign(self, upload: Any, *, request: Any = None) -> dict[str, Any]:
        policy = self.policy_for(upload)
        return {"url": "https://uploads.example/", "fields": {**policy.fields(), "x-project": "1"}}

    def variant_url(self, key: str) -> str:
        return f"https://cdn.example/{key}"


def _uploads(settings, **values):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, **values}


def test_the_short_names_are_the_shipped_classes(settings):
    _uploads(settings, BACKEND="local")
    assert backend_class() is LocalBackend
    _uploads(settings, BACKEND="realtime_uploads.storage.local.LocalBackend")
    assert isinstance(get_backend(), LocalBackend)


def test_a_projects_own_backend_presigns_through_the_api(settings, client):
    _uploads(settings, BACKEND=f"{__name__}.ProjectBackend")
    assert isinstance(get_backend(), ProjectBackend)
    answer = client.post("/api/uploads/", {"filename": "a.jpg", "content_type": "image/jpeg", "size": 5},
                         content_type="application/json").json()
    assert answer["upload"]["url"] == "https://uploads.example/"
    assert answer["upload"]["fields"]["x-project"] == "1"
    assert answer["upload"]["fields"]["key"].endswith("/a.jpg")


@pytest.mark.parametrize(("path", "says"), [
    ("myproject.nowhere.Backend", "cannot be imported"),
    ("realtime_uploads.storage.policy.PostPolicy", "is not a subclass"),
])
def test_a_backend_that_does_not_import_or_is_not_a_backend_is_e005_naming_the_setting(settings, path, says):
    _uploads(settings, BACKEND=path)
    errors = [e for e in check_settings(None) if e.id == "realtime_uploads.E005"]
    assert len(errors) == 1 and "REALTIME_UPLOADS['BACKEND']" in errors[0].msg and says in errors[0].msg
    with pytest.raises(ImproperlyConfigured, match=says):
        get_backend()


def test_a_name_that_is_neither_short_nor_dotted_is_refused_when_the_settings_load(settings):
    _uploads(settings, BACKEND="ftp")
    errors = [e for e in check_settings(None) if e.id == "realtime_uploads.E001"]
    assert errors and "'local' or 's3', or the dotted path" in errors[0].msg
