"""Every state transition: legal ones bump seq and publish once after commit,
illegal ones raise and change nothing, repeats are no-ops."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from realtime_uploads import signals
from realtime_uploads.exceptions import IllegalTransition, UploadNotFound
from realtime_uploads.models import Status, Upload
from realtime_uploads.state import expiry, services
from realtime_uploads.state.events import group_name
from tests.conftest import completed_payload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listener():
    """A real channel on the channel layer, joined to an upload's group."""
    layer = get_channel_layer()
    state = {}

    def listen(upload):
        state["channel"] = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(group_name(upload.id), state["channel"])

    def received():
        out = []
        while True:
            try:
                out.append(async_to_sync(_receive_now)(layer, state["channel"]))
            except TimeoutError:
                return out

    listen.received = received
    return listen


async def _receive_now(layer, channel):
    import asyncio

    return await asyncio.wait_for(layer.receive(channel), timeout=0.05)


def to(status, upload):
    if status == Status.PROCESSING:
        return services.upload_mark_processing(upload_id=upload.id)
    if status == Status.COMPLETED:
        p = completed_payload(upload.id)
        return services.upload_mark_completed(upload_id=upload.id, original=p["original"], variants=p["variants"])
    if status == Status.FAILED:
        return services.upload_mark_failed(upload_id=upload.id, error_code="not_an_image", error_message="nope")
    if status == Status.CANCELLED:
        return services.upload_cancel(upload_id=upload.id)
    return services.upload_mark_expired(upload_id=upload.id)


def test_create_makes_a_pending_upload_with_seq_1_and_a_safe_key(make_upload):
    upload = make_upload(filename="../../secret/été.JPG")
    assert upload.status == Status.PENDING and upload.seq == 1
    assert upload.key == f"uploads/{upload.id}/ete.JPG"
    assert upload.expires_at > upload.created_at


LEGAL = [
    (Status.PENDING, Status.PROCESSING),
    (Status.PENDING, Status.COMPLETED),
    (Status.PENDING, Status.FAILED),
    (Status.PENDING, Status.EXPIRED),
    (Status.PROCESSING, Status.COMPLETED),
    (Status.PROCESSING, Status.FAILED),
    (Status.PENDING, Status.CANCELLED),
    (Status.PROCESSING, Status.CANCELLED),
]


def reach(status, upload):
    if status == Status.PROCESSING:
        to(Status.PROCESSING, upload)
    elif status != Status.PENDING:
        to(status, upload)
    return Upload.objects.get(pk=upload.id)


@pytest.mark.parametrize(("start", "end"), LEGAL)
def test_legal_transition_bumps_seq_and_publishes_one_event(make_upload, listener, start, end):
    upload = reach(start, make_upload())
    listener(upload)
    result = to(end, upload)
    fresh = Upload.objects.get(pk=upload.id)
    assert result.changed and fresh.status == end and fresh.seq == upload.seq + 1
    events = listener.received()
    assert [(e["status"], e["seq"]) for e in events] == [(end, upload.seq + 1)]


ILLEGAL = [
    (a, b)
    for a in Status
    for b in (Status.PROCESSING, Status.COMPLETED, Status.FAILED, Status.EXPIRED, Status.CANCELLED)
    if a != b and (a, b) not in LEGAL
]


@pytest.mark.parametrize(("start", "end"), ILLEGAL)
def test_illegal_transition_raises_and_changes_nothing(make_upload, listener, start, end):
    upload = reach(start, make_upload())
    listener(upload)
    with pytest.raises(IllegalTransition):
        to(end, upload)
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.seq) == (upload.status, upload.seq)
    assert fresh.variants.count() == upload.variants.count()
    assert listener.received() == []


@pytest.mark.parametrize("status", [Status.PROCESSING, Status.COMPLETED, Status.FAILED, Status.EXPIRED])
def test_repeating_the_status_reached_is_a_no_op_that_publishes_nothing(make_upload, listener, status):
    upload = reach(status, make_upload())
    listener(upload)
    result = to(status, upload)
    fresh = Upload.objects.get(pk=upload.id)
    assert not result.changed
    assert fresh.seq == upload.seq
    assert listener.received() == []


