"""The local backend's sweep: what a killed process left unfinished is found and dispatched again."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from realtime_uploads import services
from realtime_uploads.backends.local import DjangoStorageStore, processor_config
from realtime_uploads.models import Upload
from realtime_uploads.processing.local import LocalDispatcher
from realtime_uploads.recovery import Sweeper, stale_keys

from .conftest import jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def storage(tmp_path):
    return FileSystemStorage(location=tmp_path)


def stored(storage, upload, *, seconds_ago: float) -> None:
    storage.save(upload.key, ContentFile(jpeg_bytes()))
    then = time.time() - seconds_ago
    os.utime(storage.path(upload.key), (then, then))


def backdate(upload, seconds: float, *fields: str) -> None:
    Upload.objects.filter(pk=upload.pk).update(**{f: timezone.now() - timedelta(seconds=seconds) for f in fields})


def test_stale_keys_are_silent_processing_and_pending_with_a_stored_file(make_upload, storage):
    silent, recent, running = make_upload(), make_upload(), make_upload()
    for upload in (silent, recent, running):
        services.upload_mark_processing(upload_id=upload.id)
    backdate(silent, 60, "updated_at")
    backdate(running, 60, "updated_at")
    arrived, no_file, just_arrived = make_upload(), make_upload(), make_upload()
    for upload in (arrived, no_file, just_arrived):
        backdate(upload, 60, "created_at")
    stored(storage, arrived, seconds_ago=40)
    stored(storage, just_arrived, seconds_ago=1)
    keys = stale_keys(storage=storage, retry_after=30, exclude={running.key})
    assert sorted(keys) == sorted([silent.key, arrived.key])


def test_sweep_finishes_an_upload_left_processing_by_a_dead_process(make_upload, storage, live_server, settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS,
                                 "CALLBACK_URL": live_server.url + "/api/uploads/{id}/callback/"}
    orphan = make_upload()
    stored(storage, orphan, seconds_ago=60)
    store = DjangoStorageStore(storage)
    services.upload_mark_processing(upload_id=orphan.id, object_etag=store.head(orphan.key).etag)
    backdate(orphan, 60, "updated_at")
    dispatcher = LocalDispatcher(store=store, config=processor_config(), threads=1)
    try:
        ended, dispatched = Sweeper(dispatcher=dispatcher, storage=storage, retry_after=30).sweep()
        assert (ended, dispatched) == (0, 1)
        deadline = time.monotonic() + 20
        while Upload.objects.get(pk=orphan.pk).status == "processing" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        dispatcher.shutdown(wait=True, timeout=10)
    fresh = Upload.objects.get(pk=orphan.pk)
    assert (fresh.status, fresh.seq) == ("completed", 3)  # the repeated processing report was a no-op
    assert set(fresh.variants.values_list("name", flat=True)) == {"thumb", "large"}


def test_sweep_ends_what_passed_its_deadline_in_the_same_pass(make_upload, storage, settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "PROCESSING_TIMEOUT": 100}
    hopeless = make_upload()
    services.upload_mark_processing(upload_id=hopeless.id)
    backdate(hopeless, 200, "updated_at")
    dispatcher = LocalDispatcher(store=DjangoStorageStore(storage), config=processor_config(), threads=1)
    try:
        ended, dispatched = Sweeper(dispatcher=dispatcher, storage=storage, retry_after=30).sweep()
    finally:
        dispatcher.shutdown(wait=True, timeout=10)
    assert (ended, dispatched) == (1, 0)  # failed/timeout, not retried for ever
    assert Upload.objects.get(pk=hopeless.pk).error_code == "timeout"
