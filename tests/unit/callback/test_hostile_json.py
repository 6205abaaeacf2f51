"""Nested or malformed JSON in a signed callback is a 400 naming the body, on both paths, never a 500.

The outside probe (issue 16) sent 100 KB of nested JSON (``[`` x 50 000 then
``]`` x 50 000); to the batch presign it was a 500 with a ``RecursionError``
logged at ERROR. The callback parses its body itself
(:func:`realtime_uploads.callback.body.parse_callback_json`); this checks it
through the fast path ahead of Django and through Django's view, signed (an
unsigned body is refused before it is parsed) and with nothing logged at ERROR.
"""

from __future__ import annotations

import json
import logging

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.core.asgi import get_asgi_application

from asgi import application
from realtime_uploads.core.signing import SIGNATURE_HEADER, sign_callback
from realtime_uploads.state import services

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

BODIES = {
    "nested 100 KB": b"[" * 50_000 + b"]" * 50_000,
    "nested objects": b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    "nested in a field": b'{"id": "ID", "status": "completed", "variants": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "truncated": b'{"id": "ID", "status": "proc',
    "not UTF-8": b'{"id": "\xff\xfe"}',
    "empty": b"",
    "a list": b"[1, 2]",
    "a huge number": b'{"id": "ID", "status": "processing", "seq": 1' + b"0" * 5000 + b"}",
}


async def _post(app, path: str, body: bytes) -> tuple[int, dict]:
    secret = settings.REALTIME_UPLOADS["CALLBACK_SECRETS"][0]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
             "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                         (SIGNATURE_HEADER.lower().encode(), sign_callback(body, secret).encode())]}
    comm = ApplicationCommunicator(app, scope)
    await comm.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await comm.receive_output(10)
    chunk = await comm.receive_output(10)
    await comm.wait(1)
    return start["status"], json.loads(chunk["body"])


@pytest.mark.parametrize("path", ["fast", "django"])
@pytest.mark.parametrize("name", list(BODIES))
async def test_a_signed_callback_with_bad_json_is_400_naming_the_body(path, name, caplog):
    upload = await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=5)
    body = BODIES[name].replace(b"ID", str(upload.id).encode())
    app = application if path == "fast" else get_asgi_application()
    with caplog.at_level(logging.INFO):
        status, answer = await _post(app, f"/api/uploads/{upload.id}/callback/", body)
    assert status == 400, answer
    assert answer and all(isinstance(key, str) for key in answer)
    if name != "a list":  # valid JSON, not an object: the body is named too
        assert "The request body is not valid JSON" in answer["detail"], answer
    else:
        assert answer["detail"] == ["The body must be a JSON object."]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert "Traceback" not in caplog.text