def test_completed_stores_original_and_variants(make_upload):
    upload = make_upload()
    to(Status.COMPLETED, upload)
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.original_width, fresh.original_height, fresh.original_format) == (4000, 3000, "JPEG")
    assert list(fresh.variants.values_list("name", "width", "height", "size")) == [("thumb", 320, 240, 10422)]


def test_unknown_upload_raises_not_found(db):
    with pytest.raises(UploadNotFound):
        services.upload_mark_processing(upload_id="8a0c0ab9-5a51-4ac1-9d8c-93f4b7c1b0b1")


def test_event_is_published_only_after_commit_and_not_on_rollback(make_upload, listener):
    upload = make_upload()
    listener(upload)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.upload_mark_processing(upload_id=upload.id)
        assert listener.received() == []  # not before commit
        raise RuntimeError("roll back")
    assert listener.received() == []
    assert Upload.objects.get(pk=upload.id).status == Status.PENDING


def test_signals_fire_on_completed_and_failed(make_upload):
    seen = []

    def record(sender, upload, **kwargs):
        seen.append((kwargs["signal"], upload.status))

    signals.upload_completed.connect(record)
    signals.upload_failed.connect(record)
    try:
        to(Status.COMPLETED, make_upload())
        to(Status.FAILED, make_upload())
    finally:
        signals.upload_completed.disconnect(record)
        signals.upload_failed.disconnect(record)
    assert seen == [(signals.upload_completed, "completed"), (signals.upload_failed, "failed")]


def test_expire_marks_only_pending_uploads_past_expiry_plus_grace(make_upload, settings):
    from datetime import timedelta

    from django.utils import timezone

    old, fresh, busy = make_upload(), make_upload(), make_upload()
    past = timezone.now() - timedelta(seconds=1000)
    Upload.objects.filter(pk__in=[old.pk, busy.pk]).update(expires_at=past)
    services.upload_mark_processing(upload_id=busy.id)
    assert expiry.uploads_expire() == 1
    statuses = dict(Upload.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "expired", fresh.pk: "pending", busy.pk: "processing"}


def test_neither_path_of_a_transition_sends_model_save_signals(make_upload):
    """The one-statement UPDATE and the locked general path (taken here with a guard) look alike to receivers."""
    from django.db.models.signals import post_save, pre_save

    saved = []

    def record(sender, instance, **kwargs):
        saved.append(kwargs["signal"])

    fast, general = make_upload(), make_upload()
    pre_save.connect(record, sender=Upload)
    post_save.connect(record, sender=Upload)
    try:
        services.upload_mark_processing(upload_id=fast.id)
        services.upload_mark_expired(upload_id=general.id, guard=lambda upload: True)  # a guard: the general path
        services.upload_mark_processing(upload_id=str(fast.id))  # repeat, general path, no change
    finally:
        pre_save.disconnect(record, sender=Upload)
        post_save.disconnect(record, sender=Upload)
    assert saved == []
    assert Upload.objects.get(pk=fast.id).seq == 2 and Upload.objects.get(pk=general.id).status == Status.EXPIRED


def test_a_receiver_that_raises_cannot_undo_or_hide_a_committed_change(make_upload, listener, caplog):
    """signals.py's promise: logged, the change stands, its event goes out, and the next receiver still runs."""
    heard = []

    def broken(sender, upload, **kwargs):
        raise RuntimeError("project receiver bug")

    def after_it(sender, upload, **kwargs):
        heard.append(upload.pk)

    upload = make_upload()
    listener(upload)
    signals.upload_failed.connect(broken)
    signals.upload_failed.connect(after_it)
    try:
        result = services.upload_mark_failed(upload_id=upload.id, error_code="not_an_image", error_message="x")
    finally:
        signals.upload_failed.disconnect(broken)
        signals.upload_failed.disconnect(after_it)
    assert result.changed and Upload.objects.get(pk=upload.id).status == Status.FAILED
    assert [e["status"] for e in listener.received()] == ["failed"]
    assert "project receiver bug" in caplog.text
    assert heard == [upload.id]
