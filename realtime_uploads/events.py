"""The event: one serializer for the snapshot, the push, the status GET and the long-poll.

Shape (README, "The event")::

    {"type": "upload.status", "id": "<uuid>", "status": "completed", "seq": 3,
     "original": {"width": 4000, "height": 3000, "format": "JPEG"} | None,
     "placeholder": "<base64 ThumbHash>" | None, "color": "#rrggbb" | None,
     "variants": [{"name", "width", "height", "format", "size", "url", "animated",
                   "formats": [{"format", "type", "size", "url"}, ...]}],
     "error": {"code", "message"} | None, "updated_at": "2026-11-22T10:00:00.123Z"}

A variant's ``format``, ``size`` and ``url`` are its fallback file's, the last
of ``formats`` (contract 0.2; a 0.1 client reads them as before).

The same dict is the channel-layer message: its ``type`` ``upload.status``
routes it to ``UploadConsumer.upload_status``.

Sending: :func:`send_event` (async) sends on the event loop with a time
limit; :func:`publish` (sync, what the services call after commit) hands the
event to the event loop from wherever it is called, never blocking a thread
on Redis. A layer that fails or is slow never undoes or delays a committed
change: the failure is logged (at most once per :data:`LOG_EVERY` seconds),
and subscribers catch up from the snapshot (on connect, and after a Redis
reconnect, :mod:`realtime_uploads.resync`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .backends import get_backend
from .database import collecting_events
from .models import Upload, Variant
from .processing.formats import FORMAT_CONTENT_TYPES

logger = logging.getLogger(__name__)

EVENT_TYPE = "upload.status"
GROUP_PREFIX = "upload."
#: Longest a group send may take, seconds (a Redis that hangs must not hold a callback up).
SEND_TIMEOUT = 2.0
#: Publishing failures are logged at most once per this many seconds.
LOG_EVERY = 5.0


def group_name(upload_id: Any) -> str:
    """The channel-layer group of one upload: ``"upload.<uuid>"``.

    Group names must be ASCII letters, digits, ``-``, ``_`` or ``.``, shorter
    than 100 characters (channels ``BaseChannelLayer.valid_group_name``); a
    UUID's canonical form always is.
    """
    return f"{GROUP_PREFIX}{upload_id}"


def _timestamp(value) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def upload_event(upload: Upload, variants: Iterable[Variant] | None = None) -> dict[str, Any]:
    """Serialize ``upload`` (and its variants) into the event dict.

    ``variants`` defaults to ``upload.variants.all()`` (prefetch it to avoid a
    query). Variant ``url``s come from the configured backend.
    """
    if variants is None:
        variants = upload.variants.all()
    backend = get_backend()
    original = None
    if upload.original_width is not None:
        original = {
            "width": upload.original_width,
            "height": upload.original_height,
            "format": upload.original_format,
        }
    error = None
    if upload.error_code:
        error = {"code": upload.error_code, "message": upload.error_message}
    return {
        "type": EVENT_TYPE,
        "id": str(upload.id),
        "status": upload.status,
        "seq": upload.seq,
        "original": original,
        "placeholder": upload.placeholder or None,
        "color": upload.color or None,
        "variants": [variant_event(v, backend) for v in variants],
        "error": error,
        "updated_at": _timestamp(upload.updated_at),
    }


def variant_event(variant: Variant, backend) -> dict[str, Any]:
    """One variant of the event: its fallback file's ``format``/``size``/``url`` and every file in ``formats``."""
    files = [
        {"format": f["format"], "type": FORMAT_CONTENT_TYPES.get(f["format"], "application/octet-stream"),
         "size": f["size"], "url": backend.variant_url(f["key"])}
        for f in variant.files()
    ]
    fallback = files[-1]
    return {
        "name": variant.name,
        "width": variant.width,
        "height": variant.height,
        "format": fallback["format"],
        "size": fallback["size"],
        "url": fallback["url"],
        "animated": variant.animated,
        "formats": files,
    }


class _FailureLog:
    """Log publishing failures without flooding: the first, then a count every LOG_EVERY seconds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = 0.0
        self.missed = 0

    def failed(self, event: dict[str, Any], exc: BaseException) -> None:
        with self.lock:
            now = time.monotonic()
            if now - self.last < LOG_EVERY:
                self.missed += 1
                return
            missed, self.missed, self.last = self.missed, 0, now
        more = f" ({missed} more since the last report)" if missed else ""
        logger.warning("Could not publish upload %s seq %s: %r%s; subscribers will catch up from the snapshot.",
                       event["id"], event["seq"], exc, more)


_failures = _FailureLog()
_loop: asyncio.AbstractEventLoop | None = None
_tasks: set[asyncio.Future] = set()


async def send_event(event: dict[str, Any]) -> bool:
    """Send ``event`` to its upload's group within SEND_TIMEOUT seconds; False (logged) if that failed."""
    global _loop
    _loop = asyncio.get_running_loop()  # the server's loop: sync threads of this process publish through it
    return await _send_now(event)


async def _send_now(event: dict[str, Any]) -> bool:
    layer = get_channel_layer()
    if layer is None:
        logger.warning("No CHANNEL_LAYERS configured; upload %s event not pushed.", event["id"])
        return False
    try:
        await asyncio.wait_for(layer.group_send(group_name(event["id"]), event), SEND_TIMEOUT)
    except Exception as exc:  # TimeoutError, redis errors, a broken layer: never the caller's problem
        _failures.failed(event, exc)
        return False
    return True


async def send_events(events: Iterable[dict[str, Any]]) -> None:
    """Send each event in order (see :func:`send_event`)."""
    for event in events:
        await send_event(event)


def publish(event: dict[str, Any]) -> None:
    """Send ``event`` to the upload's group, from sync code, after commit; never raises.

    Inside :func:`realtime_uploads.database.run` the event is handed back to
    the awaiting event loop; in any other thread of a server process it is
    scheduled on the server's event loop without waiting; outside a server
    (a management command, a test) it is sent at once with ``async_to_sync``.
    """
    collected = collecting_events()
    if collected is not None:
        collected.append(event)
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:  # sync code running on an event loop thread: schedule, keep a reference
        task = running.create_task(send_event(event))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
        return
    loop = _loop
    if loop is not None and loop.is_running() and not loop.is_closed():
        asyncio.run_coroutine_threadsafe(send_event(event), loop)
        return
    async_to_sync(_send_now)(event)  # a loop of its own, gone afterwards: never remembered as the server's
