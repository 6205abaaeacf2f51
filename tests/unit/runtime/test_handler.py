"""ReusedThreadASGIHandler: Django's thread-per-request semantics, with the threads reused."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_started
from django.http import HttpResponse
from django.urls import path

from realtime_uploads.runtime.handler import ReusedThreadASGIHandler

pytestmark = pytest.mark.asyncio

seen: list[tuple[str, int]] = []


def slow_view(request):
    seen.append(("view", threading.get_ident()))
    time.sleep(float(request.GET.get("sleep", "0")))
    return HttpResponse("ok")


urlpatterns = [path("slow/", slow_view)]


def on_started(**kwargs):
    seen.append(("started", threading.get_ident()))


@pytest.fixture
def handler(settings):
    settings.ROOT_URLCONF = __name__
    settings.ALLOWED_HOSTS = ["testserver"]
    seen.clear()
    request_started.connect(on_started)
    yield ReusedThreadASGIHandler()
    request_started.disconnect(on_started)


async def get(app, query=""):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/slow/", "raw_path": b"/slow/", "root_path": "", "query_string": query.encode(),
             "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    comm = ApplicationCommunicator(app, scope)
    await comm.send_input({"type": "http.request", "body": b""})
    assert (await comm.receive_output(10))["status"] == 200
    await comm.receive_output(10)
    await comm.wait(5)


async def test_one_thread_per_request_for_all_its_sync_parts_then_reused(handler):
    await get(handler)
    await get(handler)
    (_, started_1), (_, view_1), (_, started_2), (_, view_2) = seen
    assert started_1 == view_1 and started_2 == view_2  # thread-sensitive within a request
    assert view_1 == view_2  # the second request was given the first one's warm thread
    assert view_1 != threading.get_ident()


async def test_concurrent_requests_get_threads_of_their_own(handler):
    await asyncio.gather(get(handler, "sleep=0.3"), get(handler, "sleep=0.3"))
    views = {ident for kind, ident in seen if kind == "view"}
    assert len(views) == 2
