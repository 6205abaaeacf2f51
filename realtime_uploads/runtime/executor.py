"""Database work from async code: one small, bounded thread pool per process.

The async parts of the app (the callback view, the status long-poll, the
socket consumer, the resync after a Redis reconnect) never touch the ORM on
the event loop and never use a thread per request. They call :func:`run`:

- at most ``DB_THREADS`` calls run at once, so these paths hold at most that
  many database connections per process, however many sockets are open or
  long-polls wait;
- a worker thread keeps its connection between calls (no pool checkout, or
  no fresh connection without a pool, per call), closed after an error or
  after ``HOLD`` seconds: those are the only connections these paths hold,
  so an idle socket or a waiting long-poll holds none;
- at most ``DB_MAX_QUEUED`` calls wait for a thread; past that :func:`run`
  raises :class:`~realtime_uploads.exceptions.DatabaseQueueFull` (an
  ``Overloaded``) at once, and callers answer 503 with ``Retry-After`` (HTTP,
  RFC 9110 section 10.2.3) or close with 4503, "try again later" (WebSocket;
  the application's 4xxx range, as 4403/4404) instead of queueing for minutes.

``after`` runs on the event loop once a call is done, also when its caller
was cancelled meanwhile: that is how :mod:`realtime_uploads.state.outbox`
sends, on the event loop, the events a service published inside a call,
without this module knowing of events. A call runs in the worker thread's own
context, not a copy of the caller's: Django's per-thread objects (cache
clients, connections) then live as long as the worker and are reused.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connections

from realtime_uploads.conf import uploads_settings
from realtime_uploads.exceptions import DatabaseQueueFull

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: Longest a worker keeps one database connection, seconds.
HOLD = 60.0

class DatabaseExecutor:
    """``threads`` worker threads; at most ``threads + max_queued`` calls admitted at once."""

    def __init__(self, *, threads: int, max_queued: int):
        self.threads = threads
        self.max_queued = max_queued
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="realtime-uploads-db")
        self._lock = threading.Lock()
        self._admitted = 0

    @property
    def admitted(self) -> int:
        """Calls running or waiting for a thread now."""
        return self._admitted

    async def run(self, fn: Callable[..., T], /, *args: Any, after: Callable[[], Awaitable[Any]] | None = None,
                  **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on a worker thread; its result.

        Raises :class:`~realtime_uploads.exceptions.DatabaseQueueFull` (an
        ``Overloaded``) without queueing when the queue is full, and whatever
        ``fn`` raises. ``after()``, if given, is awaited on the event loop once
        ``fn`` has returned or raised, also when this caller is cancelled
        meanwhile (Django cancels a view whose client went away): the worker
        finishes the call either way, and ``after`` then runs as its own task.
        """
        with self._lock:
            if self._admitted >= self.threads + self.max_queued:
                raise DatabaseQueueFull(self._admitted - self.threads)
            self._admitted += 1
        try:
            future = self._pool.submit(_call, fn, args, kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)  # the worker is busy until then, awaited or not
        try:
            result = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if after is not None:
                loop = asyncio.get_running_loop()
                future.add_done_callback(lambda _done: _after_soon(loop, after))
            raise
        except BaseException:
            if after is not None:
                await after()
            raise
        if after is not None:
            await after()
        return result

    def _finished(self, _future: Any) -> None:
        with self._lock:
            self._admitted -= 1

    def release(self, timeout: float = 5.0) -> None:
        """Close every worker's kept connections, in the worker itself (Django connections are per thread)."""
        arrived = threading.Barrier(self.threads, timeout=timeout)

        def close_here() -> None:
            try:
                arrived.wait()  # one such task per worker: each blocks until all workers hold one
            except threading.BrokenBarrierError:
                pass
            connections.close_all()

        for future in [self._pool.submit(close_here) for _ in range(self.threads)]:
            future.result(timeout=timeout + 1)

    def shutdown(self) -> None:
        """Close the workers' connections, let running calls finish, refuse new ones."""
        try:
            self.release()
        except Exception:  # a busy or broken worker must not block the shutdown
            logger.warning("Could not close every database worker's connection.", exc_info=True)
        self._pool.shutdown(wait=False, cancel_futures=True)


def _call(fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    try:
        return fn(*args, **kwargs)
    finally:
        _tidy()


_following: set[asyncio.Future] = set()


def _after_soon(loop: asyncio.AbstractEventLoop, after: Callable[[], Awaitable[Any]]) -> None:
    """From the worker thread, once a call whose awaiter was cancelled is done: run ``after()`` on ``loop``."""

    def start() -> None:
        task = asyncio.ensure_future(after())
        _following.add(task)
        task.add_done_callback(_following.discard)

    try:
        loop.call_soon_threadsafe(start)
    except RuntimeError:  # the loop is closed: the process is going away
        logger.warning("Could not finish a cancelled database call's follow-up: the event loop is closed.")


def _tidy() -> None:
    """Keep this worker's connection for its next call, unless it failed, is mid-transaction, or is old.

    A worker thread keeps one connection per database between calls (at most
    ``DB_THREADS`` in all), instead of checking one out of the pool, or
    connecting afresh without a pool, on every call. It is closed (handed back
    to the pool) after an error that left it unusable, if a call left a
    transaction open, and after ``HOLD`` seconds, so connections rotate.
    """
    now = time.monotonic()
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        opened = getattr(connection, "_realtime_uploads_opened", None)
        if opened is None:
            connection._realtime_uploads_opened = opened = now
        broken = connection.errors_occurred and not connection.is_usable()
        if broken or connection.in_atomic_block or not connection.get_autocommit() or now - opened > HOLD:
            connection.close()
            connection._realtime_uploads_opened = None
        connection.errors_occurred = False


_executor: DatabaseExecutor | None = None
_executor_lock = threading.Lock()


def get_executor() -> DatabaseExecutor:
    """This process's executor, sized by ``DB_THREADS`` and ``DB_MAX_QUEUED`` (rebuilt when they change)."""
    global _executor
    threads, queued = uploads_settings.DB_THREADS, uploads_settings.DB_MAX_QUEUED
    executor = _executor
    if executor is None or (executor.threads, executor.max_queued) != (threads, queued):
        with _executor_lock:
            executor = _executor
            if executor is None or (executor.threads, executor.max_queued) != (threads, queued):
                if executor is not None:
                    executor.shutdown()
                executor = _executor = DatabaseExecutor(threads=threads, max_queued=queued)
    return executor


async def run(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` on this process's database executor (see :meth:`DatabaseExecutor.run`). Raises Overloaded."""
    return await get_executor().run(fn, *args, **kwargs)


def release_connections() -> None:
    """Close the connections this process's workers keep (tests do it before dropping their database)."""
    if _executor is not None:
        _executor.release()
