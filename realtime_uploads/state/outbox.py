"""Sending events: after a commit, on the event loop, within a time limit, never failing the change.

:func:`publish` (sync) is what the services call in ``transaction.on_commit``:
it hands the event to the event loop from wherever it is called, never
blocking a thread on Redis. Inside :func:`run_and_publish` (a sync function
on the database executor) the events it publishes are collected in a context
variable set around the function in the worker thread, and sent by the
awaiting event loop once the call returns: no thread hop per event, and the
executor knows nothing of events. :func:`send_event` (async) sends one with a time limit.

A layer that fails or is slow never undoes or delays a committed change: the
failure is logged (at most once per :data:`LOG_EVERY` seconds), and
subscribers catch up from the snapshot (on connect, and after a Redis
reconnect, :mod:`realtime_uploads.push.resync`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from realtime_uploads.runtime.executor import get_executor
from realtime_uploads.state.events import group_name

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: Longest a group send may take, seconds (a Redis that hangs must not hold a callback up).
SEND_TIMEOUT = 2.0
#: Publishing failures are logged at most once per this many seconds.
LOG_EVERY = 5.0

#: Inside :func:`run_and_publish`: where the events published now are collected; else None.
_outbox: ContextVar[list[dict[str, Any]] | None] = ContextVar("realtime_uploads_outbox", default=None)


async def run_and_publish(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run the sync ``fn`` on the database executor; send the events it published once it is done.

    Use it for services that change state (the callback does); plain reads
    go to :func:`realtime_uploads.runtime.executor.run`, which would publish
    from the worker thread instead. The events go out on this event loop, in
    order, after ``fn`` returned or raised (the change was committed either
    way: an ``on_commit`` receiver of the project's may raise afterwards), and
    also when this caller is cancelled meanwhile. Raises
    :class:`~realtime_uploads.exceptions.Overloaded` and whatever ``fn`` raises.
    """
    events: list[dict[str, Any]] = []

    def collecting(*a: Any, **k: Any) -> T:
        token = _outbox.set(events)
        try:
            return fn(*a, **k)
        finally:
            _outbox.reset(token)

    return await get_executor().run(collecting, *args, after=lambda: send_events(events), **kwargs)


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


async def send_event(event: dict[str, Any], group: str | None = None) -> bool:
    """Send ``event`` to ``group`` (default its upload's) within SEND_TIMEOUT seconds; False (logged) if that
    failed."""
    global _loop
    _loop = asyncio.get_running_loop()  # the server's loop: sync threads of this process publish through it
    return await _send_now(event, group)


async def _send_now(event: dict[str, Any], group: str | None = None) -> bool:
    layer = get_channel_layer()
    if layer is None:
        logger.warning("No CHANNEL_LAYERS configured; upload %s event not pushed.", event["id"])
        return False
    try:
        await asyncio.wait_for(layer.group_send(group or group_name(event["id"]), event), SEND_TIMEOUT)
    except Exception as exc:  # TimeoutError, redis errors, a broken layer: never the caller's problem
        _failures.failed(event, exc)
        return False
    return True


async def send_events(events: Iterable[dict[str, Any]]) -> None:
    """Send each event in order (see :func:`send_event`)."""
    for event in events:
        await send_event(event)


def publish(event: dict[str, Any], group: str | None = None) -> None:
    """Send ``event`` to the upload's group (or to ``group``, e.g. an owner's), from sync code, after commit;
    never raises.

    Inside :func:`run_and_publish` the event is handed back to the awaiting event loop; in
    any other thread of a server process it is scheduled on the server's event
    loop without waiting; outside a server (a management command, a test) it
    is sent at once with ``async_to_sync``.
    """
    collected = _outbox.get()
    if collected is not None and group is None:
        collected.append(event)
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:  # sync code running on an event loop thread: schedule, keep a reference
        task = running.create_task(send_event(event, group))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
        return
    loop = _loop
    if loop is not None and loop.is_running() and not loop.is_closed():
        asyncio.run_coroutine_threadsafe(send_event(event, group), loop)
        return
    async_to_sync(_send_now)(event, group)  # a loop of its own, gone afterwards: never remembered as the server's
