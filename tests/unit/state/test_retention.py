"""Retention (``manage.py cleanup_uploads``): a seeded set loses exactly what the settings say, files included.

Real parts: the database (SQLite file, or PostgreSQL with DATABASE_URL), the
local backend's files on disk, a model with real reference fields
(tests/formsapp).
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from realtime_uploads.models import Status, Upload
from realtime_uploads.state import purge, services
from realtime_uploads.state.retention import uploads_cleanup
from realtime_uploads.storage import get_backend
from tests.conftest import completed_payload
from tests.formsapp.models import Avatar, Profile

pytestmark = pytest.mark.django_db(transaction=True)

DAY = 86400


def storage():
    return get_backend().storage


def seed(make_upload, status, *, age, name, stored=True):
    """An upload in ``status`` whose last change was ``age`` seconds ago, its files stored."""
    upload = make_upload(filename=f"{name}.jpg", size=100)
    if stored:
        storage().save(upload.key, ContentFile(b"o" * 100))
    if status == Status.PROCESSING:
        services.upload_mark_processing(upload_id=upload.id)
    elif status == Status.COMPLETED:
        payload = completed_payload(upload.id)
        for variant in payload["variants"]:
            storage().save(variant["key"], ContentFile(b"v" * 10))
        services.upload_mark_completed(upload_id=upload.id, original=payload["original"],
                                       variants=payload["variants"])
    elif status == Status.FAILED:
        services.upload_mark_failed(upload_id=upload.id, error_code="not_an_image")
    elif status == Status.EXPIRED:
        services.upload_mark_expired(upload_id=upload.id)
    elif status == Status.CANCELLED:
        services.upload_cancel(upload_id=upload.id)
    Upload.objects.filter(pk=upload.id).update(updated_at=timezone.now() - timedelta(seconds=age))
    return Upload.objects.get(pk=upload.id)


@pytest.fixture
def seeded(make_upload):
    """One of each kind, by name."""
    made = {
        "failed_old": seed(make_upload, Status.FAILED, age=2 * DAY, name="failed_old"),
        "failed_new": seed(make_upload, Status.FAILED, age=60, name="failed_new"),
        "expired_old": seed(make_upload, Status.EXPIRED, age=2 * DAY, name="expired_old", stored=False),
        "cancelled_old": seed(make_upload, Status.CANCELLED, age=2 * DAY, name="cancelled_old"),
        "pending_old": seed(make_upload, Status.PENDING, age=2 * DAY, name="pending_old"),
        "processing_old": seed(make_upload, Status.PROCESSING, age=2 * DAY, name="processing_old"),
        "completed_old": seed(make_upload, Status.COMPLETED, age=2 * DAY, name="completed_old"),
        "completed_new": seed(make_upload, Status.COMPLETED, age=60, name="completed_new"),
        "completed_photo": seed(make_upload, Status.COMPLETED, age=2 * DAY, name="completed_photo"),
        "completed_gallery": seed(make_upload, Status.COMPLETED, age=2 * DAY, name="completed_gallery"),
        "failed_in_gallery": seed(make_upload, Status.FAILED, age=2 * DAY, name="failed_in_gallery"),
        "completed_avatar": seed(make_upload, Status.COMPLETED, age=2 * DAY, name="completed_avatar"),
    }
    profile = Profile.objects.create(name="p", photo=made["completed_photo"])
    profile.gallery.set([made["completed_gallery"], made["failed_in_gallery"]])
    Avatar.objects.create(upload=made["completed_avatar"])  # one-to-one with CASCADE: deleting it would take this
    return made


def left(seeded) -> set[str]:
    ids = {str(pk) for pk in Upload.objects.values_list("pk", flat=True)}
    return {name for name, upload in seeded.items() if str(upload.pk) in ids}


def run(*args) -> tuple[int, int]:
    out = StringIO()
    call_command("cleanup_uploads", *args, stdout=out)
    match = re.match(r"(\d+) upload\(s\) [^,]*, (?:[\d.]+ \w+ \()?(\d+) bytes\)? (?:would be )?freed",
                     out.getvalue())
    assert match, out.getvalue()
    return int(match[1]), int(match[2])


def test_by_default_unfinished_uploads_go_after_a_day_with_their_files_and_nothing_else(seeded):
    gone = {"failed_old", "expired_old", "cancelled_old"}
    # Originals of failed_old and cancelled_old (100 bytes each); expired_old's never arrived.
    assert run("--dry-run") == (3, 200)
    assert left(seeded) == set(seeded)  # the dry run deleted nothing
    assert run() == (3, 200)
    assert left(seeded) == set(seeded) - gone
    for name in gone:
        assert not storage().exists(seeded[name].key)
    assert storage().exists(seeded["failed_new"].key) and storage().exists(seeded["completed_old"].key)
    assert run() == (0, 0)


def test_unreferenced_completed_uploads_go_only_when_opted_in(seeded, settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "RETAIN_UNREFERENCED": DAY}
    assert run() == (4, 200 + 100 + 10422)  # + completed_old: its original, its variant (as reported)
    assert left(seeded) == set(seeded) - {"failed_old", "expired_old", "cancelled_old", "completed_old"}
    assert not storage().exists(f"variants/{seeded['completed_old'].pk}/thumb.webp")
    # Referenced ones stay (a foreign key, a gallery's link rows), whatever their status.
    assert {"completed_photo", "completed_gallery", "failed_in_gallery", "completed_avatar"} <= left(seeded)
    assert Avatar.objects.count() == 1


def test_none_keeps_unfinished_uploads(seeded, settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "RETAIN_UNFINISHED": None}
    assert run() == (0, 0)


def test_limit_bounds_one_run_oldest_first(seeded):
    Upload.objects.filter(pk=seeded["cancelled_old"].pk).update(
        updated_at=timezone.now() - timedelta(days=30))
    assert run("--limit", "1") == (1, 100)
    assert "cancelled_old" not in left(seeded) and {"failed_old", "expired_old"} <= left(seeded)


def test_a_bad_limit_is_refused_naming_it(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--limit"):
        call_command("cleanup_uploads", "--limit", "0")


def test_concurrent_runs_delete_each_upload_and_each_file_once(make_upload, monkeypatch):
    uploads = [seed(make_upload, Status.FAILED, age=2 * DAY, name=f"f{i}") for i in range(12)]
    backend = get_backend()
    deleted: list[str] = []
    real_delete = backend.delete
    lock = threading.Lock()

    def spying(keys):
        with lock:
            deleted.extend(keys)
        real_delete(keys)

    monkeypatch.setattr(backend, "delete", spying)
    results = []
    start = threading.Barrier(3)

    def worker():
        try:
            start.wait()
            with purge.synchronously():
                results.append(uploads_cleanup(limit=100))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 3
    assert sum(r.removed for r in results) == 12
    claimed = [pk for r in results for pk in r.ids]
    assert sorted(claimed) == sorted(str(u.pk) for u in uploads)  # each by exactly one run
    assert sorted(deleted) == sorted(u.key for u in uploads)  # each file deleted once
    assert sum(r.bytes for r in results) == 12 * 100
    assert not Upload.objects.exists()


def test_the_local_sweep_runs_the_retention(make_upload):
    from realtime_uploads.local.sweep import Sweeper

    old = seed(make_upload, Status.CANCELLED, age=2 * DAY, name="old")

    class Dispatcher:
        def in_flight(self):
            return set()

        def submit(self, key):
            return None

    Sweeper(dispatcher=Dispatcher(), storage=storage(), retry_after=30).sweep()
    assert not Upload.objects.filter(pk=old.pk).exists() and not storage().exists(old.key)


def test_the_commands_the_docs_schedule_exist():
    """docs/deploying.md's crontab and ECS task run these commands: each must be one of ours."""
    from django.core.management import get_commands

    from tests.servers import ROOT

    text = (ROOT / "docs" / "deploying.md").read_text()
    named = set(re.findall(r"manage\.py (\w+)", text))
    assert {"cleanup_uploads", "expire_uploads"} <= named
    assert named <= set(get_commands()), named - set(get_commands())


def test_files_storage_would_not_delete_make_the_command_fail_naming_them(seeded, monkeypatch):
    from django.core.management.base import CommandError

    from realtime_uploads.exceptions import StorageError
    from realtime_uploads.state import purge
    from realtime_uploads.storage.local import LocalBackend

    tries = []

    def refuse(self, keys):
        tries.append(list(keys))
        raise StorageError("the disk is read-only")

    monkeypatch.setattr(LocalBackend, "delete", refuse)
    monkeypatch.setattr(purge, "FIRST_PAUSE", 0.0)
    with pytest.raises(CommandError, match=r"3 stored object\(s\).*could not be deleted"):
        call_command("cleanup_uploads", stdout=StringIO())
    assert len(tries) == purge.ATTEMPTS * 3  # retried, for each of the three deleted uploads' originals
    assert storage().exists(seeded["failed_old"].key)  # still there: the command said so instead of "freed"
