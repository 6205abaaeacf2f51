"""A double submit to real S3 (moto here): the bucket keeps the last object and sends an event per POST.

The policy cannot refuse the second POST (the local backend does: the first
object wins), so processing must be idempotent over repeated events: the
upload completes once, and a late event changes nothing. Each event reads
the object before it reports ``processing`` with the ETag of what it read:
the first version Django pins is rendered, every other event gets 409 and
skips (issue 7, finding 7).
"""

from __future__ import annotations

import json

import pytest

from realtime_uploads.models import Upload
from realtime_uploads.processing.lambda_handler import handler
from tests.conftest import drain, jpeg_bytes, post_to_s3

pytestmark = pytest.mark.django_db(transaction=True)


def events(queue_url):
    return [json.loads(m["Body"]) for m in drain(queue_url)]


def test_two_posts_before_processing_complete_the_upload_once(processor_env, make_upload):
    data = jpeg_bytes(300, 200)
    upload = make_upload(size=len(data))
    post_to_s3(upload, data)
    post_to_s3(upload, data)
    first, second = events(processor_env["queue_url"])
    handler(first, None)
    handler(second, None)  # the same object version: an idempotent repeat
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.error_code, fresh.seq) == ("completed", "", 3)
    assert fresh.variants.count() == 2


def test_a_post_after_completion_changes_nothing(processor_env, make_upload):
    data = jpeg_bytes(300, 200)
    upload = make_upload(size=len(data))
    post_to_s3(upload, data)
    [first] = events(processor_env["queue_url"])
    handler(first, None)
    other = jpeg_bytes(300, 200, color=(0, 0, 250))
    post_to_s3(upload, other[:len(data)].ljust(len(data), b"\0"))  # same declared size, other bytes
    [second] = [e for e in events(processor_env["queue_url"]) if e != first]  # drain() leaves messages queued
    handler(second, None)  # another version: Django answers 409, the processor skips
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.error_code, fresh.seq) == ("completed", "", 3)


# --- The window between learning the object's version and reading it ----------------------------------
#
# The second POST is injected deterministically by wrapping OUR CallbackClient.send: just before the first
# ``processing`` report leaves, the browser's second POST lands (and, in one test, a second worker runs its
# whole event). Before the fix the processor HEADed, reported, then GET with If-Match: that GET met the new
# version, S3 answered 412, and a good upload ended failed/storage_error.


def same_size_jpegs(first: tuple[int, int], second: tuple[int, int]) -> tuple[bytes, bytes]:
    """Two valid JPEGs (other pixels, other ETags) padded after their EOI to one length: the declared size."""
    a, b = jpeg_bytes(*first), jpeg_bytes(*second, color=(0, 0, 250))
    size = max(len(a), len(b)) + 16
    return a.ljust(size, b"\0"), b.ljust(size, b"\0")


@pytest.fixture
def before_first_processing_report(monkeypatch):
    """Run ``action()`` once, just before the first ``processing`` callback is sent (the injected window)."""
    from realtime_uploads.processing.callback_client import CallbackClient

    real_send = CallbackClient.send
    pending = []

    def send(self, upload_id, payload, *args, **kwargs):
        if payload.get("status") == "processing" and pending:
            pending.pop()()
        return real_send(self, upload_id, payload, *args, **kwargs)

    monkeypatch.setattr(CallbackClient, "send", send)
    return pending.append


def test_second_post_between_read_and_report_leaves_the_first_version_completed(
        processor_env, make_upload, before_first_processing_report):
    first, second = same_size_jpegs((300, 200), (200, 300))
    upload = make_upload(size=len(first))
    post_to_s3(upload, first)
    [event] = events(processor_env["queue_url"])
    before_first_processing_report(lambda: post_to_s3(upload, second))
    handler(event, None)
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.error_code) == ("completed", "")
    assert (fresh.original_width, fresh.original_height) == (300, 200)  # rendered from the bytes it pinned
    assert fresh.variants.count() == 2
    [late] = [e for e in events(processor_env["queue_url"]) if e != event]
    handler(late, None)  # reads the second version: Django answers 409 and the processor skips quietly
    again = Upload.objects.get(pk=upload.id)
    assert (again.status, again.error_code, again.seq, again.object_etag) == ("completed", "", 3, fresh.object_etag)


def test_whichever_event_pins_first_wins_and_the_other_skips(processor_env, make_upload,
                                                             before_first_processing_report):
    """Worker A has read the first version; the second POST lands and worker B processes it completely
    before A's report: B's version is pinned and rendered, A gets 409 and reports nothing more."""
    first, second = same_size_jpegs((300, 200), (200, 300))
    upload = make_upload(size=len(first))
    post_to_s3(upload, first)
    [event_a] = events(processor_env["queue_url"])

    def second_worker_runs_first():
        post_to_s3(upload, second)
        [event_b] = [e for e in events(processor_env["queue_url"]) if e != event_a]
        handler(event_b, None)

    before_first_processing_report(second_worker_runs_first)
    handler(event_a, None)
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.error_code, fresh.seq) == ("completed", "", 3)
    assert (fresh.original_width, fresh.original_height) == (200, 300)  # B's version, the one S3 keeps
    import boto3

    stored = boto3.client("s3").head_object(Bucket=processor_env["bucket"], Key=upload.key)
    assert fresh.object_etag == stored["ETag"]


def test_ten_posts_racing_the_worker_complete_the_upload_once_never_failed(processor_env, make_upload):
    """Not deterministic (the two tests above are): ten POSTs of ten versions while the worker processes
    their events four at a time. Whatever the interleaving, one version is pinned and completed."""
    import threading

    from tests.unit.processing.test_worker import run_until_idle, worker

    versions = [jpeg_bytes(300, 200, color=(25 * i, 40, 200 - 20 * i)) for i in range(10)]
    size = max(map(len, versions)) + 16
    upload = make_upload(size=size)
    w = worker(processor_env, concurrency=4, isolate=False)
    thread = threading.Thread(target=w.run)
    thread.start()
    try:
        for data in versions:
            post_to_s3(upload, data.ljust(size, b"\0"))
    finally:
        w.stop.set()
        thread.join(timeout=20)
    run_until_idle(worker(processor_env, concurrency=4, isolate=False), processor_env["queue_url"])
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.error_code, fresh.seq) == ("completed", "", 3)
    assert fresh.variants.count() == 2
