"""The in-process dispatcher of the ``local`` backend.

Runs :func:`~.pipeline.process_object` on a small thread pool, off the
event loop and off the request that stored the object, exactly as a Lambda
invocation would run beside the web process. No Django import: the local
backend hands it an :class:`~.pipeline.ObjectStore` and a config.

It is bounded and at-least-once. Every image is rendered in a child process
(:mod:`.sandbox`) that the kernel stops at ``IMAGE_CPU_SECONDS`` of CPU and
a memory bound derived from ``MAX_DECODE_BYTES``, as the server's own threads
cannot interrupt a decoder. At most ``threads`` objects are processed
and ``max_queued`` more wait; a key already queued or running is not queued
twice; past the bound :meth:`LocalDispatcher.submit` declines, and the
backend's sweep (:mod:`realtime_uploads.local.sweep`) offers the object again
later, as it does everything a killed process left unfinished. :meth:`stop`
(shutdown has begun) drops what is queued and makes the callback client of
the running jobs send nothing more, so no report races the process's exit;
:meth:`join` then waits, boundedly, for those jobs to return.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from realtime_uploads.core.errors import CallbackError, StorageError
from realtime_uploads.core.object_store import ObjectStore
from realtime_uploads.processing.pipeline import Outcome, ProcessorConfig, process_object
from realtime_uploads.processing.sandbox import isolation_available

logger = logging.getLogger(__name__)


class LocalDispatcher:
    """Process stored objects in background threads: ``threads`` at once, ``max_queued`` waiting."""

    def __init__(self, *, store: ObjectStore, config: ProcessorConfig, threads: int = 2, max_queued: int = 100):
        self.store = store
        self.stopping = threading.Event()
        callback = dataclasses.replace(config.callback, cancel=self.stopping)
        # This runs inside the web server: each image is rendered in a child process bounded in CPU
        # time and memory (processing/sandbox.py), never in the server's own threads and heap.
        self.config = dataclasses.replace(config, callback=callback, isolate=isolation_available())
        self.threads = threads
        self.max_queued = max_queued
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="realtime-uploads")
        # Reentrant, and held around the executor's own lock in submit() and stop() alike (one lock order):
        # shutdown() cancels queued futures under the executor's lock, and their done-callbacks (_done) take
        # this one again in the same thread.
        self._lock = threading.RLock()
        self._futures: dict[str, Future[Outcome]] = {}

    def submit(self, key: str) -> Future[Outcome] | None:
        """Queue the object at ``key``; its Future, or None if declined (already queued, full, stopping)."""
        with self._lock:
            if self.stopping.is_set() or key in self._futures:
                return None
            if len(self._futures) >= self.threads + self.max_queued:
                logger.warning("Processing queue full (%d); %s will be picked up by the next sweep.",
                               len(self._futures), key)
                return None
            future = self._executor.submit(self._run, key)
            self._futures[key] = future
        future.add_done_callback(lambda done: self._done(key, done))
        return future

    def in_flight(self) -> set[str]:
        """Keys queued or being processed now."""
        with self._lock:
            return set(self._futures)

    def _run(self, key: str) -> Outcome:
        if self.stopping.is_set():
            return Outcome("skipped", reason="shutting down")
        return process_object(key, store=self.store, config=self.config)

    def _done(self, key: str, future: Future[Outcome]) -> None:
        with self._lock:
            if self._futures.get(key) is future:
                del self._futures[key]
        if future.cancelled():
            return
        exc = future.exception()
        if isinstance(exc, CallbackError | StorageError):
            logger.warning("Processing %s was not reported (%s); the sweep will offer it again.", key, exc)
        elif exc is not None:
            logger.error("Processing %s failed unexpectedly; the sweep will offer it again.", key, exc_info=exc)

    def stop(self) -> None:
        """Shutdown has begun: take no more work, drop the queue, send no more callbacks. Returns at once."""
        self.stopping.set()
        with self._lock:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for running jobs; True if none is left."""
        with self._lock:
            running = list(self._futures.values())
        _done, pending = wait(running, timeout=timeout)
        if pending:
            logger.warning("%d processing job(s) still running after %.0f s; exiting anyway.", len(pending), timeout)
        return not pending

    def shutdown(self, wait: bool = True, timeout: float = 10.0) -> None:
        """:meth:`stop`, then with ``wait`` :meth:`join` for up to ``timeout`` seconds."""
        self.stop()
        if wait:
            self.join(timeout)
