"""A double submit to real S3 (moto here): the bucket keeps the last object and sends an event per POST.

The policy cannot refuse the second POST (the local backend does: the first
object wins), so processing must be idempotent over repeated events: the
upload completes once, and a late event changes nothing.
"""

from __future__ import annotations

import json

import pytest

from realtime_uploads.models import Upload
from realtime_uploads.processing.lambda_handler import handler

from .conftest import drain, jpeg_bytes, post_to_s3

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
