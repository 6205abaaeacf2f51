"""The Lambda handler with S3 and SQS event shapes, against moto's S3 and a live Django.

The events are the ones moto's S3 really sent for real POSTs (moto stands in
for AWS, which these machines cannot reach); Lambda's SQS envelope is built
here, as the Lambda service would.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from realtime_uploads.models import Upload
from realtime_uploads.processing.lambda_handler import handler
from tests.conftest import drain, jpeg_bytes, post_to_s3
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def s3_events(queue_url):
    """The S3 event notifications waiting on the queue."""
    return [json.loads(m["Body"]) for m in drain(queue_url)]


def sqs_envelope(*bodies):
    return {"Records": [{"messageId": str(uuid.uuid4()), "receiptHandle": "rh", "body": body,
                         "eventSource": "aws:sqs", "awsRegion": "us-east-1"} for body in bodies]}


def test_direct_s3_event_completes_the_upload(processor_env, make_upload):
    data = jpeg_bytes(900, 600)
    upload = make_upload(size=len(data))
    post_to_s3(upload, data)
    [event] = s3_events(processor_env["queue_url"])
    assert handler(event, None) is None
    fresh = Upload.objects.get(pk=upload.id)
    assert (fresh.status, fresh.seq) == ("completed", 3)
    client = boto3.client("s3")
    head = client.head_object(Bucket="test-uploads", Key=f"variants/{upload.id}/thumb.webp")
    assert head["ContentType"] == "image/webp" and "immutable" in head["CacheControl"]
    tags = client.get_object_tagging(Bucket="test-uploads", Key=upload.key)["TagSet"]
    assert tags == [{"Key": "realtime-uploads-status", "Value": "completed"}]  # kept by the lifecycle rule


def test_keys_with_spaces_and_non_ascii_are_decoded(processor_env, make_upload):
    upload = make_upload()
    key = f"uploads/{upload.id}/holiday photo été+1.jpg"
    boto3.client("s3").put_object(Bucket="test-uploads", Key=key, Body=jpeg_bytes())
    [event] = s3_events(processor_env["queue_url"])
    assert "+" in event["Records"][0]["s3"]["object"]["key"]  # really URL-encoded by S3
    handler(event, None)
    assert Upload.objects.get(pk=upload.id).status == "completed"


def test_sqs_batch_reports_only_failed_messages(processor_env, make_upload, monkeypatch):
    data = jpeg_bytes()
    upload = make_upload(size=len(data))
    post_to_s3(upload, data)
    [event] = s3_events(processor_env["queue_url"])
    batch = sqs_envelope(json.dumps(event), "garbage that is not an S3 event")
    assert handler(batch, None) == {"batchItemFailures": []}  # garbage is dropped, not retried forever
    assert Upload.objects.get(pk=upload.id).status == "completed"


def test_sqs_message_whose_callback_cannot_be_delivered_is_returned_for_retry(processor_env, make_upload,
                                                                              monkeypatch):
    from realtime_uploads.processing import lambda_handler

    data = jpeg_bytes()
    upload = make_upload(size=len(data))
    post_to_s3(upload, data)
    [event] = s3_events(processor_env["queue_url"])
    monkeypatch.setenv("REALTIME_UPLOADS_CALLBACK_URL", f"http://127.0.0.1:{free_port()}/{{id}}/")
    lambda_handler._config.cache_clear()
    batch = sqs_envelope(json.dumps(event))
    answer = handler(batch, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    assert Upload.objects.get(pk=upload.id).status == "pending"


def test_test_event_does_nothing(processor_env):
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "test-uploads"})
    assert handler(sqs_envelope(body), None) == {"batchItemFailures": []}
    assert handler(json.loads(body), None) is None


def test_objects_of_another_bucket_are_skipped(processor_env, make_upload):
    upload = make_upload()
    event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                          "s3": {"bucket": {"name": "someone-elses"}, "object": {"key": upload.key}}}]}
    handler(event, None)
    assert Upload.objects.get(pk=upload.id).seq == 1


def test_lambda_renders_in_process_bounded_by_its_own_timeout(processor_env):
    """Unlike the worker, no forkserver child per image in Lambda (see the module docstring and docs/processing.md)."""
    from realtime_uploads.processing.lambda_handler import _config

    assert _config().isolate is False
