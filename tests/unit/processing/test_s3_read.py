"""S3Store.read, the pipeline's one GET, against moto's server over real HTTP (moto stands in for AWS).

It must name the version of exactly the bytes it returned (no HEAD before it,
no If-Match after it: see tests/unit/storage/test_s3_double_submit.py for why) and never
read more than MAX_SIZE + 1 bytes of an object, whatever the object claims.
"""

from __future__ import annotations

import pytest
from botocore.response import StreamingBody

from realtime_uploads.core.errors import TOO_LARGE, ProcessingError
from realtime_uploads.core.s3_client import s3_client
from realtime_uploads.models import Upload
from realtime_uploads.processing.lambda_handler import _config, handler
from realtime_uploads.processing.s3 import S3Store
from tests.conftest import jpeg_bytes, post_to_s3
from tests.unit.storage.test_s3_double_submit import events


@pytest.fixture
def body_bytes_read(monkeypatch):
    """Count the body bytes botocore hands to our code (instrumentation of the AWS client, not a mock)."""
    counted = []
    real_read = StreamingBody.read

    def read(self, amt=None):
        chunk = real_read(self, amt)
        counted.append(len(chunk))
        return chunk

    monkeypatch.setattr(StreamingBody, "read", read)
    return counted


def test_read_returns_the_bytes_with_the_etag_of_that_very_get(aws):
    client = s3_client(addressing_style="path")
    client.put_object(Bucket="test-uploads", Key="uploads/v", Body=b"first version")
    store = S3Store("test-uploads", client=client)
    info, stream = store.read("uploads/v", max_size=100)
    client.put_object(Bucket="test-uploads", Key="uploads/v", Body=b"second")  # replaced after the GET
    with stream:
        assert stream.read() == b"first version"
    assert info.size == len(b"first version")
    assert info.etag != store.head("uploads/v").etag  # the first version's ETag, not the current one


def test_object_over_max_size_is_refused_from_its_length_before_its_body_is_read(aws, body_bytes_read):
    client = s3_client(addressing_style="path")
    client.put_object(Bucket="test-uploads", Key="uploads/big", Body=b"x" * 50_000)
    with pytest.raises(ProcessingError) as info:
        S3Store("test-uploads", client=client).read("uploads/big", max_size=4000)
    assert info.value.code == TOO_LARGE and "50000 bytes" in info.value.message
    assert sum(body_bytes_read) == 0


def test_a_body_longer_than_its_stated_length_is_cut_at_max_size_plus_one(aws, body_bytes_read):
    """A server (or a proxy) whose ContentLength understates the body: still no more than max_size + 1."""
    real = s3_client(addressing_style="path")
    real.put_object(Bucket="test-uploads", Key="uploads/big", Body=b"x" * 3_000_000)

    class Understating:
        def get_object(self, **kwargs):
            answer = real.get_object(**kwargs)
            return {**answer, "ContentLength": 10}

    with pytest.raises(ProcessingError) as info:
        S3Store("test-uploads", client=Understating()).read("uploads/big", max_size=4000)
    assert info.value.code == TOO_LARGE
    assert sum(body_bytes_read) == 4001


def test_oversized_upload_ends_failed_too_large_through_the_handler(processor_env, make_upload, monkeypatch,
                                                                     body_bytes_read):
    data = jpeg_bytes(300, 200)
    upload = make_upload(size=len(data))
    post_to_s3(upload, data)
    monkeypatch.setenv("REALTIME_UPLOADS_MAX_SIZE", "100")  # the processor's bound, below what Django signed
    _config.cache_clear()
    [event] = events(processor_env["queue_url"])
    handler(event, None)
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.error_code) == ("failed", "too_large")
    assert sum(body_bytes_read) == 0
