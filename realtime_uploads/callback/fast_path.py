"""The push path served ahead of Django's middleware: ``push_path(django_asgi_app)``.

Under ASGI every Django request gets a thread of its own for its whole
lifetime (asgiref's per-request ``ThreadSensitiveContext``), and each
``MiddlewareMixin`` middleware runs its ``process_request`` and
``process_response`` through ``sync_to_async``: a dozen thread hops per
request with a stock middleware list, and an idle thread held by every
waiting long-poll. The signed callback needs none of it (no session, no
CSRF: the HMAC signature is its authority), nor does a long-poll that
carries its subscribe token. :class:`PushPath` answers exactly those two on
the event loop, with the same code as Django's views
(:mod:`.endpoint` and :mod:`realtime_uploads.push.status`):

- ``POST …/uploads/<id>/callback/``;
- ``GET …/uploads/<id>/?token=<valid token>[&since=&wait=]``.

Routes are found with Django's own URL resolver, so the prefix is whatever
the project's URLconf says. Everything else, including status requests
authorised by a session, an invalid token or a malformed query, goes to the
wrapped application unchanged, and answers the same there, only slower.
Requests served here skip Django's middleware: they get
``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store``, but
no CORS or other headers that middleware would add. A callback body larger
than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused with 413 before it is read
further.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.urls import Resolver404, resolve

from realtime_uploads.callback.endpoint import callback
from realtime_uploads.callback.views import upload_callback
from realtime_uploads.core.signing import SIGNATURE_HEADER
from realtime_uploads.push.socket_caps import client_key
from realtime_uploads.push.status import status, status_query
from realtime_uploads.push.views import upload_detail
from realtime_uploads.runtime.answers import Answer, send_answer
from realtime_uploads.state.access import check_subscribe_token
from realtime_uploads.state.selectors import parse_upload_id

logger = logging.getLogger(__name__)

_SIGNATURE = SIGNATURE_HEADER.lower().encode("latin-1")


class PushPath:
    """ASGI middleware: the callback and token long-polls here, everything else to ``app``."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            handler = self._handler(scope)
            if handler is not None:
                await handler(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _handler(self, scope: dict):
        method, path = scope["method"], scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if method == "POST" and path.endswith("/callback/"):
            view = upload_callback
        elif method == "GET" and b"token=" in scope.get("query_string", b""):
            view = upload_detail  # the view of GET (and DELETE) on an upload
        else:
            return None
        try:
            match = resolve(path)
        except Resolver404:
            return None
        if match.func is not view:
            return None
        upload_id = match.kwargs.get("upload_id", "")
        if view is upload_callback:
            return lambda scope, receive, send: self._callback(upload_id, scope, receive, send)
        uid = parse_upload_id(upload_id)
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        query, invalid = status_query(params)
        if uid is None or invalid is not None or not check_subscribe_token(query.get("token"), str(uid)):
            return None  # Django answers these (session owners, 400s, 403s)
        return lambda scope, receive, send: self._status(upload_id, query, client_key(scope), receive, send)

    async def _callback(self, upload_id: str, scope: dict, receive: Any, send: Any) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if limit is not None and len(body) > limit:
                await send_answer(send, Answer(413, {"detail": f"The body is larger than {limit} bytes."}))
                return
            if not message.get("more_body", False):
                break
        signature = next((v.decode("latin-1") for k, v in scope["headers"] if k == _SIGNATURE), None)
        await send_answer(send, await _safely(callback(upload_id, bytes(body), signature)))

    async def _status(self, upload_id: str, query: dict, client: str, receive: Any, send: Any) -> None:
        answer = asyncio.ensure_future(_safely(status(upload_id, query, token_ok=True, client=client)))
        gone = asyncio.ensure_future(_disconnected(receive))
        await asyncio.wait((answer, gone), return_when=asyncio.FIRST_COMPLETED)
        if not answer.done():  # the client went away: stop waiting for it
            answer.cancel()
            await asyncio.gather(answer, return_exceptions=True)
            return
        gone.cancel()
        await send_answer(send, answer.result())


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _safely(answering) -> Answer:
    try:
        return await answering
    except Exception:
        logger.exception("The push path failed to answer.")
        return Answer(500, {"detail": "Internal server error."})


def push_path(app: Any) -> PushPath:
    """Wrap the project's Django ASGI application: ``"http": push_path(get_asgi_application())``."""
    return PushPath(app)

