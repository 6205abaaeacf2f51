"""Every upload ends: processing past PROCESSING_TIMEOUT, and pending past its expiry, each told truthfully."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from realtime_uploads.models import Upload
from realtime_uploads.state import expiry, services
from tests.unit.state.test_services import listener  # noqa: F401 - a fixture: a real channel joined to the upload's group

pytestmark = pytest.mark.django_db(transaction=True)


def age(upload, **fields_seconds_ago):
    """Move ``updated_at`` / ``expires_at`` / ``created_at`` that many seconds into the past."""
    now = timezone.now()
    Upload.objects.filter(pk=upload.pk).update(
        **{name: now - timedelta(seconds=seconds) for name, seconds in fields_seconds_ago.items()})


def test_processing_past_the_timeout_fails_with_timeout_and_is_pushed(make_upload, listener, settings):  # noqa: F811
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "PROCESSING_TIMEOUT": 60}
    stuck, busy = make_upload(), make_upload()
    services.upload_mark_processing(upload_id=stuck.id)
    services.upload_mark_processing(upload_id=busy.id)
    age(stuck, updated_at=61)
    age(busy, updated_at=30)
    listener(stuck)
    assert expiry.uploads_expire(object_exists=lambda key: True) == 1
    fresh = Upload.objects.get(pk=stuck.pk)
    assert (fresh.status, fresh.error_code, fresh.seq) == ("failed", "timeout", 3)
    assert "60 seconds" in fresh.error_message
    assert Upload.objects.get(pk=busy.pk).status == "processing"
    assert [(e["status"], e["error"]["code"]) for e in listener.received()] == [("failed", "timeout")]


def test_pending_past_expiry_is_called_expired_only_when_no_file_arrived(make_upload):
    arrived, absent, unknown = make_upload(), make_upload(), make_upload()
    for upload in (arrived, absent, unknown):
        age(upload, expires_at=10_000)
    presence = {arrived.key: True, absent.key: False, unknown.key: None}
    assert expiry.uploads_expire(object_exists=presence.__getitem__) == 3
    got = {u.pk: (u.status, u.error_code, u.error_message) for u in Upload.objects.all()}
    assert got[arrived.pk][:2] == ("failed", "timeout") and "arrived" in got[arrived.pk][2]
    assert got[absent.pk] == ("expired", "expired", "No file arrived before the upload expired.")
    assert got[unknown.pk][:2] == ("expired", "expired") and "No file arrived" not in got[unknown.pk][2]


def test_a_change_that_lands_first_is_never_overwritten_by_the_deadline(make_upload, settings, monkeypatch):
    """The deadline is decided again on the locked row: a callback that won the race stands."""
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "PROCESSING_TIMEOUT": 60}
    upload = make_upload()
    services.upload_mark_processing(upload_id=upload.id)
    age(upload, updated_at=120)
    real = services.upload_mark_timed_out

    def completed_just_before(**kwargs):
        services.upload_mark_failed(upload_id=upload.id, error_code="not_an_image", error_message="x")
        return real(**kwargs)

    monkeypatch.setattr(expiry, "upload_mark_timed_out", completed_just_before)
    assert expiry.uploads_expire(object_exists=lambda key: True) == 0
    fresh = Upload.objects.get(pk=upload.pk)
    assert (fresh.status, fresh.error_code, fresh.seq) == ("failed", "not_an_image", 3)


def test_expire_uploads_command_asks_the_backend_whether_the_file_arrived(make_upload, settings, tmp_path):
    from django.core.files.base import ContentFile

    from realtime_uploads.storage import get_backend

    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "LOCAL_ROOT": tmp_path}
    arrived, absent = make_upload(), make_upload()
    get_backend().storage.save(arrived.key, ContentFile(b"bytes"))
    age(arrived, expires_at=10_000)
    age(absent, expires_at=10_000)
    out = StringIO()
    call_command("expire_uploads", stdout=out)
    assert "2 upload(s)" in out.getvalue()
    assert Upload.objects.get(pk=arrived.pk).error_code == "timeout"
    assert Upload.objects.get(pk=absent.pk).status == "expired"
