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
  raises :class:`Overloaded` at once, and callers answer 503 with
  ``Retry-After`` (HTTP, RFC 9110 section 10.2.3) or close with 4503, "try
  again later" (WebSocket; the application's 4xxx range, as 4403/4404) instead of
  queueing for minutes.

Events a service publishes inside a call (``transaction.on_commit``) are not
sent from the worker thread: they are handed back with the result and sent
on the event loop (:func:`realtime_uploads.events.send_event`), which saves a
thread hop per event.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connections

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: Longest a worker keeps one database connection, seconds.
HOLD = 60.0

_local = threading.local()


class Overloaded(Exception):
    """More database calls are waiting than ``DB_MAX_QUEUED``; try again after ``retry_after`` seconds."""

    retry_after = 1

    def __init__(self, waiting: int):
        super().__init__(f"{waiting} database calls are already waiting; try again shortly.")
        self.waiting = waiting


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

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on a worker thread; send the events it published.

        Raises :class:`Overloaded` without queueing when the queue is full,
        and whatever ``fn`` raises. Events of a committed transaction are sent
        even if ``fn`` raises afterwards (an ``on_commit`` receiver of the
        project's) or the caller is cancelled meanwhile (Django cancels a view
        whose client went away): the worker finishes the call either way, and
        the retry of an idempotent callback would publish nothing.
        """
        with self._lock:
            if self._admitted >= self.threads + self.max_queued:
                raise Overloaded(self._admitted - self.threads)
            self._admitted += 1
        events: list[dict] = []
        try:
            future = self._pool.submit(_call, fn, args, kwargs, events)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)  # the worker is busy until then, awaited or not
        try:
            result = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            loop = asyncio.get_running_loop()
            future.add_done_callback(lambda _done: _send_soon(loop, events))
            raise
        except BaseException:
            await _send(events)
            raise
        await _send(events)
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


def _call(fn: Callable[..., T], args: tuple, kwargs: dict, events: list[dict]) -> T:
    _local.events = events
    try:
        return fn(*args, **kwargs)
    finally:
        _local.events = None
        _tidy()


async def _send(events: list[dict]) -> None:
    if events:
        from .events import send_events

        await send_events(events)


_sending: set[asyncio.Future] = set()


def _send_soon(loop: asyncio.AbstractEventLoop, events: list[dict]) -> None:
    """From the worker thread, once a call whose awaiter was cancelled is done: send its events on ``loop``."""
    if not events:
        return

    def start() -> None:
        task = asyncio.ensure_future(_send(events))
        _sending.add(task)
        task.add_done_callback(_sending.discard)

    try:
        loop.call_soon_threadsafe(start)
    except RuntimeError:  # the loop is closed: the process is going away, subscribers resync on reconnect
        logger.warning("Could not send %d event(s) of a cancelled call: the event loop is closed.", len(events))


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


def collecting_events() -> list[dict] | None:
    """Inside :func:`run`: the list that events published now are handed back in; else None."""
    return getattr(_local, "events", None)


_executor: DatabaseExecutor | None = None
_executor_lock = threading.Lock()


def get_executor() -> DatabaseExecutor:
    """This process's executor, sized by ``DB_THREADS`` and ``DB_MAX_QUEUED`` (rebuilt when they change)."""
    global _executor
    from .conf import uploads_settings

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


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` on this process's database executor (see the module docstring). Raises Overloaded."""
    return await get_executor().run(fn, *args, **kwargs)


def release_connections() -> None:
    """Close the connections this process's workers keep (tests do it before dropping their database)."""
    if _executor is not None:
        _executor.release()
