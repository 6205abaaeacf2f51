"""The push path ahead of Django's middleware (realtime_uploads.callback.fast_path), through the full ASGI app.

Django's XFrameOptionsMiddleware adds ``X-Frame-Options`` to every response
it sees, so its absence shows a request was answered on the fast path.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.urls import include, path

from asgi import application
from realtime_uploads.core.signing import SIGNATURE_HEADER, sign_callback
from realtime_uploads.push import longpoll
from realtime_uploads.state import services
from realtime_uploads.state.access import make_subscribe_token

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

urlpatterns = [path("v2/storage/", include("realtime_uploads.urls"))]  # for the prefix test


def scope(method: str, path_: str, query: str = "", headers=()) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path_, "raw_path": path_.encode(), "root_path": "",
            "query_string": query.encode(), "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
            "headers": [(b"host", b"127.0.0.1:8000"), *headers]}


async def request(method, path_, *, query="", body=b"", headers=()):
    comm = ApplicationCommunicator(application, scope(method, path_, query, headers))
    await comm.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await comm.receive_output(10)
    chunk = await comm.receive_output(10)
    await comm.wait(1)
    return start["status"], {k.lower(): v for k, v in start["headers"]}, chunk.get("body", b"")


async def new_upload():
    return await sync_to_async(services.upload_create)(filename="a.jpg", content_type="image/jpeg", size=5)


def signed(upload_id, status="processing"):
    body = json.dumps({"id": str(upload_id), "status": status}).encode()
    from django.conf import settings

    secret = settings.REALTIME_UPLOADS["CALLBACK_SECRETS"][0]
    return body, [(SIGNATURE_HEADER.lower().encode(), sign_callback(body, secret).encode()),
                  (b"content-type", b"application/json")]


async def test_signed_callback_is_answered_on_the_fast_path():
    upload = await new_upload()
    body, headers = signed(upload.id)
    status, response_headers, raw = await request("POST", f"/api/uploads/{upload.id}/callback/", body=body,
                                                  headers=headers)
    assert status == 200 and json.loads(raw)["seq"] == 2
    assert b"x-frame-options" not in response_headers  # Django's middleware never ran
    assert response_headers[b"x-content-type-options"] == b"nosniff"


async def test_fast_path_answers_as_the_django_view_does_for_bad_requests():
    upload = await new_upload()
    status, _headers, raw = await request("POST", f"/api/uploads/{upload.id}/callback/", body=b"{}")
    assert status == 401 and json.loads(raw)["code"] == "missing_signature"
    body, headers = signed(upload.id, status="done")
    status, _headers, raw = await request("POST", f"/api/uploads/{upload.id}/callback/", body=body,
                                          headers=headers)
    assert status == 400 and "status" in json.loads(raw)


async def test_a_token_long_poll_is_on_the_fast_path_and_everything_else_goes_to_django():
    upload = await new_upload()
    token = make_subscribe_token(str(upload.id))
    status, headers, raw = await request("GET", f"/api/uploads/{upload.id}/", query=f"token={token}")
    assert (status, json.loads(raw)["seq"]) == (200, 1) and b"x-frame-options" not in headers
    status, headers, _raw = await request("GET", f"/api/uploads/{upload.id}/", query="token=forged")
    assert status == 403 and b"x-frame-options" in headers  # refused by Django's view
    status, headers, _raw = await request("GET", "/")
    assert status == 200 and b"x-frame-options" in headers


async def test_the_fast_path_follows_the_projects_url_prefix(settings):
    settings.ROOT_URLCONF = __name__
    upload = await new_upload()
    body, headers = signed(upload.id)
    status, response_headers, _raw = await request("POST", f"/v2/storage/uploads/{upload.id}/callback/",
                                                   body=body, headers=headers)
    assert status == 200 and b"x-frame-options" not in response_headers


async def test_an_oversized_callback_body_is_refused_with_413_before_it_is_all_read(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    upload = await new_upload()
    comm = ApplicationCommunicator(application, scope("POST", f"/api/uploads/{upload.id}/callback/"))
    await comm.send_input({"type": "http.request", "body": b"x" * 800, "more_body": True})
    await comm.send_input({"type": "http.request", "body": b"x" * 800, "more_body": True})
    start = await comm.receive_output(5)
    assert start["status"] == 413
    await comm.receive_output(5)


async def test_a_client_that_goes_away_stops_its_long_poll():
    upload = await new_upload()
    token = make_subscribe_token(str(upload.id))
    comm = ApplicationCommunicator(application, scope("GET", f"/api/uploads/{upload.id}/",
                                                      f"token={token}&since=1&wait=20"))
    await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
    for _ in range(100):
        if longpoll.waiters.count:
            break
        await asyncio.sleep(0.02)
    assert longpoll.waiters.count == 1
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(5)
    assert longpoll.waiters.count == 0


async def test_a_blank_since_on_the_fast_path_is_the_same_400_as_through_django():
    upload = await new_upload()
    token = make_subscribe_token(str(upload.id))
    status, headers, body = await request("GET", f"/api/uploads/{upload.id}/", query=f"since=&wait=1&token={token}")
    assert status == 400 and "since" in json.loads(body)
