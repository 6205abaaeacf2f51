"""Shared fixtures. Everything here talks to real parts: the database, the
in-memory or Redis channel layer, the local backend's storage on disk."""

from __future__ import annotations

import io
import json
import os

import pytest
from hypothesis import HealthCheck, settings
from PIL import Image

from realtime_uploads.conf import uploads_settings
from realtime_uploads.core.signing import SIGNATURE_HEADER, sign_callback
from realtime_uploads.state import services

# Property-based fuzzing: brief in `make test`; HYPOTHESIS_PROFILE=long runs 20x the examples.
settings.register_profile("default", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def jpeg_bytes(width: int = 64, height: int = 48, color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="session", autouse=True)
def _close_asgiref_thread_connections(django_db_setup):
    """Tests call sync_to_async(...), which runs in asgiref's one process-wide thread; close what it opened
    there before pytest-django drops the test database (PostgreSQL refuses while a session is open)."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)


@pytest.fixture(autouse=True)
def _release_worker_connections():
    """The database executor's workers keep their connections between calls; no test leaves them open."""
    yield
    from realtime_uploads.runtime.executor import release_connections

    release_connections()


@pytest.fixture
def make_upload(db):
    """Create a pending upload through the service (``filename``, ``size``… overridable)."""

    def make(**overrides):
        values = {"filename": "cat.jpg", "content_type": "image/jpeg", "size": 1234}
        values.update(overrides)
        return services.upload_create(**values)

    return make


def signed_headers(body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> dict:
    secret = secret or uploads_settings.CALLBACK_SECRETS[0]
    return {SIGNATURE_HEADER: sign_callback(body, secret, timestamp=timestamp)}


@pytest.fixture
def post_callback(client):
    """POST a signed callback body for an upload id with Django's test client."""

    def post(upload_id, payload, **sign_kwargs):
        """``payload`` gets ``"id": upload_id`` unless it sets its own ``id`` (or ``id=None`` to drop it)."""
        payload = {"id": str(upload_id), **payload}
        if payload["id"] is None:
            del payload["id"]
        body = json.dumps(payload).encode()
        return client.post(
            f"/api/uploads/{upload_id}/callback/",
            data=body,
            content_type="application/json",
            headers=signed_headers(body, **sign_kwargs),
        )

    return post


def completed_payload(upload_id, *, names=("thumb",)) -> dict:
    return {
        "status": "completed",
        "original": {"width": 4000, "height": 3000, "format": "JPEG"},
        "variants": [
            {"name": n, "key": f"variants/{upload_id}/{n}.webp", "width": 320, "height": 240,
             "format": "WEBP", "size": 10422}
            for n in names
        ],
    }


@pytest.fixture(scope="session")
def moto_endpoint():
    """One moto server (S3, SQS, Secrets Manager, SSM over real HTTP) for the session."""
    from .servers import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    """boto3 pointed at the moto server, its state reset, and a provisioned bucket + queue.

    moto stands in for AWS itself, which these machines cannot reach.
    """
    import urllib.request

    from realtime_uploads.core.s3_client import reset_clients
    from realtime_uploads.processing.provision import provision

    from .servers import aws_env

    urllib.request.urlopen(urllib.request.Request(moto_endpoint + "/moto-api/reset", method="POST"))  # noqa: S310
    for name, value in aws_env(moto_endpoint).items():
        monkeypatch.setenv(name, value)
    reset_clients()
    queue_url = provision(bucket="test-uploads", queue="test-uploads-events", origins=["http://testserver"])
    import boto3

    boto3.client("sqs").purge_queue(QueueUrl=queue_url)  # the s3:TestEvent; tests send their own
    yield {"endpoint": moto_endpoint, "bucket": "test-uploads", "queue_url": queue_url}
    reset_clients()


@pytest.fixture
def s3_settings(aws, settings):
    """The s3 backend pointed at the moto bucket."""
    settings.REALTIME_UPLOADS = {
        **settings.REALTIME_UPLOADS, "BACKEND": "s3", "BUCKET": aws["bucket"], "ADDRESSING_STYLE": "path"}
    return aws


@pytest.fixture
def processor_env(aws, live_server, settings, monkeypatch):
    """The processor's environment (as Lambda or the worker would have it), calling back to a live Django."""
    from realtime_uploads.processing import lambda_handler

    settings.REALTIME_UPLOADS = {**settings.REALTIME_UPLOADS, "BACKEND": "s3", "BUCKET": aws["bucket"],
                                 "ADDRESSING_STYLE": "path"}
    env = {
        "REALTIME_UPLOADS_CALLBACK_URL": live_server.url + "/api/uploads/{id}/callback/",
        "REALTIME_UPLOADS_CALLBACK_SECRET": settings.REALTIME_UPLOADS["CALLBACK_SECRETS"][0],
        "REALTIME_UPLOADS_BUCKET": aws["bucket"],
        "REALTIME_UPLOADS_CALLBACK_ATTEMPTS": "2",
        "REALTIME_UPLOADS_CALLBACK_BACKOFF": "0.05",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    lambda_handler._config.cache_clear()
    yield {**aws, "live_server": live_server}
    lambda_handler._config.cache_clear()


def post_to_s3(upload, data: bytes) -> None:
    """The browser's step: POST the presigned fields and the file to the S3 server."""
    import httpx

    from realtime_uploads.storage import get_backend

    post = get_backend().presign(upload, request=None)
    answer = httpx.post(post["url"], data=post["fields"], files={"file": ("f", data, upload.content_type)})
    assert answer.status_code == 204, answer.text


def drain(queue_url: str, *, wait: int = 1) -> list[dict]:
    """Receive (without deleting) every message now visible on the queue."""
    import boto3

    sqs = boto3.client("sqs")
    messages = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait,
                                  VisibilityTimeout=0).get("Messages", [])
        fresh = [m for m in got if m["MessageId"] not in {x["MessageId"] for x in messages}]
        if not fresh:
            return messages
        messages.extend(fresh)
