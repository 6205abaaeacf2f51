"""Deleting on S3 (moto's server over real HTTP): DeleteObjects in batches, the DELETE API end to end,
a cancelled upload's late object, and the bucket's lifecycle rules."""

from __future__ import annotations

import boto3
import pytest

from realtime_uploads.core.s3_client import LIFECYCLE_TAG
from realtime_uploads.models import Upload
from realtime_uploads.state import purge, services
from realtime_uploads.state.access import make_subscribe_token
from realtime_uploads.storage import get_backend
from tests.conftest import completed_payload

pytestmark = pytest.mark.django_db(transaction=True)


def keys_in(bucket: str) -> set[str]:
    s3 = boto3.client("s3")
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys |= {o["Key"] for o in page.get("Contents", [])}
    return keys


def put(bucket: str, *keys: str) -> None:
    s3 = boto3.client("s3")
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"bytes")


def test_delete_sends_batches_of_at_most_1000_keys_and_ignores_missing_ones(s3_settings, monkeypatch):
    bucket = s3_settings["bucket"]
    keys = [f"variants/k{i:04d}.webp" for i in range(1500)]
    s3 = boto3.client("s3")
    for start in range(0, 1500, 100):  # moto is quick; 1500 small PUTs
        for key in keys[start:start + 100]:
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    backend = get_backend()
    calls = []
    real = backend.client.delete_objects

    def counting(**kwargs):
        calls.append(len(kwargs["Delete"]["Objects"]))
        return real(**kwargs)

    monkeypatch.setattr(backend.client, "delete_objects", counting)
    backend.delete([*keys, "variants/never-stored.webp"])
    assert calls == [1000, 501]
    assert keys_in(bucket) == set()


def test_deleting_a_completed_upload_deletes_its_original_and_variants_from_the_bucket(s3_settings, make_upload,
                                                                                      client):
    bucket = s3_settings["bucket"]
    upload = make_upload()
    payload = completed_payload(upload.id, names=("thumb", "large"))
    variant_keys = [v["key"] for v in payload["variants"]]
    other = make_upload()
    put(bucket, upload.key, *variant_keys, other.key)
    services.upload_mark_completed(upload_id=upload.id, original=payload["original"], variants=payload["variants"])
    response = client.delete(f"/api/uploads/{upload.id}/?token={make_subscribe_token(upload.id)}")
    assert response.status_code == 204
    assert purge.wait(20)
    assert keys_in(bucket) == {other.key}  # only this upload's objects went
    assert not Upload.objects.filter(pk=upload.id).exists()


def test_a_cancelled_uploads_late_object_is_deleted_when_its_processing_report_comes(s3_settings, make_upload,
                                                                                      post_callback):
    bucket = s3_settings["bucket"]
    upload = make_upload()
    services.upload_cancel(upload_id=upload.id)
    put(bucket, upload.key)  # the browser's POST landed after the cancel
    response = post_callback(upload.id, {"status": "processing"})
    assert response.status_code == 409 and response.json()["code"] == "upload_cancelled"
    assert purge.wait(20)
    assert keys_in(bucket) == set()


def test_the_bucket_expires_originals_that_never_completed(aws):
    rules = boto3.client("s3").get_bucket_lifecycle_configuration(Bucket=aws["bucket"])["Rules"]
    [rule] = [r for r in rules if r["ID"] == "expire-never-processed-uploads"]
    assert rule["Status"] == "Enabled" and rule["Expiration"] == {"Days": 1}
    assert rule["Filter"]["And"]["Prefix"] == "uploads/"
    assert rule["Filter"]["And"]["Tags"] == [{"Key": LIFECYCLE_TAG, "Value": "pending"}]
