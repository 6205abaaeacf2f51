"""The local backend's sweep: what a killed process left unfinished is found and dispatched again."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from realtime_uploads.local.runner import processor_config
from realtime_uploads.local.sweep import Sweeper, stale_keys
from realtime_uploads.models import Upload
from realtime_uploads.processing.dispatcher import LocalDispatcher
from realtime_uploads.state import services
from realtime_uploads.storage.local import DjangoStorageStore
from tests.conftest import jpeg_bytes

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


def test_a_stored_upload_is_found_behind_more_abandoned_ones_than_the_limit(make_upload, storage):
    abandoned = [make_upload() for _ in range(3)]  # presigned, never sent: pending for their whole lifetime
    for upload in abandoned:
        backdate(upload, 60, "created_at")
    arrived = make_upload()
    backdate(arrived, 50, "created_at")
    stored(storage, arrived, seconds_ago=40)
    assert stale_keys(storage=storage, retry_after=30, exclude=set(), limit=2) == [arrived.key]


def test_a_key_that_keeps_coming_back_is_offered_with_growing_pauses(make_upload, storage, settings):
    """Its report cannot be delivered (nothing listens on the callback port), so it stays processing."""
    from tests.servers import free_port

    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "CALLBACK_ATTEMPTS": 1,
                                 "CALLBACK_URL": f"http://127.0.0.1:{free_port()}/api/uploads/{{id}}/callback/"}
    silent = make_upload()
    stored(storage, silent, seconds_ago=60)
    services.upload_mark_processing(upload_id=silent.id)
    backdate(silent, 60, "updated_at")
    dispatcher = LocalDispatcher(store=DjangoStorageStore(storage), config=processor_config(), threads=1)
    sweeper = Sweeper(dispatcher=dispatcher, storage=storage, retry_after=1)

    def sweep_when_idle() -> int:
        deadline = time.monotonic() + 10
        while dispatcher.in_flight() and time.monotonic() < deadline:
            time.sleep(0.02)
        return sweeper.sweep()[1]

    try:
        offered = [sweep_when_idle(), sweep_when_idle()]  # once, then not again at once
        time.sleep(1.1)
        offered += [sweep_when_idle(), sweep_when_idle()]  # after 1 s once more, then 2 s to wait
        time.sleep(1.1)
        offered.append(sweep_when_idle())  # 1.1 s < 2 s: still waiting
    finally:
        dispatcher.shutdown(wait=True, timeout=10)
    assert offered == [1, 0, 1, 0, 0]
    assert Upload.objects.get(pk=silent.pk).status == "processing"


class UnreachableStorage(FileSystemStorage):
    """Fault injection: a network filesystem or remote storage that stopped answering (none runs here)."""

    def exists(self, name):
        raise OSError(f"storage unreachable while looking for {name}")


def test_a_storage_that_fails_does_not_end_the_sweep(make_upload, tmp_path, settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "EXPIRE_GRACE": 0}
    broken = UnreachableStorage(location=tmp_path)
    late, later = make_upload(), make_upload()
    for upload in (late, later):
        backdate(upload, 60, "expires_at")
    dispatcher = LocalDispatcher(store=DjangoStorageStore(broken), config=processor_config(), threads=1)
    try:
        ended, _dispatched = Sweeper(dispatcher=dispatcher, storage=broken, retry_after=30).sweep()
    finally:
        dispatcher.shutdown(wait=True, timeout=10)
    assert ended == 2  # every one past its deadline, not just those before the first storage error
    assert {u.status for u in Upload.objects.filter(pk__in=[late.pk, later.pk])} == {"expired"}
