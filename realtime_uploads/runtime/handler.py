"""Django's ASGI handler, with each request's thread reused instead of created and joined per request.

Django runs a request's sync parts (signals, ``MiddlewareMixin`` hooks, sync
views such as DRF's) on one thread of their own, through asgiref's
per-request ``ThreadSensitiveContext``: it starts that thread for the
request and joins it afterwards, which profiled as the largest single cost
of a presign after Django's middleware (``ThreadPoolExecutor.submit``, 18 %).
:class:`ReusedThreadASGIHandler` gives each request a warm single-thread
executor instead (``ThreadSensitiveContext(executor=...)``, asgiref 3.13)
and takes it back when the request is done: still one thread per request
for its whole life, reused afterwards as WSGI servers reuse theirs (Django's
``request_finished`` closes or keeps database connections by
``CONN_MAX_AGE`` as usual). At most ``keep`` idle threads are kept.

``realtime_uploads.runtime.handler.get_asgi_application()`` replaces
``django.core.asgi.get_asgi_application()``; :func:`realtime_uploads.asgi.get_asgi_application`
(a project's ``asgi.py``) builds on it. It imports nothing of the app, so it
may come first, before Django is set up.
"""

from __future__ import annotations

import inspect
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler


class _Threads:
    """Warm single-thread executors, at most ``keep`` of them idle."""

    def __init__(self, keep: int):
        self.keep = keep
        self.idle: list[ThreadPoolExecutor] = []
        self.lock = threading.Lock()

    def lease(self) -> ThreadPoolExecutor:
        with self.lock:
            if self.idle:
                return self.idle.pop()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        with self.lock:
            if len(self.idle) < self.keep:
                self.idle.append(executor)
                return
        executor.shutdown(wait=False)


class ReusedThreadASGIHandler(ASGIHandler):
    """``django.core.handlers.asgi.ASGIHandler`` whose per-request threads come from a pool."""

    def __init__(self, keep: int = 64):
        super().__init__()
        self._threads = _Threads(keep)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self._threads.lease()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._threads.give_back(executor)


def get_asgi_application() -> ASGIHandler:
    """Django set up, and its ASGI handler with request threads reused (Django's own handler with an
    asgiref too old to be given an executor)."""
    django.setup(set_prefix=False)
    if "executor" not in inspect.signature(ThreadSensitiveContext).parameters:
        return ASGIHandler()
    return ReusedThreadASGIHandler()
