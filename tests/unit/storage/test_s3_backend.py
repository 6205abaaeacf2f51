"""The s3 backend against moto's server over real HTTP (moto stands in for AWS itself).

moto does not enforce POST policies, so the policy document is checked
condition by condition here; S3's enforcement of the same document is then
known to match the local backend's (tests/unit/local/test_post_object.py).
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime

import boto3
import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.errors import StorageError
from realtime_uploads.core.s3_client import s3_client
from realtime_uploads.processing.s3 import S3Store
from realtime_uploads.storage import get_backend
from tests.conftest import jpeg_bytes

pytestmark = pytest.mark.django_db


def presigned(make_upload, **kw):
    upload = make_upload(**kw)
    return upload, get_backend().presign(upload, request=None)


def test_policy_pins_bucket_exact_key_type_size_range_and_expiry(s3_settings, make_upload):
    upload, post = presigned(make_upload)
    fields = post["fields"]
    doc = json.loads(base64.b64decode(fields["policy"]))
    conditions = doc["conditions"]
    assert {"bucket": "test-uploads"} in conditions
    assert {"key": upload.key} in conditions and fields["key"] == upload.key
    assert {"Content-Type": "image/jpeg"} in conditions and fields["Content-Type"] == "image/jpeg"
    assert ["content-length-range", upload.size, upload.size] in conditions  # exactly the declared size
    tagging = "<Tagging><TagSet><Tag><Key>realtime-uploads-status</Key><Value>pending</Value></Tag></TagSet></Tagging>"
    assert {"tagging": tagging} in conditions and fields["tagging"] == tagging  # for the lifecycle rule
    ours = [c for c in conditions if not (isinstance(c, dict) and next(iter(c)).startswith("x-amz-"))]
    assert len(ours) == 5  # bucket, key, Content-Type, tagging, content-length-range: nothing looser
    assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]
    expiration = datetime.strptime(doc["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((expiration - upload.expires_at).total_seconds()) <= 2


def test_presigned_post_is_sigv4_even_in_us_east_1(s3_settings, make_upload):
    _, post = presigned(make_upload)
    fields = post["fields"]
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert {"x-amz-credential", "x-amz-date", "x-amz-signature"} <= set(fields)
    assert "AWSAccessKeyId" not in fields and "signature" not in fields  # no legacy SigV2
    assert post["url"] == f"{s3_settings['endpoint']}/test-uploads"  # path-style for the S3-compatible server


def test_browser_post_of_the_fields_stores_the_object_privately(s3_settings, make_upload):
    data = jpeg_bytes()
    upload, post = presigned(make_upload, size=len(data))
    answer = httpx.post(post["url"], data=post["fields"], files={"file": ("cat.jpg", data, "image/jpeg")})
    assert answer.status_code == 204
    client = boto3.client("s3")
    head = client.head_object(Bucket="test-uploads", Key=upload.key)
    assert (head["ContentType"], head["ContentLength"]) == ("image/jpeg", len(data))
    anonymous = httpx.get(f"{s3_settings['endpoint']}/test-uploads/{upload.key}")
    assert anonymous.status_code == 403  # the bucket blocks public access


def test_variant_url_is_a_presigned_get_that_fetches_the_object(s3_settings):
    boto3.client("s3").put_object(Bucket="test-uploads", Key="variants/x/thumb.webp", Body=b"pixels")
    url = get_backend().variant_url("variants/x/thumb.webp")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=3600" in url
    assert httpx.get(url).content == b"pixels"


def test_public_base_url_builds_plain_variant_urls(s3_settings, settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "PUBLIC_BASE_URL": "https://cdn.example.com/"}
    assert get_backend().variant_url("variants/a b/thumb.webp") == "https://cdn.example.com/variants/a%20b/thumb.webp"


def test_one_client_per_process_shared_by_threads_and_created_once(aws, monkeypatch):
    """ASGI servers run each sync request in a fresh thread: a per-thread cache would never hit."""
    import boto3

    created = []
    real = boto3.session.Session

    class CountingSession(real):
        def client(self, *args, **kwargs):
            created.append(1)
            return super().client(*args, **kwargs)

    monkeypatch.setattr(boto3.session, "Session", CountingSession)
    start = threading.Barrier(8)
    got = []

    def first_use():
        start.wait()
        got.append(s3_client(addressing_style="path"))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(created) == 1 and len({id(client) for client in got}) == 1
    assert s3_client(addressing_style="virtual") is not got[0]  # another configuration, another client


def test_object_exists_tells_present_absent_and_unknown(s3_settings, make_upload, monkeypatch):
    from botocore.exceptions import ClientError

    from tests.conftest import post_to_s3

    upload = make_upload()
    backend = get_backend()
    assert backend.object_exists(upload.key) is False
    post_to_s3(upload, jpeg_bytes())
    assert backend.object_exists(upload.key) is True
    # moto grants every request; an identity without s3:GetObject on originals gets a 403 from AWS,
    # which says nothing about presence: stand that answer in for the real IAM refusal.
    denied = ClientError({"Error": {"Code": "403"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "HeadObject")
    monkeypatch.setattr(backend.client, "head_object", lambda **kw: (_ for _ in ()).throw(denied))
    assert backend.object_exists(upload.key) is None

def test_s3_backend_requires_a_bucket(settings):
    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "BACKEND": "s3"}
    with pytest.raises(ImproperlyConfigured, match="BUCKET"):
        uploads_settings.BUCKET  # noqa: B018


def test_store_maps_missing_and_forbidden_objects_to_permanent_errors(aws):
    store = S3Store("test-uploads", client=s3_client(addressing_style="path"))
    with pytest.raises(StorageError) as info:
        store.head("uploads/nope.jpg")
    assert "404" in str(info.value) and not info.value.retryable
    with pytest.raises(StorageError) as info:
        S3Store("no-such-bucket", client=store.client).open("x")
    assert not info.value.retryable


def test_store_network_failure_is_retryable():
    from botocore.config import Config

    from tests.servers import free_port

    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{free_port()}", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=1))
    with pytest.raises(StorageError) as info:
        S3Store("b", client=client).head("k")
    assert info.value.retryable


def test_store_streams_objects_and_refuses_more_than_max_read(aws):
    client = s3_client(addressing_style="path")
    client.put_object(Bucket="test-uploads", Key="uploads/big", Body=b"x" * 5000)
    with S3Store("test-uploads", client=client).open("uploads/big") as f:
        assert f.read() == b"x" * 5000
    with pytest.raises(StorageError, match="grew past"):
        S3Store("test-uploads", client=client, max_read=4000).open("uploads/big")


def test_store_puts_variants_with_content_type_and_cache_control(aws):
    store = S3Store("test-uploads", client=s3_client(addressing_style="path"))
    store.put("variants/x/t.webp", b"data", content_type="image/webp", cache_control="public, max-age=60")
    head = store.client.head_object(Bucket="test-uploads", Key="variants/x/t.webp")
    assert (head["ContentType"], head["CacheControl"]) == ("image/webp", "public, max-age=60")



def test_open_of_a_replaced_object_is_refused_by_if_match(aws):
    client = s3_client(addressing_style="path")
    store = S3Store("test-uploads", client=client)
    client.put_object(Bucket="test-uploads", Key="uploads/v", Body=b"first")
    first = store.head("uploads/v")
    client.put_object(Bucket="test-uploads", Key="uploads/v", Body=b"second version")
    with pytest.raises(StorageError, match="412") as info:
        store.open("uploads/v", etag=first.etag)
    assert not info.value.retryable
    with store.open("uploads/v", etag=store.head("uploads/v").etag) as f:
        assert f.read() == b"second version"
