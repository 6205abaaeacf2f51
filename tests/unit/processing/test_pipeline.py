"""process_object against real storage on disk and a live Django answering its callbacks."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage

from realtime_uploads.local.runner import processor_config
from realtime_uploads.models import Upload
from realtime_uploads.processing.pipeline import process_object
from realtime_uploads.state import services
from realtime_uploads.storage.local import DjangoStorageStore
from tests.conftest import completed_payload, jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def config(live_server, settings):
    settings.REALTIME_UPLOADS = {
        **settings.REALTIME_UPLOADS, "CALLBACK_URL": live_server.url + "/api/uploads/{id}/callback/"}
    return processor_config()


@pytest.fixture
def store(tmp_path):
    return DjangoStorageStore(FileSystemStorage(location=tmp_path))


def stored_upload(make_upload, store, data: bytes):
    upload = make_upload(size=len(data))
    store.storage.save(upload.key, ContentFile(data))
    return upload


def test_original_becomes_variants_and_a_completed_upload(make_upload, store, config):
    upload = stored_upload(make_upload, store, jpeg_bytes(1000, 500))
    outcome = process_object(upload.key, store=store, config=config)
    assert (outcome.status, outcome.upload_id) == ("completed", str(upload.id))
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.seq, fresh.original_width, fresh.original_height) == ("completed", 3, 1000, 500)
    thumb = fresh.variants.get(name="thumb")
    assert thumb.key == f"variants/{upload.id}/thumb.webp"
    assert (thumb.width, thumb.height) == (320, 160)
    with store.open(thumb.key) as f:
        assert len(f.read()) == thumb.size


def test_bad_bytes_end_failed_with_a_stable_code(make_upload, store, config):
    upload = stored_upload(make_upload, store, jpeg_bytes(400, 300)[:600])
    outcome = process_object(upload.key, store=store, config=config)
    fresh = Upload.objects.get(pk=upload.id)
    assert (outcome.status, fresh.status, fresh.error_code) == ("failed", "failed", "corrupt_image")
    assert not fresh.variants.exists()


def test_object_over_max_size_is_refused_before_reading(make_upload, store, config, settings):
    upload = stored_upload(make_upload, store, jpeg_bytes(400, 300))
    small = type(config)(**{**config.__dict__, "max_size": 100})
    outcome = process_object(upload.key, store=store, config=small)
    assert outcome.reason == "too_large"
    assert Upload.objects.get(pk=upload.id).error_code == "too_large"


def test_missing_object_is_a_storage_error(make_upload, store, config):
    upload = make_upload()
    process_object(upload.key, store=store, config=config)
    assert Upload.objects.get(pk=upload.id).error_code == "storage_error"


def test_redelivered_event_for_a_finished_upload_changes_nothing(make_upload, store, config):
    upload = stored_upload(make_upload, store, jpeg_bytes())
    payload = completed_payload(upload.id)
    services.upload_mark_completed(upload_id=upload.id, original=payload["original"], variants=payload["variants"])
    outcome = process_object(upload.key, store=store, config=config)
    assert outcome.status == "skipped"
    fresh = Upload.objects.get(pk=upload.id)
    assert fresh.seq == 2 and fresh.variants.count() == 1
    assert not store.storage.exists(f"variants/{upload.id}/large.jpg")  # nothing rendered


@pytest.mark.parametrize("key", ["variants/8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1/thumb.webp", "other/x.jpg"])
def test_keys_outside_the_upload_prefix_are_skipped_without_callbacks(store, config, key):
    outcome = process_object(key, store=store, config=config)
    assert (outcome.status, outcome.reason) == ("skipped", "not an upload key")  # decided before any callback


def test_unknown_upload_is_skipped(store, config):
    key = "uploads/8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1/x.jpg"
    store.storage.save(key, ContentFile(io.BytesIO(jpeg_bytes()).read()))
    assert process_object(key, store=store, config=config).reason == "callback answered 404"


def test_object_replaced_while_processing_ends_failed_not_mixed(make_upload, store, config, monkeypatch):
    upload = stored_upload(make_upload, store, jpeg_bytes(400, 300))
    real_open = store.open

    def replaced_first(key, *, etag=None):  # the browser re-POSTs between the HEAD and the GET
        store.storage.delete(key)
        store.storage.save(key, ContentFile(jpeg_bytes(10, 10)))
        return real_open(key, etag=etag)

    monkeypatch.setattr(store, "open", replaced_first)
    outcome = process_object(upload.key, store=store, config=config)
    fresh = Upload.objects.get(pk=upload.id)
    assert (outcome.status, fresh.status, fresh.error_code) == ("failed", "failed", "storage_error")
    assert "replaced" in fresh.error_message
    assert not fresh.variants.exists()


def test_callbacks_name_the_upload_and_the_object_version(make_upload, store, config):
    upload = stored_upload(make_upload, store, jpeg_bytes())
    process_object(upload.key, store=store, config=config)
    fresh = Upload.objects.get(pk=upload.id)
    assert fresh.object_etag == store.head(upload.key).etag


def test_an_unexpected_error_ends_failed_internal_error_never_stuck(make_upload, store, config, monkeypatch,
                                                                      caplog):
    """Any exception the pipeline does not know about is reported, with a message a user can act on."""
    from realtime_uploads.processing import pipeline

    upload = stored_upload(make_upload, store, jpeg_bytes())

    def broken(*args, **kwargs):
        raise KeyError("a bug deep in a decoder")

    monkeypatch.setattr(pipeline, "render_variants", broken)
    outcome = process_object(upload.key, store=store, config=config)
    fresh = Upload.objects.get(pk=upload.id)
    assert (outcome.status, fresh.status, fresh.error_code) == ("failed", "failed", "internal_error")
    assert "try again" in fresh.error_message
    assert "a bug deep in a decoder" not in fresh.error_message  # internals stay in the log
    assert any("a bug deep in a decoder" in r.exc_text for r in caplog.records if r.exc_text)


def test_palette_png_with_an_over_long_trns_renders_instead_of_crashing(make_upload, store, config):
    """Pillow's convert() raised 'palette index out of range'; libpng ignores the excess alphas."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = b"".join(b"\0" + bytes([0, 1] * 8) for _ in range(16))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 3, 0, 0, 0))
           + chunk(b"PLTE", bytes([255, 0, 0, 0, 0, 255])) + chunk(b"tRNS", bytes([0, 255] * 150))
           + chunk(b"IDAT", zlib.compress(pixels)) + chunk(b"IEND", b""))
    upload = stored_upload(make_upload, store, png)
    outcome = process_object(upload.key, store=store, config=config)
    fresh = Upload.objects.get(pk=upload.id)
    assert (outcome.status, fresh.status) == ("completed", "completed")
    assert (fresh.original_width, fresh.original_height, fresh.original_format) == (16, 16, "PNG")
