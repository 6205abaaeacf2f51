"""HTTP answers of the push path, independent of the transport that carries them.

The callback and the status GET are answered twice over: by Django's views
and by the fast path ahead of Django's middleware
(:mod:`realtime_uploads.callback.fast_path`). Both build an :class:`Answer`
(status, JSON body, extra headers) and write it with :func:`json_response`
(Django) or :func:`send_answer` (plain ASGI), so the two cannot drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.http import JsonResponse

from realtime_uploads.exceptions import Overloaded

NOT_FOUND = "No upload has that id."


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: ``status``, a JSON-able ``body`` and extra ``headers``."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        """The body as compact UTF-8 JSON."""
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


def error(status: int, detail: str, **extra: Any) -> Answer:
    """``{"detail": detail, **extra}`` with ``status``."""
    return Answer(status, {"detail": detail, **extra})


def not_found() -> Answer:
    """404: no upload has that id (or it is not one)."""
    return error(404, NOT_FOUND)


def busy(exc: Overloaded) -> Answer:
    """503 with ``Retry-After`` (RFC 9110 section 10.2.3): the process sheds load instead of queueing."""
    detail = f"The server is busy: {exc} Retry after {exc.retry_after} s."
    return Answer(503, {"detail": detail, "code": exc.code}, {"Retry-After": str(exc.retry_after)})


def json_response(answer: Answer) -> JsonResponse:
    """``answer`` as Django's JsonResponse."""
    response = JsonResponse(answer.body, status=answer.status, safe=False)
    for name, value in answer.headers.items():
        response[name] = value
    return response


async def send_answer(send: Any, answer: Answer) -> None:
    """Write ``answer`` to an ASGI ``send``: JSON, ``X-Content-Type-Options: nosniff``, ``Cache-Control: no-store``
    (what Django's middleware would have added is not)."""
    body = answer.encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"x-content-type-options", b"nosniff"),
        (b"cache-control", b"no-store"),
        *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers.items()),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
