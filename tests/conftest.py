"""Shared fixtures. Everything here talks to real parts: the database, the
in-memory or Redis channel layer, the local backend's storage on disk."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from realtime_uploads import services
from realtime_uploads.conf import uploads_settings
from realtime_uploads.signing import SIGNATURE_HEADER, sign_callback


def jpeg_bytes(width: int = 64, height: int = 48, color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=90)
    return out.getvalue()


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
