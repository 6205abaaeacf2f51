"""The local backend's sweep: finish what a killed or restarted process left, and enforce deadlines.

With the ``local`` backend the processor runs inside the web process, so a
process that dies (SIGKILL, OOM, a deploy) takes its queued and running jobs
with it. The database and the stored objects survive, and so the sweep, run
when the server starts and then every ``LOCAL_RETRY_AFTER / 3`` seconds,
re-dispatches, at least once:

- uploads ``processing`` whose last change is older than ``LOCAL_RETRY_AFTER``
  seconds and that this process is not working on;
- uploads still ``pending`` whose object has been stored for longer than
  ``LOCAL_RETRY_AFTER`` seconds (the upload arrived, its ``processing``
  report never did).

A repeat is harmless: the ``processing`` report of the same object version
is an idempotent no-op, and the version pin refuses any other. The sweep
also runs :func:`~realtime_uploads.services.uploads_expire`, so deadlines
(``PROCESSING_TIMEOUT``, expiry) hold without a cron job; an upload that
keeps failing to finish is ended there instead of retried for ever.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import timedelta
from typing import Any

from django.db import close_old_connections
from django.utils import timezone

logger = logging.getLogger(__name__)

#: Most uploads of each kind looked at per sweep (newest first).
LIMIT = 200


def stale_keys(*, storage: Any, retry_after: int, exclude: set[str], now=None) -> list[str]:
    """Object keys the sweep should dispatch again (see the module docstring), oldest news first."""
    from .models import Status, Upload

    now = now or timezone.now()
    stale = now - timedelta(seconds=retry_after)
    keys = [key for key in Upload.objects.filter(status=Status.PROCESSING, updated_at__lt=stale)
            .order_by("updated_at").values_list("key", flat=True)[:LIMIT] if key not in exclude]
    pending = (Upload.objects.filter(status=Status.PENDING, created_at__lt=stale)
               .order_by("-created_at").values_list("key", flat=True)[:LIMIT])
    for key in pending:
        if key not in exclude and _stored_before(storage, key, stale):
            keys.append(key)
    return keys


def _stored_before(storage: Any, key: str, moment) -> bool:
    try:
        if not storage.exists(key):
            return False
        return storage.get_modified_time(key) < moment
    except NotImplementedError:  # a storage that cannot date objects: present is enough
        return True
    except OSError:
        return False


class Sweeper:
    """A background thread running :meth:`sweep` at start and every ``retry_after / 3`` seconds."""

    def __init__(self, *, dispatcher: Any, storage: Any, retry_after: int):
        self.dispatcher = dispatcher
        self.storage = storage
        self.retry_after = retry_after
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="realtime-uploads-sweep")

    def start(self) -> None:
        """Start the thread (the first sweep runs at once)."""
        self._thread.start()

    def _loop(self) -> None:
        interval = self.retry_after / 3
        while not self.stop.is_set():
            self.sweep()
            # Jitter, so that several processes sharing one database do not sweep in step.
            self.stop.wait(interval * random.uniform(0.8, 1.2))  # noqa: S311

    def sweep(self) -> tuple[int, int]:
        """One pass: end what passed its deadline, re-dispatch what is unfinished; (ended, dispatched)."""
        from .services import uploads_expire

        close_old_connections()
        try:
            ended = uploads_expire(object_exists=self.storage.exists)
            keys = stale_keys(storage=self.storage, retry_after=self.retry_after,
                              exclude=self.dispatcher.in_flight())
            dispatched = sum(self.dispatcher.submit(key) is not None for key in keys)
        except Exception:
            logger.exception("The local processing sweep failed; it will run again.")
            return 0, 0
        finally:
            close_old_connections()
        if ended or dispatched:
            logger.info("Sweep: %d upload(s) ended by their deadline, %d re-dispatched.", ended, dispatched)
        return ended, dispatched

    def close(self, timeout: float | None = None) -> None:
        """Stop the thread (waiting up to ``timeout`` seconds for a sweep under way)."""
        self.stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
