"""The in-process dispatcher of the ``local`` backend.

Runs :func:`~.pipeline.process_object` on a small thread pool, off the
event loop and off the request that stored the object, exactly as a Lambda
invocation would run beside the web process. No Django import: the local
backend hands it an :class:`~.pipeline.ObjectStore` and a config.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from .pipeline import ObjectStore, Outcome, ProcessorConfig, process_object

logger = logging.getLogger(__name__)


class LocalDispatcher:
    """Process stored objects in background threads (``threads`` at once)."""

    def __init__(self, *, store: ObjectStore, config: ProcessorConfig, threads: int = 2):
        self.store = store
        self.config = config
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="realtime-uploads")

    def submit(self, key: str) -> Future[Outcome]:
        """Queue the object at ``key``; return a Future of its :class:`~.pipeline.Outcome`."""
        future = self._executor.submit(process_object, key, store=self.store, config=self.config)
        future.add_done_callback(_log_failure)
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work; with ``wait``, finish what is queued first."""
        self._executor.shutdown(wait=wait)


def _log_failure(future: Future[Outcome]) -> None:
    exc = future.exception()
    if exc is not None:
        logger.error("Processing failed and was not reported: %r", exc, exc_info=exc)
